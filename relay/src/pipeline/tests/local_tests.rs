//! Spec section 11: what the router does for itself (the slow path for punted frames).
use etherparse::PacketBuilder;

use super::pkt::*;
use super::*;

const BCAST: [u8; 6] = [0xff; 6];

#[test]
fn arp_request_for_our_address_is_answered() {
    let mut lab = Lab::router_r();
    let request = eth(BCAST, GW4, ET_ARP, &arp(1, GW4, "198.51.100.1", [0; 6], "198.51.100.7"));
    let (v, out) = lab.run(0, &request);
    assert_eq!((v, &out), (Verdict::Punt, &request));
    let (v, out) = lab.local(0, &request);
    assert_eq!(v, Verdict::Tx(0));
    assert_eq!(out, eth(GW4, PORT0, ET_ARP, &arp(2, PORT0, "198.51.100.7", GW4, "198.51.100.1")));
    assert_eq!(lab.count("arp_replies"), 1);
}

/// Ethernet padding of a short ARP frame stays; only the ARP fields change.
#[test]
fn padded_arp_request() {
    let mut lab = Lab::relay(false);
    let mut request = eth(BCAST, GW4, ET_ARP, &arp(1, GW4, "198.51.100.1", [0; 6], "198.51.100.9"));
    request.extend_from_slice(&[0; 18]);
    let (v, out) = lab.local(0, &request);
    assert_eq!(v, Verdict::Tx(0));
    let mut expect = eth(GW4, PORT0, ET_ARP, &arp(2, PORT0, "198.51.100.9", GW4, "198.51.100.1"));
    expect.extend_from_slice(&[0; 18]);
    assert_eq!(out, expect);
}

/// The anycast address is answered only when anycast is on.
#[test]
fn arp_for_the_anycast_address() {
    let request = eth(BCAST, GW4, ET_ARP, &arp(1, GW4, "198.51.100.1", [0; 6], "192.88.99.1"));
    let mut off = Lab::relay(false);
    assert_eq!(off.local(0, &request).0, Verdict::Drop(DropReason::ArpNotForUs));
    let mut on = Lab::relay(true);
    let (v, out) = on.local(0, &request);
    assert_eq!(v, Verdict::Tx(0));
    assert_eq!(out, eth(GW4, PORT0, ET_ARP, &arp(2, PORT0, "192.88.99.1", GW4, "198.51.100.1")));
}

/// The fast path punts only what the slow path answers or learns from: requests for
/// us, replies to us, announcements.
#[test]
fn fast_path_filters_arp() {
    let mut lab = Lab::router_r();
    let reply = eth(PORT0, GW4, ET_ARP, &arp(2, GW4, "198.51.100.1", PORT0, "198.51.100.7"));
    assert_eq!(lab.run(0, &reply).0, Verdict::Punt);
    let announcement = eth(BCAST, GW4, ET_ARP, &arp(1, GW4, "198.51.100.1", [0; 6], "198.51.100.1"));
    assert_eq!(lab.run(0, &announcement).0, Verdict::Punt);
    let other = eth(BCAST, GW4, ET_ARP, &arp(1, GW4, "198.51.100.1", [0; 6], "198.51.100.2"));
    lab.expect_drop(0, &other, DropReason::ArpNotForUs);
    let reply_to_other = eth(BCAST, GW4, ET_ARP, &arp(2, GW4, "198.51.100.1", HOST, "198.51.100.2"));
    lab.expect_drop(0, &reply_to_other, DropReason::ArpNotForUs);
    let rarp = eth(BCAST, GW4, ET_ARP, &arp(3, GW4, "198.51.100.1", [0; 6], "198.51.100.7"));
    lab.expect_drop(0, &rarp, DropReason::ArpNotRequest);
    lab.expect_drop(0, &eth(BCAST, GW4, ET_ARP, &[0, 1, 8, 0]), DropReason::ArpMalformed);
    // An announcement on a port without IPv4 is nobody's business here.
    lab.expect_drop(1, &eth(BCAST, HOST, ET_ARP, &arp(1, HOST, "198.51.100.5", [0; 6], "198.51.100.5")), DropReason::ArpNotForUs);
    assert_eq!(lab.count("punted"), 2);
}

