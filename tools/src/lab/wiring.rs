//! The lab's cabling with namespaces, bridges and veth pairs, and the plugging of each
//! relayd's TAP ports into it. Everything is a list of `ip` commands per namespace, run
//! with `ip -batch` and written to `wiring.sh` in the lab directory for people to read.
//!
//! The Linux side of every link survives a relayd restart: hosts sit on veth pairs into
//! bridges (LANs in `rlab-sw`, the IPv4 segments in `rlab-inet`), and a relayd's TAP, which
//! appears in the root namespace when relayd starts and vanishes when it stops, is moved
//! into the bridge's namespace and plugged in. The DPDK TAP PMD keeps its queue file
//! descriptors across the move.
use std::fmt::Write as _;
use std::path::Path;

use super::sh::{self, Result};
use super::topology::{Host, Router, Topology, LINK_PREFIX, NS_INET, NS_PREFIX, NS_SWITCH};

/// `ip` commands to run in one namespace (`None`: the root namespace).
pub type Batch = (Option<&'static str>, Vec<String>);

/// Sysctls per namespace, applied before any interface exists so that the defaults hold
/// for every interface created or moved in later.
pub fn sysctls(t: &Topology) -> Vec<(&'static str, Vec<String>)> {
    let no_ipv6 = ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"];
    let mut v = Vec::new();
    let mut inet: Vec<String> = vec![
        "net.ipv4.ip_forward=1".into(),
        // Routing between the segments is the job; redirects would only reach relayd as noise.
        "net.ipv4.conf.all.send_redirects=0".into(),
        "net.ipv4.conf.default.send_redirects=0".into(),
        // The rogue host's spoofed outer sources must get through to be counted by relayd.
        "net.ipv4.conf.all.rp_filter=0".into(),
        "net.ipv4.conf.default.rp_filter=0".into(),
    ];
    inet.extend(no_ipv6.iter().map(|s| s.to_string()));
    v.push((NS_INET, inet));
    v.push((NS_SWITCH, no_ipv6.iter().map(|s| s.to_string()).collect()));
    for h in &t.hosts {
        // Static addressing: no router advertisements, no duplicate address detection delay.
        v.push((
            h.netns,
            ["all", "default"]
                .iter()
                .flat_map(|c| [format!("net.ipv6.conf.{c}.accept_ra=0"), format!("net.ipv6.conf.{c}.accept_dad=0")])
                .collect(),
        ));
    }
    v.push((t.rogue.netns, no_ipv6.iter().map(|s| s.to_string()).collect()));
    v
}

/// The namespaces, bridges, veth pairs, addresses and routes; no relayd yet.
pub fn fabric(t: &Topology) -> Vec<Batch> {
    let mut out: Vec<Batch> = vec![(None, t.namespaces().iter().map(|ns| format!("netns add {ns}")).collect())];
    let mut sw = vec!["link set lo up".to_string()];
    for b in &t.switches {
        sw.push(format!("link add {b} type bridge stp_state 0 mcast_snooping 0"));
        sw.push(format!("link set {b} up"));
    }
    let mut inet = vec!["link set lo up".to_string()];
    for (b, addr, len, mac) in &t.inet.segments {
        inet.push(format!("link add {b} address {mac} type bridge stp_state 0 mcast_snooping 0"));
        inet.push(format!("addr add {addr}/{len} dev {b}"));
        inet.push(format!("link set {b} up"));
    }
    for h in t.hosts.iter().chain([&t.rogue]) {
        let bridge_side = if h.bridge_ns == NS_INET { &mut inet } else { &mut sw };
        plug_host(bridge_side, h);
    }
    for r in &t.inet.routes {
        inet.push(format!("route add {r}"));
    }
    if t.static_neighbours {
        for (dev, ip, mac) in &t.inet.neighbours {
            inet.push(format!("neigh replace {ip} lladdr {mac} dev {dev} nud permanent"));
        }
    }
    out.push((Some(NS_SWITCH), sw));
    out.push((Some(NS_INET), inet));
    for h in t.hosts.iter().chain([&t.rogue]) {
        out.push((Some(h.netns), host(h, t.static_neighbours)));
    }
    out
}

/// The bridge side of a host's veth pair; the host end is `eth0` in its namespace.
fn plug_host(bridge_side: &mut Vec<String>, h: &Host) {
    let port = format!("to-{}", h.name.to_lowercase());
    bridge_side.push(format!("link add {port} type veth peer name eth0 netns {}", h.netns));
    bridge_side.push(format!("link set {port} master {}", h.bridge));
    bridge_side.push(format!("link set {port} up"));
}

fn host(h: &Host, static_neighbours: bool) -> Vec<String> {
    let nodad = if h.addr.is_ipv6() { " nodad" } else { "" };
    let mut v = vec![
        "link set lo up".to_string(),
        format!("link set eth0 address {}", h.mac),
        format!("addr add {}/{} dev eth0{nodad}", h.addr, h.len),
        "link set eth0 up".to_string(),
    ];
    v.extend(h.routes.iter().map(|r| format!("route add {r}")));
    if static_neighbours {
        v.extend(h.neighbours.iter().map(|(ip, mac)| format!("neigh replace {ip} lladdr {mac} dev eth0 nud permanent")));
    }
    v
}

/// Moves `r`'s TAPs (in the root namespace once relayd runs) into their bridges.
pub fn plug_router(r: &Router) -> Vec<Batch> {
    let mut out: Vec<Batch> = vec![(None, r.ports().iter().map(|p| format!("link set {} netns {}", p.tap, p.netns)).collect())];
    for p in r.ports() {
        out.push((
            Some(p.netns),
            vec![
                // The bridge would take frames for a MAC its port owns as its own.
                format!("link set {} address {}", p.tap, p.tap_mac),
                format!("link set {} master {}", p.tap, p.bridge),
                format!("link set {} up", p.tap),
            ],
        ));
    }
    out
}

/// Builds the fabric: namespaces, their sysctls, then everything else.
pub fn build(t: &Topology) -> Result<()> {
    let fabric = fabric(t);
    let (namespaces, rest) = fabric.split_at(1);
    apply(namespaces)?;
    apply_sysctls(t)?;
    apply(rest)
}

pub fn apply(batches: &[Batch]) -> Result<()> {
    batches.iter().try_for_each(|(ns, lines)| sh::ip_batch(*ns, lines))
}

/// The batches as a shell script.
pub fn script(batches: &[Batch]) -> String {
    let mut s = String::new();
    for (ns, lines) in batches {
        for l in lines {
            let _ = match ns {
                Some(ns) => writeln!(s, "ip -n {ns} {l}"),
                None => writeln!(s, "ip {l}"),
            };
        }
    }
    s
}

pub fn apply_sysctls(t: &Topology) -> Result<()> {
    sysctls(t).iter().try_for_each(|(ns, kv)| sh::sysctl(ns, kv))
}

/// Namespaces of the lab that exist now.
pub fn namespaces() -> Vec<String> {
    let out = sh::run(std::process::Command::new("ip").args(["netns", "list"])).unwrap_or_default();
    out.lines().filter_map(|l| l.split_whitespace().next()).filter(|n| n.starts_with(NS_PREFIX)).map(str::to_string).collect()
}

/// Lab interfaces left in the root namespace (TAPs of a relayd that was never plugged in).
pub fn root_links() -> Vec<String> {
    let out = sh::run(std::process::Command::new("ip").args(["-o", "link", "show"])).unwrap_or_default();
    out.lines()
        .filter_map(|l| l.split(':').nth(1))
        .map(|n| n.trim().split('@').next().unwrap_or("").to_string())
        .filter(|n| n.starts_with(LINK_PREFIX))
        .collect()
}

/// Deletes every lab namespace and root-namespace interface; what could not be removed.
pub fn remove_all() -> Vec<String> {
    let mut failed = Vec::new();
    for ns in namespaces() {
        if let Err(e) = sh::run(std::process::Command::new("ip").args(["netns", "del", &ns])) {
            failed.push(e);
        }
    }
    for link in root_links() {
        if let Err(e) = sh::run(std::process::Command::new("ip").args(["link", "del", &link])) {
            failed.push(e);
        }
    }
    failed
}

/// Writes the wiring as a script beside the configurations.
pub fn write_script(dir: &Path, t: &Topology) -> Result<()> {
    let mut s = String::from("#!/bin/sh\n# The lab's wiring, as relay-lab runs it (tools/src/lab/wiring.rs).\nset -e\n");
    let fabric = fabric(t);
    let (namespaces, rest) = fabric.split_at(1);
    s.push_str(&script(namespaces));
    for (ns, kv) in sysctls(t) {
        let _ = writeln!(s, "ip netns exec {ns} sysctl -qw {}", kv.join(" "));
    }
    s.push_str(&script(rest));
    s.push_str("# once each relayd runs (its TAPs appear in the root namespace):\n");
    for r in &t.routers {
        s.push_str(&script(&plug_router(r)));
    }
    let path = dir.join("wiring.sh");
    std::fs::write(&path, s).map_err(|e| format!("{}: {e}", path.display()))
}
