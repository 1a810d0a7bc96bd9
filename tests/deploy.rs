//! deploy/systemd: the units as shipped pass `systemd-analyze verify` (syntax, known keys,
//! dependencies that resolve, commands that exist once their installed paths point at this
//! build), and they order the services as docs/deploy-bgp.md says: hugepages before relayd,
//! relayd before BIRD (its control TAPs are BIRD's interfaces), the health agent after both
//! and bound to relayd. systemd-analyze comes with the `systemd` package (scripts/setup.sh).
mod common;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const UNITS: [&str; 3] = ["relay-hugepages.service", "relayd.service", "relay-health.service"];
const BIRD_DROP_IN: &str = "bird.service.d/relay.conf";

fn systemd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/systemd")
}

fn read(name: &str) -> String {
    let path = systemd_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A unit file as systemd reads it: `[Section]` headers, `Key=value` lines, `#`/`;` comments,
/// a trailing `\` continuing a line. Every assignment of a key is kept, in order.
#[derive(Debug, Default)]
struct Unit {
    sections: BTreeMap<String, Vec<(String, String)>>,
}

impl Unit {
    fn parse(text: &str) -> Result<Unit, String> {
        let mut unit = Unit::default();
        let mut section: Option<String> = None;
        let mut pending = String::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with(';')) {
                continue;
            }
            if let Some(cont) = line.strip_suffix('\\') {
                pending.push_str(cont);
                pending.push(' ');
                continue;
            }
            let line = std::mem::take(&mut pending) + line;
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = Some(name.to_string());
                unit.sections.entry(name.to_string()).or_default();
                continue;
            }
            let Some(s) = &section else {
                return Err(format!("line {}: {line:?} before any [section]", n + 1));
            };
            let Some((k, v)) = line.split_once('=') else {
                return Err(format!("line {}: {line:?} is not Key=value", n + 1));
            };
            unit.sections.entry(s.clone()).or_default().push((k.trim().to_string(), v.trim().to_string()));
        }
        if !pending.is_empty() {
            return Err("the last line ends with a continuation".into());
        }
        Ok(unit)
    }

    /// The unit names a list-valued key holds (`After=a b` twice adds up; an empty
    /// assignment resets the list, as in systemd).
    fn list(&self, section: &str, key: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in self.sections.get(section).into_iter().flatten() {
            if k == key {
                if v.is_empty() {
                    out.clear();
                }
                out.extend(v.split_whitespace().map(str::to_string));
            }
        }
        out
    }

    /// The last assignment of a single-valued key.
    fn value(&self, section: &str, key: &str) -> Option<&str> {
        self.sections.get(section)?.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

fn unit(name: &str) -> Unit {
    Unit::parse(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn has(list: &[String], name: &str) -> bool {
    list.iter().any(|u| u == name)
}

#[test]
fn the_units_start_hugepages_then_relayd_then_bird_and_the_agent_after_both_bound_to_relayd() {
    let hugepages = unit("relay-hugepages.service");
    let relayd = unit("relayd.service");
    let agent = unit("relay-health.service");
    let bird = unit(BIRD_DROP_IN);

    // DPDK maps its hugepages at start-up: reserved first, and relayd does not start without.
    assert!(has(&hugepages.list("Unit", "Before"), "relayd.service"), "{hugepages:?}");
    assert!(has(&relayd.list("Unit", "Requires"), "relay-hugepages.service"), "{relayd:?}");
    assert!(has(&relayd.list("Unit", "After"), "relay-hugepages.service"), "{relayd:?}");
    assert_eq!(hugepages.value("Service", "Type"), Some("oneshot"));
    assert_eq!(hugepages.value("Service", "RemainAfterExit"), Some("yes"), "Requires= of a oneshot that is gone");

    // BIRD's interfaces are relayd's control TAPs: ordered after relayd from both sides.
    assert!(has(&relayd.list("Unit", "Before"), "bird.service"), "{relayd:?}");
    assert!(has(&bird.list("Unit", "After"), "relayd.service"), "{bird:?}");

    // The agent asks relayd and commands BIRD: after both; stopped with relayd (BindsTo), so
    // no agent keeps announcing a relay that is gone.
    let after = agent.list("Unit", "After");
    assert!(has(&after, "relayd.service") && has(&after, "bird.service"), "{agent:?}");
    assert!(has(&agent.list("Unit", "BindsTo"), "relayd.service"), "{agent:?}");

    // `systemctl stop relayd` must start relayd's drain: SIGTERM, with time for drain_s.
    assert_eq!(relayd.value("Service", "KillSignal"), Some("SIGTERM"));
    let timeout: u64 = relayd.value("Service", "TimeoutStopSec").and_then(|t| t.parse().ok()).expect("TimeoutStopSec in seconds");
    assert!(timeout > 30, "TimeoutStopSec={timeout} leaves no room for a drain");
    // A drained relayd exits 0 by itself (`relayctl drain`): that stop is meant, and a
    // restart would announce the relay again at once. Crashes are restarted.
    assert_eq!(relayd.value("Service", "Restart"), Some("on-failure"), "{relayd:?}");
}

#[test]
fn the_unit_parser_reads_lists_continuations_resets_and_refuses_stray_lines() {
    let u = Unit::parse("# c\n[Unit]\nAfter=a b\n; c\nAfter=c \\\n  d\n[Service]\nType=simple\nType=oneshot\n").unwrap();
    assert_eq!(u.list("Unit", "After"), ["a", "b", "c", "d"]);
    assert_eq!(u.value("Service", "Type"), Some("oneshot"));
    assert_eq!(Unit::parse("[Unit]\nAfter=a\nAfter=\nAfter=b\n").unwrap().list("Unit", "After"), ["b"]);
    assert_eq!(Unit::parse("After=a\n").unwrap_err(), "line 1: \"After=a\" before any [section]");
    assert_eq!(Unit::parse("[Unit]\nAfter\n").unwrap_err(), "line 2: \"After\" is not Key=value");
    assert_eq!(Unit::parse("[Unit]\nAfter=a \\\n").unwrap_err(), "the last line ends with a continuation");
}

/// The commands the units run, as installed, and where this build has them. A unit that
/// runs anything else fails the test until it is listed here.
fn built_binary(installed: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    match installed {
        "/usr/sbin/relayd" => Some(relayd()),
        "/usr/local/lib/relay/hugepages.sh" => Some(root.join("scripts/hugepages.sh")),
        // Built by `cargo build -p relay-tools`, which this test does not need otherwise:
        // systemd-analyze only checks that the command is an executable file.
        "/usr/local/bin/relay-health" => {
            let agent = sibling_bin("relay-health");
            Some(if agent.is_file() { agent } else { relayd() })
        }
        _ => None,
    }
}

/// The unit with every Exec*= command pointed at this build's binary.
fn with_built_binaries(name: &str, text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut line = line.to_string();
        if let Some((key, value)) = line.split_once('=').filter(|(k, _)| k.trim().starts_with("Exec")) {
            // systemd's command prefixes: - @ : + ! (ignore failure, argv0, no env, privileges).
            let command = value.trim_start_matches(['-', '@', ':', '+', '!']);
            let path = command.split_whitespace().next().unwrap_or_default();
            let built = built_binary(path).unwrap_or_else(|| panic!("{name}: {key} runs {path:?}, unknown to this test"));
            line = line.replacen(path, &built.display().to_string(), 1);
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn systemd_analyze_verify_finds_nothing_to_say_about_the_units() {
    let dir = Scratch::new("systemd-units");
    for name in UNITS {
        dir.write(name, &with_built_binaries(name, &read(name)));
    }
    std::fs::create_dir_all(dir.path("bird.service.d")).expect("drop-in dir");
    dir.write(BIRD_DROP_IN, &read(BIRD_DROP_IN));
    // The scratch directory first, then systemd's own (the trailing colon): Debian's
    // bird.service (bird2, scripts/setup.sh) is found there with our drop-in applied.
    let mut cmd = Command::new("systemd-analyze");
    cmd.env("SYSTEMD_UNIT_PATH", format!("{}:", dir.0.display())).arg("verify");
    for name in UNITS {
        cmd.arg(dir.path(name));
    }
    cmd.arg("bird.service");
    let out = cmd.output().unwrap_or_else(|e| panic!("systemd-analyze: {e} (apt-get install systemd; scripts/setup.sh)"));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // verify exits 0 on warnings (an unknown key is only "ignoring"): silence is the bar.
    assert!(out.status.success() && stdout.is_empty() && stderr.is_empty(), "systemd-analyze verify ({}):\n{stdout}{stderr}", out.status);
}

#[test]
fn systemd_analyze_verify_speaks_up_about_a_bad_unit() {
    // The bar above means something: a misspelt key in the drop-in and a missing command.
    let dir = Scratch::new("systemd-bad-units");
    let relayd = read("relayd.service").replace("/usr/sbin/relayd", "/nonexistent/relayd");
    dir.write("relayd.service", &relayd);
    std::fs::create_dir_all(dir.path("bird.service.d")).expect("drop-in dir");
    dir.write(BIRD_DROP_IN, &format!("{}Afterr=relayd.service\n", read(BIRD_DROP_IN)));
    let out = Command::new("systemd-analyze")
        .env("SYSTEMD_UNIT_PATH", format!("{}:", dir.0.display()))
        .arg("verify")
        .arg(dir.path("relayd.service"))
        .arg("bird.service")
        .output()
        .expect("systemd-analyze");
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("Command /nonexistent/relayd is not executable"), "{said}");
    assert!(said.contains("Unknown key 'Afterr' in section [Unit]"), "{said}");
}
