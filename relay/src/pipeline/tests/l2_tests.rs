//! L2 accept and rewrite: our MAC, broadcast, multicast; VLANs; MAC override.
use super::pkt::*;
use super::*;

fn lan_packet() -> Vec<u8> {
    udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 80)
}

#[test]
fn unicast_to_another_mac_is_not_for_us() {
    let mut lab = Lab::router_r();
    lab.expect_drop(1, &eth(PORT0, HOST, ET_IPV6, &lan_packet()), DropReason::L2NotForUs);
    lab.expect_drop(1, &eth([0x02, 9, 9, 9, 9, 9], HOST, ET_IPV6, &lan_packet()), DropReason::L2NotForUs);
}

#[test]
fn broadcast_and_multicast_frames_are_accepted() {
    let mut lab = Lab::router_r();
    // A unicast IPv6 packet in a broadcast or multicast frame is still routed.
    assert_eq!(lab.run(1, &eth([0xff; 6], HOST, ET_IPV6, &lan_packet())).0, Verdict::Tx(0));
    assert_eq!(lab.run(1, &eth([0x33, 0x33, 0, 0, 0, 1], HOST, ET_IPV6, &lan_packet())).0, Verdict::Tx(0));
}

#[test]
fn short_frames_and_unknown_ethertypes() {
    let mut lab = Lab::router_r();
    lab.expect_drop(1, &[0u8; 13], DropReason::L2Truncated);
    lab.expect_drop(1, &eth(PORT1, HOST, 0x8100, &[0, 5]), DropReason::L2Truncated);
    lab.expect_drop(1, &eth(PORT1, HOST, 0x88cc, &[0; 46]), DropReason::UnknownEthertype);
    lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &lan_packet()[..39]), DropReason::Ipv6Malformed);
    let mut v4_in_v6 = lan_packet();
    v4_in_v6[0] = 0x45;
    lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &v4_in_v6), DropReason::Ipv6Malformed);
}

#[test]
fn unconfigured_ports_drop_everything() {
    let cfg = "[[interface]]\nport = 0\nipv4 = \"198.51.100.7/24\"\n";
    let mut lab = Lab::new(cfg);
    lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &lan_packet()), DropReason::PortUnconfigured);
    lab.expect_drop(7, &eth(PORT1, HOST, ET_IPV6, &lan_packet()), DropReason::PortUnconfigured);
}

/// A VLAN port takes only its VLAN and sends with the tag; an untagged port takes no tag.
#[test]
fn vlans_in_and_out() {
    let cfg = ROUTER_R.replace("port = 0\n", "port = 0\nvlan = 100\n").replace("port = 1\n", "port = 1\nvlan = 10\n");
    let mut lab = Lab::new(&cfg);
    let inner = lan_packet();
    let (v, out) = lab.run(1, &eth_vlan(PORT1, HOST, 10, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(0));
    let outer = ipv4(V4::p41("198.51.100.7", "203.0.113.1"), &hop_minus(&inner, 1));
    assert_eq!(out, eth_vlan(GW4, PORT0, 100, ET_IPV4, &outer));

    lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &inner), DropReason::VlanMismatch);
    lab.expect_drop(1, &eth_vlan(PORT1, HOST, 11, ET_IPV6, &inner), DropReason::VlanMismatch);
    // The priority bits are not part of the VLAN id.
    assert_eq!(lab.run(1, &eth_vlan(PORT1, HOST, 0xa00a, ET_IPV6, &inner)).0, Verdict::Tx(0));

    let mut plain = Lab::router_r();
    plain.expect_drop(1, &eth_vlan(PORT1, HOST, 10, ET_IPV6, &inner), DropReason::VlanMismatch);
}

/// Decapsulated from a tagged port to an untagged one.
#[test]
fn vlan_tag_removed_on_an_untagged_egress() {
    let cfg = ROUTER_W.replace("port = 0\n", "port = 0\nvlan = 100\n");
    let mut lab = Lab::new(&cfg);
    let inner = udp6("2002:c633:6407::1", "2002:cb00:7101::5", 63, 80);
    let frame = eth_vlan(PORT0, GW4, 100, ET_IPV4, &ipv4(V4::p41("198.51.100.7", "203.0.113.1"), &inner));
    let (v, out) = lab.run(0, &frame);
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &hop_minus(&inner, 1)));
}

/// A configured MAC replaces the NIC's: it is what we accept and what we send from.
#[test]
fn mac_override() {
    let mac = [0x02, 0xaa, 0, 0, 0, 1];
    let cfg = ROUTER_R.replace("port = 0\n", "port = 0\nmac = \"02:aa:00:00:00:01\"\n");
    let mut lab = Lab::new(&cfg);
    let inner = lan_packet();
    let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(0));
    assert_eq!(out[6..12], mac);
    let back = udp6("2002:cb00:7101::5", "2002:c633:6407:1::5", 63, 80);
    let frame = |dst| eth(dst, GW4, ET_IPV4, &ipv4(V4::p41("203.0.113.1", "198.51.100.7"), &back));
    lab.expect_drop(0, &frame(PORT0), DropReason::L2NotForUs);
    assert_eq!(lab.run(0, &frame(mac)).0, Verdict::Tx(1));
}