#[test]
fn bad_arp_is_dropped_by_reason() {
    let mut lab = Lab::router_r();
    let cases = [
        (eth(BCAST, GW4, ET_ARP, &arp(2, GW4, "198.51.100.1", PORT0, "198.51.100.7")), 0, DropReason::ArpNotRequest),
        (eth(BCAST, GW4, ET_ARP, &arp(1, GW4, "198.51.100.1", [0; 6], "198.51.100.8")), 0, DropReason::ArpNotForUs),
        (eth(BCAST, HOST, ET_ARP, &arp(1, HOST, "198.51.100.1", [0; 6], "198.51.100.7")), 1, DropReason::ArpNotForUs),
        (eth(BCAST, GW4, ET_ARP, &arp(1, GW4, "198.51.100.1", [0; 6], "198.51.100.7")[..27]), 0, DropReason::ArpMalformed),
    ];
    for (frame, port, reason) in cases {
        assert_eq!(lab.local(port, &frame).0, Verdict::Drop(reason));
    }
    let mut wrong_hlen = arp(1, GW4, "198.51.100.1", [0; 6], "198.51.100.7");
    wrong_hlen[4] = 8;
    assert_eq!(lab.local(0, &eth(BCAST, GW4, ET_ARP, &wrong_hlen)).0, Verdict::Drop(DropReason::ArpMalformed));
    assert_eq!(lab.count("drop_arp_malformed"), 2);
    assert_eq!(lab.count("drop_arp_not_for_us"), 2);
}

#[test]
fn neighbour_solicitation_is_answered() {
    for slla in [Some(HOST), None] {
        let mut lab = Lab::router_r();
        let request = ns("2002:c633:6407:1::5", "ff02::1:ff00:1", "2002:c633:6407:1::1", slla, 255);
        let frame = eth([0x33, 0x33, 0xff, 0, 0, 1], HOST, ET_IPV6, &request);
        assert_eq!(lab.run(1, &frame).0, Verdict::Punt);
        let (v, out) = lab.local(1, &frame);
        assert_eq!(v, Verdict::Tx(1));
        let expect = na("2002:c633:6407:1::1", "2002:c633:6407:1::5", 0xe0, PORT1);
        assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &expect), "with SLLA: {}", slla.is_some());
        parse_icmp6(&out[14..]);
        assert_eq!(lab.count("nd_adverts"), 1);
    }
}

/// Duplicate address detection: the answer goes to all-nodes, not solicited.
#[test]
fn dad_solicitation_is_answered_to_all_nodes() {
    let mut lab = Lab::router_r();
    let request = ns("::", "ff02::1:ff00:1", "2002:c633:6407:1::1", None, 255);
    let (v, out) = lab.local(1, &eth([0x33, 0x33, 0xff, 0, 0, 1], HOST, ET_IPV6, &request));
    assert_eq!(v, Verdict::Tx(1));
    let expect = na("2002:c633:6407:1::1", "ff02::1", 0xa0, PORT1);
    assert_eq!(out, eth([0x33, 0x33, 0, 0, 0, 1], PORT1, ET_IPV6, &expect));
}

