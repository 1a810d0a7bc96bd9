//! Configured tunnels (RFC 4213) added, changed and removed at run time through the control
//! socket while traffic flows both ways through them: nothing unaccounted, every worker's
//! tables equal to the control copy, refused changes changing nothing.
mod common;
use std::net::{Ipv4Addr, Ipv6Addr};

use common::*;
use etherparse::{IpNumber, Ipv4Header};

const WAN_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa0];
const LAN_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa1];
const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x02, 0x05];
const GW_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x01];

fn ipv6(src: &str, dst: &str, i: u8) -> Vec<u8> {
    let payload = [i; 24];
    let mut p = vec![0x60, 0, 0, 0, 0, payload.len() as u8, 59, 64];
    p.extend_from_slice(&src.parse::<Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&dst.parse::<Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&payload);
    p
}

fn frame(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    [&dst[..], &src[..], &ethertype.to_be_bytes(), payload].concat()
}

/// The LAN host's packets: even ones into tunnel 0 (always there), odd ones into tunnel 1
/// (which comes and goes; a blackhole route catches them while it is away).
fn lan_frame(i: u8) -> Vec<u8> {
    let dst = if i.is_multiple_of(2) { format!("2001:db8:50::{i:x}") } else { format!("2001:db8:51::{i:x}") };
    frame(LAN_MAC, HOST_MAC, 0x86dd, &ipv6("2001:db8:20::5", &dst, i))
}

/// Tunnel 0's far end sending to the LAN host (outer header by etherparse).
fn wan_frame(i: u8) -> Vec<u8> {
    let inner = ipv6(&format!("2001:db8:50::{i:x}"), "2001:db8:20::5", i);
    let src = "203.0.113.50".parse::<Ipv4Addr>().unwrap().octets();
    let dst = "198.51.100.20".parse::<Ipv4Addr>().unwrap().octets();
    let mut h = Ipv4Header::new(inner.len() as u16, 64, IpNumber::IPV6, src, dst).unwrap();
    h.header_checksum = h.calc_header_checksum();
    frame(WAN_MAC, GW_MAC, 0x0800, &[&h.to_bytes()[..], &inner].concat())
}

fn config(dir: &Scratch) -> std::path::PathBuf {
    config_with(dir, ",infinite_rx=1")
}

