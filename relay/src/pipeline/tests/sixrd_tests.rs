//! Spec section 8: the 6rd border relay (RFC 5969) — delegated prefixes, encapsulation to
//! the CE address a destination embeds, the receive check, several domains, and 6to4 as
//! the special case 2002::/16 with IPv4MaskLen 0.
use std::net::{Ipv4Addr, Ipv6Addr};

use super::pkt::*;
use super::*;

/// The RFC 5969 example domain: 6rdPrefix 2001:db8::/32, IPv4MaskLen 8 (CEs in 10.0.0.0/8),
/// BR 198.51.100.30. Native IPv6 (3fff::/20, RFC 9637 documentation space) on port 1.
const BR: &str = r#"
[[interface]]
port = 0
ipv4 = "198.51.100.20/24"
gateway = "198.51.100.1"

[[interface]]
port = 1
ipv6 = ["3fff:1::1/64"]

[[6rd]]
br = "198.51.100.30"
prefix = "2001:db8::/32"
ipv4_prefix = "10.0.0.0/8"

[[neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"

[[neighbour]]
ip = "3fff:1::5"
mac = "02:00:00:00:02:05"
"#;

fn domain(br: &str, prefix: &str, ipv4_prefix: &str) -> SixRdDomain {
    SixRdDomain::new(br.parse().unwrap(), prefix.parse().unwrap(), ipv4_prefix.parse().unwrap()).unwrap()
}

fn from_ce(ce: &str, inner: &[u8]) -> Vec<u8> {
    eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41(ce, "198.51.100.30"), inner))
}

/// RFC 5969 section 7 example: CE 10.100.100.1, IPv4MaskLen 8, 6rdPrefix 2001:db8::/32 →
/// delegated prefix 2001:db8:6464:100::/56, and back.
#[test]
fn rfc_example_delegated_prefix() {
    let d = domain("198.51.100.30", "2001:db8::/32", "10.0.0.0/8");
    assert_eq!((d.embedded_bits(), d.shift()), (24, 72));
    let p = d.delegated_prefix(Ipv4Addr::new(10, 100, 100, 1)).unwrap();
    assert_eq!(p.to_string(), "2001:db8:6464:100::/56");
    let a = |s: &str| u128::from(s.parse::<Ipv6Addr>().unwrap());
    assert_eq!(d.ce_v4(a("2001:db8:6464:100::1")), Some(u32::from(Ipv4Addr::new(10, 100, 100, 1))));
    assert_eq!(d.ce_v4(a("2001:db8:6464:1ff:ffff::1")), Some(u32::from(Ipv4Addr::new(10, 100, 100, 1))));
    assert_eq!(d.ce_v4(a("2001:db9::1")), None);
    // Outside the common bits there is no delegated prefix.
    assert_eq!(d.delegated_prefix(Ipv4Addr::new(11, 100, 100, 1)), None);
}

#[test]
fn delegated_prefix_at_the_edges_of_ipv4_mask_len() {
    // IPv4MaskLen 0: all 32 bits embedded; 32: none (a one-CE domain).
    let all = domain("198.51.100.30", "2001:db8::/32", "0.0.0.0/0");
    assert_eq!(all.delegated_prefix(Ipv4Addr::new(203, 0, 113, 1)).unwrap().to_string(), "2001:db8:cb00:7101::/64");
    let none = domain("198.51.100.30", "2001:db8:1::/48", "203.0.113.1/32");
    assert_eq!(none.delegated_prefix(Ipv4Addr::new(203, 0, 113, 1)).unwrap().to_string(), "2001:db8:1::/48");
    assert_eq!(none.ce_v4(u128::from("2001:db8:1:ffff::1".parse::<Ipv6Addr>().unwrap())), Some(0xcb00_7101));
    // RFC 5969 section 7: 6rdPrefixLen + (32 - IPv4MaskLen) must not exceed 64.
    let e = SixRdDomain::new(Ipv4Addr::new(198, 51, 100, 30), "2001:db8::/48".parse().unwrap(), "10.0.0.0/8".parse().unwrap());
    assert_eq!(e.unwrap_err(), "6rdPrefixLen 48 + (32 - IPv4MaskLen 8) = 72 is over 64 (RFC 5969 section 7)");
    assert!(SixRdDomain::new(Ipv4Addr::new(198, 51, 100, 30), "2001:db8::/40".parse().unwrap(), "10.0.0.0/8".parse().unwrap()).is_ok());
}

