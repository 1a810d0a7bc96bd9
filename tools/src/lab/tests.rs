//! The lab's pure parts: addressing, generated configuration, parsers of what the tools print.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use super::config::{relayd_toml, Runtime};
use super::live;
use super::probe::{self, Frame, Ping};
use super::relayd::{parse_stats, Stats};
use super::topology::{sixrd_domain, sixtofour, site_addr, RouterId, Topology, ANYCAST_V4, CE_V4};

#[test]
fn sixtofour_prefixes_embed_v() {
    assert_eq!(sixtofour(Ipv4Addr::new(198, 51, 100, 7)), "2002:c633:6407::".parse::<Ipv6Addr>().unwrap());
    assert_eq!(sixtofour(ANYCAST_V4), "2002:c058:6301::".parse::<Ipv6Addr>().unwrap());
    assert_eq!(site_addr(Ipv4Addr::new(203, 0, 113, 20), 1, 0xb), "2002:cb00:7114:1::b".parse::<Ipv6Addr>().unwrap());
}

#[test]
fn topology_addresses_and_names() {
    let t = Topology::new(true);
    assert_eq!(t.a().addr, "2002:c633:640a:1::a".parse::<IpAddr>().unwrap());
    assert_eq!(t.router(RouterId::R1).inner_v6, "2002:c633:640a:1::1".parse::<Ipv6Addr>().unwrap());
    assert_eq!(t.router(RouterId::R3).endpoints(), vec![Ipv4Addr::new(203, 0, 113, 30), ANYCAST_V4]);
    // Interface names fit IFNAMSIZ and carry the prefix `down` looks for.
    for r in &t.routers {
        for p in r.ports() {
            assert!(p.tap.len() <= 15 && p.tap.starts_with("rl-"), "{}", p.tap);
            assert_ne!(p.mac, p.tap_mac);
        }
    }
    assert!(t.namespaces().iter().all(|n| n.starts_with("rlab-")));
}

#[test]
fn r1_configuration() {
    let t = Topology::new(true);
    let rt = Runtime { dir: "/tmp/x".into(), control_cpu: 0, worker_cpu: 1, idle_sleep_us: 200, memory_mb: 128, static_neighbours: true };
    let toml = relayd_toml(t.router(RouterId::R1), &rt);
    for want in [
        "file_prefix = \"rlab-r1\"",
        "device = \"net_tap0,iface=rl-r1-wan\"\nmac = \"02:6c:01:00:00:01\"",
        "device = \"net_tap1,iface=rl-r1-lan\"\nmac = \"02:6c:01:00:00:02\"",
        "idle_sleep_us = 200",
        "socket = \"/tmp/x/r1.sock\"",
        "[pipeline.router]\nipv4 = \"198.51.100.10\"\nlan_ports = [1]",
        "port = 0\nipv4 = \"198.51.100.10/24\"\ngateway = \"198.51.100.1\"",
        "port = 1\nipv6 = [\"2002:c633:640a:1::1/64\"]",
        "ip = \"2002:c633:640a:1::a\"\nmac = \"02:6c:a0:00:00:0a\"",
        "# ipv6 route 2002::/16 Tunnel0\n[[pipeline.route]]\nadd = \"2002::/16 6to4\"",
        "# ipv6 route ::/0 2002:c058:6301::\n[[pipeline.route]]\nadd = \"::/0 via 2002:c058:6301::\"",
    ] {
        assert!(toml.contains(want), "{want:?} not in\n{toml}");
    }
    let dynamic = relayd_toml(t.router(RouterId::R1), &Runtime { static_neighbours: false, ..rt });
    assert!(!dynamic.contains("[[pipeline.neighbour]]"), "{dynamic}");
}

#[test]
fn relay_configuration_has_anycast() {
    let t = Topology::new(false);
    let toml = relayd_toml(t.router(RouterId::R3), &Runtime::new(Path::new("/tmp/x"), false));
    assert!(toml.contains("[pipeline.relay]\nipv4 = \"203.0.113.30\"\nanycast = true"), "{toml}");
    assert!(toml.contains("# interface Loopback0 / ip address 192.88.99.1 255.255.255.0"), "{toml}");
}

#[test]
fn ping_output() {
    let out = "PING 2001:db8:1::c(2001:db8:1::c) 56 data bytes\n\
               From 2002:c058:6301:: icmp_seq=1 Time exceeded: Hop limit\n\
               64 bytes from 2001:db8:1::c: icmp_seq=2 ttl=62 time=0.8 ms\n\
               64 bytes from 2001:db8:1::c: icmp_seq=7 ttl=62 time=0.8 ms\n\n\
               --- 2001:db8:1::c ping statistics ---\n\
               3 packets transmitted, 2 received, +1 errors, 33.3333% packet loss, time 402ms\n";
    let p = Ping { transmitted: 3, received: 2, output: out.to_string() };
    assert_eq!(p.errors_from(), vec![("2002:c058:6301::".to_string(), "Time exceeded: Hop limit".to_string())]);
    assert_eq!(probe::reply_seqs(out), vec![2, 7]);
}

