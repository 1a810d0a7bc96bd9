//! Spec section 2: the 6to4 relay (RFC 3068, RFC 7526, RFC 6343 section 4.4).
use super::pkt::*;
use super::*;

fn tunnelled(src4: &str, dst4: &str, inner: &[u8]) -> Vec<u8> {
    eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41(src4, dst4), inner))
}

#[test]
fn anycast_is_off_by_default() {
    let cfg = relay_config(false).replace("anycast = false\n", "");
    let lab = Lab::new(&cfg);
    assert_eq!(lab.pipe.settings().relay.map(|r| r.anycast), Some(false));
    assert_eq!(lab.pipe.settings().tunnel_endpoints(), vec![std::net::Ipv4Addr::from(a4("198.51.100.9"))]);
}

#[test]
fn anycast_off_ignores_192_88_99_1() {
    let mut lab = Lab::relay(false);
    let inner = udp6("2002:c633:6407::1", "2001:db8::1", 64, 80);
    lab.expect_drop(0, &tunnelled("198.51.100.7", "192.88.99.1", &inner), DropReason::Ipv4NotForUs);
}

/// 6to4 → native: decapsulated and forwarded natively, for the anycast address when it
/// is on and for the unicast address always.
#[test]
fn six_to_four_to_native_exact_bytes() {
    for (anycast, dst4) in [(true, "192.88.99.1"), (true, "198.51.100.9"), (false, "198.51.100.9")] {
        let mut lab = Lab::relay(anycast);
        let inner = udp6("2002:c633:6407::1", "2001:db8::1", 64, 80);
        let (v, out) = lab.run(0, &tunnelled("198.51.100.7", dst4, &inner));
        assert_eq!(v, Verdict::Tx(1), "to {dst4}, anycast {anycast}");
        assert_eq!(out, eth(GW6, PORT1, ET_IPV6, &hop_minus(&inner, 1)));
    }
}

/// Native → 6to4: encapsulated to the V of the destination; the outer source is the
/// anycast address when enabled, else the unicast one.
#[test]
fn native_to_six_to_four_outer_source() {
    for (anycast, src4) in [(false, "198.51.100.9"), (true, "192.88.99.1")] {
        let mut lab = Lab::relay(anycast);
        let inner = udp6("2001:db8::1", "2002:cb00:7101::5", 64, 100);
        let (v, out) = lab.run(1, &eth(PORT1, GW6, ET_IPV6, &inner));
        assert_eq!(v, Verdict::Tx(0));
        let expect = ipv4(V4::p41(src4, "203.0.113.1"), &hop_minus(&inner, 1));
        assert_eq!(out, eth(GW4, PORT0, ET_IPV4, &expect), "anycast {anycast}");
    }
}

/// A 6to4 source always leaves with its own V, anycast or not: the Time Exceeded the
/// relay sends from its unicast 6to4 address goes out from the unicast IPv4 address,
/// the one from the anycast 6to4 address from 192.88.99.1.
#[test]
fn six_to_four_source_keeps_its_v() {
    for (dst4, err_src, src4) in
        [("198.51.100.9", "2002:c633:6409::", "198.51.100.9"), ("192.88.99.1", "2002:c058:6301::", "192.88.99.1")]
    {
        let mut lab = Lab::relay(true);
        let inner = udp6("2002:cb00:7101::5", "2001:db8::1", 1, 80);
        let (v, out) = lab.run(0, &tunnelled("203.0.113.1", dst4, &inner));
        assert_eq!(v, Verdict::Tx(0), "sent to {dst4}");
        let (h, payload) = parse_ipv4(&out[14..]);
        assert_eq!((h.source, h.destination), (a4(src4), a4("203.0.113.1")));
        let (h6, t, quoted) = parse_icmp6(&payload);
        assert_eq!((h6.source, h6.destination), (a6(err_src), a6("2002:cb00:7101::5")));
        assert_eq!(t, etherparse::Icmpv6Type::TimeExceeded(etherparse::icmpv6::TimeExceededCode::HopLimitExceeded));
        assert_eq!(quoted, inner);
    }
}

