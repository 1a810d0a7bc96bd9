//! The mirror's reading of netlink route messages, on bytes captured from a Linux 6.x kernel
//! (`ip -6 route …` in a namespace, the RTNLGRP_IPV6_ROUTE notifications recorded as they
//! came; interface 3 is `va`, 2 is `vb`).
use std::net::Ipv6Addr;

use netlink_packet_route::route::RouteProtocol;
use relay::pipeline::{GroupMember, Route4Target, RouteTarget};

use super::*;
use crate::kernel::netlink::{decode_events, RouteEvent};

/// `ip -6 route add 2001:db8:c0::/44 via 2001:db8:ff::1 dev va table 100 proto bird`
const ADD_VIA: &str = "8800000018000006be0f126b596100000a2c0000640c00010000000008000f00640000001400010020010db800c00000000000000000000008000600000400001400050020010db800ff00000000000000000001080004000300000024000c0000000000000000000000000000000000000000000000000000000000000000000500140000000000";
/// The kernel's own local-table route for va's link-local address (same moment).
const LOCAL_TABLE: &str = "740000001800000600000000000000000a800000ff0200020000000008000f00ff00000014000100fe8000000000000084dfb2fffed4e5dc0800060000000000080004000200000024000c0000000000000000000000000000000000000000000000000000000000000000000500140000000000";
/// `… 2001:db8:e0::/48 table 100 proto bird nexthop via 2001:db8:ff::1 dev va nexthop via 2001:db8:fe::1 dev vb`
const MULTIPATH: &str = "a800000018000004c10f126b5a6100000a300000640c00010000000008000f00640000001400010020010db800e00000000000000000000008000600000400003c0009001c000000030000001400050020010db800ff000000000000000000011c000000020000001400050020010db800fe0000000000000000000124000c0000000000000000000000000000000000000000000000000000000000000000000500140000000000";
/// `ip -6 route add blackhole 2001:db8:dead::/48 table 100 proto bird`
const BLACKHOLE: &str = "7400000018000006c20f126b5b6100000a300000640c00060000000008000f00640000001400010020010db8dead000000000000000000000800060000040000080004000100000024000c0000000000000000000000000000000000000000000000000000000000000000000500140000000000";
/// `ip -6 route add 2001:db8:aa::/48 via 2001:db8:ff::1 dev va table 200`
const OTHER_TABLE: &str = "8800000018000006c30f126b5c6100000a300000c80300010000000008000f00c80000001400010020010db800aa0000000000000000000008000600000400001400050020010db800ff00000000000000000001080004000300000024000c0000000000000000000000000000000000000000000000000000000000000000000500140000000000";
/// `ip -6 route del 2001:db8:c0::/44 table 100`
const DEL_VIA: &str = "8800000019000000c40f126b5d6100000a2c0000640c00010000000008000f00640000001400010020010db800c00000000000000000000008000600000400001400050020010db800ff00000000000000000001080004000300000024000c0000000000000000000000000000000000000000000000000000000000000000000500140000000000";

const PORTS: &[(u32, u16)] = &[(3, 0), (2, 1)];

fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect()
}

fn one(hex: &str) -> RouteEvent {
    let (events, bad) = decode_events(&bytes(hex));
    assert_eq!((events.len(), bad), (1, 0), "one route message");
    events.into_iter().next().expect("one")
}

fn new_route(hex: &str) -> RouteMessage {
    match one(hex) {
        RouteEvent::New(m) => m,
        RouteEvent::Del(m) => panic!("expected RTM_NEWROUTE, got a delete of {m:?}"),
    }
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().expect("address")
}

#[test]
fn a_route_via_a_control_tap_becomes_a_via_route_with_its_protocol() {
    let got = translate(&new_route(ADD_VIA), 100, PORTS);
    let route = KernelRoute { hop: KernelHop::One(RouteTarget::Via { gateway: v6("2001:db8:ff::1"), port: 0 }), protocol: RouteProtocol::Bird };
    assert_eq!(got, Ok(((v6("2001:db8:c0::").into(), 44), 1024, route.clone(), false)));
    assert_eq!(origin_name(route.protocol), "kernel/bird");
}

