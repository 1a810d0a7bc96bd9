//! Spec section 5: ICMPv4 errors quoting our encapsulated packets — path MTU learning
//! and relaying as ICMPv6 errors to the inner source (RFC 4213 section 3.4).
use etherparse::icmpv6::{DestUnreachableCode, TimeExceededCode};
use etherparse::{Icmpv6Type, PacketBuilder};

use super::pkt::*;
use super::*;

const LAN_HOST: &str = "2002:c633:6407:1::5";

/// What R sent into the tunnel for `inner`, as an IPv4 router would quote it.
fn sent_by_r(inner: &[u8]) -> Vec<u8> {
    ipv4(V4::p41("198.51.100.7", "203.0.113.1"), &hop_minus(inner, 1))
}

fn icmp4_to_r(icmp_type: u8, code: u8, rest: [u8; 4], quote: &[u8]) -> Vec<u8> {
    eth(PORT0, GW4, ET_IPV4, &icmp4("192.0.2.1", "198.51.100.7", icmp_type, code, rest, quote))
}

fn icmp6_error(t: Icmpv6Type, quoted: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ipv6(a6("2002:c633:6407::"), a6(LAN_HOST), 64).icmpv6(t).write(&mut out, quoted).unwrap();
    eth(HOST, PORT1, ET_IPV6, &out)
}

fn big(len: usize) -> Vec<u8> {
    udp6(LAN_HOST, "2002:cb00:7101::5", 64, len)
}

/// Fragmentation needed with MTU 1400: the path MTU to 203.0.113.1 becomes 1400, the
/// host gets Packet Too Big 1380 at once, and later packets are held to 1380.
#[test]
fn fragmentation_needed_lowers_the_path_mtu() {
    let mut lab = Lab::router_r();
    let inner = big(1480);
    let quote = sent_by_r(&inner);
    let (v, out) = lab.run(0, &icmp4_to_r(3, 4, [0, 0, 0x05, 0x78], &quote[..576 - 28]));
    assert_eq!(v, Verdict::Tx(1));
    let quoted_inner = &hop_minus(&inner, 1)[..576 - 28 - 20];
    assert_eq!(out, icmp6_error(Icmpv6Type::PacketTooBig { mtu: 1380 }, quoted_inner));
    parse_icmp6(&out[14..]);
    assert_eq!(lab.count("pmtu_learned"), 1);
    assert_eq!(lab.count("icmp4_translated"), 1);
    assert_eq!(lab.count("icmp6_packet_too_big"), 1);

    let frame = |len| eth(PORT1, HOST, ET_IPV6, &big(len));
    let (v, out) = lab.run(1, &frame(1381));
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(parse_icmp6(&out[14..]).1, Icmpv6Type::PacketTooBig { mtu: 1380 });
    assert_eq!(lab.run(1, &frame(1380)).0, Verdict::Tx(0));
    // Other endpoints keep the tunnel MTU.
    let other = udp6(LAN_HOST, "2002:cb00:7102::5", 64, 1480);
    assert_eq!(lab.run(1, &eth(PORT1, HOST, ET_IPV6, &other)).0, Verdict::Tx(0));
}

/// Never below 1280; an old router's MTU 0 means the minimum too.
#[test]
fn learned_path_mtu_never_below_1280() {
    for field in [1200u16, 576, 0] {
        let mut lab = Lab::router_r();
        let quote = sent_by_r(&big(1480));
        let (v, out) = lab.run(0, &icmp4_to_r(3, 4, [0, 0, (field >> 8) as u8, field as u8], &quote[..200]));
        assert_eq!(v, Verdict::Tx(1));
        assert_eq!(parse_icmp6(&out[14..]).1, Icmpv6Type::PacketTooBig { mtu: 1280 }, "field {field}");
        let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &big(1281)));
        assert_eq!(v, Verdict::Tx(1));
        assert_eq!(parse_icmp6(&out[14..]).1, Icmpv6Type::PacketTooBig { mtu: 1280 });
    }
}

