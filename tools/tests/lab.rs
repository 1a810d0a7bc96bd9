//! The seed's testbed (relay-lab) end to end: five relayd instances on TAP ports, Linux
//! hosts in network namespaces. One test per scenario, each on a lab of its own (built and
//! torn down, with every relayd's pool check), and one for `relay-lab run`'s teardown.
//!
//! Needs root (namespaces, TAPs), tcpdump, traceroute6, python3 with scapy (scripts/setup.sh)
//! and relayd built beside this test (`cargo build --workspace --release --all-targets`).
//! The tests share the lab's names: run them with `--test-threads=1`. A lab started by hand
//! in /tmp/relay-lab is torn down by them.
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use relay_tools::lab::config::{relayd_toml, Runtime};
use relay_tools::lab::scenario::{self, Check, Outcome, Scenario};
use relay_tools::lab::topology::{RouterId, Topology};
use relay_tools::lab::{wiring, Lab, LabOptions, Teardown};

/// Runs `s` on a fresh lab, tears the lab down, and checks both.
fn scenario(s: Scenario) -> Outcome {
    let mut lab = Lab::up(&LabOptions::default()).unwrap_or_else(|e| panic!("lab up: {e}"));
    let outcome = scenario::run(&mut lab, s);
    let teardown = lab.down();
    assert!(outcome.passed(), "{outcome}");
    assert_torn_down(&teardown);
    outcome
}

fn assert_torn_down(t: &Teardown) {
    assert_eq!(t.stopped.len(), RouterId::ALL.len(), "{t}");
    for s in &t.stopped {
        assert!(s.pools_full(), "{s}");
    }
    assert!(t.clean(), "{t}");
    assert_eq!(wiring::namespaces(), Vec::<String>::new());
    assert_eq!(wiring::root_links(), Vec::<String>::new());
}

/// The check named `what`, which must have held with `detail`.
fn check<'a>(o: &'a Outcome, what: &str, detail: &str) -> &'a Check {
    let c = o.checks.iter().find(|c| c.what == what).unwrap_or_else(|| panic!("no check {what:?} in\n{o}"));
    assert!(c.ok, "{what}: {}", c.detail);
    assert_eq!(c.detail, detail, "{what}");
    c
}

#[test]
fn scenario_1_site_to_site_through_r1_and_r2() {
    let o = scenario(Scenario::SiteToSite);
    check(&o, "ping6 A -> B: replies", "5");
    check(&o, "ping6 B -> A: replies", "5");
    check(&o, "wan1: protocol-41 frames 198.51.100.10 -> 203.0.113.20", "5");
    check(&o, "wan1: of them, echo requests A -> B inside", "5");
    for way in ["A -> B", "B -> A"] {
        check(&o, &format!("TCP {way}: bytes received"), "10485760");
        assert!(o.checks.iter().any(|c| c.what == format!("TCP {way}: SHA-256 received = sent") && c.ok));
    }
}

#[test]
fn scenario_2_site_to_native_through_the_relay() {
    let o = scenario(Scenario::SiteToNative);
    check(&o, "ping6 A -> C: replies", "5");
    check(&o, "ping6 C -> A: replies", "5");
    // R1 tunnels to the relay's anycast address; R3 tunnels back to V1 from it.
    check(&o, "wan1: protocol-41 frames 198.51.100.10 -> 192.88.99.1", "5");
    check(&o, "wan2: protocol-41 frames 192.88.99.1 -> 198.51.100.10", "5");
    check(&o, "R3 pipeline.decapsulated +", "5");
    check(&o, "R3 pipeline.encapsulated +", "5");
    check(&o, "TCP A -> C: bytes received", "10485760");
    check(&o, "TCP C -> A: bytes received", "10485760");
}

