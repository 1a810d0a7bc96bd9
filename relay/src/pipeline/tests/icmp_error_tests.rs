//! Spec section 5 hop limit and MTU rules, and ICMPv6 error generation (RFC 4443):
//! errors built in place, routed like any packet, rate-limited and counted.
use etherparse::icmpv6::{DestUnreachableCode, TimeExceededCode};
use etherparse::{Icmpv6Type, PacketBuilder};

use super::pkt::*;
use super::*;

/// The error etherparse builds for the same inputs.
fn icmp6_error(src: &str, dst: &str, t: Icmpv6Type, quoted: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ipv6(a6(src), a6(dst), 64).icmpv6(t).write(&mut out, quoted).unwrap();
    out
}

const TE: Icmpv6Type = Icmpv6Type::TimeExceeded(TimeExceededCode::HopLimitExceeded);

/// Spec 5: a packet that would leave the tunnel with hop limit 0 gets Time Exceeded and
/// is not sent. The error comes from our address on the ingress side.
#[test]
fn hop_limit_exhausted_before_encapsulation() {
    for hop in [1, 0] {
        let mut lab = Lab::router_r();
        let inner = udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", hop, 100);
        let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
        assert_eq!(v, Verdict::Tx(1), "hop limit {hop}");
        let expect = icmp6_error("2002:c633:6407:1::1", "2002:c633:6407:1::5", TE, &inner);
        assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &expect));
        assert_eq!(parse_icmp6(&out[14..]).1, TE);
        assert_eq!(
            lab.nonzero(),
            vec![("rx", 1), ("tx", 1), ("forwarded", 1), ("icmp6_time_exceeded", 1), ("drop_hop_limit_exceeded", 1)]
        );
    }
}

/// After decapsulation the error goes back through the tunnel, from our 6to4 address.
#[test]
fn hop_limit_exhausted_after_decapsulation() {
    let mut lab = Lab::router_w();
    let inner = udp6("2002:c633:6407::1", "2002:cb00:7101::5", 1, 100);
    let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("198.51.100.7", "203.0.113.1"), &inner));
    let (v, out) = lab.run(0, &frame);
    assert_eq!(v, Verdict::Tx(0));
    let error = icmp6_error("2002:cb00:7101::", "2002:c633:6407::1", TE, &inner);
    let expect = ipv4(V4::p41("203.0.113.1", "198.51.100.7"), &error);
    assert_eq!(out, eth(GW4, PORT0, ET_IPV4, &expect));
}

#[test]
fn hop_limit_exhausted_on_native_forwarding() {
    let mut lab = Lab::relay(false);
    let inner = udp6("2001:db8:1::1", "2001:db8:2::1", 1, 100);
    let (v, out) = lab.run(1, &eth(PORT1, GW6, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(1));
    let expect = icmp6_error("2001:db8:ff::9", "2001:db8:1::1", TE, &inner);
    assert_eq!(out, eth(GW6, PORT1, ET_IPV6, &expect));
}

/// No route: Destination Unreachable code 0, here back through the tunnel.
#[test]
fn no_route_gets_destination_unreachable() {
    let cfg = relay_config(false).replace("[[route]]\nadd = \"::/0 via 2001:db8:ff::1 port 1\"\n", "");
    let mut lab = Lab::new(&cfg);
    let inner = udp6("2002:cb00:7101::5", "2001:db8:1::1", 64, 100);
    let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("203.0.113.1", "198.51.100.9"), &inner));
    let (v, out) = lab.run(0, &frame);
    assert_eq!(v, Verdict::Tx(0));
    let t = Icmpv6Type::DestinationUnreachable(DestUnreachableCode::NoRoute);
    let error = icmp6_error("2002:c633:6409::", "2002:cb00:7101::5", t, &inner);
    assert_eq!(out, eth(GW4, PORT0, ET_IPV4, &ipv4(V4::p41("198.51.100.9", "203.0.113.1"), &error)));
    assert_eq!(lab.count("drop_no_route"), 1);
    assert_eq!(lab.count("icmp6_dest_unreachable"), 1);
}

/// Spec 5: larger than the tunnel MTU → Packet Too Big carrying the tunnel MTU; the error
/// quotes as much as fits in 1280 bytes.
#[test]
fn too_big_for_the_tunnel() {
    for (mtu, size) in [(1480u16, 1481usize), (1280, 1281), (1400, 1500)] {
        let mut lab = Lab::new(&format!("tunnel_mtu = {mtu}\n{ROUTER_R}"));
        let inner = udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, size);
        let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
        assert_eq!(v, Verdict::Tx(1), "MTU {mtu}");
        let t = Icmpv6Type::PacketTooBig { mtu: u32::from(mtu) };
        let expect = icmp6_error("2002:c633:6407:1::1", "2002:c633:6407:1::5", t, &inner[..1280 - 48]);
        assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &expect));
        assert_eq!(out.len() - 14, 1280);
        assert_eq!(parse_icmp6(&out[14..]).1, t);
        assert_eq!(lab.count("drop_mtu_exceeded"), 1);
        assert_eq!(lab.count("icmp6_packet_too_big"), 1);
    }
}

