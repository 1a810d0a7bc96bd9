//! deploy/grafana/relayd.json against a running relayd: every metric a panel or variable
//! queries is in `GET /metrics` — and every label matcher of the query selects some exported
//! series — and every family there has its HELP and TYPE. The dashboard's own structure is
//! checked too (schema version, the `${DS_PROMETHEUS}` datasource, ids, grid).
mod common;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};

use common::*;

const DASHBOARD: &str = include_str!("../deploy/grafana/relayd.json");

// ---- A small PromQL reader: enough to find the selectors of an expression. ----

/// `metric{label op "value", …}` as written in a query.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selector {
    metric: String,
    matchers: Vec<(String, String, String)>,
}

/// Keywords that are not metrics; the first six take a parenthesised list of label names.
const LABEL_LIST_KEYWORDS: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right"];
const KEYWORDS: &[&str] = &["bool", "offset", "and", "or", "unless", "atan2", "inf", "nan"];
/// PromQL functions and aggregation operators (anything called with `(`); an unknown one
/// is a typo the test reports rather than skips.
const FUNCTIONS: &[&str] = &[
    "abs",
    "absent",
    "absent_over_time",
    "avg",
    "avg_over_time",
    "bottomk",
    "ceil",
    "changes",
    "clamp",
    "clamp_max",
    "clamp_min",
    "count",
    "count_over_time",
    "count_values",
    "day_of_month",
    "day_of_week",
    "delta",
    "deriv",
    "exp",
    "floor",
    "group",
    "histogram_quantile",
    "holt_winters",
    "hour",
    "idelta",
    "increase",
    "irate",
    "label_join",
    "label_replace",
    "last_over_time",
    "ln",
    "log10",
    "log2",
    "max",
    "max_over_time",
    "min",
    "min_over_time",
    "minute",
    "month",
    "predict_linear",
    "quantile",
    "quantile_over_time",
    "rate",
    "resets",
    "round",
    "scalar",
    "sgn",
    "sort",
    "sort_desc",
    "sqrt",
    "stddev",
    "stddev_over_time",
    "stdvar",
    "sum",
    "sum_over_time",
    "time",
    "timestamp",
    "topk",
    "vector",
    "year",
];

/// The aggregation operators, which may put `by (…)` / `without (…)` before their argument.
const AGGREGATIONS: &[&str] =
    &["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile"];

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

struct Reader<'a> {
    s: &'a [char],
    i: usize,
    expr: &'a str,
}

impl Reader<'_> {
    fn peek_non_space(&self) -> Option<char> {
        self.s[self.i..].iter().copied().find(|c| !c.is_whitespace())
    }

    fn next_word_is(&self, words: &[&str]) -> bool {
        let rest: String = self.s[self.i..].iter().collect();
        let rest = rest.trim_start();
        let word: String = rest.chars().take_while(|&c| is_ident(c)).collect();
        words.contains(&word.as_str())
    }

    fn skip_space(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_whitespace()) {
            self.i += 1;
        }
    }

    fn ident(&mut self) -> String {
        let start = self.i;
        while self.s.get(self.i).copied().is_some_and(is_ident) {
            self.i += 1;
        }
        self.s[start..self.i].iter().collect()
    }

    /// A quoted string starting at `i` (", ' or `), escapes kept out of the value.
    fn string(&mut self) -> Result<String, String> {
        let quote = self.s[self.i];
        self.i += 1;
        let mut out = String::new();
        while let Some(&c) = self.s.get(self.i) {
            self.i += 1;
            match c {
                '\\' if quote != '`' => {
                    let Some(&n) = self.s.get(self.i) else { break };
                    self.i += 1;
                    out.push(n);
                }
                c if c == quote => return Ok(out),
                c => out.push(c),
            }
        }
        Err(format!("unterminated string in {:?}", self.expr))
    }

    /// Skips from an opening bracket to its match (ranges `[1m]`, label-name lists).
    fn skip_group(&mut self, open: char, close: char) -> Result<(), String> {
        let mut depth = 0;
        while let Some(&c) = self.s.get(self.i) {
            if c == open {
                depth += 1;
            } else if c == close {
                depth -= 1;
                if depth == 0 {
                    self.i += 1;
                    return Ok(());
                }
            }
            self.i += 1;
        }
        Err(format!("unbalanced {open} in {:?}", self.expr))
    }

    /// `{a="x", b=~"y"}` at `i`.
    fn matchers(&mut self) -> Result<Vec<(String, String, String)>, String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            self.skip_space();
            match self.s.get(self.i) {
                Some('}') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(',') => self.i += 1,
                Some(&c) if is_ident_start(c) => {
                    let label = self.ident();
                    self.skip_space();
                    let op: String = ["=~", "!~", "!=", "="]
                        .iter()
                        .find(|op| self.s[self.i..].starts_with(&op.chars().collect::<Vec<_>>()))
                        .ok_or_else(|| format!("no matcher operator after {label} in {:?}", self.expr))?
                        .to_string();
                    self.i += op.len();
                    self.skip_space();
                    if !matches!(self.s.get(self.i), Some('"' | '\'' | '`')) {
                        return Err(format!("label {label} has no quoted value in {:?}", self.expr));
                    }
                    let value = self.string()?;
                    out.push((label, op, value));
                }
                _ => return Err(format!("bad label matcher in {:?}", self.expr)),
            }
        }
    }
}

