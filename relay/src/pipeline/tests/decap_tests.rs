//! Spec section 1 (decapsulation), RFC 6040 ECN on decapsulation, and IPv4 input checks.
use super::pkt::*;
use super::*;

fn from_r(inner: &[u8]) -> Vec<u8> {
    eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("198.51.100.7", "203.0.113.1"), inner))
}

/// The decapsulated packet is forwarded by LPM with hop limit −1.
#[test]
fn decapsulated_and_forwarded_to_the_lan_exact_bytes() {
    let mut lab = Lab::router_w();
    let inner = udp6("2002:c633:6407::1", "2002:cb00:7101::5", 63, 200);
    let (v, out) = lab.run(0, &from_r(&inner));
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &hop_minus(&inner, 1)));
    assert_eq!(lab.nonzero(), vec![("rx", 1), ("tx", 1), ("forwarded", 1), ("decapsulated", 1), ("decap_6to4", 1)]);
}

/// The IPv6 length comes from the IPv6 payload length: IPv4 padding and Ethernet
/// padding are dropped.
#[test]
fn ipv4_and_ethernet_padding_are_ignored() {
    let mut lab = Lab::router_w();
    let inner = udp6("2002:c633:6407::1", "2002:cb00:7101::5", 63, 48);
    let mut payload = inner.clone();
    payload.extend_from_slice(&[0xaa; 9]);
    let mut frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("198.51.100.7", "203.0.113.1"), &payload));
    frame.extend_from_slice(&[0xbb; 5]);
    let (v, out) = lab.run(0, &frame);
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &hop_minus(&inner, 1)));
}

#[test]
fn outer_header_with_options_is_stripped_whole() {
    let mut lab = Lab::router_w();
    let inner = udp6("2002:c633:6407::1", "2002:cb00:7101::5", 63, 64);
    let mut h = etherparse::Ipv4Header::new(inner.len() as u16, 64, etherparse::IpNumber::IPV6, a4("198.51.100.7"), a4("203.0.113.1")).unwrap();
    h.options = [1, 1, 1, 0].into();
    h.set_payload_len(inner.len()).unwrap();
    h.header_checksum = h.calc_header_checksum();
    let mut ip = h.to_bytes().to_vec();
    ip.extend_from_slice(&inner);
    let (v, out) = lab.run(0, &eth(PORT0, GW4, ET_IPV4, &ip));
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &hop_minus(&inner, 1)));
}

/// RFC 6040 section 4.2, the whole decapsulation table: every (inner, outer) pair of
/// codepoints, with the table's result written out cell by cell.
#[test]
fn ecn_on_decapsulation() {
    const N: u8 = 0b00; // Not-ECT
    const E1: u8 = 0b01; // ECT(1)
    const E0: u8 = 0b10; // ECT(0)
    const CE: u8 = 0b11;
    // Rows: arriving inner; columns: arriving outer Not-ECT, ECT(0), ECT(1), CE.
    // `None` is the table's <drop>.
    let table: [(u8, [Option<u8>; 4]); 4] = [
        (N, [Some(N), Some(N), Some(N), None]),
        (E0, [Some(E0), Some(E0), Some(E1), Some(CE)]),
        (E1, [Some(E1), Some(E1), Some(E1), Some(CE)]),
        (CE, [Some(CE), Some(CE), Some(CE), Some(CE)]),
    ];
    let outers = [N, E0, E1, CE];

    for (inner_ecn, row) in table {
        for (outer, after) in outers.into_iter().zip(row) {
            let mut lab = Lab::router_w();
            let inner = with_tclass(udp6("2002:c633:6407::1", "2002:cb00:7101::5", 63, 60), 0xb8 | inner_ecn);
            let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4 { tos: outer, ..V4::p41("198.51.100.7", "203.0.113.1") }, &inner));
            let (v, out) = lab.run(0, &frame);
            match after {
                Some(ecn) => {
                    assert_eq!(v, Verdict::Tx(1), "outer {outer:02b} inner {inner_ecn:02b}");
                    let expect = with_tclass(hop_minus(&inner, 1), 0xb8 | ecn);
                    assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &expect), "outer {outer:02b} inner {inner_ecn:02b}");
                    let marked = u64::from(outer == CE && inner_ecn != CE);
                    assert_eq!(lab.count("ecn_ce_marked"), marked, "outer {outer:02b} inner {inner_ecn:02b}");
                }
                None => {
                    assert_eq!(v, Verdict::Drop(DropReason::EcnCeNotEct));
                    assert_eq!(lab.count("drop_ecn_ce_not_ect"), 1);
                }
            }
        }
    }
}