#[test]
fn the_delete_names_the_same_prefix_and_metric() {
    let RouteEvent::Del(m) = one(DEL_VIA) else { panic!("expected RTM_DELROUTE") };
    let (prefix, metric, _, _) = translate(&m, 100, PORTS).expect("ours");
    assert_eq!((prefix, metric), ((v6("2001:db8:c0::").into(), 44), 1024));
}

#[test]
fn other_tables_and_the_local_table_are_skipped() {
    assert_eq!(translate(&new_route(OTHER_TABLE), 100, PORTS), Err(Skip::OtherTable));
    assert_eq!(translate(&new_route(LOCAL_TABLE), 100, PORTS), Err(Skip::OtherTable));
    // Even when pointed at it, a local route is not a forwarding entry.
    assert_eq!(translate(&new_route(LOCAL_TABLE), 255, PORTS), Err(Skip::Type));
}

#[test]
fn blackhole_routes_become_blackholes() {
    let (prefix, _, route, _) = translate(&new_route(BLACKHOLE), 100, PORTS).expect("taken");
    assert_eq!((prefix, route.hop), ((v6("2001:db8:dead::").into(), 48), KernelHop::One(RouteTarget::Blackhole)));
}

#[test]
fn a_multipath_route_becomes_a_group_of_its_members_sorted_with_their_weights() {
    let (prefix, _, route, reduced) = translate(&new_route(MULTIPATH), 100, PORTS).expect("taken");
    assert_eq!(prefix, (v6("2001:db8:e0::").into(), 48));
    let member = |gw: &str, port| GroupMember { target: RouteTarget::Via { gateway: v6(gw), port }, weight: 1 };
    assert_eq!(route.hop, KernelHop::Multi(vec![member("2001:db8:fe::1", 1), member("2001:db8:ff::1", 0)]));
    assert!(!reduced);
}

#[test]
fn a_multipath_route_with_one_member_of_ours_goes_through_it_and_says_so() {
    let (_, _, route, reduced) = translate(&new_route(MULTIPATH), 100, &[(2, 1)]).expect("taken");
    assert_eq!(route.hop, KernelHop::One(RouteTarget::Via { gateway: v6("2001:db8:fe::1"), port: 1 }));
    assert!(reduced);
}

#[test]
fn dead_members_and_weights_are_read_from_the_next_hop_header() {
    let mut msg = new_route(MULTIPATH);
    for a in &mut msg.attributes {
        if let RouteAttribute::MultiPath(m) = a {
            m[0].hops = 2; // weight 3 (va, 2001:db8:ff::1)
        }
    }
    let (_, _, route, _) = translate(&msg, 100, PORTS).expect("taken");
    let KernelHop::Multi(m) = route.hop else { panic!("a group: {route:?}") };
    assert_eq!(m.iter().map(|m| m.weight).collect::<Vec<_>>(), [1, 3]);
    for a in &mut msg.attributes {
        if let RouteAttribute::MultiPath(m) = a {
            m[1].flags = RouteNextHopFlags::Dead;
        }
    }
    let (_, _, route, reduced) = translate(&msg, 100, PORTS).expect("taken");
    assert_eq!((route.hop, reduced), (KernelHop::One(RouteTarget::Via { gateway: v6("2001:db8:ff::1"), port: 0 }), true));
}

#[test]
fn routes_out_of_interfaces_that_are_not_control_taps_are_skipped() {
    assert_eq!(translate(&new_route(ADD_VIA), 100, &[(7, 0)]), Err(Skip::ForeignInterface));
    assert_eq!(translate(&new_route(MULTIPATH), 100, &[]), Err(Skip::ForeignInterface));
}

#[test]
fn truncated_and_garbage_datagrams_are_counted_never_fatal() {
    let good = bytes(ADD_VIA);
    for cut in [1, 4, 16, 17, 40, good.len() - 1] {
        let (events, bad) = decode_events(&good[..cut]);
        assert!(events.is_empty() && bad == 1, "cut at {cut}: {events:?} {bad}");
    }
    // A bad message between two good ones costs only itself.
    let mut mixed = good.clone();
    let mut broken = bytes(BLACKHOLE);
    broken[16] = 0xee; // address family 238
    broken[20] = 0x7f; // and an unknown route type
    mixed.extend(&broken);
    mixed.extend(bytes(DEL_VIA));
    let (events, _) = decode_events(&mixed);
    assert!(matches!(events.first(), Some(RouteEvent::New(_))) && matches!(events.last(), Some(RouteEvent::Del(_))), "{events:?}");
    let (events, bad) = decode_events(&[0xff; 64]);
    assert!(events.is_empty() && bad >= 1);
}