/// Every selector of `expr`: identifiers followed by `{` or `[` or standing alone, minus
/// functions, keywords and the label names of `by (…)` and the like.
fn selectors(expr: &str) -> Result<Vec<Selector>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut r = Reader { s: &chars, i: 0, expr };
    let mut out = Vec::new();
    while let Some(&c) = r.s.get(r.i) {
        match c {
            '"' | '\'' | '`' => {
                r.string()?;
            }
            '[' => r.skip_group('[', ']')?,
            '{' => {
                // A bare selector must name its metric with __name__.
                let m = r.matchers()?;
                let name = m.iter().find(|(l, op, _)| l == "__name__" && op == "=").map(|(_, _, v)| v.clone());
                let name = name.ok_or_else(|| format!("selector without a metric name in {expr:?}"))?;
                out.push(Selector {
                    metric: name,
                    matchers: m.into_iter().filter(|(l, _, _)| l != "__name__").collect(),
                });
            }
            '$' => {
                // A Grafana variable ($__rate_interval, ${instance}).
                r.i += 1;
                if r.s.get(r.i) == Some(&'{') {
                    r.skip_group('{', '}')?;
                } else {
                    r.ident();
                }
            }
            c if c.is_ascii_digit() || (c == '.' && r.s.get(r.i + 1).is_some_and(char::is_ascii_digit)) => {
                // A number or a duration (5m, 1e3, 0.5).
                while r.s.get(r.i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '.') {
                    r.i += 1;
                }
            }
            c if is_ident_start(c) => {
                let word = r.ident();
                let next = r.peek_non_space();
                if LABEL_LIST_KEYWORDS.contains(&word.as_str()) {
                    r.skip_space();
                    if next == Some('(') {
                        r.skip_group('(', ')')?;
                    }
                } else if KEYWORDS.contains(&word.as_str()) {
                } else if AGGREGATIONS.contains(&word.as_str()) && r.next_word_is(&["by", "without"]) {
                    // `sum by (x) (…)`: the clause is read as the keyword it is.
                } else if next == Some('(') {
                    if !FUNCTIONS.contains(&word.as_str()) {
                        return Err(format!("unknown function {word}() in {expr:?}"));
                    }
                } else {
                    let matchers = if next == Some('{') {
                        r.skip_space();
                        r.matchers()?
                    } else {
                        Vec::new()
                    };
                    out.push(Selector { metric: word, matchers });
                }
            }
            _ => r.i += 1,
        }
    }
    Ok(out)
}

