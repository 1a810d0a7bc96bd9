//! Spec section 9: 6over4 (RFC 2529) — IPv6 multicast in IPv4 multicast 239.192.x.y and
//! back, link-local `fe80::V`, unicast to the V of interface identifier `::V`.
use super::pkt::*;
use super::*;

/// 6over4 on the WAN port (198.51.100.20, link prefix 2001:db8:64::/64), native LAN on 1.
const LINK: &str = wan_lan_box!(r#"
[[6over4]]
port = 0
prefixes = ["2001:db8:64::/64"]

[[neighbour]]
ip = "198.51.100.7"
mac = "02:00:00:00:07:07"

[[neighbour]]
ip = "2001:db8:20::5"
mac = "02:00:00:00:02:05"
"#);

const NODE: [u8; 6] = [0x02, 0, 0, 0, 0x07, 0x07];

fn a(s: &str) -> u128 {
    u128::from(s.parse::<std::net::Ipv6Addr>().unwrap())
}

/// A multicast frame from the 6over4 node 198.51.100.7 to IPv4 group `group`.
fn multicast(group: &str, inner: &[u8]) -> Vec<u8> {
    let g = a4(group);
    let mac = [0x01, 0x00, 0x5e, g[1] & 0x7f, g[2], g[3]];
    eth(mac, NODE, ET_IPV4, &ipv4(V4 { df: false, ..V4::p41("198.51.100.7", group) }, inner))
}

/// A neighbour solicitation for `target` from `src` to its solicited-node group.
fn solicitation(src: &str, target: &str) -> Vec<u8> {
    let t = a6(target);
    let group = std::net::Ipv6Addr::from(model::addr::solicited_node(u128::from_be_bytes(t))).to_string();
    icmp6_raw(src, &group, 255, 135, 0, [0; 4], &t)
}

/// Spec 9: `ff02::1` → 239.192.0.1; `ff02::1:ff00:1234` → 239.192.18.52.
#[test]
fn multicast_mapping_vectors() {
    let g = |s: &str| std::net::Ipv4Addr::from(sixover4_group(a(s))).to_string();
    assert_eq!(g("ff02::1"), "239.192.0.1");
    assert_eq!(g("ff02::1:ff00:1234"), "239.192.18.52");
    assert_eq!(g("ff02::2"), "239.192.0.2");
    assert_eq!(g("ff05::1:3"), "239.192.0.3");
    assert!(is_sixover4_group(u32::from(std::net::Ipv4Addr::new(239, 192, 18, 52))));
    assert!(!is_sixover4_group(u32::from(std::net::Ipv4Addr::new(239, 193, 0, 1))));
    let link = SixOver4Settings { port: 0, ipv4: "198.51.100.20".parse().unwrap(), prefixes: vec!["2001:db8:64::/64".parse().unwrap()], ttl: 8 };
    let own: Vec<String> = link.own_v6().iter().map(|a| a.to_string()).collect();
    assert_eq!(own, ["fe80::c633:6414", "2001:db8:64::c633:6414"]);
}

/// IPv6 multicast onto the link: 239.192.x.y from the port's address, Ethernet to the
/// group's MAC, no DF, exact bytes.
#[test]
fn multicast_onto_the_link_exact_bytes() {
    let lab = Lab::new(LINK);
    for (group6, group4, mac) in [
        ("ff02::1", "239.192.0.1", [0x01, 0x00, 0x5e, 0x40, 0x00, 0x01]),
        ("ff02::1:ff00:1234", "239.192.18.52", [0x01, 0x00, 0x5e, 0x40, 0x12, 0x34]),
    ] {
        let inner = icmp6_raw("fe80::c633:6414", group6, 255, 135, 0, [0; 4], &a6("fe80::1234"));
        let mut buf = TestBuf::new(0, &inner);
        let port = lab.pipe.host().port(0).unwrap();
        assert_eq!(sixover4_multicast(&mut buf, port, 64, 9), Ok(()));
        let expect = ipv4(V4 { id: 9, df: false, ..V4::p41("198.51.100.20", group4) }, &inner);
        assert_eq!(buf.to_vec(), eth(mac, PORT0, ET_IPV4, &expect), "{group6}");
    }
    let mut unicast = TestBuf::new(0, &udp6("fe80::c633:6414", "fe80::1", 255, 60));
    assert_eq!(sixover4_multicast(&mut unicast, lab.pipe.host().port(0).unwrap(), 64, 1), Err(DropReason::Ipv6DstInvalid));
}

/// And back: a solicitation for one of our link addresses reaches the slow path; the
/// group must be the one the IPv6 group maps to.
#[test]
fn multicast_off_the_link() {
    let mut lab = Lab::new(LINK);
    for target in ["fe80::c633:6414", "2001:db8:64::c633:6414"] {
        let frame = multicast("239.192.100.20", &solicitation("fe80::c633:6407", target));
        assert_eq!(lab.run(0, &frame), (Verdict::Punt, frame.clone()), "{target}");
    }
    // Duplicate address detection comes from ::.
    let frame = multicast("239.192.100.20", &solicitation("::", "fe80::c633:6414"));
    assert_eq!(lab.run(0, &frame).0, Verdict::Punt);
    let frame = multicast("239.192.100.21", &solicitation("fe80::c633:6407", "fe80::c633:6414"));
    lab.expect_drop(0, &frame, DropReason::Decap6over4GroupMismatch);
    // Another node's solicitation, an advertisement to all nodes: not ours to answer.
    let frame = multicast("239.192.100.30", &solicitation("fe80::c633:6407", "fe80::c633:641e"));
    lab.expect_drop(0, &frame, DropReason::MulticastIgnored);
    let ra = icmp6_raw("fe80::c633:6407", "ff02::1", 255, 134, 0, [64, 0, 0, 0], &[0; 8]);
    lab.expect_drop(0, &multicast("239.192.0.1", &ra), DropReason::NdIgnored);
    // A link-local source must embed the outer one.
    let frame = multicast("239.192.100.20", &solicitation("fe80::c633:6408", "fe80::c633:6414"));
    lab.expect_drop(0, &frame, DropReason::Decap6over4SrcMismatch);
    // Only on the port with the link.
    let frame = multicast("239.192.100.20", &solicitation("fe80::c633:6407", "fe80::c633:6414"));
    lab.expect_drop(1, &frame, DropReason::MulticastIgnored);
    assert_eq!(lab.count("decapsulated"), 0);
}

#[test]
fn unicast_onto_the_link_exact_bytes() {
    let mut lab = Lab::new(LINK);
    let inner = udp6("2001:db8:20::5", "2001:db8:64::c633:6407", 64, 100);
    let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(0));
    // RFC 2529 section 3: the link's own low TTL, not the pipeline's outer_ttl.
    let expect = ipv4(V4 { ttl: 8, ..V4::p41("198.51.100.20", "198.51.100.7") }, &hop_minus(&inner, 1));
    assert_eq!(out, eth(NODE, PORT0, ET_IPV4, &expect));
    assert_eq!(lab.count("encap_6over4"), 1);
    // Other interface identifiers are resolved by ND over the link: the packet waits for
    // the slow path, without its outer destination yet.
    let inner = udp6("2001:db8:20::5", "2001:db8:64::1:2:3:4", 64, 100);
    let waiting = lab.expect_wait(1, &eth(PORT1, HOST, ET_IPV6, &inner), 0);
    let expect = ipv4(V4 { id: 2, ttl: 8, ..V4::p41("198.51.100.20", "0.0.0.0") }, &hop_minus(&inner, 1));
    assert_eq!(waiting, eth([0; 6], PORT0, ET_IPV4, &expect));
}