/// A native port's MTU is honoured too (here after decapsulation: the error goes back
/// through the tunnel).
#[test]
fn too_big_for_the_native_port() {
    let cfg = relay_config(false).replace("ipv6 = [\"2001:db8:ff::9/64\"]", "ipv6 = [\"2001:db8:ff::9/64\"]\nmtu = 1300");
    let mut lab = Lab::new(&cfg);
    let inner = udp6("2002:cb00:7101::5", "2001:db8:1::1", 64, 1301);
    let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("203.0.113.1", "198.51.100.9"), &inner));
    let (v, out) = lab.run(0, &frame);
    assert_eq!(v, Verdict::Tx(0));
    let error = icmp6_error("2002:c633:6409::", "2002:cb00:7101::5", Icmpv6Type::PacketTooBig { mtu: 1300 }, &inner[..1232]);
    assert_eq!(out, eth(GW4, PORT0, ET_IPV4, &ipv4(V4::p41("198.51.100.9", "203.0.113.1"), &error)));
}

/// Errors are rate-limited by a token bucket; when it is empty the packet is dropped
/// for its own reason and `icmp_rate_limited` counts.
#[test]
fn errors_are_rate_limited() {
    let mut lab = Lab::new(&format!("icmp_rate_pps = 2\nicmp_burst = 2\n{ROUTER_R}"));
    let frame = eth(PORT1, HOST, ET_IPV6, &udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 1, 60));
    assert_eq!(lab.run_at(0, 1, &frame).0, Verdict::Tx(1));
    assert_eq!(lab.run_at(0, 1, &frame).0, Verdict::Tx(1));
    assert_eq!(lab.run_at(0, 1, &frame).0, Verdict::Drop(DropReason::HopLimitExceeded));
    assert_eq!(lab.run_at(499_999_999, 1, &frame).0, Verdict::Drop(DropReason::HopLimitExceeded));
    assert_eq!(lab.run_at(500_000_000, 1, &frame).0, Verdict::Tx(1), "one token back after 1/2 s");
    assert_eq!(lab.count("icmp_rate_limited"), 2);
    assert_eq!(lab.count("icmp6_time_exceeded"), 3);
    assert_eq!(lab.count("drop_hop_limit_exceeded"), 5);
    assert_eq!(lab.count("dropped"), 2);
}

#[test]
fn rate_zero_sends_no_errors() {
    let mut lab = Lab::new(&format!("icmp_rate_pps = 0\n{ROUTER_R}"));
    let frame = eth(PORT1, HOST, ET_IPV6, &udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 1, 60));
    lab.expect_drop(1, &frame, DropReason::HopLimitExceeded);
    assert_eq!(lab.count("icmp_rate_limited"), 1);
}

#[test]
fn the_clock_can_be_the_tsc() {
    let mut lab = Lab::new(&format!("icmp_rate_pps = 1\nicmp_burst = 1\n{ROUTER_R}"));
    lab.pipe.set_clock_hz(2_000);
    let frame = eth(PORT1, HOST, ET_IPV6, &udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 1, 60));
    assert_eq!(lab.run_at(10_000, 1, &frame).0, Verdict::Tx(1));
    assert_eq!(lab.run_at(11_999, 1, &frame).0, Verdict::Drop(DropReason::HopLimitExceeded));
    assert_eq!(lab.run_at(12_000, 1, &frame).0, Verdict::Tx(1));
}

/// No error about an ICMPv6 error (RFC 4443 2.4(e)); informational messages do get one.
#[test]
fn no_error_about_an_error() {
    let mut lab = Lab::router_r();
    let te = icmp6_raw("2002:c633:6407:1::5", "2002:cb00:7101::5", 1, 3, 0, [0; 4], &[0; 40]);
    lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &te), DropReason::HopLimitExceeded);
    let ping = echo6("2002:c633:6407:1::5", "2002:cb00:7101::5", 1, 8);
    assert_eq!(lab.run(1, &eth(PORT1, HOST, ET_IPV6, &ping)).0, Verdict::Tx(1));
    assert_eq!(lab.count("icmp6_time_exceeded"), 1);
}

/// An error that cannot be routed back is not sent; the packet counts for its reason.
#[test]
fn unroutable_error_is_dropped_and_counted() {
    let mut lab = Lab::router_r();
    let inner = udp6("2002:c633:6407:1::99", "2002:cb00:7101::5", 1, 60);
    lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &inner), DropReason::HopLimitExceeded);
    assert_eq!(lab.count("icmp_unroutable"), 1);
    assert_eq!(lab.count("icmp6_time_exceeded"), 0);
}