/// A relay does not relay 6to4 → 6to4: a 6to4 destination must embed the outer
/// destination (ours), and a decapsulated packet never re-enters a tunnel.
#[test]
fn no_six_to_four_to_six_to_four() {
    let mut lab = Lab::relay(true);
    let inner = udp6("2002:c633:6407::1", "2002:cb00:7101::5", 64, 80);
    lab.expect_drop(0, &tunnelled("198.51.100.7", "192.88.99.1", &inner), DropReason::DecapDstV4Mismatch);
    lab.expect_drop(0, &tunnelled("198.51.100.7", "198.51.100.9", &inner), DropReason::DecapDstV4Mismatch);

    // Even when the route for a native destination points back into the tunnel.
    parse_route("route add 2001:db8:bad::/48 via 2002:cb00:7101::").unwrap().apply(&mut lab.tables).unwrap();
    let inner = udp6("2002:c633:6407::1", "2001:db8:bad::1", 64, 80);
    lab.expect_drop(0, &tunnelled("198.51.100.7", "198.51.100.9", &inner), DropReason::TunnelToTunnel);
}

#[test]
fn native_to_native_is_not_relayed_through_the_tunnel() {
    let mut lab = Lab::relay(false);
    let inner = udp6("2001:db8:1::1", "2001:db8:2::1", 64, 80);
    lab.expect_drop(0, &tunnelled("198.51.100.7", "198.51.100.9", &inner), DropReason::DecapNativeToNative);
}

/// Native traffic that the route table sends back out of the native port is plain IPv6
/// forwarding.
#[test]
fn native_forwarding_exact_bytes() {
    let mut lab = Lab::relay(false);
    let inner = udp6("2001:db8:1::1", "2001:db8:2::1", 9, 80);
    let (v, out) = lab.run(1, &eth(PORT1, GW6, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out, eth(GW6, PORT1, ET_IPV6, &hop_minus(&inner, 1)));
    assert_eq!(lab.count("forwarded"), 1);
}

/// A router that is not a relay neither relays 6to4 → native nor native → 6to4.
#[test]
fn router_is_not_a_relay() {
    let mut lab = Lab::router_w();
    let inner = udp6("2002:c633:6407::1", "2001:db8::1", 64, 80);
    lab.expect_drop(0, &tunnelled("198.51.100.7", "203.0.113.1", &inner), DropReason::DecapNotRelay);
    let inner = udp6("2001:db8::5", "2002:c633:6407::1", 64, 80);
    lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &inner), DropReason::EncapNotRelay);
}

/// The relay answers echo sent through the tunnel to its 6to4 addresses, hop limit 1
/// included, and the reply goes back through the tunnel (RFC 6343 section 4.4).
#[test]
fn echo_to_the_relay_6to4_address_through_the_tunnel() {
    for (dst4, dst6) in [("198.51.100.9", "2002:c633:6409::"), ("192.88.99.1", "2002:c058:6301::")] {
        let mut lab = Lab::relay(true);
        let request = echo6("2002:c633:6407::1", dst6, 1, 24);
        let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4 { id: 0x4242, ..V4::p41("198.51.100.7", dst4) }, &request));
        let (v, out) = lab.run(0, &frame);
        assert_eq!((v, &out), (Verdict::Punt, &frame), "the fast path punts it unchanged");
        let (v, out) = lab.local(0, &frame);
        assert_eq!(v, Verdict::Tx(0));
        let reply = echo6_reply(dst6, "2002:c633:6407::1", 64, 24);
        let expect = ipv4(V4 { id: 0x4242, ..V4::p41(dst4, "198.51.100.7") }, &reply);
        assert_eq!(out, eth(GW4, PORT0, ET_IPV4, &expect), "to {dst6}");
        parse_icmp6(&parse_ipv4(&out[14..]).1);
        assert_eq!(lab.count("echo6_replies"), 1);
    }
}

/// Echo to the anycast 6to4 address when anycast is off is not ours.
#[test]
fn echo_to_anycast_when_off_is_not_ours() {
    let mut lab = Lab::relay(false);
    let request = echo6("2002:c633:6407::1", "2002:c058:6301::", 1, 8);
    let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("198.51.100.7", "192.88.99.1"), &request));
    lab.expect_drop(0, &frame, DropReason::Ipv4NotForUs);
}

/// The relay is reachable natively on its 6to4 address too.
#[test]
fn native_echo_to_the_relay_6to4_address() {
    let mut lab = Lab::relay(false);
    let request = echo6("2001:db8::1", "2002:c633:6409::", 17, 16);
    let frame = eth(PORT1, GW6, ET_IPV6, &request);
    assert_eq!(lab.run(1, &frame).0, Verdict::Punt);
    let (v, out) = lab.local(1, &frame);
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out, eth(GW6, PORT1, ET_IPV6, &echo6_reply("2002:c633:6409::", "2001:db8::1", 64, 16)));
}
