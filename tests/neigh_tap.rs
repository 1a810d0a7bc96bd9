//! The relay as a neighbour on a real link (spec section 11): relayd's port is a TAP
//! interface moved into a network namespace, where a Linux host lives. The host's kernel
//! resolves the relay and pings it over IPv4 and IPv6; the relay learns the host without
//! static entries and confirms it by probing; with router advertisements on, the host
//! autoconfigures a 6to4 site address and takes the relay as its default router; as the
//! relay's IPv4 gateway, the host is resolved by ARP while a 6to4 packet waits for it.
//! Root only (netns, TAP); run with `--test-threads=1` like the other DPDK tests.
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const RELAY_MAC: &str = "02:00:00:00:00:a0";
const HOST_MAC: &str = "02:00:00:00:50:50";

fn config(dir: &Scratch, prefix: &str, iface: &str, router_advert: bool) -> std::path::PathBuf {
    let ra = if router_advert { "[[pipeline.router_advert]]\nport = 0\ninterval_s = 4" } else { "" };
    dir.write(
        "relayd.toml",
        &format!(
            r#"
[eal]
file_prefix = "{prefix}"
memory_mb = 256
[[port]]
name = "lan"
device = "net_tap0,iface={iface}"
mac = "{RELAY_MAC}"
[[worker]]
cpu = 0
rx = ["lan:0"]
[runtime]
idle_sleep_us = 20
[control]
socket = "{d}/ctl.sock"
[pipeline]
[[pipeline.interface]]
port = 0
ipv4 = "198.51.100.7/24"
gateway = "198.51.100.50"
ipv6 = ["2002:c633:6407:1::1/64"]
[pipeline.router]
ipv4 = "198.51.100.7"
lan_ports = [0]
{ra}
"#,
            d = dir.0.display()
        ),
    )
}

/// relayd on a TAP port whose kernel side is the host in a fresh namespace: MAC
/// [`HOST_MAC`], 198.51.100.50/24 and 2002:c633:6407:1::50/64.
fn relay_and_host(name: &str, tag: char, router_advert: bool) -> (Scratch, Daemon, Netns, String) {
    let dir = Scratch::new(name);
    let iface = format!("rn{tag}{}", std::process::id() % 100_000);
    let d = Daemon::start(&config(&dir, name, &iface, router_advert), &dir.path("ctl.sock"));
    let ns = Netns::new(&format!("relayd-{name}-{}", std::process::id()));
    let moved = Command::new("ip").args(["link", "set", &iface, "netns", &ns.0]).output().expect("ip");
    assert!(moved.status.success(), "moving {iface}: {}", String::from_utf8_lossy(&moved.stderr));
    // The TAP PMD gives the kernel side the port's MAC: the host gets its own.
    ns.ip(&format!("link set {iface} address {HOST_MAC}"));
    ns.ip(&format!("addr add 198.51.100.50/24 dev {iface}"));
    ns.ip(&format!("-6 addr add 2002:c633:6407:1::50/64 dev {iface} nodad"));
    ns.ip("link set lo up");
    ns.ip(&format!("link set {iface} up"));
    (dir, d, ns, iface)
}

/// Polls `f` until it returns Some, for up to `secs` seconds (a deadline, not a timing
/// assertion: the kernel and relayd take the time they take).
fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(secs), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn neigh_line(d: &Daemon, addr: &str) -> Option<String> {
    d.ok("neigh").lines().find(|l| l.split_whitespace().next() == Some(addr)).map(str::to_string)
}

/// Each side resolves the other: the host's kernel through relayd's ARP and NA replies,
/// relayd from the host's requests, confirmed by its own probes.
#[test]
fn host_and_relay_resolve_each_other() {
    let (_dir, d, ns, iface) = relay_and_host("neigh-ping", 'p', false);
    ns.ping("198.51.100.7");
    ns.ping("2002:c633:6407:1::1");

    for addr in ["198.51.100.7", "2002:c633:6407:1::1"] {
        let entry = ns.ip(&format!("neigh show {addr} dev {iface}"));
        assert!(entry.contains(&format!("lladdr {RELAY_MAC}")) && entry.contains("REACHABLE"), "host's entry for {addr}: {entry:?}");
    }
    // Learned from the host's requests (stale), then probed and confirmed; never static.
    for addr in ["198.51.100.50", "2002:c633:6407:1::50"] {
        let line = wait_for(&format!("relayd to confirm {addr}"), 30, || {
            neigh_line(&d, addr).filter(|l| l.contains(" reachable "))
        });
        assert!(line.starts_with(&format!("{addr} {HOST_MAC} reachable port 0 age ")), "{line}");
    }

    let s = d.stats();
    assert_eq!((s["slowpath.echo4_replies"], s["slowpath.echo6_replies"]), (3, 3));
    assert!(s["slowpath.arp_replies"] >= 1 && s["slowpath.nd_adverts"] >= 1, "{s:?}");
    assert!(s["slowpath.arp_learned"] >= 2 && s["slowpath.nd_learned"] >= 2, "learned, then confirmed: {s:?}");
    assert!(s["slowpath.arp_requests"] >= 1 && s["slowpath.nd_solicits"] >= 1, "probes: {s:?}");
    assert_eq!(s["slowpath.neigh_expired"], 0);
    let run = d.stop();
    run.assert_clean();
}

/// With router advertisements the host autoconfigures from the relay's prefix and routes
/// through it; its 6to4 packet goes to the relay's IPv4 gateway — the host itself,
/// which relayd has never heard from over IPv4 — and waits while relayd ARPs for it.
#[test]
fn relay_advertises_the_site_and_resolves_its_gateway() {
    let (_dir, d, ns, iface) = relay_and_host("neigh-gw", 'g', true);
    let addrs = wait_for("the host to autoconfigure from the RA", 30, || {
        let a = ns.ip(&format!("-6 addr show dev {iface}"));
        a.contains("inet6 2002:c633:6407:1:0:ff:fe00:5050/64 scope global dynamic").then_some(a)
    });
    assert!(addrs.contains("2002:c633:6407:1::50/64"), "{addrs}");
    let default = wait_for("the default route from the RA", 30, || {
        Some(ns.ip("-6 route show default")).filter(|r| r.contains("via fe80::ff:fe00:a0"))
    });
    assert!(default.contains("proto ra"), "{default}");

    // Nobody answers for the far site: the ping fails; what matters is the way out.
    let _ = ns.exec("ping -c 1 -W 1 2002:cb00:7101::1");
    let line = wait_for("relayd to resolve its gateway", 30, || neigh_line(&d, "198.51.100.50"));
    assert!(line.starts_with(&format!("198.51.100.50 {HOST_MAC} ")), "{line}");
    assert!(!line.contains("static") && !line.contains("incomplete"), "{line}");

    let s = d.stats();
    assert_eq!(s["pipeline.unresolved"], 1, "the ping waited for the gateway");
    assert_eq!((s["slowpath.neigh_resolved"], s["slowpath.neigh_released"]), (1, 1), "{s:?}");
    assert!(s["slowpath.arp_requests"] >= 1 && s["slowpath.router_adverts"] >= 1, "{s:?}");
    assert_eq!(s["slowpath.drop_neighbour_unresolved"], 0);
    let run = d.stop();
    run.assert_clean();
}
