//! The control core under traffic: 100k route changes through the rings while packets flow,
//! the workers' tables and the standby audited against the live set, bad commands refused
//! without side effects,
//! reload, DPDK telemetry and Prometheus.
mod common;
use std::collections::BTreeSet;
use std::io::{Read, Write};

use common::*;
use relay_tools::telemetry::{json_u64, socket_path, Telemetry};

/// A LAN host of router R (V = 198.51.100.7) sending to the 6to4 site of 203.0.113.1:
/// every packet is encapsulated and leaves on the WAN port.
fn lan_frame(i: u8) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0xa1]); // to R's LAN port
    f.extend_from_slice(&[0x02, 0, 0, 0, 0x02, 0x05]); // from the host
    f.extend_from_slice(&[0x86, 0xdd]);
    let payload = [i; 16];
    f.extend_from_slice(&[0x60, 0, 0, 0, 0, payload.len() as u8, 59, 64]);
    f.extend_from_slice(&"2002:c633:6407:1::5".parse::<std::net::Ipv6Addr>().unwrap().octets());
    f.extend_from_slice(&"2002:cb00:7101::5".parse::<std::net::Ipv6Addr>().unwrap().octets());
    f.extend_from_slice(&payload);
    f
}

fn router_config(dir: &Scratch, prefix: &str, extra_routes: &str, telemetry_prom: bool) -> std::path::PathBuf {
    write_pcap(&dir.path("lan.pcap"), &(0..32).map(lan_frame).collect::<Vec<_>>());
    let prom = if telemetry_prom { "prometheus = \"127.0.0.1:0\"" } else { "" };
    dir.write(
        "relayd.toml",
        &format!(
            r#"
[eal]
file_prefix = "{prefix}"
memory_mb = 256
[[port]]
name = "wan"
device = "net_null0,no-rx=1"
mac = "02:00:00:00:00:a0"
[[port]]
name = "lan"
device = "net_pcap0,rx_pcap={d}/lan.pcap,infinite_rx=1"
mac = "02:00:00:00:00:a1"
[[worker]]
cpu = 0
rx = ["wan:0", "lan:0"]
[runtime]
idle_sleep_us = 20
[control]
socket = "{d}/ctl.sock"
{prom}
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
[[pipeline.route]]
add = "2002::/16 6to4"
[[pipeline.route]]
add = "2002:c633:6407:1::/64 port 1"
{extra_routes}
"#,
            d = dir.0.display()
        ),
    )
}

fn route_prefixes(body: &str) -> BTreeSet<String> {
    body.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect()
}

fn accounted(d: &Daemon) -> (u64, u64) {
    let s = d.stats();
    let inn = s["rx_packets"] + s["injected"];
    let out = s["tx_packets"] + s["tx_dropped"] + s["pipeline_dropped"] + s["punted"];
    (inn, out)
}