#[test]
fn the_reader_finds_metrics_not_functions_or_labels() {
    let s = selectors(r#"1 - sum by (instance, worker) (rate(relay_worker_total{worker=~"$worker", counter="empty_polls"}[1m])) / sum(rate(b_total[5m:1m] offset 5m)) without (x) > 0.5"#).unwrap();
    assert_eq!(
        s,
        [
            Selector {
                metric: "relay_worker_total".into(),
                matchers: vec![
                    ("worker".into(), "=~".into(), "$worker".into()),
                    ("counter".into(), "=".into(), "empty_polls".into())
                ]
            },
            Selector { metric: "b_total".into(), matchers: vec![] },
        ]
    );
    let s = selectors("relay_control_generation - relay_control_applied_generation").unwrap();
    assert_eq!(
        s.iter().map(|s| s.metric.as_str()).collect::<Vec<_>>(),
        ["relay_control_generation", "relay_control_applied_generation"]
    );
    let s = selectors(r#"{__name__="relay_routes", a!="b,}"}"#).unwrap();
    assert_eq!(
        s,
        [Selector { metric: "relay_routes".into(), matchers: vec![("a".into(), "!=".into(), "b,}".into())] }]
    );
    assert!(selectors("rat(x[1m])").unwrap_err().contains("unknown function rat()"));
    assert!(selectors(r#"x{a="b}"#).unwrap_err().contains("unterminated string"));
    assert!(selectors(r#"x{a}"#).unwrap_err().contains("no matcher operator after a"));
}

// ---- The exposition format. ----

struct Exported {
    series: Vec<(String, BTreeMap<String, String>)>,
    help: BTreeSet<String>,
    types: BTreeMap<String, String>,
}

fn parse_exposition(body: &str) -> Exported {
    let mut e = Exported { series: Vec::new(), help: BTreeSet::new(), types: BTreeMap::new() };
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, text) = rest.split_once(' ').unwrap_or_else(|| panic!("HELP without text: {line}"));
            assert!(!text.trim().is_empty(), "empty HELP: {line}");
            assert!(e.help.insert(name.to_string()), "HELP twice for {name}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("TYPE without kind: {line}"));
            assert!(["counter", "gauge"].contains(&kind), "{line}");
            assert!(e.types.insert(name.to_string(), kind.to_string()).is_none(), "TYPE twice for {name}");
        } else if !line.is_empty() {
            let (head, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
            value.parse::<f64>().unwrap_or_else(|_| panic!("bad value: {line}"));
            let (name, labels) = match head.split_once('{') {
                None => (head.to_string(), BTreeMap::new()),
                Some((name, rest)) => {
                    let sel = selectors(&format!("{{__name__=\"{name}\",{rest}"))
                        .unwrap_or_else(|err| panic!("{err}: {line}"));
                    let labels = sel[0].matchers.iter().map(|(l, _, v)| (l.clone(), v.clone())).collect();
                    (name.to_string(), labels)
                }
            };
            assert!(e.types.contains_key(&name), "sample before its TYPE: {line}");
            e.series.push((name, labels));
        }
    }
    e
}

/// Does some exported series match the selector? Grafana variables match anything; a
/// missing label is the empty string, and regexes are anchored — as in Prometheus.
fn matched(e: &Exported, sel: &Selector) -> Result<(), String> {
    let variable = regex::Regex::new(r"\$\{?[A-Za-z_]+\}?").unwrap();
    let mut tests = Vec::new();
    for (label, op, value) in &sel.matchers {
        let value = variable.replace_all(value, ".*").to_string();
        let re = regex::Regex::new(&format!("^(?:{value})$")).map_err(|err| format!("{label}{op}{value:?}: {err}"))?;
        tests.push((label.clone(), op.clone(), value, re));
    }
    let ok = |labels: &BTreeMap<String, String>| {
        tests.iter().all(|(l, op, v, re)| {
            let got = labels.get(l).map_or("", String::as_str);
            match op.as_str() {
                "=" => got == v,
                "!=" => got != v,
                "=~" => re.is_match(got),
                _ => !re.is_match(got),
            }
        })
    };
    if e.series.iter().any(|(n, labels)| *n == sel.metric && ok(labels)) {
        Ok(())
    } else if e.series.iter().any(|(n, _)| *n == sel.metric) {
        Err(format!("{} is exported, but no series matches {:?}", sel.metric, sel.matchers))
    } else {
        Err(format!("{} is not exported", sel.metric))
    }
}

// ---- The dashboard. ----

/// Every panel, rows' nested panels included.
fn all_panels(d: &serde_json::Value) -> Vec<&serde_json::Value> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().expect("panels") {
        out.push(p);
        if let Some(inner) = p["panels"].as_array() {
            out.extend(inner);
        }
    }
    out
}

/// (where, PromQL) of a panel target; (query, label) of a variable.
type Placed = Vec<(String, String)>;

/// (where, PromQL) for every panel target, and the queries of `label_values(query, label)`
/// variables with the label they read.
fn queries(d: &serde_json::Value) -> (Placed, Placed) {
    let mut exprs = Vec::new();
    for p in all_panels(d) {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().unwrap_or_else(|| panic!("panel {:?}: a target without expr", p["title"]));
            exprs.push((format!("panel {:?} {}", p["title"].as_str().unwrap_or(""), t["refId"]), expr.to_string()));
        }
    }
    let mut vars = Vec::new();
    for v in d["templating"]["list"].as_array().expect("templating") {
        if v["type"] != "query" {
            continue;
        }
        let q = v["definition"].as_str().expect("variable definition");
        let inner = q.strip_prefix("label_values(").and_then(|s| s.strip_suffix(')')).unwrap_or_else(|| panic!("{q}"));
        let (query, label) = inner.rsplit_once(',').unwrap_or_else(|| panic!("{q}"));
        vars.push((query.trim().to_string(), label.trim().to_string()));
    }
    (exprs, vars)
}

#[test]
fn dashboard_is_an_importable_grafana_dashboard() {
    let d: serde_json::Value = serde_json::from_str(DASHBOARD).expect("relayd.json is JSON");
    assert_eq!(d["schemaVersion"], 38);
    assert_eq!(d["uid"], "relayd");
    assert!(d["id"].is_null(), "no id: Grafana assigns one on import");
    let vars = d["templating"]["list"].as_array().unwrap();
    let ds = vars.iter().find(|v| v["name"] == "DS_PROMETHEUS").expect("a DS_PROMETHEUS variable");
    assert_eq!((ds["type"].as_str(), ds["query"].as_str()), (Some("datasource"), Some("prometheus")));
    let mut ids = BTreeSet::new();
    for p in all_panels(&d) {
        assert!(ids.insert(p["id"].as_u64().expect("numeric id")), "id {} twice", p["id"]);
        let g = &p["gridPos"];
        let (x, w) = (g["x"].as_u64().unwrap(), g["w"].as_u64().unwrap());
        assert!(x + w <= 24 && g["h"].as_u64().unwrap() > 0, "{}: grid {g}", p["title"]);
        if p["type"] != "row" {
            assert_eq!(p["datasource"]["uid"], "${DS_PROMETHEUS}", "{}", p["title"]);
            for t in p["targets"].as_array().expect("targets") {
                assert_eq!(t["datasource"]["uid"], "${DS_PROMETHEUS}", "{}", p["title"]);
            }
        }
    }
    let titles: Vec<&str> = all_panels(&d).iter().filter_map(|p| p["title"].as_str()).collect();
    for want in [
        "Packets/s per port",
        "Packets/s per worker",
        "Pipeline drops by reason",
        "ICMP errors sent",
        "Neighbour table size",
        "Route table size",
        "Control ring depth",
    ] {
        assert!(titles.contains(&want), "no panel {want:?} in {titles:?}");
    }
}

/// A 6to4 router on two null ports (no traffic needed: every series exists from the start).
fn router(dir: &Scratch, prom_port: u16) -> std::path::PathBuf {
    dir.write(
        "relayd.toml",
        &format!(
            r#"
[eal]
file_prefix = "dash-metrics"
memory_mb = 256
[[port]]
name = "wan"
device = "net_null0,no-rx=1"
mac = "02:00:00:00:00:a0"
[[port]]
name = "lan"
device = "net_null1,no-rx=1"
mac = "02:00:00:00:00:a1"
[[worker]]
cpu = 0
rx = ["wan:0", "lan:0"]
[runtime]
idle_sleep_us = 50
[control]
socket = "{d}/ctl.sock"
prometheus = "127.0.0.1:{prom_port}"
[pipeline]
[[pipeline.interface]]
port = 0
ipv4 = "198.51.100.7/24"
gateway = "198.51.100.1"
[[pipeline.interface]]
port = 1
ipv6 = ["2002:c633:6407:1::1/64"]
[pipeline.router]
ipv4 = "198.51.100.7"
lan_ports = [1]
[[pipeline.neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"
[[pipeline.neighbour]]
ip = "2002:c633:6407:1::5"
mac = "02:00:00:00:02:05"
"#,
            d = dir.0.display()
        ),
    )
}

fn scrape(port: u16) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("prometheus endpoint");
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    let (head, body) = body.split_once("\r\n\r\n").expect("HTTP head");
    assert!(head.starts_with("HTTP/1.0 200 OK"), "{head}");
    body.to_string()
}

fn value(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {series} in:\n{body}"))
        .parse()
        .unwrap()
}

#[test]
fn every_metric_the_dashboard_queries_is_exported() {
    let d: serde_json::Value = serde_json::from_str(DASHBOARD).unwrap();
    let (exprs, vars) = queries(&d);
    assert!(exprs.len() >= 20, "{} queries", exprs.len());

    let dir = Scratch::new("dashboard");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let daemon = Daemon::start(&router(&dir, port), &dir.path("ctl.sock"));
    let body = scrape(port);
    let exported = parse_exposition(&body);

    let mut problems = Vec::new();
    let mut queried = BTreeSet::new();
    for (place, expr) in &exprs {
        let sels = selectors(expr).unwrap_or_else(|e| panic!("{place}: {e}"));
        assert!(!sels.is_empty(), "{place}: no metric in {expr:?}");
        for s in sels {
            if let Err(e) = matched(&exported, &s) {
                problems.push(format!("{place}: {e}"));
            }
            queried.insert(s.metric);
        }
    }
    for (query, label) in &vars {
        for s in selectors(query).unwrap_or_else(|e| panic!("variable {query}: {e}")) {
            if let Err(e) = matched(&exported, &s) {
                problems.push(format!("variable label_values({query}, {label}): {e}"));
            }
            // `instance` is the target label Prometheus adds; the others must be relayd's.
            let has = exported.series.iter().any(|(n, l)| *n == s.metric && l.contains_key(label));
            if label != "instance" && !has {
                problems.push(format!(
                    "variable label_values({query}, {label}): no {} series has a {label} label",
                    s.metric
                ));
            }
            queried.insert(s.metric);
        }
    }
    assert!(problems.is_empty(), "dashboard queries not served by relayd:\n{}", problems.join("\n"));
    // What the issue asks the dashboard to show is among what it queries.
    for m in [
        "relay_port_total",
        "relay_worker_total",
        "relay_pipeline_total",
        "relay_routes",
        "relay_neighbours",
        "relay_control_ring_depth",
    ] {
        assert!(queried.contains(m), "the dashboard does not query {m}");
    }
    // Every family has HELP and TYPE.
    let families: BTreeSet<&String> = exported.series.iter().map(|(n, _)| n).collect();
    for f in families {
        assert!(exported.help.contains(f), "no HELP for {f}");
    }
    assert_eq!(exported.help.iter().collect::<Vec<_>>(), exported.types.keys().collect::<Vec<_>>());

    // The new gauges tell the truth: routes as `routes` lists them, the two static
    // neighbours, one worker's rings; and they follow a change.
    let routes = |d: &Daemon| d.ok("routes").lines().count() as f64;
    assert_eq!(value(&body, "relay_routes"), routes(&daemon));
    assert_eq!(value(&body, "relay_neighbours{state=\"static\"}"), 2.0);
    assert_eq!(value(&body, "relay_configured_tunnels"), 0.0);
    assert_eq!(value(&body, "relay_control_ring_capacity"), 4096.0);
    assert_eq!(value(&body, "relay_control_ring_depth{worker=\"0\"}"), 0.0);
    assert_eq!(value(&body, "relay_punt_ring_depth{worker=\"0\"}"), 0.0);
    daemon.ok("batch\ntunnel set 1 local 198.51.100.7 remote 203.0.113.51 name t1\nroute add 2001:db8:51::/48 tunnel 1\nend\n");
    let after = scrape(port);
    assert_eq!(value(&after, "relay_routes"), routes(&daemon));
    assert_eq!(value(&after, "relay_routes"), value(&body, "relay_routes") + 1.0);
    assert_eq!(value(&after, "relay_configured_tunnels"), 1.0);
    assert!(value(&after, "relay_control_generation") > value(&body, "relay_control_generation"), "{after}");
    daemon.stop().assert_clean();
}
