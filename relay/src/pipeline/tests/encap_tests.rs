//! Spec section 1 (encapsulation) and the outer-header rules of section 5: exact frames.
use super::pkt::*;
use super::*;

/// Spec 1: `src 2002:c633:6407::1 → dst 2002:cb00:7101::5` leaves as IPv4 198.51.100.7 →
/// 203.0.113.1 proto 41 with the unchanged IPv6 packet inside (hop limit −1).
#[test]
fn site_to_site_leaves_as_protocol_41_exact_bytes() {
    let mut lab = Lab::router_r();
    let inner = udp6("2002:c633:6407::1", "2002:cb00:7101::5", 64, 120);
    let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(0));
    let outer = ipv4(V4::p41("198.51.100.7", "203.0.113.1"), &hop_minus(&inner, 1));
    assert_eq!(out, eth(GW4, PORT0, ET_IPV4, &outer));

    let (h, payload) = parse_ipv4(&out[14..]);
    assert_eq!(h.ihl(), 5);
    assert_eq!(h.protocol, etherparse::IpNumber::IPV6);
    assert_eq!(usize::from(h.total_len), (120 - 40) + 40 + 20, "IPv6 payload length + 40 + 20");
    assert_eq!(h.time_to_live, 64);
    assert!(h.dont_fragment && !h.more_fragments);
    assert_eq!((h.source, h.destination), (a4("198.51.100.7"), a4("203.0.113.1")));
    assert_eq!(payload, hop_minus(&inner, 1));
    assert_eq!(lab.nonzero(), vec![("rx", 1), ("tx", 1), ("encapsulated", 1), ("encap_6to4", 1)]);
}

#[test]
fn every_packet_gets_a_fresh_identification() {
    let mut lab = Lab::router_r();
    lab.pipe.set_ident_base(0x3000);
    let inner = udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 60);
    for id in [0x3001, 0x3002, 0x3003] {
        let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
        assert_eq!(v, Verdict::Tx(0));
        let expect = ipv4(V4 { id, ..V4::p41("198.51.100.7", "203.0.113.1") }, &hop_minus(&inner, 1));
        assert_eq!(out[14..], expect[..]);
        assert_eq!(parse_ipv4(&out[14..]).0.identification, id);
    }
}

#[test]
fn outer_ttl_is_configurable() {
    let mut lab = Lab::new(&format!("outer_ttl = 200\n{ROUTER_R}"));
    let inner = udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 60);
    let (_, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    let expect = ipv4(V4 { ttl: 200, ..V4::p41("198.51.100.7", "203.0.113.1") }, &hop_minus(&inner, 1));
    assert_eq!(out[14..], expect[..]);
}

/// DSCP is copied from the traffic class; ECN is copied on encapsulation (RFC 6040).
#[test]
fn dscp_and_ecn_copied_from_inner_traffic_class() {
    for tc in [0x00, 0xb8, 0xb9, 0x2a, 0x03, 0xfd] {
        let mut lab = Lab::router_r();
        let inner = with_tclass(udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 60), tc);
        let (_, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
        let expect = ipv4(V4 { tos: tc, ..V4::p41("198.51.100.7", "203.0.113.1") }, &hop_minus(&inner, 1));
        assert_eq!(out[14..], expect[..], "traffic class {tc:#x}");
        let h = parse_ipv4(&out[14..]).0;
        assert_eq!((h.dscp.value(), h.ecn.value()), (tc >> 2, tc & 3));
    }
}

#[test]
fn fixed_dscp_replaces_the_inner_one_but_ecn_is_still_copied() {
    let mut lab = Lab::new(&format!("dscp = 10\n{ROUTER_R}"));
    let inner = with_tclass(udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 60), 0xb9);
    let (_, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    let expect = ipv4(V4 { tos: (10 << 2) | 1, ..V4::p41("198.51.100.7", "203.0.113.1") }, &hop_minus(&inner, 1));
    assert_eq!(out[14..], expect[..]);
}

/// A native destination reached through the anycast relay: the next hop
/// `2002:c058:6301::` gives the outer destination 192.88.99.1.
#[test]
fn native_destination_goes_to_the_relay_next_hop() {
    let mut lab = Lab::router_r();
    let inner = udp6("2002:c633:6407:1::5", "2001:db8::1", 64, 80);
    let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(0));
    let expect = ipv4(V4::p41("198.51.100.7", "192.88.99.1"), &hop_minus(&inner, 1));
    assert_eq!(out, eth(GW4, PORT0, ET_IPV4, &expect));
}