/// Learned path MTUs expire after 10 minutes.
#[test]
fn learned_path_mtu_expires() {
    let mut lab = Lab::router_r();
    let quote = sent_by_r(&big(1480));
    lab.run_at(0, 0, &icmp4_to_r(3, 4, [0, 0, 0x05, 0x78], &quote[..100]));
    let frame = eth(PORT1, HOST, ET_IPV6, &big(1480));
    assert_eq!(lab.run_at(599_999_999_999, 1, &frame).0, Verdict::Tx(1), "still PTB");
    assert_eq!(lab.run_at(600_000_000_000, 1, &frame).0, Verdict::Tx(0), "expired");
}

#[test]
fn time_exceeded_becomes_time_exceeded() {
    let mut lab = Lab::router_r();
    let inner = big(200);
    let (v, out) = lab.run(0, &icmp4_to_r(11, 0, [0; 4], &sent_by_r(&inner)));
    assert_eq!(v, Verdict::Tx(1));
    let t = Icmpv6Type::TimeExceeded(TimeExceededCode::HopLimitExceeded);
    assert_eq!(out, icmp6_error(t, &hop_minus(&inner, 1)));
    assert_eq!(lab.count("icmp6_time_exceeded"), 1);
}

#[test]
fn other_errors_become_address_unreachable() {
    for (t4, code) in [(3u8, 1u8), (3, 0), (3, 13), (12, 0)] {
        let mut lab = Lab::router_r();
        let inner = big(100);
        let (v, out) = lab.run(0, &icmp4_to_r(t4, code, [0; 4], &sent_by_r(&inner)));
        assert_eq!(v, Verdict::Tx(1), "ICMPv4 {t4}/{code}");
        let t = Icmpv6Type::DestinationUnreachable(DestUnreachableCode::Address);
        assert_eq!(out, icmp6_error(t, &hop_minus(&inner, 1)));
    }
}

#[test]
fn errors_not_about_our_tunnel_packets_are_dropped() {
    let mut lab = Lab::router_r();
    let inner = big(100);
    let from_other = ipv4(V4::p41("198.51.100.8", "203.0.113.1"), &inner);
    lab.expect_drop(0, &icmp4_to_r(3, 1, [0; 4], &from_other), DropReason::Icmp4NotOurs);
    let udp = ipv4(V4 { proto: 17, ..V4::p41("198.51.100.7", "203.0.113.1") }, &inner);
    lab.expect_drop(0, &icmp4_to_r(3, 1, [0; 4], &udp), DropReason::Icmp4NotOurs);
    lab.expect_drop(0, &icmp4_to_r(3, 1, [0; 4], &[0x45, 0]), DropReason::Icmp4NotOurs);
}

/// An RFC 792 quote (IPv4 header + 8 bytes) holds no IPv6 source: nothing to relay,
/// but the path MTU is still learned.
#[test]
fn short_quote_still_teaches_the_path_mtu() {
    let mut lab = Lab::router_r();
    let quote = sent_by_r(&big(1480));
    lab.expect_drop(0, &icmp4_to_r(3, 4, [0, 0, 0x05, 0x78], &quote[..28]), DropReason::Icmp4QuoteShort);
    assert_eq!(lab.count("pmtu_learned"), 1);
    let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &big(1400)));
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(parse_icmp6(&out[14..]).1, Icmpv6Type::PacketTooBig { mtu: 1380 });
}

#[test]
fn bad_icmpv4_is_dropped() {
    let mut lab = Lab::router_r();
    let mut frame = icmp4_to_r(3, 4, [0, 0, 5, 0x78], &sent_by_r(&big(100)));
    let last = frame.len() - 1;
    frame[last] ^= 0x55;
    lab.expect_drop(0, &frame, DropReason::Icmp4BadChecksum);
}

#[test]
fn relayed_errors_are_rate_limited() {
    let mut lab = Lab::new(&format!("icmp_rate_pps = 1\nicmp_burst = 1\n{ROUTER_R}"));
    let frame = icmp4_to_r(11, 0, [0; 4], &sent_by_r(&big(100)));
    assert_eq!(lab.run(0, &frame).0, Verdict::Tx(1));
    lab.expect_drop(0, &frame, DropReason::Icmp4RateLimited);
    assert_eq!(lab.count("icmp_rate_limited"), 1);
}
