//! Spec section 3: RFC 3964 section 5 checks, each failure a counted drop with its reason.
use super::pkt::*;
use super::*;

fn to_w(src4: &str, inner: &[u8]) -> Vec<u8> {
    eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41(src4, "203.0.113.1"), inner))
}

fn from_lan(inner: &[u8]) -> Vec<u8> {
    eth(PORT1, HOST, ET_IPV6, inner)
}

/// Spec test: `src 2002:c633:6408::1` encapsulated from outer source 198.51.100.7 → drop.
#[test]
fn six_to_four_source_must_embed_the_outer_source() {
    let mut lab = Lab::router_w();
    let inner = udp6("2002:c633:6408::1", "2002:cb00:7101::5", 64, 60);
    lab.expect_drop(0, &to_w("198.51.100.7", &inner), DropReason::DecapSrcV4Mismatch);
    // The same source on the encapsulating side: not R's V, so not R's to send.
    let mut r = Lab::router_r();
    r.expect_drop(1, &from_lan(&inner), DropReason::EncapSrcV4Mismatch);
}

/// Spec test: `dst 2002:0a00:0001::1` (10.0.0.1) → drop (martian), both directions.
#[test]
fn martian_v_in_destination() {
    let inner = udp6("2002:c633:6407:1::5", "2002:a00:1::1", 64, 60);
    Lab::router_r().expect_drop(1, &from_lan(&inner), DropReason::Ipv6DstMartian);
    let inner = udp6("2001:db8::1", "2002:a00:1::1", 64, 60);
    Lab::relay(false).expect_drop(1, &eth(PORT1, GW6, ET_IPV6, &inner), DropReason::Ipv6DstMartian);
    let inner = udp6("2002:c633:6407::1", "2002:a00:1::1", 64, 60);
    let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("198.51.100.7", "198.51.100.9"), &inner));
    Lab::relay(false).expect_drop(0, &frame, DropReason::Ipv6DstMartian);
}

/// Spec test: native src 2001:db8::1 → dst 2002:cb00:7101::5 arriving from any relay's
/// IPv4 source is accepted (packets from other relays are legitimate).
#[test]
fn native_source_from_any_relay_is_accepted() {
    for relay in ["198.51.100.9", "192.88.99.1", "198.51.100.200", "203.0.113.77"] {
        let mut lab = Lab::router_w();
        let inner = udp6("2001:db8::1", "2002:cb00:7101::5", 60, 60);
        let (v, out) = lab.run(0, &to_w(relay, &inner));
        assert_eq!(v, Verdict::Tx(1), "from relay {relay}");
        assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &hop_minus(&inner, 1)));
    }
}

/// Spec test: native → native inside protocol 41 → drop; and never into the tunnel.
#[test]
fn native_to_native_has_no_business_in_the_tunnel() {
    let inner = udp6("2001:db8::1", "2001:db8:1::1", 64, 60);
    Lab::router_w().expect_drop(0, &to_w("198.51.100.7", &inner), DropReason::DecapNativeToNative);
    let inner = udp6("2001:db8::5", "2001:db8:1::1", 64, 60);
    Lab::router_r().expect_drop(1, &from_lan(&inner), DropReason::EncapNativeToNative);
}

/// IPv4 sanity of the outer source: every deny-list prefix, 100.64/10, the broadcast
/// of our own subnet, and an operator-added bogon.
#[test]
fn outer_source_martians() {
    let cfg = format!("extra_bogons = [\"198.18.0.0/15\"]\n{ROUTER_W}");
    let sources = [
        "0.0.0.1", "0.255.255.255", "10.0.0.1", "10.255.255.255", "127.0.0.1", "172.16.0.1", "172.31.255.254",
        "192.168.1.1", "169.254.1.1", "224.0.0.1", "239.255.255.255", "240.0.0.1", "255.255.255.255", "100.64.0.1",
        "100.127.255.255", "203.0.113.255", "198.18.0.1", "198.19.255.255",
    ];
    for src in sources {
        let mut lab = Lab::new(&cfg);
        let inner = udp6("2001:db8::1", "2002:cb00:7101::5", 64, 60);
        lab.expect_drop(0, &to_w(src, &inner), DropReason::Ipv4SrcMartian);
    }
    // Just outside the prefixes: accepted.
    for src in ["9.255.255.255", "11.0.0.0", "172.15.255.255", "172.32.0.0", "100.63.255.255", "100.128.0.0", "198.20.0.0"] {
        let mut lab = Lab::new(&cfg);
        let inner = udp6("2001:db8::1", "2002:cb00:7101::5", 64, 60);
        assert_eq!(lab.run(0, &to_w(src, &inner)).0, Verdict::Tx(1), "{src}");
    }
}

/// IPv6 sanity of inner addresses: ::/16, fe80::/10, fec0::/10, ff00::/8 and 2002:V::/48
/// with a martian V, as sources and destinations, after decapsulation.
#[test]
fn inner_martians_after_decapsulation() {
    let sources = ["fe80::1", "febf::1", "fec0::1", "feff::1", "0:1::1", "2002:a00:1::1", "2002:7f00:1::1", "2002:c0a8:1::1", "2002:6440::1", "2002::1"];
    for src in sources {
        let inner = udp6(src, "2002:cb00:7101::5", 64, 60);
        Lab::router_w().expect_drop(0, &to_w("198.51.100.7", &inner), DropReason::Ipv6SrcMartian);
    }
    let dsts = ["fe80::5", "fec0::5", "ff0e::1", "::1", "::ffff:203.0.113.1", "2002:a00:1::1", "2002:c0a8::1"];
    for dst in dsts {
        let inner = udp6("2002:c633:6407::1", dst, 64, 60);
        Lab::router_w().expect_drop(0, &to_w("198.51.100.7", &inner), DropReason::Ipv6DstMartian);
    }
}