/// `rx` follows each pcap file name in the port devices (`,infinite_rx=1` replays them).
fn config_with(dir: &Scratch, rx: &str) -> std::path::PathBuf {
    write_pcap(&dir.path("lan.pcap"), &(0..32).map(lan_frame).collect::<Vec<_>>());
    write_pcap(&dir.path("wan.pcap"), &(0..16).map(wan_frame).collect::<Vec<_>>());
    dir.write(
        "relayd.toml",
        &format!(
            r#"
[eal]
file_prefix = "tun-runtime"
memory_mb = 256
[[port]]
name = "wan"
device = "net_pcap0,rx_pcap={d}/wan.pcap{rx}"
mac = "02:00:00:00:00:a0"
[[port]]
name = "lan"
device = "net_pcap1,rx_pcap={d}/lan.pcap{rx}"
mac = "02:00:00:00:00:a1"
[[worker]]
cpu = 0
rx = ["wan:0", "lan:0"]
[runtime]
idle_sleep_us = 20
[control]
socket = "{d}/ctl.sock"
[pipeline]
[[pipeline.interface]]
port = 0
ipv4 = "198.51.100.20/24"
gateway = "198.51.100.1"
[[pipeline.interface]]
port = 1
ipv6 = ["2001:db8:20::1/64"]
[[pipeline.neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"
[[pipeline.neighbour]]
ip = "2001:db8:20::5"
mac = "02:00:00:00:02:05"
[[pipeline.tunnel]]
id = 0
local = "198.51.100.20"
remote = "203.0.113.50"
name = "site-b"
[[pipeline.route]]
add = "2001:db8:50::/48 tunnel 0"
[[pipeline.route]]
add = "2001:db8:51::/48 blackhole"
"#,
            d = dir.0.display(),
        ),
    )
}

#[test]
fn tunnels_added_and_removed_under_traffic() {
    let dir = Scratch::new("tunnels");
    let cfg = config(&dir);
    let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
    assert_eq!(d.ok("tunnels"), "0 local 198.51.100.20 remote 203.0.113.50 name site-b\n");

    let rounds = 300;
    for round in 0..rounds {
        let remote = format!("203.0.113.{}", 51 + round % 8);
        let up = format!("batch\ntunnel set 1 local 198.51.100.20 remote {remote} name churn mtu 1400\nroute add 2001:db8:51::/48 tunnel 1\nend\n");
        assert!(d.ok(&up).starts_with("generation "));
        // Tunnel 0 changes its settings under its own traffic, both ways.
        let ttl = if round % 2 == 0 { 32 } else { 64 };
        d.ok(&format!("tunnel set 0 local 198.51.100.20 remote 203.0.113.50 name site-b ttl {ttl}"));
        if round % 50 == 0 {
            let listed = d.ok("tunnels");
            assert_eq!(
                listed,
                format!("0 local 198.51.100.20 remote 203.0.113.50 name site-b ttl {ttl}\n1 local 198.51.100.20 remote {remote} name churn mtu 1400\n")
            );
        }
        let down = "batch\nroute add 2001:db8:51::/48 blackhole\ntunnel del 1\nend\n";
        assert!(d.ok(down).starts_with("generation "));
    }

    // Refused changes change nothing, and name their reason. (The audit waits until every
    // worker has applied the churn, so that the generation read next is settled.)
    assert!(d.ok("audit").contains("workers 1 consistent"));
    let gen = d.ok("generation");
    for (cmd, reason) in [
        ("tunnel del 0", "tunnel 0 is in use by routes"),
        ("tunnel del 7", "no tunnel 7"),
        ("tunnel set 2 local 198.51.100.99 remote 203.0.113.9", "tunnel local address 198.51.100.99 is not one of ours"),
        ("tunnel set 2 local 198.51.100.20 remote 203.0.113.50", "tunnel 0 already joins 198.51.100.20 and 203.0.113.50"),
        ("tunnel set 2 local 198.51.100.20 remote 203.0.113.9 name site-b", "tunnel 0 is already named site-b"),
        ("tunnel set 2 local 198.51.100.20 remote 203.0.113.9 mtu 1500", "1500: the tunnel MTU must be 1280..=1480"),
        ("tunnel set 2 local 198.51.100.20", "expected `remote IPV4`"),
        ("tunnel up 2", "usage: tunnel set"),
        ("route add 2001:db8:52::/48 tunnel 2", "no tunnel 2"),
        ("batch\ntunnel set 2 local 198.51.100.20 remote 203.0.113.9\nroute add 2001:db8:52::/48 tunnel 3\nend", "change 2"),
    ] {
        match d.request(cmd).expect("socket") {
            Ok(body) => panic!("{cmd:?} was accepted: {body}"),
            Err(e) => assert!(e.contains(reason), "{cmd:?}: expected {reason:?} in {e:?}"),
        }
    }
    assert_eq!(d.ok("generation"), gen, "nothing was sent to the workers");
    assert_eq!(d.ok("tunnels"), "0 local 198.51.100.20 remote 203.0.113.50 name site-b ttl 64\n");

    // relayctl speaks the same commands.
    let relayctl = |args: &[&str]| {
        std::process::Command::new(sibling_bin("relayctl")).arg("-s").arg(dir.path("ctl.sock")).args(args).output().expect("relayctl")
    };
    let out = relayctl(&["tunnel", "set", "3", "local", "198.51.100.20", "remote", "203.0.113.9", "name", "via-ctl", "dscp", "copy"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = relayctl(&["tunnels"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0 local 198.51.100.20 remote 203.0.113.50 name site-b ttl 64\n3 local 198.51.100.20 remote 203.0.113.9 name via-ctl dscp copy\n"
    );
    let out = relayctl(&["tunnel", "del", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tunnel 0 is in use by routes"));
    assert!(relayctl(&["tunnel", "del", "3"]).status.success());

    let audit = d.ok("audit");
    assert!(audit.contains("workers 1 consistent"), "{audit}");
    let nums: Vec<u64> = d.ok("generation").lines().filter_map(|l| l.split_whitespace().nth(1)?.parse().ok()).collect();
    assert_eq!(nums.len(), 2);
    assert_eq!(nums[0], nums[1], "applied == sent");
    assert!(d.ok("routes").contains("2001:db8:51::/48 blackhole"));

    let run = d.stop();
    run.assert_clean();
    let c = |n: &str| run.counters.get(n).copied().unwrap_or(0);
    assert!(c("pipeline.encap_configured") > 0 && c("pipeline.decap_configured") > 0, "{}", run.stdout);
    assert_eq!(c("rx_packets") + c("injected"), c("tx_packets") + c("tx_dropped") + c("pipeline_dropped") + c("punted"), "zero unaccounted packets:\n{}", run.stdout);
    // The only packets the pipeline dropped are tunnel 1's while it was away.
    let drops: Vec<(&String, &u64)> = run.counters.iter().filter(|(n, _)| n.starts_with("pipeline.drop_")).collect();
    assert!(drops.iter().all(|(n, _)| *n == "pipeline.drop_route_blackhole"), "{drops:?}");
    assert_eq!(c("pipeline_dropped"), c("pipeline.drop_route_blackhole"));
    assert_eq!(c("pipeline.encapsulated"), c("pipeline.encap_configured"));
    // Half the LAN's packets are tunnel 0's: tunnel 1 carried the rest of what went in.
    assert!(c("pipeline.encap_configured") > c("port.lan.ipackets") / 2, "tunnel 1 carried traffic:\n{}", run.stdout);
    assert_eq!(c("pipeline.decapsulated"), c("pipeline.decap_configured"));
}

/// The pcaps once: tunnel 0 takes 16 packets out (the WAN file) and 16 in (the even LAN
/// frames), each a 64-byte IPv6 packet; `tunnel stats` says exactly that, keeps it through a
/// change of settings, and starts from zero for new ends or a new tunnel.
#[test]
fn tunnel_stats_count_each_tunnel_exactly() {
    let dir = Scratch::new("tunnel-stats");
    let cfg = config_with(&dir, "");
    let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
    let limit = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while d.stats().get("pipeline.rx").copied().unwrap_or(0) < 48 {
        assert!(std::time::Instant::now() < limit, "the pcaps were not read: {:?}", d.stats());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let full = "0 rx_packets 16 rx_bytes 1024 tx_packets 16 tx_bytes 1024\n";
    assert_eq!(d.ok("tunnel stats"), full);
    // New settings, same ends: the same tunnel.
    d.ok("tunnel set 0 local 198.51.100.20 remote 203.0.113.50 name site-b ttl 32");
    d.ok("tunnel set 5 local 198.51.100.20 remote 203.0.113.9");
    assert_eq!(d.ok("tunnel stats"), format!("{full}5 rx_packets 0 rx_bytes 0 tx_packets 0 tx_bytes 0\n"));
    // New ends under id 0: another tunnel to its user, counted from zero.
    d.ok("tunnel set 0 local 198.51.100.20 remote 203.0.113.51 name site-b");
    assert_eq!(d.ok("tunnel stats"), "0 rx_packets 0 rx_bytes 0 tx_packets 0 tx_bytes 0\n5 rx_packets 0 rx_bytes 0 tx_packets 0 tx_bytes 0\n");
    match d.request("tunnel set 65536 local 198.51.100.20 remote 203.0.113.10").expect("socket") {
        Ok(body) => panic!("an id past max_tunnels was accepted: {body}"),
        Err(e) => assert_eq!(e, "tunnel 65536: ids are 0..65536 ([pipeline] max_tunnels)"),
    }
    match d.request("tunnel stats now").expect("socket") {
        Ok(body) => panic!("accepted: {body}"),
        Err(e) => assert_eq!(e, "tunnel stats takes no arguments"),
    }
    let run = d.stop();
    run.assert_clean();
    assert_eq!(run.counter("pipeline.encap_configured"), 16);
    assert_eq!(run.counter("pipeline.decap_configured"), 16);
}
