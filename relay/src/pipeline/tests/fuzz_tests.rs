//! What the fuzzers found (docs/fuzzing.md), each as the exact behaviour it was fixed to.
use super::pkt::*;
use super::*;

/// `packet`'s header as a jumbogram's (RFC 2675): payload length 0, next header Hop-by-Hop,
/// followed by `tail` (an 8-byte Hop-by-Hop header or nothing).
fn jumbogram_header(packet: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut h = packet[..40].to_vec();
    h[4..6].copy_from_slice(&[0, 0]);
    h[6] = 0;
    h.extend_from_slice(tail);
    h
}

#[test]
fn a_native_jumbogram_header_is_malformed_not_forwarded() {
    // It was forwarded as a 40-byte packet claiming a Hop-by-Hop header (the fuzzer's find).
    let packet = udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 100);
    for tail in [&[][..], &[17, 0, 0xc2, 4, 0, 1, 0, 0]] {
        let mut lab = Lab::router_r();
        lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &jumbogram_header(&packet, tail)), DropReason::Ipv6Malformed);
        assert_eq!(lab.nonzero(), [("rx", 1), ("dropped", 1), ("drop_ipv6_malformed", 1)]);
    }
}

#[test]
fn a_decapsulated_jumbogram_header_is_malformed_not_forwarded() {
    let inner = udp6("2002:cb00:7101::5", "2002:c633:6407:1::5", 64, 100);
    let mut lab = Lab::router_r();
    let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("203.0.113.1", "198.51.100.7"), &jumbogram_header(&inner, &[])));
    lab.expect_drop(0, &frame, DropReason::DecapInnerMalformed);
    assert_eq!(lab.nonzero(), [("rx", 1), ("dropped", 1), ("drop_decap_inner_malformed", 1)]);
}