#[test]
fn unicast_off_the_link_exact_bytes() {
    let mut lab = Lab::new(LINK);
    let to_us = |src4: &str, inner: &[u8]| eth(PORT0, NODE, ET_IPV4, &ipv4(V4::p41(src4, "198.51.100.20"), inner));
    let inner = udp6("2001:db8:64::c633:6407", "2001:db8:20::5", 64, 100);
    let (v, out) = lab.run(0, &to_us("198.51.100.7", &inner));
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &hop_minus(&inner, 1)));
    assert_eq!(lab.count("decap_6over4"), 1);
    // A privacy address of the link is the ND's business; its ::V form is checked.
    let inner = udp6("2001:db8:64::1:2:3:4", "2001:db8:20::5", 64, 100);
    assert_eq!(lab.run(0, &to_us("198.51.100.7", &inner)).0, Verdict::Tx(1));
    let inner = udp6("2001:db8:64::c633:6408", "2001:db8:20::5", 64, 100);
    lab.expect_drop(0, &to_us("198.51.100.7", &inner), DropReason::Decap6over4SrcMismatch);
    let inner = udp6("2001:db8:65::1", "2001:db8:20::5", 64, 100);
    lab.expect_drop(0, &to_us("198.51.100.7", &inner), DropReason::DecapNoMechanism);
    // Unicast to our own link address is local.
    let inner = echo6("fe80::c633:6407", "fe80::c633:6414", 64, 8);
    let frame = to_us("198.51.100.7", &inner);
    assert_eq!(lab.run(0, &frame), (Verdict::Punt, frame.clone()));
}