#[test]
fn scenario_3_hop_limit_and_time_exceeded_from_the_relay_path() {
    let o = scenario(Scenario::HopLimit);
    check(&o, "ping6 -t 1 A -> C: the error", r#"[("2002:c633:640a:1::1", "Time exceeded: Hop limit")]"#);
    check(&o, "ping6 -t 2 A -> C: the error", r#"[("2002:c058:6301::", "Time exceeded: Hop limit")]"#);
    check(&o, "R3 pipeline.icmp6_time_exceeded +", "1");
    check(&o, "traceroute6 A -> C: hops", "[Some(2002:c633:640a:1::1), Some(2002:c058:6301::), Some(2001:db8:1::c)]");
}

#[test]
fn scenario_4_packet_too_big_then_the_tunnel_mtu_gets_through() {
    let o = scenario(Scenario::Mtu);
    check(&o, "ping6 -s 1452 -M do C -> A: the error", r#"[("2001:db8:1::1", "Packet too big: mtu=1480")]"#);
    check(&o, "R3 pipeline.drop_mtu_exceeded +", "1");
    check(&o, "R3 pipeline.icmp6_packet_too_big +", "1");
    check(&o, "ping6 -s 1432 -M do C -> A (1480-byte packets): replies", "3");
    check(&o, "ping6 -s 1452 -M do A -> C: the error", r#"[("2002:c633:640a:1::1", "Packet too big: mtu=1480")]"#);
    check(&o, "R1 pipeline.icmp6_packet_too_big +", "1");
    check(&o, "ping6 -s 1432 -M do A -> C (1480-byte packets): replies", "3");
    check(&o, "ping6 -s 1452 C -> A (fragmented by the hosts): replies", "3");
}

#[test]
fn scenario_5_spoofed_protocol_41_is_dropped_under_its_reason() {
    let o = scenario(Scenario::Spoofing);
    for (router, reason) in [
        ("R2", "decap_src_v4_mismatch"),
        ("R2", "ipv6_src_martian"),
        ("R2", "decap_native_to_native"),
        ("R2", "ipv4_src_martian"),
        ("R3", "decap_src_v4_mismatch"),
        ("R3", "ipv6_src_martian"),
        ("R3", "decap_native_to_native"),
        ("R3", "ipv6_dst_martian"),
    ] {
        check(&o, &format!("{router} pipeline.drop_{reason} +"), "5");
    }
    check(&o, "R2 pipeline.decapsulated +", "0");
    check(&o, "R3 pipeline.decapsulated +", "0");
    check(&o, "spoofed packets captured at B", "0");
    check(&o, "spoofed packets captured at C", "0");
    check(&o, "A's echo request captured at B", "1");
    check(&o, "A's echo request captured at C", "1");
}

#[test]
fn scenario_6_relay_restart_while_a_pings_c() {
    let o = scenario(Scenario::Restart);
    for what in ["the old R3 stopped with its pools full", "A -> C pings resumed after the restart", "R1 and R2 kept running (same processes)"] {
        assert!(o.checks.iter().any(|c| c.what == what && c.ok), "{what}\n{o}");
    }
    check(&o, "ping6 A -> B after the restart: replies", "3");
    check(&o, "ping6 C -> A after the restart: replies", "3");
}

#[test]
fn scenario_7_configured_tunnel_between_r4_and_the_relay() {
    let o = scenario(Scenario::ConfiguredTunnel);
    check(&o, "ping6 D -> C: replies", "5");
    check(&o, "ping6 C -> D: replies", "5");
    check(&o, "wan3: protocol-41 frames 192.0.2.40 -> 203.0.113.30", "5");
    check(&o, "wan3: of them, echo requests D -> C inside", "5");
    check(&o, "wan2: protocol-41 frames 203.0.113.30 -> 192.0.2.40", "5");
    check(&o, "wan2: of them, echo requests C -> D inside", "5");
    for counter in ["decap_configured", "encap_configured", "decapsulated", "encapsulated"] {
        check(&o, &format!("R3 pipeline.{counter} +"), "5");
    }
    check(&o, "rogue: R4 pipeline.drop_decap_tunnel_src_mismatch +", "5");
    check(&o, "rogue: R4 pipeline.decapsulated +", "0");
}

#[test]
fn scenario_8_sixrd_ce_through_the_border_relay() {
    let o = scenario(Scenario::SixRd);
    check(&o, "ping6 E -> C: replies", "5");
    check(&o, "ping6 C -> E: replies", "5");
    // The CE sends to the BR address; the BR answers from it to the CE address in E's prefix.
    check(&o, "wan3: protocol-41 frames 192.0.2.50 -> 203.0.113.31", "5");
    check(&o, "wan3: of them, echo requests E -> C inside", "5");
    check(&o, "wan2: protocol-41 frames 203.0.113.31 -> 192.0.2.50", "5");
    check(&o, "wan2: of them, echo requests C -> E inside", "5");
    for counter in ["decap_6rd", "encap_6rd", "decapsulated", "encapsulated"] {
        check(&o, &format!("R3 pipeline.{counter} +"), "5");
    }
    check(&o, "rogue: R3 pipeline.drop_decap_6rd_src_mismatch +", "5");
    check(&o, "rogue: R3 pipeline.decap_6rd +", "0");
}

/// `--static-neighbours false`: no MAC is configured on either side; relayd resolves its
/// next hops with ARP and ND and answers the hosts' and the Internet's (R3 for its 6rd BR
/// address too).
#[test]
fn scenarios_1_2_7_8_with_neighbours_resolved_by_arp_and_nd() {
    let opts = LabOptions { static_neighbours: false, ..LabOptions::default() };
    let mut lab = Lab::up(&opts).unwrap_or_else(|e| panic!("lab up: {e}"));
    let config = std::fs::read_to_string(lab.runtime.config_path(lab.topology.router(RouterId::R1))).expect("r1.toml");
    let outcomes = Scenario::PATHS.map(|s| scenario::run(&mut lab, s));
    let teardown = lab.down();
    assert!(!config.contains("[[pipeline.neighbour]]"), "{config}");
    for o in &outcomes {
        assert!(o.passed(), "{o}");
    }
    check(&outcomes[0], "wan1: of them, echo requests A -> B inside", "5");
    check(&outcomes[1], "wan2: of them, echo requests C -> A inside", "5");
    check(&outcomes[2], "wan2: of them, echo requests C -> D inside", "5");
    check(&outcomes[3], "wan2: of them, echo requests C -> E inside", "5");
    assert_torn_down(&teardown);
}

/// relayd accepts the three generated configurations as they are (`--check` starts nothing).
#[test]
fn generated_configurations_pass_relayd_check() {
    let dir = std::env::temp_dir().join(format!("relay-lab-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let t = Topology::new(true);
    let rt = Runtime::new(&dir, true);
    for r in &t.routers {
        let path = rt.config_path(r);
        std::fs::write(&path, relayd_toml(r, &rt)).expect("write config");
        let out = Command::new(relay_tools::lab::default_relayd()).arg("-c").arg(&path).arg("--check").output().expect("relayd --check");
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {text}", r.id);
        assert!(text.contains("config ok"), "{text}");
        let inner = format!("port 1 {}: 1 rx queues, 1 tx queues, device net_tap1,iface={}", r.inner.name, r.inner.tap);
        assert!(text.contains(&inner), "{inner:?} not in {text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `relay-lab run` as the README runs it: scenarios 1, 2, 7 and 8, the live view, then Ctrl-C
/// tears everything down with every pool full.
#[test]
fn run_shows_the_live_view_and_tears_down_on_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relay-lab"))
        .arg("run")
        .env("RELAY_LAB_RELAYD", relay_tools::lab::default_relayd())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("start relay-lab");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Three rounds of the live view (one line per router each) after both scenarios.
    let mut lines = Vec::new();
    let mut live_lines = 0;
    while live_lines < 9 {
        match rx.recv_timeout(Duration::from_secs(300)) {
            Ok(l) => {
                if ["R1 router", "R2 router", "R3 relay "].iter().any(|p| l.contains(p)) && l.contains(" rx ") {
                    live_lines += 1;
                }
                lines.push(l);
            }
            Err(_) => {
                let _ = child.kill();
                panic!("relay-lab run stopped talking:\n{}", lines.join("\n"));
            }
        }
    }
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill").success());
    let status = child.wait().expect("relay-lab exits");
    reader.join().expect("stdout reader");
    lines.extend(rx.try_iter());
    let out = lines.join("\n");
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(out.contains("scenario 1: A <-> B through R1 and R2 (seed 3.3.1): PASS"), "{out}");
    assert!(out.contains("scenario 2: A <-> C through R1 -> R3 and C -> R3 -> R1 (seed 3.3.2): PASS"), "{out}");
    assert!(out.contains("scenario 7: D <-> C through the configured tunnel R4 <-> R3 (RFC 4213): PASS"), "{out}");
    assert!(out.contains("scenario 8: E <-> C through the 6rd CE R5 and the border relay R3 (RFC 5969): PASS"), "{out}");
    for r in ["R1", "R2", "R3", "R4", "R5"] {
        let stopped = lines.iter().find(|l| l.trim_start().starts_with(&format!("{r}: exit 0, mempool full again"))).unwrap_or_else(|| panic!("{r} pool check:\n{out}"));
        assert!(stopped.ends_with("no leak"), "{stopped}");
    }
    assert!(out.contains("namespaces and TAPs: all gone"), "{out}");
    assert_eq!(wiring::namespaces(), Vec::<String>::new());
    assert_eq!(wiring::root_links(), Vec::<String>::new());
    assert!(!std::path::Path::new("/var/run/dpdk/rlab-r1").exists());
}