#[test]
fn bad_neighbour_solicitations_are_dropped_by_reason() {
    let mut lab = Lab::router_r();
    let group = [0x33, 0x33, 0xff, 0, 0, 1];
    let good = ns("2002:c633:6407:1::5", "ff02::1:ff00:1", "2002:c633:6407:1::1", Some(HOST), 255);
    let mut bad_sum = good.clone();
    bad_sum[43] ^= 1;
    let with_option = |len: u8| {
        let mut body = a6("2002:c633:6407:1::1").to_vec();
        body.extend_from_slice(&[1, len]);
        body.extend_from_slice(&HOST);
        icmp6_raw("2002:c633:6407:1::5", "ff02::1:ff00:1", 255, 135, 0, [0; 4], &body)
    };
    let (zero_opt, long_opt) = (with_option(0), with_option(2));
    let cases = [
        (ns("2002:c633:6407:1::5", "ff02::1:ff00:1", "2002:c633:6407:1::1", Some(HOST), 64), DropReason::NdBadHopLimit),
        (bad_sum, DropReason::NdBadChecksum),
        (ns("2002:c633:6407:1::5", "ff02::1:ff00:2", "2002:c633:6407:1::2", None, 255), DropReason::NdNotForUs),
        (ns("::", "ff02::1:ff00:1", "2002:c633:6407:1::1", Some(HOST), 255), DropReason::NdMalformed),
        (ns("::", "ff02::1", "2002:c633:6407:1::1", None, 255), DropReason::NdMalformed),
        (ns("2002:c633:6407:1::5", "ff02::1:ff00:1", "ff02::1", None, 255), DropReason::NdMalformed),
        (icmp6_raw("2002:c633:6407:1::5", "ff02::1:ff00:1", 255, 135, 1, [0; 4], &a6("2002:c633:6407:1::1")), DropReason::NdMalformed),
        (icmp6_raw("2002:c633:6407:1::5", "ff02::1:ff00:1", 255, 135, 0, [0; 4], &[0; 12]), DropReason::NdMalformed),
        (zero_opt, DropReason::NdMalformed),
        (long_opt, DropReason::NdMalformed),
    ];
    for (request, reason) in cases {
        assert_eq!(lab.local(1, &eth(group, HOST, ET_IPV6, &request)).0, Verdict::Drop(reason), "{}", reason.name());
    }
}

/// The fast path only punts what the slow path serves.
#[test]
fn fast_path_sorts_multicast_and_neighbour_discovery() {
    let mut lab = Lab::router_r();
    let group = [0x33, 0x33, 0, 0, 0, 1];
    let ns_other = ns("2002:c633:6407:1::5", "ff02::1:ff00:2", "2002:c633:6407:1::2", None, 255);
    lab.expect_drop(1, &eth(group, HOST, ET_IPV6, &ns_other), DropReason::MulticastIgnored);
    let ra = icmp6_raw("fe80::5", "ff02::1", 255, 134, 0, [64, 0, 0, 0], &[0; 8]);
    lab.expect_drop(1, &eth(group, HOST, ET_IPV6, &ra), DropReason::NdIgnored);
    let na_in = na("2002:c633:6407:1::5", "2002:c633:6407:1::1", 0x60, HOST);
    assert_eq!(lab.run(1, &eth(PORT1, HOST, ET_IPV6, &na_in)).0, Verdict::Punt, "the slow path learns from it");
    let rs = icmp6_raw("fe80::5", "ff02::2", 255, 133, 0, [0; 4], &[]);
    lab.expect_drop(1, &eth([0x33, 0x33, 0, 0, 0, 2], HOST, ET_IPV6, &rs), DropReason::NdIgnored);
    let mld = icmp6_raw("fe80::5", "ff02::16", 1, 143, 0, [0; 4], &[0; 20]);
    lab.expect_drop(1, &eth(group, HOST, ET_IPV6, &mld), DropReason::MulticastIgnored);
    let multicast_ping = echo6("2002:c633:6407:1::5", "ff02::1", 1, 8);
    lab.expect_drop(1, &eth(group, HOST, ET_IPV6, &multicast_ping), DropReason::MulticastIgnored);
    let udp_to_us = udp6("2002:c633:6407:1::5", "2002:c633:6407:1::1", 64, 60);
    lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &udp_to_us), DropReason::LocalUnsupported);
    // And the slow path agrees if handed the same.
    assert_eq!(lab.local(1, &eth(PORT1, HOST, ET_IPV6, &udp_to_us)).0, Verdict::Drop(DropReason::LocalUnsupported));
    assert_eq!(lab.local(1, &eth(PORT1, HOST, ET_IPV6, &na_in)).0, Verdict::Drop(DropReason::NdIgnored));
}