/// IPv4 routes, captured the same way (RTNLGRP_IPV4_ROUTE; interface 3 is `va` on
/// 203.0.113.9/24, 5 is `vb` on 198.51.100.9/24).
/// `ip route add 192.0.2.0/24 via 203.0.113.254 dev va table 100 proto bird`
const ADD4_VIA: &str = "3c000000180000062219136b942f000002180000640c00010000000008000f006400000008000100c000020008000500cb0071fe0800040003000000";
/// `ip route add blackhole 10.0.0.0/8 table 100 proto bird`
const BLACKHOLE4: &str = "2c000000180000062319136b962f000002080000640c00060000000008000f0064000000080001000a000000";
/// `ip route add 192.0.3.0/24 table 100 proto bird nexthop via 203.0.113.254 dev va nexthop via 198.51.100.1 dev vb`
const MULTIPATH4: &str = "50000000180000062419136b982f000002180000640c00010000000008000f006400000008000100c000030024000900100000000300000008000500cb0071fe100000000500000008000500c6336401";
/// `ip route add 192.0.4.0/24 dev va table 100 proto bird`
const DEV4: &str = "34000000180000062419136b9a2f000002180000640cfd010000000008000f006400000008000100c00004000800040003000000";
/// `ip route del 192.0.2.0/24 table 100`
const DEL4_VIA: &str = "3c000000190000002519136ba12f000002180000640c00010000000008000f006400000008000100c000020008000500cb0071fe0800040003000000";

const PORTS4: &[(u32, u16)] = &[(3, 0), (5, 1)];

fn v4(s: &str) -> std::net::Ipv4Addr {
    s.parse().expect("address")
}

#[test]
fn an_ipv4_route_via_a_control_tap_becomes_an_outer_route() {
    let got = translate(&new_route(ADD4_VIA), 100, PORTS4);
    let route = KernelRoute { hop: KernelHop::Outer(Route4Target::Via { gateway: v4("203.0.113.254"), port: 0 }), protocol: RouteProtocol::Bird };
    assert_eq!(got, Ok(((v4("192.0.2.0").into(), 24), 0, route, false)));
    let RouteEvent::Del(m) = one(DEL4_VIA) else { panic!("expected RTM_DELROUTE") };
    let (prefix, metric, _, _) = translate(&m, 100, PORTS4).expect("ours");
    assert_eq!((prefix, metric), ((v4("192.0.2.0").into(), 24), 0));
}

#[test]
fn ipv4_blackholes_multipath_and_connected_routes() {
    let (prefix, _, route, _) = translate(&new_route(BLACKHOLE4), 100, PORTS4).expect("taken");
    assert_eq!((prefix, route.hop), ((v4("10.0.0.0").into(), 8), KernelHop::Outer(Route4Target::Blackhole)));
    // Outer routes have no groups: the lowest gateway of ours, counted as reduced.
    let (_, _, route, reduced) = translate(&new_route(MULTIPATH4), 100, PORTS4).expect("taken");
    assert_eq!((route.hop, reduced), (KernelHop::Outer(Route4Target::Via { gateway: v4("198.51.100.1"), port: 1 }), true));
    let (_, _, route, _) = translate(&new_route(MULTIPATH4), 100, &[(3, 0)]).expect("one member of ours");
    assert_eq!(route.hop, KernelHop::Outer(Route4Target::Via { gateway: v4("203.0.113.254"), port: 0 }));
    assert_eq!(translate(&new_route(MULTIPATH4), 100, &[(9, 0)]), Err(Skip::ForeignInterface));
    // A connected route: relayd has its subnets from its own interfaces.
    assert_eq!(translate(&new_route(DEV4), 100, PORTS4), Err(Skip::NoNextHop));
    assert_eq!(translate(&new_route(ADD4_VIA), 100, &[(5, 1)]), Err(Skip::ForeignInterface));
}