/// The same sanity on the encapsulating side.
#[test]
fn inner_martians_before_encapsulation() {
    let mut lab = Lab::router_r();
    for src in ["2002:a00:1::1", "2002:c0a8:1::1", "fec0::1", "0:1::5"] {
        let inner = udp6(src, "2002:cb00:7101::5", 64, 60);
        lab.expect_drop(1, &from_lan(&inner), DropReason::Ipv6SrcMartian);
    }
    for dst in ["2002:7f00::1", "2002:e000::1", "2002:ffff:ffff::1"] {
        let inner = udp6("2002:c633:6407:1::5", dst, 64, 60);
        lab.expect_drop(1, &from_lan(&inner), DropReason::Ipv6DstMartian);
    }
}

/// The tunnel endpoint of a route's next hop is checked against the deny list too
/// (here an operator bogon and our own subnet's broadcast), and must not be ours.
#[test]
fn tunnel_endpoint_martian_or_ours() {
    let cfg = format!("extra_bogons = [\"198.18.0.0/15\"]\n{ROUTER_R}");
    let mut lab = Lab::new(&cfg);
    let inner = udp6("2002:c633:6407:1::5", "2001:db8::1", 64, 60);
    for (via, reason) in [
        ("2002:c612:1::", DropReason::Ipv4DstMartian),
        ("2002:c633:64ff::", DropReason::Ipv4DstMartian),
        ("2002:c633:6407::", DropReason::EncapDstIsSelf),
    ] {
        parse_route(&format!("route add ::/0 via {via}")).unwrap().apply(&mut lab.tables).unwrap();
        lab.expect_drop(1, &from_lan(&inner), reason);
    }
}

/// A 6to4 destination whose V is one of our own addresses is not sent to ourselves.
#[test]
fn six_to_four_destination_embedding_our_own_v() {
    let mut lab = Lab::relay(false);
    let inner = udp6("2001:db8::1", "2002:c633:6409:5::1", 64, 60);
    lab.expect_drop(1, &eth(PORT1, GW6, ET_IPV6, &inner), DropReason::EncapDstIsSelf);
}

/// The pure checks, on the addresses the spec lists.
#[test]
fn martian_lists_are_data() {
    let m = model::addr::Martians::new(&[], &[]);
    for (a, l) in model::addr::MARTIANS_V4 {
        let first = u32::from(a);
        let last = first | !model::addr::mask4(l);
        assert!(!m.v4_ok(first) && !m.v4_ok(last), "{a}/{l}");
    }
    assert!(m.v4_addr_ok("198.51.100.7".parse().unwrap()) && m.v4_addr_ok("203.0.113.1".parse().unwrap()));
    for (a, l) in model::addr::MARTIANS_V6 {
        let first = u128::from(a);
        assert!(!m.v6_ok(first) && !m.v6_ok(first | !model::addr::mask6(l)), "{a}/{l}");
    }
    for bad in ["2002:a00::", "2002:aff:ffff::1", "2002:7f00::", "2002:c0a8::", "2002:c0a8:ffff::"] {
        assert!(!m.v6_addr_ok(bad.parse().unwrap()), "{bad}");
    }
    for good in ["2002:c633:6407::1", "2002:cb00:7101::5", "2001:db8::1", "1::", "fe7f::1"] {
        assert!(m.v6_addr_ok(good.parse().unwrap()), "{good}");
    }
}

/// Strict uRPF on native ingress: the source must route back out of the ingress port.
#[test]
fn strict_urpf() {
    let mut lab = Lab::new(&format!("urpf = true\n{}", relay_config(false)));
    // 2001:db8::/32 routes back through port 1 (the default route): accepted.
    let ok = udp6("2001:db8::1", "2002:cb00:7101::5", 64, 60);
    assert_eq!(lab.run(1, &eth(PORT1, GW6, ET_IPV6, &ok)).0, Verdict::Tx(0));
    // A 6to4 source routes into the tunnel, not port 1.
    let spoofed = udp6("2002:cb00:7101::9", "2001:db8::1", 64, 60);
    lab.expect_drop(1, &eth(PORT1, GW6, ET_IPV6, &spoofed), DropReason::UrpfFailed);
    // Decapsulated packets are checked by RFC 3964 instead.
    let inner = udp6("2002:c633:6407::1", "2001:db8::1", 64, 60);
    let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("198.51.100.7", "198.51.100.9"), &inner));
    assert_eq!(lab.run(0, &frame).0, Verdict::Tx(1));
    // Off by default: the spoofed source passes uRPF and is relayed (RFC 3964 allows a
    // relay to forward 6to4 → native; this is what uRPF exists to stop).
    let mut off = Lab::relay(false);
    assert_eq!(off.run(1, &eth(PORT1, GW6, ET_IPV6, &spoofed)).0, Verdict::Tx(1));
}