/// A unicast relay on the router's own subnet: reached directly, by its static neighbour.
#[test]
fn unicast_relay_next_hop_on_a_connected_subnet() {
    let mut lab = Lab::router_r();
    let relay_mac = [0x02, 0, 0, 0, 0x09, 0x09];
    for u in ["route add ::/0 via 2002:c633:6409::", "neighbour set 198.51.100.9 02:00:00:00:09:09"] {
        parse_update(u).unwrap().apply(&mut lab.tables).unwrap();
    }
    let inner = udp6("2002:c633:6407:1::5", "2001:db8::1", 64, 80);
    let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(0));
    let expect = ipv4(V4::p41("198.51.100.7", "198.51.100.9"), &hop_minus(&inner, 1));
    assert_eq!(out, eth(relay_mac, PORT0, ET_IPV4, &expect));
}

/// An on-link endpoint without a neighbour entry: the packet is encapsulated and waits
/// in the slow path for its MAC.
#[test]
fn tunnel_endpoint_without_neighbour_waits() {
    let mut lab = Lab::router_r();
    parse_route("route add ::/0 via 2002:c633:6409::").unwrap().apply(&mut lab.tables).unwrap();
    let inner = udp6("2002:c633:6407:1::5", "2001:db8::1", 64, 80);
    let out = lab.expect_wait(1, &eth(PORT1, HOST, ET_IPV6, &inner), 0);
    let expect = ipv4(V4::p41("198.51.100.7", "198.51.100.9"), &hop_minus(&inner, 1));
    assert_eq!(out, eth([0; 6], PORT0, ET_IPV4, &expect));
    // A 6to4 destination on the connected subnet needs its own neighbour too.
    let inner = udp6("2002:c633:6407:1::5", "2002:c633:6420::1", 64, 80);
    lab.expect_wait(1, &eth(PORT1, HOST, ET_IPV6, &inner), 0);
}

#[test]
fn no_ipv4_egress_without_gateway() {
    let cfg = ROUTER_R.replace("gateway = \"198.51.100.1\"\n", "");
    let mut lab = Lab::new(&cfg);
    let inner = udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 80);
    lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &inner), DropReason::Ipv4NoRoute);
}

/// Spec 5: DF is set when the tunnel MTU is above 1280, clear at 1280.
#[test]
fn df_follows_the_tunnel_mtu() {
    for (mtu, df) in [(1280u16, false), (1281, true), (1400, true), (1480, true)] {
        let mut lab = Lab::new(&format!("tunnel_mtu = {mtu}\n{ROUTER_R}"));
        let inner = udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 1280);
        let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
        assert_eq!(v, Verdict::Tx(0));
        let expect = ipv4(V4 { df, ..V4::p41("198.51.100.7", "203.0.113.1") }, &hop_minus(&inner, 1));
        assert_eq!(out[14..], expect[..], "tunnel MTU {mtu}");
    }
}

/// The largest packet that fits the default tunnel MTU leaves as a 1500-byte IPv4 packet.
#[test]
fn packet_of_exactly_the_tunnel_mtu_is_encapsulated() {
    let mut lab = Lab::router_r();
    let inner = udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 1480);
    let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(0));
    assert_eq!(parse_ipv4(&out[14..]).0.total_len, 1500);
}

/// Ethernet padding after a short IPv6 packet is not carried into the tunnel.
#[test]
fn ethernet_padding_is_not_encapsulated() {
    let mut lab = Lab::router_r();
    let inner = udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 48);
    let mut frame = eth(PORT1, HOST, ET_IPV6, &inner);
    frame.extend_from_slice(&[0xee; 12]);
    let (_, out) = lab.run(1, &frame);
    let expect = ipv4(V4::p41("198.51.100.7", "203.0.113.1"), &hop_minus(&inner, 1));
    assert_eq!(out, eth(GW4, PORT0, ET_IPV4, &expect));
}

#[test]
fn no_headroom_for_the_outer_header_is_a_counted_drop() {
    let mut lab = Lab::router_r();
    let inner = udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 80);
    let mut bufs = [TestBuf::with_headroom(1, &eth(PORT1, HOST, ET_IPV6, &inner), 0)];
    let mut v = [Verdict::Punt];
    lab.pipe.process_burst(&lab.tables, 0, &mut bufs, &mut v);
    // Stripping the 14-byte L2 header leaves 14 bytes, short of 20 + 14.
    assert_eq!(v[0], Verdict::Drop(DropReason::NoHeadroom));
    assert_eq!(lab.count("drop_no_headroom"), 1);
}
