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
device = "net_pcap0,rx_pcap={d}/wan.pcap,infinite_rx=1"
mac = "02:00:00:00:00:a0"
[[port]]
name = "lan"
device = "net_pcap1,rx_pcap={d}/lan.pcap,infinite_rx=1"
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
            d = dir.0.display()
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