/// Spec 8: a packet to 2001:db8:6464:100::1 leaves with outer destination 10.100.100.1
/// (private space: the RFC 3964 checks do not apply to a 6rd domain).
#[test]
fn into_the_domain_exact_bytes() {
    let mut lab = Lab::new(BR);
    assert_eq!(lab.tables.lookup("2001:db8::1".parse().unwrap()), Some(RouteTarget::SixRd { prefix: "2001:db8::".parse().unwrap(), len: 32 }));
    let inner = udp6("3fff:1::5", "2001:db8:6464:100::1", 64, 100);
    let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(0));
    let expect = ipv4(V4::p41("198.51.100.30", "10.100.100.1"), &hop_minus(&inner, 1));
    assert_eq!(out, eth(GW4, PORT0, ET_IPV4, &expect));
    let (h, payload) = parse_ipv4(&out[14..]);
    assert_eq!((h.source, h.destination, h.time_to_live), (a4("198.51.100.30"), a4("10.100.100.1"), 64));
    assert_eq!(payload, hop_minus(&inner, 1));
    assert_eq!(lab.nonzero(), vec![("rx", 1), ("tx", 1), ("encapsulated", 1), ("encap_6rd", 1)]);
}

/// A destination whose CE bits give an impossible IPv4 address, or ours, is not sent.
#[test]
fn derived_endpoint_must_be_another_unicast_host() {
    let cfg = BR.replace("ipv4_prefix = \"10.0.0.0/8\"", "ipv4_prefix = \"0.0.0.0/0\"");
    let mut lab = Lab::new(&cfg);
    for (dst, reason) in [
        ("2001:db8:e000:1::1", DropReason::Ipv4DstMartian),   // 224.0.0.1
        ("2001:db8:7f00:1::1", DropReason::Ipv4DstMartian),   // 127.0.0.1
        ("2001:db8:c633:64ff::1", DropReason::Ipv4DstMartian), // our subnet's broadcast
        ("2001:db8:c633:641e::1", DropReason::EncapDstIsSelf), // the BR itself
    ] {
        let inner = udp6("3fff:1::5", dst, 64, 100);
        lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &inner), reason);
    }
}

#[test]
fn out_of_the_domain_exact_bytes() {
    let mut lab = Lab::new(BR);
    let inner = udp6("2001:db8:6464:100::1", "3fff:1::5", 64, 100);
    let (v, out) = lab.run(0, &from_ce("10.100.100.1", &inner));
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &hop_minus(&inner, 1)));
    assert_eq!(lab.count("decap_6rd"), 1);
}

/// Spec 8: the V derived from the inner source must equal the outer source.
#[test]
fn receive_check() {
    let mut lab = Lab::new(BR);
    let inner = udp6("2001:db8:6464:100::1", "3fff:1::5", 64, 100);
    lab.expect_drop(0, &from_ce("10.100.100.2", &inner), DropReason::Decap6rdSrcMismatch);
    lab.expect_drop(0, &from_ce("11.100.100.1", &inner), DropReason::Decap6rdSrcMismatch);
    // A source outside the domain fits no mechanism of the BR's address.
    let inner = udp6("3fff:2::1", "3fff:1::5", 64, 100);
    lab.expect_drop(0, &from_ce("10.100.100.1", &inner), DropReason::DecapNoMechanism);
    let inner = udp6("2002:a64:6401::1", "3fff:1::5", 64, 100);
    lab.expect_drop(0, &from_ce("10.100.100.1", &inner), DropReason::DecapNoMechanism);
    assert_eq!(lab.count("decap_6rd"), 0);
}