#[test]
fn hundred_thousand_route_changes_under_traffic() {
    let dir = Scratch::new("churn");
    let cfg = router_config(&dir, "ctl-churn", "", false);
    let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
    let base = route_prefixes(&d.ok("routes"));
    assert_eq!(base, BTreeSet::from(["2002::/16".to_string(), "2002:c633:6407:1::/64".to_string()]));

    let prefix = |i: usize| {
        let a = std::net::Ipv6Addr::new(0x2001, 0xdb8, (i / 256) as u16, ((i % 256) << 8) as u16, 0, 0, 0, 0);
        format!("{a}/56")
    };
    let mut expected = base.clone();
    let mut changes = 0;
    for b in 0..100 {
        let mut req = String::from("batch\n");
        for j in 0..1000 {
            let i = b * 1000 + j;
            if i % 4 == 3 {
                req.push_str(&format!("route del {}\n", prefix(i - 1)));
                expected.remove(&prefix(i - 1));
            } else {
                req.push_str(&format!("route add {} via 2002:c058:6301::\n", prefix(i)));
                expected.insert(prefix(i));
            }
            changes += 1;
        }
        req.push_str("end\n");
        let body = d.ok(&req);
        assert!(body.starts_with("generation "), "{body}");
    }
    assert_eq!(changes, 100_000);

    // Every worker reaches the final generation and holds exactly the control copy.
    let audit = d.ok("audit");
    assert!(audit.contains("workers 1 consistent"), "{audit}");
    let gen = d.ok("generation");
    let nums: Vec<u64> = gen.lines().filter_map(|l| l.split_whitespace().nth(1)?.parse().ok()).collect();
    assert_eq!(nums.len(), 2, "{gen}");
    assert_eq!(nums[0], nums[1], "applied == sent: {gen}");
    let got = route_prefixes(&d.ok("routes"));
    let missing: Vec<_> = expected.difference(&got).take(5).collect();
    let extra: Vec<_> = got.difference(&expected).take(5).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, extra {extra:?}");
    assert_eq!(expected.len(), 2 + 50_000);

    let s = d.stats();
    assert!(s["pipeline.encapsulated"] > 0, "traffic flowed through the pipeline");
    let run = d.stop();
    run.assert_clean();
    let inn = run.counter("rx_packets") + run.counter("injected");
    let out = run.counter("tx_packets") + run.counter("tx_dropped") + run.counter("pipeline_dropped") + run.counter("punted");
    assert_eq!(inn, out, "zero unaccounted packets");
    assert_eq!(run.counter("pipeline_dropped"), 0, "every packet was encapsulated");
}