/// Outer fragments are reassembled (spec 5), not dropped: the first is held, the second
/// completes the datagram, which is decapsulated and forwarded bit-exact
/// (reassembly_tests.rs has every bound).
#[test]
fn outer_fragments_are_reassembled() {
    let mut lab = Lab::router_w();
    let inner = udp6("2002:c633:6407::1", "2002:cb00:7101::5", 63, 200);
    let whole = ipv4(V4 { df: false, ..V4::p41("198.51.100.7", "203.0.113.1") }, &inner);
    // First fragment: MF set.
    let mut first = etherparse::Ipv4Header::from_slice(&whole).unwrap().0;
    first.more_fragments = true;
    first.total_len = 20 + 96;
    first.header_checksum = first.calc_header_checksum();
    let mut f1 = first.to_bytes().to_vec();
    f1.extend_from_slice(&inner[..96]);
    // Second fragment: offset 96.
    let mut second = first.clone();
    second.more_fragments = false;
    second.fragment_offset = etherparse::IpFragOffset::try_new(12).unwrap();
    second.total_len = 20 + (inner.len() - 96) as u16;
    second.header_checksum = second.calc_header_checksum();
    let mut f2 = second.to_bytes().to_vec();
    f2.extend_from_slice(&inner[96..]);
    assert_eq!(lab.run(0, &eth(PORT0, GW4, ET_IPV4, &f1)).0, Verdict::Held);
    let (v, out) = lab.run(0, &eth(PORT0, GW4, ET_IPV4, &f2));
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &hop_minus(&inner, 1)));
    assert_eq!((lab.count("frag_held"), lab.count("frag_merged"), lab.count("frag_reassembled")), (1, 1, 1));
}

#[test]
fn protocol_41_to_an_address_that_is_no_tunnel_endpoint() {
    let cfg = ROUTER_R.replace("ipv4 = \"198.51.100.7/24\"", "ipv4 = \"198.51.100.20/24\"");
    let mut lab = Lab::new(&cfg);
    let inner = udp6("2002:cb00:7101::5", "2002:c633:6407:1::5", 63, 60);
    let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("203.0.113.1", "198.51.100.20"), &inner));
    lab.expect_drop(0, &frame, DropReason::DecapNotEndpoint);
    // The router's V is still an endpoint even though no port carries it.
    let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("203.0.113.1", "198.51.100.7"), &inner));
    assert_eq!(lab.run(0, &frame).0, Verdict::Tx(1));
}

#[test]
fn malformed_ipv4_is_dropped_by_reason() {
    let mut lab = Lab::router_w();
    let inner = udp6("2002:c633:6407::1", "2002:cb00:7101::5", 63, 60);
    let good = ipv4(V4::p41("198.51.100.7", "203.0.113.1"), &inner);

    let mut bad_sum = good.clone();
    bad_sum[10] ^= 0xff;
    lab.expect_drop(0, &eth(PORT0, GW4, ET_IPV4, &bad_sum), DropReason::Ipv4BadChecksum);

    lab.expect_drop(0, &eth(PORT0, GW4, ET_IPV4, &good[..19]), DropReason::Ipv4Malformed);
    lab.expect_drop(0, &eth(PORT0, GW4, ET_IPV4, &good[..good.len() - 1]), DropReason::Ipv4Malformed);
    let mut v6 = good.clone();
    v6[0] = 0x65;
    lab.expect_drop(0, &eth(PORT0, GW4, ET_IPV4, &v6), DropReason::Ipv4Malformed);
    let mut short_ihl = good.clone();
    short_ihl[0] = 0x44;
    lab.expect_drop(0, &eth(PORT0, GW4, ET_IPV4, &short_ihl), DropReason::Ipv4Malformed);
}

#[test]
fn malformed_inner_ipv6_is_dropped() {
    let mut lab = Lab::router_w();
    let inner = udp6("2002:c633:6407::1", "2002:cb00:7101::5", 63, 60);
    let mut cases = Vec::new();
    cases.push(inner[..39].to_vec()); // shorter than a header
    let mut v4 = inner.clone();
    v4[0] = 0x45;
    cases.push(v4); // not version 6
    let mut long = inner.clone();
    long[5] += 1;
    cases.push(long); // payload length past the outer packet
    for c in cases {
        let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("198.51.100.7", "203.0.113.1"), &c));
        lab.expect_drop(0, &frame, DropReason::DecapInnerMalformed);
    }
}

#[test]
fn ipv4_not_for_us_is_dropped_and_broadcasts_ignored() {
    let mut lab = Lab::router_w();
    let inner = udp6("2002:c633:6407::1", "2002:cb00:7101::5", 63, 60);
    for (dst, reason) in [
        ("203.0.113.2", DropReason::Ipv4NotForUs),
        ("198.51.100.1", DropReason::Ipv4NotForUs),
        ("203.0.113.255", DropReason::MulticastIgnored),
        ("255.255.255.255", DropReason::MulticastIgnored),
        ("224.0.0.5", DropReason::MulticastIgnored),
    ] {
        let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("198.51.100.7", dst), &inner));
        lab.expect_drop(0, &frame, reason);
    }
}

/// Anything else addressed to the router is dropped and counted (spec 11).
#[test]
fn other_protocols_to_us_are_dropped() {
    let mut lab = Lab::router_w();
    let udp = ipv4(V4 { proto: 17, ..V4::p41("198.51.100.7", "203.0.113.1") }, &[0; 16]);
    lab.expect_drop(0, &eth(PORT0, GW4, ET_IPV4, &udp), DropReason::LocalUnsupported);
    let ts = icmp4("198.51.100.7", "203.0.113.1", 13, 0, [0; 4], &[0; 12]);
    lab.expect_drop(0, &eth(PORT0, GW4, ET_IPV4, &ts), DropReason::LocalUnsupported);
}