/// Two domains on one BR address: the inner source picks the domain.
#[test]
fn several_domains() {
    let cfg = format!(
        "{BR}
[[neighbour]]
ip = \"198.51.100.7\"
mac = \"02:00:00:00:07:07\"
[[6rd]]
br = \"198.51.100.30\"
prefix = \"3fff:100::/32\"
ipv4_mask_len = 16
[[6rd]]
br = \"198.51.100.31\"
prefix = \"3fff:f00::/24\"
ipv4_prefix = \"0.0.0.0/0\"
"
    );
    let mut lab = Lab::new(&cfg);
    // Domain 2: IPv4MaskLen 16 takes the BR's common bits 198.51; 16 CE bits after /32.
    let inner = udp6("3fff:1::5", "3fff:100:6407:ab00::1", 64, 100);
    let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(0));
    let expect = ipv4(V4::p41("198.51.100.30", "198.51.100.7"), &hop_minus(&inner, 1));
    assert_eq!(out, eth([0x02, 0, 0, 0, 0x07, 0x07], PORT0, ET_IPV4, &expect));
    // Domain 3 on another BR address: all 32 bits after /24.
    let inner = udp6("3fff:1::5", "3fff:fcb:71:1ab::1", 64, 100);
    let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(0));
    let expect = ipv4(V4 { id: 2, ..V4::p41("198.51.100.31", "203.0.113.1") }, &hop_minus(&inner, 1));
    assert_eq!(out[14..], expect[..]);
    // Back in: each domain checks its own CEs.
    let inner = udp6("3fff:100:6407:ab00::1", "3fff:1::5", 64, 100);
    assert_eq!(lab.run(0, &from_ce("198.51.100.7", &inner)).0, Verdict::Tx(1));
    lab.expect_drop(0, &from_ce("198.51.100.8", &inner), DropReason::Decap6rdSrcMismatch);
    // A domain of the other BR address is not this one's.
    let inner = udp6("3fff:fcb:71:1ab::1", "3fff:1::5", 64, 100);
    lab.expect_drop(0, &from_ce("203.0.113.1", &inner), DropReason::DecapNoMechanism);
    let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("203.0.113.1", "198.51.100.31"), &inner));
    assert_eq!(lab.run(0, &frame).0, Verdict::Tx(1));
    assert_eq!((lab.count("encap_6rd"), lab.count("decap_6rd")), (2, 2));
}

/// Spec 8: 6to4 is the 6rd special case 2002::/16 with IPv4MaskLen 0 — the same outer
/// destination as RFC 3056 gives.
#[test]
fn sixtofour_is_the_special_case() {
    let cfg = BR.replace("prefix = \"2001:db8::/32\"\nipv4_prefix = \"10.0.0.0/8\"", "prefix = \"2002::/16\"\nipv4_mask_len = 0");
    let mut lab = Lab::new(&cfg);
    let inner = udp6("3fff:1::5", "2002:cb00:7101::5", 64, 100);
    let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(0));
    assert_eq!(out[14..], ipv4(V4::p41("198.51.100.30", "203.0.113.1"), &hop_minus(&inner, 1))[..]);
    let d = domain("198.51.100.30", "2002::/16", "0.0.0.0/0");
    for v4 in [Ipv4Addr::new(198, 51, 100, 7), Ipv4Addr::new(203, 0, 113, 1)] {
        let six_to_four = model::addr::sixtofour_addr(u32::from(v4));
        assert_eq!(d.delegated_prefix(v4).map(|p| u128::from(p.addr)), Some(six_to_four));
        assert_eq!(d.ce_v4(six_to_four), Some(model::addr::v4_of_6to4(six_to_four)));
    }
}

/// Spec 4 for 6rd: addresses of the domain embedding one of our IPv4 addresses.
#[test]
fn loops_through_the_domain() {
    let cfg = BR.replace("ipv4_prefix = \"10.0.0.0/8\"", "ipv4_prefix = \"198.51.100.0/24\"").replace("2001:db8::/32", "2001:db8:6400::/48");
    let mut lab = Lab::new(&cfg);
    // 2001:db8:6400:1400::/56 is the delegated prefix of 198.51.100.20, our WAN address.
    let inner = udp6("2001:db8:6400:1400::1", "2001:db8:6400:3200::1", 64, 100);
    lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &inner), DropReason::LoopSrcEmbedsOwnV4);
    let inner = udp6("2001:db8:6400:3200::1", "2001:db8:6400:1400::1", 64, 100);
    lab.expect_drop(0, &from_ce("198.51.100.50", &inner), DropReason::LoopDstEmbedsOwnV4);
    // A CE of the domain is fine.
    let inner = udp6("2001:db8:6400:3200::1", "3fff:1::5", 64, 100);
    assert_eq!(lab.run(0, &from_ce("198.51.100.50", &inner)).0, Verdict::Tx(1));
}

/// The BR address is no port's: ARP for it is answered on the IPv4 port (the CEs and the
/// IPv4 router in front of the BR must resolve it), not on a port without IPv4.
#[test]
fn arp_for_the_br_address() {
    let mut lab = Lab::new(BR);
    let request = eth([0xff; 6], GW4, ET_ARP, &arp(1, GW4, "198.51.100.1", [0; 6], "198.51.100.30"));
    assert_eq!(lab.run(0, &request).0, Verdict::Punt);
    let (v, out) = lab.local(0, &request);
    assert_eq!(v, Verdict::Tx(0));
    assert_eq!(out, eth(GW4, PORT0, ET_ARP, &arp(2, PORT0, "198.51.100.30", GW4, "198.51.100.1")));
    assert_eq!(lab.local(1, &request).0, Verdict::Drop(DropReason::ArpNotForUs));
}