#[test]
fn protocol_41_frame_decodes() {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip4 = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 41, 0, 0, 198, 51, 100, 10, 192, 88, 99, 1];
    let mut ip6 = vec![0x60, 0, 0, 0, 0, 8, 58, 63];
    ip6.extend_from_slice(&"2002:c633:640a:1::a".parse::<Ipv6Addr>().unwrap().octets());
    ip6.extend_from_slice(&"2001:db8:1::c".parse::<Ipv6Addr>().unwrap().octets());
    ip6.extend_from_slice(&[128, 0, 0, 0, 0, 1, 0, 1]);
    f.append(&mut ip4);
    f.append(&mut ip6);
    let seen = Frame(f).decode().expect("decodes");
    assert_eq!(seen.outer, Some((Ipv4Addr::new(198, 51, 100, 10), ANYCAST_V4)));
    assert_eq!(seen.src, "2002:c633:640a:1::a".parse::<Ipv6Addr>().unwrap());
    assert_eq!(seen.dst, "2001:db8:1::c".parse::<Ipv6Addr>().unwrap());
    assert_eq!((seen.hop_limit, seen.icmp6_type()), (63, Some(128)));
    // Truncated frames decode to nothing rather than panic.
    assert_eq!(Frame(vec![0; 20]).decode(), None);
}

#[test]
fn stats_and_the_live_line() {
    let prev: Stats = parse_stats("rx_packets 100\ntx_packets 90\npipeline_dropped 10\npipeline.drop_no_route 4\npipeline.drop_multicast_ignored 6\n");
    let now: Stats = parse_stats("rx_packets 300\ntx_packets 250\npipeline_dropped 50\npipeline.drop_no_route 40\npipeline.drop_multicast_ignored 10\nnot a counter\n");
    assert_eq!(now.get("pipeline.drop_no_route"), Some(&40));
    assert_eq!(
        live::line(RouterId::R3, "relay", &prev, &now, Duration::from_secs(2)),
        "R3 relay  rx    100 pps  tx     80 pps  drops 20/s [no_route 36, multicast_ignored 4]  since start 50 [no_route 40, multicast_ignored 10]"
    );
}

#[test]
fn sixrd_delegated_prefix_embeds_the_ce_bits() {
    let d = sixrd_domain();
    assert_eq!(d.delegated(CE_V4), ("2001:db8:632::".parse::<Ipv6Addr>().unwrap(), 48));
    assert_eq!(d.delegated(Ipv4Addr::new(192, 0, 2, 255)), ("2001:db8:6ff::".parse::<Ipv6Addr>().unwrap(), 48));
    let t = Topology::new(true);
    assert_eq!(t.e().addr, "2001:db8:632:1::e".parse::<IpAddr>().unwrap());
    assert_eq!(t.d().addr, "2001:db8:d:1::d".parse::<IpAddr>().unwrap());
    assert_eq!(
        t.c().routes,
        ["2002::/16 via 2001:db8:1::1", "2001:db8:d::/48 via 2001:db8:1::1", "2001:db8:600::/40 via 2001:db8:1::1"]
    );
}

#[test]
fn relay_configuration_has_the_tunnel_to_r4_and_the_6rd_domain() {
    let t = Topology::new(true);
    let toml = relayd_toml(t.router(RouterId::R3), &Runtime::new(Path::new("/tmp/x"), true));
    for want in [
        "[[pipeline.tunnel]]\nid = 0\nname = \"to-r4\"\nlocal = \"203.0.113.30\"\nremote = \"192.0.2.40\"\nmtu = 1480",
        "[[pipeline.6rd]]\nbr = \"203.0.113.31\"\nprefix = \"2001:db8:600::/40\"\nipv4_prefix = \"192.0.2.0/24\"",
        "# ipv6 route 2001:db8:d::/48 Tunnel1\n[[pipeline.route]]\nadd = \"2001:db8:d::/48 tunnel 0\"",
    ] {
        assert!(toml.contains(want), "{want:?} not in\n{toml}");
    }
}

#[test]
fn tunnel_site_and_ce_configurations() {
    let t = Topology::new(true);
    let rt = Runtime::new(Path::new("/tmp/x"), true);
    let r4 = relayd_toml(t.router(RouterId::R4), &rt);
    let r5 = relayd_toml(t.router(RouterId::R5), &rt);
    for (toml, want) in [
        (&r4, "local = \"192.0.2.40\"\nremote = \"203.0.113.30\""),
        (&r4, "port = 1\nipv6 = [\"2001:db8:d:1::1/64\"]"),
        (&r5, "# interface Tunnel1 / tunnel source 192.0.2.50 / tunnel mode ipv6ip 6rd / tunnel 6rd br 203.0.113.31 / ipv6 mtu 1480"),
        (&r5, "local = \"192.0.2.50\"\nremote = \"203.0.113.31\""),
        (&r5, "port = 1\nipv6 = [\"2001:db8:632:1::1/64\"]"),
    ] {
        assert!(toml.contains(want), "{want:?} not in\n{toml}");
    }
    for toml in [&r4, &r5] {
        assert!(toml.contains("# ipv6 route ::/0 Tunnel1\n[[pipeline.route]]\nadd = \"::/0 tunnel 0\""), "{toml}");
        assert!(!toml.contains("[pipeline.router]") && !toml.contains("[pipeline.relay]"), "{toml}");
    }
}
