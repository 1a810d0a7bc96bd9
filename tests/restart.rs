//! Restarts and reloads under load (issue 18 §4): `kill -9` of a forwarding relayd and a
//! start again on the same host; a reload whose file is bad in its last line.
//!
//! Load: the LAN port replays a pcap forever (`infinite_rx`), every packet encapsulated out of
//! the WAN port (`net_null`). relayd runs in a namespace of its own, with a control TAP and
//! kernel table 100 mirrored, so that its TAP and kernel routes are checked too.
mod common;
use std::net::Ipv6Addr;
use std::time::Duration;

use common::*;

const LAN_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa1];
const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x02, 0x05];

/// A LAN host's packet to another 6to4 site: encapsulated towards 203.0.113.1.
fn lan_frame(i: u8) -> Vec<u8> {
    let payload = [i; 24];
    let mut p = vec![0x60, 0, 0, 0, 0, payload.len() as u8, 59, 64];
    p.extend_from_slice(&"2002:c633:6407:1::5".parse::<Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&format!("2002:cb00:7101::{:x}", u16::from(i) + 1).parse::<Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&payload);
    [&LAN_MAC[..], &HOST_MAC, &[0x86, 0xdd], &p].concat()
}

/// `tail` goes at the end of the file (after the last table entry).
fn config(dir: &Scratch, prefix: &str, tail: &str) -> std::path::PathBuf {
    write_pcap(&dir.path("lan.pcap"), &(0..32).map(lan_frame).collect::<Vec<_>>());
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
[routing]
kernel_table = 100
[pipeline]
[[pipeline.interface]]
port = 0
ipv4 = "198.51.100.7/24"
gateway = "198.51.100.1"
control_tap = "cp0"
[[pipeline.interface]]
port = 1
ipv6 = ["2002:c633:6407:1::1/64"]
[pipeline.router]
ipv4 = "198.51.100.7"
lan_ports = [1]
[[pipeline.neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"
[[pipeline.tunnel]]
id = 0
local = "198.51.100.7"
remote = "203.0.113.50"
[[pipeline.route]]
add = "2001:db8:50::/48 tunnel 0"
[[pipeline.route]]
add = "::/0 via 2002:c058:6301::"
{tail}
"#,
            d = dir.0.display()
        ),
    )
}

/// Forwarding: `tx_packets` grows between two looks.
fn forwarding(d: &Daemon) -> bool {
    let before = d.stats()["tx_packets"];
    std::thread::sleep(Duration::from_millis(200));
    d.stats()["tx_packets"] > before
}

fn has_route(d: &Daemon, line_start: &str) -> bool {
    d.ok("routes").lines().any(|l| l.starts_with(line_start))
}

/// `kill -9` while forwarding, then a start on the same host: the stale socket is replaced,
/// the control TAP comes back, the configured routes and tunnels are there, the kernel's
/// routes are mirrored again, and forwarding resumes. A route added with `route add` at run
/// time is gone: run-time changes are not persisted (docs/control-protocol.md says so; the
/// routing daemon and the broker put theirs back).
#[test]
fn kill_9_under_load_then_start_brings_everything_back() {
    let tag = std::process::id() % 100_000;
    let ns = Netns::new(&format!("rst{tag}"));
    ns.ip("link set lo up");
    let dir = Scratch::new("restart");
    let cfg = config(&dir, &format!("restart{tag}"), "");
    let socket = dir.path("ctl.sock");
    let d = Daemon::start_in_netns(&ns.0, &cfg, &socket);
    ns.ip("-6 route add blackhole 2001:db8:77::/48 table 100");
    let mirrored = |d: &Daemon| has_route(d, "2001:db8:77::/48 blackhole origin kernel/");
    let start = std::time::Instant::now();
    while !mirrored(&d) && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(mirrored(&d), "{}", d.ok("routes"));
    d.ok("route add 2001:db8:88::/48 blackhole");
    assert!(forwarding(&d), "{:?}", d.stats());

    let killed = d.signal_stop("KILL", Duration::from_secs(10)).unwrap_or_else(|_| panic!("relayd survived SIGKILL"));
    assert_eq!(killed.code(), None, "killed by a signal");
    assert!(socket.exists(), "SIGKILL leaves the socket file behind");
    assert!(ns.exec("ip link show cp0").status.code() != Some(0), "the control TAP went with the process");

    let d = Daemon::start_in_netns(&ns.0, &cfg, &socket);
    assert!(forwarding(&d), "forwarding again: {:?}", d.stats());
    assert!(ns.ip("link show cp0").contains("UP"), "the control TAP is back");
    let routes = d.ok("routes");
    for line in ["2001:db8:50::/48 tunnel 0 origin static", "::/0 via 2002:c058:6301:: origin static", "2001:db8:77::/48 blackhole origin kernel/"] {
        assert!(routes.lines().any(|l| l.starts_with(line)), "{line:?} in:\n{routes}");
    }
    assert!(!routes.contains("2001:db8:88::/48"), "the run-time route is not persisted:\n{routes}");
    assert!(d.ok("tunnels").contains("203.0.113.50"), "{}", d.ok("tunnels"));
    assert!(d.ok("audit").contains("consistent"));
    let run = d.stop();
    run.assert_clean();
    assert!(!socket.exists(), "a clean stop removes the socket");
    assert!(ns.exec("ip link show cp0").status.code() != Some(0), "and the TAP");
    let hugepage_files: Vec<_> = std::fs::read_dir("/dev/hugepages")
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with(&format!("restart{tag}"))).collect())
        .unwrap_or_default();
    assert_eq!(hugepage_files, Vec::<String>::new());
}

/// A reload whose file is bad only in its last line is refused whole while traffic flows:
/// the tables are the ones before, and not one packet is lost.
#[test]
fn reload_bad_in_its_last_line_under_load_changes_nothing_and_loses_nothing() {
    let tag = std::process::id() % 100_000;
    let ns = Netns::new(&format!("rld{tag}"));
    ns.ip("link set lo up");
    let dir = Scratch::new("reload-load");
    let prefix = format!("reload{tag}");
    let cfg = config(&dir, &prefix, "");
    let d = Daemon::start_in_netns(&ns.0, &cfg, &dir.path("ctl.sock"));
    assert!(forwarding(&d));
    let (routes, generation) = (d.ok("routes"), d.ok("generation"));
    // Good additions first, the bad one last: nothing of it may apply.
    config(&dir, &prefix, "[[pipeline.route]]\nadd = \"2001:db8:aa::/48 tunnel 0\"\n[[pipeline.route]]\nadd = \"2001:db8:ab::/48 via nowhere\"");
    let e = d.request("reload").unwrap().unwrap_err();
    assert!(e.contains("pipeline.route[3]"), "{e}");
    assert_eq!(d.ok("routes"), routes, "nothing changed");
    assert_eq!(d.ok("generation"), generation);
    assert!(forwarding(&d));
    let run = d.stop();
    run.assert_clean();
    let c = |n: &str| run.counter(n);
    assert!(c("tx_packets") > 0);
    assert_eq!((c("pipeline_dropped"), c("tx_dropped"), c("punt_dropped")), (0, 0, 0), "{}", run.stdout);
    assert_eq!(c("rx_packets") + c("injected"), c("tx_packets") + c("punted") + c("to_kernel"));
}