#[test]
fn icmpv4_echo_is_answered() {
    let mut lab = Lab::router_r();
    let mut request = Vec::new();
    PacketBuilder::ipv4(a4("203.0.113.9"), a4("198.51.100.7"), 50).icmpv4_echo_request(77, 3).write(&mut request, b"ping!").unwrap();
    let frame = eth(PORT0, GW4, ET_IPV4, &request);
    assert_eq!(lab.run(0, &frame).0, Verdict::Punt);
    let (v, out) = lab.local(0, &frame);
    assert_eq!(v, Verdict::Tx(0));
    let mut reply = Vec::new();
    PacketBuilder::ipv4(a4("198.51.100.7"), a4("203.0.113.9"), 64).icmpv4_echo_reply(77, 3).write(&mut reply, b"ping!").unwrap();
    assert_eq!(out, eth(GW4, PORT0, ET_IPV4, &reply));
    assert_eq!(lab.count("echo4_replies"), 1);

    let mut bad = frame.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(lab.local(0, &bad).0, Verdict::Drop(DropReason::Icmp4BadChecksum));
}

#[test]
fn icmpv6_echo_is_answered() {
    let mut lab = Lab::router_r();
    let frame = eth(PORT1, HOST, ET_IPV6, &echo6("2002:c633:6407:1::5", "2002:c633:6407:1::1", 64, 32));
    assert_eq!(lab.run(1, &frame).0, Verdict::Punt);
    let (v, out) = lab.local(1, &frame);
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &echo6_reply("2002:c633:6407:1::1", "2002:c633:6407:1::5", 64, 32)));

    let mut bad = frame.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(lab.local(1, &bad).0, Verdict::Drop(DropReason::Icmp6BadChecksum));
    assert_eq!(lab.local(1, &frame[..14 + 44]).0, Verdict::Drop(DropReason::Ipv6Malformed));
}

/// Spec 11: everything else addressed to the router is dropped and counted, on either
/// path.
#[test]
fn everything_else_to_us_is_dropped() {
    let mut lab = Lab::router_r();
    let udp = ipv4(V4 { proto: 17, ..V4::p41("203.0.113.9", "198.51.100.7") }, &[0; 16]);
    let frame = eth(PORT0, GW4, ET_IPV4, &udp);
    lab.expect_drop(0, &frame, DropReason::LocalUnsupported);
    assert_eq!(lab.local(0, &frame).0, Verdict::Drop(DropReason::LocalUnsupported));
    assert_eq!(lab.count("drop_local_unsupported"), 2);
    let other = eth(PORT0, GW4, 0x88cc, &[0; 40]);
    assert_eq!(lab.local(0, &other).0, Verdict::Drop(DropReason::UnknownEthertype));
}

/// The pure functions work on their own too.
#[test]
fn local_functions_without_a_pipeline() {
    let lab = Lab::router_r();
    let host = lab.pipe.host();
    let mut arp_buf = TestBuf::new(0, &eth(BCAST, GW4, ET_ARP, &arp(1, GW4, "198.51.100.1", [0; 6], "198.51.100.7")));
    assert_eq!(local::arp_reply(host, &mut arp_buf), Verdict::Tx(0));
    let mut wrong = TestBuf::new(0, &eth(BCAST, GW4, ET_ARP, &arp(1, GW4, "198.51.100.1", [0; 6], "198.51.100.7")));
    assert_eq!(local::echo4_reply(host, &mut wrong), Verdict::Drop(DropReason::LocalUnsupported));
    let request = ns("2002:c633:6407:1::5", "ff02::1:ff00:1", "2002:c633:6407:1::1", None, 255);
    let mut nd_buf = TestBuf::new(1, &eth([0x33, 0x33, 0xff, 0, 0, 1], HOST, ET_IPV6, &request));
    assert_eq!(local::neighbour_advert(host, &mut nd_buf), Verdict::Tx(1));
    let mut ping = TestBuf::new(1, &eth(PORT1, HOST, ET_IPV6, &echo6("2002:c633:6407:1::5", "2002:c633:6407:1::1", 9, 4)));
    assert_eq!(local::echo6_reply(host, &mut ping), Verdict::Tx(1));
    let mut any = TestBuf::new(1, &eth(PORT1, HOST, ET_IPV6, &echo6("2002:c633:6407:1::5", "2002:c633:6407:1::1", 9, 4)));
    assert_eq!(local::handle(host, &mut any), Verdict::Tx(1));
}