#[test]
fn bad_commands_are_refused_and_change_nothing() {
    let dir = Scratch::new("badcmd");
    let cfg = router_config(&dir, "ctl-badcmd", "", false);
    let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
    let routes = d.ok("routes");
    let gen = d.ok("generation");
    let cases: &[(&str, &str)] = &[
        ("frobnicate", "unknown command \"frobnicate\""),
        ("route", "usage: route add <prefix> <nexthop> | route del <prefix>"),
        ("route add 2001:db8::/32", "needs a target"),
        ("route add 2001:db8::1/32 6to4", "host bits"),
        ("route add 2001:db8::/129 6to4", "prefix length 129 is over 128"),
        ("route add 2001:db8::/32 via fe80::1", "next hop fe80::1 is not a 6to4 address: give a port"),
        ("route add 2001:db8::/32 port 7", "port 7"),
        ("route del 2001:db8:dead::/48", "2001:db8:dead::/48"),
        ("stats please", "stats takes no arguments"),
        ("batch\nroute add 2001:db8:1::/48 via 2002:c058:6301::\nroute add 2001:db8:2::/48 bogus\nend", "line 2"),
        ("batch\nroute add 2001:db8:1::/48 via 2002:c058:6301::\nroute del 2001:db8:3::/48\nend", "change 2"),
    ];
    let mut wrong = Vec::new();
    for (cmd, reason) in cases {
        match d.request(cmd).expect("socket") {
            Ok(body) => wrong.push(format!("{cmd:?} was accepted: {body}")),
            Err(e) if !e.contains(reason) => wrong.push(format!("{cmd:?}: expected {reason:?} in {e:?}")),
            Err(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(d.ok("routes"), routes, "no route changed");
    assert_eq!(d.ok("generation"), gen, "nothing was sent to the workers");

    // relayctl reports the same errors and exits 1; exit 2 when no daemon answers.
    let relayctl = sibling_bin("relayctl");
    let sock = dir.path("ctl.sock");
    let out = std::process::Command::new(&relayctl)
        .args(["-s", sock.to_str().unwrap(), "route", "add", "2001:db8::/32"])
        .output()
        .expect("relayctl");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a target"));
    let out = std::process::Command::new(&relayctl)
        .args(["-s", sock.to_str().unwrap(), "route", "add", "2001:db8:77::/48", "via", "2002:c058:6301::"])
        .output()
        .expect("relayctl");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(d.ok("routes").contains("2001:db8:77::/48 via 2002:c058:6301::"));
    let out = std::process::Command::new(&relayctl)
        .args(["-s", dir.path("nope.sock").to_str().unwrap(), "stats"])
        .output()
        .expect("relayctl");
    assert_eq!(out.status.code(), Some(2));
    d.stop().assert_clean();
}

#[test]
fn reload_swaps_tables_and_refuses_other_changes() {
    let dir = Scratch::new("reload");
    let cfg = router_config(&dir, "ctl-reload", "", false);
    let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
    let before = d.ok("generation");

    router_config(&dir, "ctl-reload", "[[pipeline.route]]\nadd = \"2001:db8:aa::/48 via 2002:c058:6301::\"", false);
    let body = d.ok("reload");
    assert!(body.starts_with("generation "), "{body}");
    assert!(d.ok("routes").contains("2001:db8:aa::/48"), "new route is in");
    assert!(d.ok("audit").contains("consistent"));

    // A bad file, and a change that is more than tables, are refused whole.
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("2001:db8:aa::/48", "2001:db8:aa::/480")).unwrap();
    let e = d.request("reload").unwrap().unwrap_err();
    assert!(e.contains("pipeline.route[2]"), "{e}");
    std::fs::write(&cfg, text.replace("ipv4 = \"198.51.100.7/24\"", "ipv4 = \"198.51.100.8/24\"")).unwrap();
    let e = d.request("reload").unwrap().unwrap_err();
    assert!(e.contains("need a restart"), "{e}");
    assert!(d.ok("routes").contains("2001:db8:aa::/48"), "still the last good tables");
    assert_ne!(d.ok("generation"), before);
    d.stop().assert_clean();
}

#[test]
fn telemetry_and_prometheus_show_the_counters() {
    let dir = Scratch::new("observe");
    let cfg = router_config(&dir, "ctl-observe", "", true);
    let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
    // Let traffic flow and the stats publish.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (inn, out) = accounted(&d);
    assert!(inn > 0 && out > 0);

    let mut t = Telemetry::connect(&socket_path("ctl-observe")).expect("telemetry socket");
    let stats = t.query("/relay/stats").unwrap();
    assert!(json_u64(&stats, "rx_packets").unwrap_or(0) > 0, "{stats}");
    let drops = t.query("/relay/drops").unwrap();
    assert!(json_u64(&drops, "encapsulated").unwrap_or(0) > 0, "{drops}");
    assert!(drops.contains("\"drop_ipv4_src_martian\""), "every drop reason is listed: {drops}");
    let worker = t.query("/relay/workers,0").unwrap();
    assert_eq!(json_u64(&worker, "lcore"), Some(1), "{worker}");
    let bad = t.query("/relay/workers,9").unwrap();
    assert!(bad.contains("null"), "{bad}");
    let port = t.query("/ethdev/stats,0").unwrap();
    assert!(json_u64(&port, "opackets").unwrap_or(0) > 0, "{port}");

    // The Prometheus address was port 0: relayd printed the one it got. Ask the socket.
    let stdout_addr = {
        let run_stats = d.ok("stats");
        assert!(run_stats.contains("pipeline.encapsulated"));
        d.stop()
    };
    let line = stdout_addr.stdout.lines().find(|l| l.contains("prometheus on http://")).expect("prometheus line").to_string();
    assert!(line.contains("127.0.0.1:"), "{line}");
    stdout_addr.assert_clean();
}

#[test]
fn prometheus_endpoint_serves_metrics() {
    let dir = Scratch::new("prom");
    let cfg = router_config(&dir, "ctl-prom", "", false);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let text = std::fs::read_to_string(&cfg).unwrap().replace("[control]\n", &format!("[control]\nprometheus = \"127.0.0.1:{port}\"\n"));
    std::fs::write(&cfg, text).unwrap();
    let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("prometheus endpoint");
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.0 200 OK"), "{body}");
    assert!(body.contains("# TYPE relay_rx_packets_total counter"));
    assert!(body.contains("relay_pipeline_total{counter=\"encapsulated\"}"));
    assert!(body.contains("relay_port_total{port=\"wan\",counter=\"opackets\"}"));
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /nope HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.0 404"), "{body}");
    d.stop().assert_clean();
}
