//! Spec sections 7, 9 and 11: the router on its automatic tunnels' links — ARP and echo
//! for the IPv4 addresses that exist only for a mechanism, echo to its addresses on the
//! links, neighbour discovery over 6over4 (RFC 2529 section 5) and router discovery over
//! ISATAP (RFC 5214 section 8.3). Exact bytes, built independently with etherparse.
use etherparse::{Icmpv6Type, PacketBuilder};

use super::pkt::*;
use super::*;

/// WAN port 0 on 198.51.100.0/24 with a 6over4 link (its address .20); the
/// IPv4-compatible tunnel, an ISATAP link and a 6rd BR on addresses of that subnet; a
/// second ISATAP link on an address off every subnet.
pub const MECHANISMS: &str = wan_lan_box!(r#"
[ipv4_compatible]
ipv4 = "198.51.100.21"

[[isatap]]
ipv4 = "198.51.100.22"
prefixes = ["2001:db8::/64"]

[[isatap]]
ipv4 = "10.0.0.5"
prefixes = ["2001:db8:1::/64"]

[[6rd]]
br = "198.51.100.23"
prefix = "2001:db8:6400::/40"
ipv4_mask_len = 8

[[6over4]]
port = 0
prefixes = ["2001:db8:64::/64"]

[[neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"

[[neighbour]]
ip = "2001:db8:20::5"
mac = "02:00:00:00:02:05"

[[neighbour]]
ip = "198.51.100.7"
mac = "02:00:00:00:07:07"
"#);

const BCAST: [u8; 6] = [0xff; 6];
/// The other node on the subnet (ISATAP host, 6over4 node): 198.51.100.7.
pub const NODE: [u8; 6] = [0x02, 0, 0, 0, 0x07, 0x07];
/// 198.51.100.7 as a 6over4 link-layer address (RFC 2529 section 5: two zero octets).
const NODE_LLA: [u8; 6] = [0, 0, 198, 51, 100, 7];

/// Protocol 41 from `src4` to our `dst4`, from the node's MAC.
pub fn p41(src4: &str, dst4: &str, inner: &[u8]) -> Vec<u8> {
    eth(PORT0, NODE, ET_IPV4, &ipv4(V4::p41(src4, dst4), inner))
}

/// `inner` in 6over4's IPv4 group `group`, from the node.
pub fn to_group(group: &str, inner: &[u8]) -> Vec<u8> {
    let g = a4(group);
    let mac = [0x01, 0x00, 0x5e, g[1] & 0x7f, g[2], g[3]];
    eth(mac, NODE, ET_IPV4, &ipv4(V4 { df: false, ..V4::p41("198.51.100.7", group) }, inner))
}

/// An advertisement, built independently: flags octet, target, then `options`.
pub fn advert(src: &str, dst: &str, flags: u8, options: &[u8]) -> Vec<u8> {
    let mut body = a6(src).to_vec();
    body.extend_from_slice(options);
    icmp6_raw(src, dst, 255, 136, 0, [flags, 0, 0, 0], &body)
}

/// Our reply: `inner` from our `src4` to `dst4`, unicast back to the node, no DF.
fn reply(src4: &str, dst4: &str, id: u16, inner: &[u8]) -> Vec<u8> {
    eth(NODE, PORT0, ET_IPV4, &ipv4(V4 { id, df: false, ..V4::p41(src4, dst4) }, inner))
}

/// The IPv4 TTL on the 6over4 link of [`MECHANISMS`] (RFC 2529 section 3's default).
const SIXOVER4_TTL: u8 = 8;

/// [`reply`] on the 6over4 link: its TTL.
fn reply_6over4(src4: &str, dst4: &str, id: u16, inner: &[u8]) -> Vec<u8> {
    eth(NODE, PORT0, ET_IPV4, &ipv4(V4 { id, df: false, ttl: SIXOVER4_TTL, ..V4::p41(src4, dst4) }, inner))
}

/// Runs `frame` through the fast path (it must be punted) and the slow path.
fn answered(lab: &mut Lab, frame: &[u8]) -> (Verdict, Vec<u8>) {
    assert_eq!(lab.run(0, frame), (Verdict::Punt, frame.to_vec()), "punted unchanged");
    lab.local(0, frame)
}

/// An IPv4 address that exists only for a mechanism is answered by ARP on the port whose
/// subnet holds it; one off every subnet is not.
#[test]
fn arp_for_the_mechanisms_addresses() {
    let mut lab = Lab::new(MECHANISMS);
    for ours in ["198.51.100.20", "198.51.100.21", "198.51.100.22", "198.51.100.23"] {
        let request = eth(BCAST, NODE, ET_ARP, &arp(1, NODE, "198.51.100.7", [0; 6], ours));
        let (v, out) = answered(&mut lab, &request);
        assert_eq!(v, Verdict::Tx(0), "{ours}");
        assert_eq!(out, eth(NODE, PORT0, ET_ARP, &arp(2, PORT0, ours, NODE, "198.51.100.7")), "{ours}");
    }
    assert_eq!(lab.count("arp_replies"), 4);
    let off_subnet = eth(BCAST, NODE, ET_ARP, &arp(1, NODE, "198.51.100.7", [0; 6], "10.0.0.5"));
    lab.expect_drop(0, &off_subnet, DropReason::ArpNotForUs);
    let on_port1 = eth(BCAST, NODE, ET_ARP, &arp(1, NODE, "198.51.100.7", [0; 6], "198.51.100.22"));
    lab.expect_drop(1, &on_port1, DropReason::ArpNotForUs);
    let host = lab.pipe.host();
    assert_eq!(host.port(0).unwrap().mechanism_v4, [0xc633_6415, 0xc633_6416, 0xc633_6417]);
}

#[test]
fn echo4_to_the_mechanisms_addresses() {
    let mut lab = Lab::new(MECHANISMS);
    for ours in ["198.51.100.21", "198.51.100.22", "198.51.100.23", "10.0.0.5"] {
        let mut request = Vec::new();
        PacketBuilder::ipv4(a4("198.51.100.7"), a4(ours), 50).icmpv4_echo_request(77, 3).write(&mut request, b"ping!").unwrap();
        let (v, out) = answered(&mut lab, &eth(PORT0, NODE, ET_IPV4, &request));
        let mut expect = Vec::new();
        PacketBuilder::ipv4(a4(ours), a4("198.51.100.7"), 64).icmpv4_echo_reply(77, 3).write(&mut expect, b"ping!").unwrap();
        assert_eq!((v, out), (Verdict::Tx(0), eth(NODE, PORT0, ET_IPV4, &expect)), "{ours}");
    }
    assert_eq!(lab.count("echo4_replies"), 4);
}

/// Echo to our addresses on each link goes back through it: same IPv4 ends swapped,
/// the request's identification and DF, the outer TTL.
#[test]
fn echo6_through_each_mechanism() {
    let mut lab = Lab::new(MECHANISMS);
    for (ours4, from, to) in [
        ("198.51.100.22", "fe80::200:5efe:c633:6407", "fe80::200:5efe:c633:6416"),
        ("198.51.100.22", "2001:db8::200:5efe:c633:6407", "2001:db8::5efe:c633:6416"),
        ("198.51.100.20", "fe80::c633:6407", "fe80::c633:6414"),
        ("198.51.100.20", "2001:db8:64::c633:6407", "2001:db8:64::c633:6414"),
        ("198.51.100.21", "::c633:6407", "::c633:6415"),
    ] {
        let (v, out) = answered(&mut lab, &p41("198.51.100.7", ours4, &echo6(from, to, 64, 8)));
        // The 6over4 link (198.51.100.20) answers with its own TTL.
        let ttl = if ours4 == "198.51.100.20" { SIXOVER4_TTL } else { 64 };
        let expect = ipv4(V4 { ttl, ..V4::p41(ours4, "198.51.100.7") }, &echo6_reply(to, from, 64, 8));
        assert_eq!((v, out), (Verdict::Tx(0), eth(NODE, PORT0, ET_IPV4, &expect)), "{to}");
    }
    // Natively too: they are ours, not to be tunnelled to ourselves.
    let ping = echo6("2001:db8:20::5", "2001:db8::200:5efe:c633:6416", 64, 8);
    let frame = eth(PORT1, HOST, ET_IPV6, &ping);
    assert_eq!(lab.run(1, &frame).0, Verdict::Punt);
    let (v, out) = lab.local(1, &frame);
    let back = echo6_reply("2001:db8::200:5efe:c633:6416", "2001:db8:20::5", 64, 8);
    assert_eq!((v, out), (Verdict::Tx(1), eth(HOST, PORT1, ET_IPV6, &back)));
    assert_eq!(lab.count("echo6_replies"), 6);
    // Another node's address on the link is not ours.
    let other = p41("198.51.100.7", "198.51.100.22", &echo6("fe80::200:5efe:c633:6407", "fe80::200:5efe:c633:6408", 64, 8));
    assert_eq!(lab.local(0, &other).0, Verdict::Drop(DropReason::Ipv6LinkLocal));
}

/// RFC 2529 section 5: a solicitation for our address on the 6over4 link, to its
/// solicited-node group, gets an advertisement unicast to the IPv4 address of the
/// solicitor's source link-layer option, with ours as target link-layer address.
#[test]
fn sixover4_solicitation_is_answered_exact_bytes() {
    let mut lab = Lab::new(MECHANISMS);
    for target in ["fe80::c633:6414", "2001:db8:64::c633:6414"] {
        let solicit = ns("fe80::c633:6407", "ff02::1:ff33:6414", target, Some(NODE_LLA), 255);
        let (v, out) = answered(&mut lab, &to_group("239.192.100.20", &solicit));
        let na = advert(target, "fe80::c633:6407", 0xe0, &[2, 1, 0, 0, 198, 51, 100, 20]);
        assert_eq!((v, &out), (Verdict::Tx(0), &reply_6over4("198.51.100.20", "198.51.100.7", 1, &na)), "{target}");
        let (outer, inner) = parse_ipv4(&out[14..]);
        assert_eq!((outer.source, outer.destination, outer.protocol.0), (a4("198.51.100.20"), a4("198.51.100.7"), 41));
        let (h, icmp, _) = parse_icmp6(&inner);
        assert_eq!(h.hop_limit, 255);
        assert_eq!(icmp, Icmpv6Type::Unknown { type_u8: 136, code_u8: 0, bytes5to8: [0xe0, 0, 0, 0] });
    }
    // Unicast through the tunnel, no option: back to the outer source.
    let solicit = ns("2001:db8:64::c633:6407", "2001:db8:64::c633:6414", "2001:db8:64::c633:6414", None, 255);
    let (v, out) = answered(&mut lab, &p41("198.51.100.7", "198.51.100.20", &solicit));
    let na = advert("2001:db8:64::c633:6414", "2001:db8:64::c633:6407", 0xe0, &[2, 1, 0, 0, 198, 51, 100, 20]);
    assert_eq!((v, out), (Verdict::Tx(0), reply_6over4("198.51.100.20", "198.51.100.7", 1, &na)));
    // The option wins over the outer source.
    let solicit = ns("2001:db8:64::1:2:3:4", "ff02::1:ff33:6414", "fe80::c633:6414", Some([0, 0, 198, 51, 100, 8]), 255);
    let (v, out) = answered(&mut lab, &to_group("239.192.100.20", &solicit));
    let na = advert("fe80::c633:6414", "2001:db8:64::1:2:3:4", 0xe0, &[2, 1, 0, 0, 198, 51, 100, 20]);
    assert_eq!((v, out), (Verdict::Tx(0), reply_6over4("198.51.100.20", "198.51.100.8", 1, &na)));
    // Duplicate address detection: to all nodes, in 239.192.0.1, not solicited.
    let solicit = ns("::", "ff02::1:ff33:6414", "fe80::c633:6414", None, 255);
    let (v, out) = answered(&mut lab, &to_group("239.192.100.20", &solicit));
    let na = advert("fe80::c633:6414", "ff02::1", 0xa0, &[2, 1, 0, 0, 198, 51, 100, 20]);
    let group = ipv4(V4 { df: false, ttl: SIXOVER4_TTL, ..V4::p41("198.51.100.20", "239.192.0.1") }, &na);
    assert_eq!((v, out), (Verdict::Tx(0), eth([0x01, 0x00, 0x5e, 0x40, 0, 1], PORT0, ET_IPV4, &group)));
    assert_eq!(lab.count("nd_adverts_6over4"), 5);
    assert_eq!(lab.count("nd_adverts"), 0);
}

#[test]
fn malformed_sixover4_solicitations_are_counted_drops() {
    let mut lab = Lab::new(MECHANISMS);
    let group = |s: &[u8]| to_group("239.192.100.20", s);
    let mut long = a6("fe80::c633:6414").to_vec();
    long.extend_from_slice(&[1, 2, 0, 0, 198, 51, 100, 7, 0, 0, 0, 0, 0, 0, 0, 0]);
    let long = icmp6_raw("fe80::c633:6407", "ff02::1:ff33:6414", 255, 135, 0, [0; 4], &long);
    let padded = ns("fe80::c633:6407", "ff02::1:ff33:6414", "fe80::c633:6414", Some([0, 1, 198, 51, 100, 7]), 255);
    let multicast_v4 = ns("fe80::c633:6407", "ff02::1:ff33:6414", "fe80::c633:6414", Some([0, 0, 239, 192, 0, 1]), 255);
    let hop = ns("fe80::c633:6407", "ff02::1:ff33:6414", "fe80::c633:6414", Some(NODE_LLA), 64);
    let mut bad_sum = ns("fe80::c633:6407", "ff02::1:ff33:6414", "fe80::c633:6414", Some(NODE_LLA), 255);
    let last = bad_sum.len() - 1;
    bad_sum[last] ^= 1;
    let dad_with_option = ns("::", "ff02::1:ff33:6414", "fe80::c633:6414", Some(NODE_LLA), 255);
    for (frame, reason) in [
        (group(&long), DropReason::NdLinkLayerMalformed),
        (group(&padded), DropReason::NdLinkLayerMalformed),
        (group(&multicast_v4), DropReason::NdLinkLayerMalformed),
        (group(&hop), DropReason::NdBadHopLimit),
        (group(&bad_sum), DropReason::NdBadChecksum),
        (group(&dad_with_option), DropReason::NdMalformed),
        (group(&long[..long.len() - 4]), DropReason::DecapInnerMalformed),
    ] {
        let v = lab.local(0, &frame).0;
        assert_eq!(v, Verdict::Drop(reason), "{}", reason.name());
    }
    // Unicast for an address of the link that is not ours.
    let other = ns("fe80::c633:6407", "2001:db8:64::c633:6415", "2001:db8:64::c633:6415", None, 255);
    assert_eq!(lab.local(0, &p41("198.51.100.7", "198.51.100.20", &other)).0, Verdict::Drop(DropReason::Ipv6LinkLocal));
    let other = ns("2001:db8:64::c633:6407", "2001:db8:64::c633:6414", "2001:db8:64::c633:6415", None, 255);
    assert_eq!(lab.local(0, &p41("198.51.100.7", "198.51.100.20", &other)).0, Verdict::Drop(DropReason::NdNotForUs));
    // ND through a mechanism that has none.
    let compat = ns("::c633:6407", "::c633:6415", "::c633:6415", None, 255);
    let (v, _) = answered(&mut lab, &p41("198.51.100.7", "198.51.100.21", &compat));
    assert_eq!(v, Verdict::Drop(DropReason::NdTunnelIgnored));
    assert_eq!(lab.count("nd_adverts_6over4"), 0);
}

/// Neighbour unreachability detection over ISATAP: the advertisement comes back without
/// a link-layer option (RFC 5214 section 6.1: the identifier is the address).
#[test]
fn isatap_solicitation_is_answered() {
    let mut lab = Lab::new(MECHANISMS);
    let solicit = ns("fe80::200:5efe:c633:6407", "fe80::200:5efe:c633:6416", "fe80::200:5efe:c633:6416", None, 255);
    let (v, out) = answered(&mut lab, &p41("198.51.100.7", "198.51.100.22", &solicit));
    let na = advert("fe80::200:5efe:c633:6416", "fe80::200:5efe:c633:6407", 0xe0, &[]);
    assert_eq!((v, out), (Verdict::Tx(0), reply("198.51.100.22", "198.51.100.7", 1, &na)));
    assert_eq!(lab.count("nd_adverts_isatap"), 1);
}

/// RFC 5214 section 8.3: a router solicitation over the ISATAP link gets a solicited
/// advertisement, unicast over IPv4 to the solicitor, from our ISATAP link-local address:
/// router lifetime, the tunnels' MTU, the link's prefix on-link and autonomous.
#[test]
fn isatap_router_solicitation_is_answered_exact_bytes() {
    let mut lab = Lab::new(MECHANISMS);
    let rs = icmp6_raw("fe80::200:5efe:c633:6407", "ff02::2", 255, 133, 0, [0; 4], &[]);
    let (v, out) = answered(&mut lab, &p41("198.51.100.7", "198.51.100.22", &rs));
    let mut body = vec![0; 8]; // reachable time, retrans timer
    body.extend_from_slice(&[5, 1, 0, 0, 0, 0, 0x05, 0xc8]); // MTU 1480
    body.extend_from_slice(&[3, 4, 64, 0xc0, 0, 1, 0x51, 0x80, 0, 0, 0x38, 0x40, 0, 0, 0, 0]);
    body.extend_from_slice(&a6("2001:db8::"));
    let ra = icmp6_raw("fe80::200:5efe:c633:6416", "fe80::200:5efe:c633:6407", 255, 134, 0, [64, 0, 0x07, 0x08], &body);
    assert_eq!((v, &out), (Verdict::Tx(0), &reply("198.51.100.22", "198.51.100.7", 1, &ra)));
    let (_, inner) = parse_ipv4(&out[14..]);
    let (h, icmp, _) = parse_icmp6(&inner);
    assert_eq!((h.hop_limit, h.source, h.destination), (255, a6("fe80::200:5efe:c633:6416"), a6("fe80::200:5efe:c633:6407")));
    assert_eq!(icmp, Icmpv6Type::Unknown { type_u8: 134, code_u8: 0, bytes5to8: [64, 0, 0x07, 0x08] });
    // A private V: the u bit is clear (RFC 5214 section 6.1).
    let rs = icmp6_raw("fe80::5efe:a00:1", "ff02::2", 255, 133, 0, [0; 4], &[]);
    let (v, out) = lab.local(0, &eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("10.0.0.1", "10.0.0.5"), &rs)));
    assert_eq!(v, Verdict::Tx(0));
    let (_, inner) = parse_ipv4(&out[14..]);
    let (h, _, _) = parse_icmp6(&inner);
    assert_eq!((h.source, h.destination), (a6("fe80::5efe:a00:5"), a6("fe80::5efe:a00:1")));
    assert_eq!(inner[inner.len() - 16..], a6("2001:db8:1::"));
    assert_eq!(lab.count("router_adverts_isatap"), 2);
    // Not from the node the source embeds; a bad hop limit; other multicast.
    let spoofed = icmp6_raw("fe80::200:5efe:c633:6408", "ff02::2", 255, 133, 0, [0; 4], &[]);
    lab.expect_drop(0, &p41("198.51.100.7", "198.51.100.22", &spoofed), DropReason::DecapIsatapSrcMismatch);
    let hop = icmp6_raw("fe80::200:5efe:c633:6407", "ff02::2", 64, 133, 0, [0; 4], &[]);
    assert_eq!(answered(&mut lab, &p41("198.51.100.7", "198.51.100.22", &hop)).0, Verdict::Drop(DropReason::NdBadHopLimit));
    let udp = udp6("fe80::200:5efe:c633:6407", "ff02::2", 64, 60);
    lab.expect_drop(0, &p41("198.51.100.7", "198.51.100.22", &udp), DropReason::MulticastIgnored);
}

const S: u64 = 1_000_000_000;

/// Spec 9: a unicast next hop on the 6over4 link whose interface identifier is not `::V`
/// is resolved by ND over the link: a solicitation to its solicited-node group in
/// 239.192.x.y, the advertisement's target link-layer option gives V, the workers learn
/// `0:0:V` and the waiting packet leaves to V; later, the neighbour is probed over IPv4.
#[test]
fn sixover4_next_hop_is_resolved_by_nd() {
    use super::slow_tests::Io;
    let mut lab = Lab::new(MECHANISMS);
    let mut slow = SlowPath::new(lab.pipe.settings(), &[PORT0, PORT1]);
    slow.set_spontaneous(false);
    let mut io = Io::new(lab.tables.clone());
    let inner = udp6("2001:db8:20::5", "2001:db8:64::1:2:3:4", 64, 100);
    let waiting = lab.expect_wait(1, &eth(PORT1, HOST, ET_IPV6, &inner), 0);
    assert_eq!(waiting, eth([0; 6], PORT0, ET_IPV4, &ipv4(V4 { ttl: SIXOVER4_TTL, ..V4::p41("198.51.100.20", "0.0.0.0") }, &hop_minus(&inner, 1))));

    slow.handle(0, TestBuf::new(1, &waiting), &mut io);
    let ours = [0, 0, 198, 51, 100, 20];
    let solicit = ns("2001:db8:64::c633:6414", "ff02::1:ff03:4", "2001:db8:64::1:2:3:4", Some(ours), 255);
    let group = ipv4(V4 { id: 0, df: false, ttl: SIXOVER4_TTL, ..V4::p41("198.51.100.20", "239.192.0.4") }, &solicit);
    assert_eq!(io.take(), vec![(0, eth([0x01, 0x00, 0x5e, 0x40, 0, 4], PORT0, ET_IPV4, &group))]);

    let na = advert("2001:db8:64::1:2:3:4", "2001:db8:64::c633:6414", 0x60, &[2, 1, 0, 0, 198, 51, 100, 7]);
    let na_frame = p41("198.51.100.7", "198.51.100.20", &na);
    assert_eq!(lab.run(0, &na_frame).0, Verdict::Punt);
    slow.handle(S / 2, TestBuf::new(0, &na_frame), &mut io);
    let lla = crate::wire::EthernetAddress([0, 0, 198, 51, 100, 7]);
    assert_eq!(io.updates, vec![TableUpdate::NeighbourSet { addr: "2001:db8:64::1:2:3:4".parse().unwrap(), mac: lla }]);
    let released = ipv4(V4 { ttl: SIXOVER4_TTL, ..V4::p41("198.51.100.20", "198.51.100.7") }, &hop_minus(&inner, 1));
    assert_eq!(io.take(), vec![(0, eth(NODE, PORT0, ET_IPV4, &released))]);
    assert_eq!(
        slow.counters().nonzero(),
        vec![("tx", 2), ("consumed", 1), ("neigh_resolved", 1), ("neigh_released", 1), ("nd_solicits_6over4", 1), ("nd_learned_6over4", 1)]
    );

    // The workers now encapsulate to V themselves.
    lab.tables = io.tables.clone();
    let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    let direct = ipv4(V4 { id: 2, ttl: SIXOVER4_TTL, ..V4::p41("198.51.100.20", "198.51.100.7") }, &hop_minus(&inner, 1));
    assert_eq!((v, out), (Verdict::Tx(0), eth(NODE, PORT0, ET_IPV4, &direct)));

    // Reachable, then stale, then probed by unicast over IPv4.
    slow.tick(S / 2 + 30 * S, &mut io);
    slow.tick(S / 2 + 35 * S, &mut io);
    let probe = ns("2001:db8:64::c633:6414", "2001:db8:64::1:2:3:4", "2001:db8:64::1:2:3:4", Some(ours), 255);
    assert_eq!(io.take(), vec![(0, eth(NODE, PORT0, ET_IPV4, &ipv4(V4 { id: 0, df: false, ttl: SIXOVER4_TTL, ..V4::p41("198.51.100.20", "198.51.100.7") }, &probe)))]);
    // Silence: the workers forget it.
    for k in 1..=3 {
        slow.tick(S / 2 + (35 + k) * S, &mut io);
    }
    assert_eq!(io.updates.last(), Some(&TableUpdate::NeighbourDel { addr: "2001:db8:64::1:2:3:4".parse().unwrap() }));
    assert_eq!(slow.counters().event(Event::NdSolicits6over4), 4);
}

/// A solicitation with a source link-layer option teaches the solicitor's V (a stale
/// entry), and is answered.
#[test]
fn sixover4_solicitation_teaches_its_sender() {
    use super::slow_tests::Io;
    let lab = Lab::new(MECHANISMS);
    let mut slow = SlowPath::new(lab.pipe.settings(), &[PORT0, PORT1]);
    let mut io = Io::new(lab.tables.clone());
    let solicit = ns("2001:db8:64::5:6:7:8", "ff02::1:ff33:6414", "2001:db8:64::c633:6414", Some([0, 0, 198, 51, 100, 8]), 255);
    slow.handle(0, TestBuf::new(0, &to_group("239.192.100.20", &solicit)), &mut io);
    let lla = crate::wire::EthernetAddress([0, 0, 198, 51, 100, 8]);
    assert_eq!(io.updates, vec![TableUpdate::NeighbourSet { addr: "2001:db8:64::5:6:7:8".parse().unwrap(), mac: lla }]);
    let na = advert("2001:db8:64::c633:6414", "2001:db8:64::5:6:7:8", 0xe0, &[2, 1, 0, 0, 198, 51, 100, 20]);
    assert_eq!(io.take(), vec![(0, reply_6over4("198.51.100.20", "198.51.100.8", 1, &na))]);
    assert_eq!(slow.counters().nonzero(), vec![("tx", 1), ("nd_adverts_6over4", 1), ("nd_learned_6over4", 1)]);
    // An advertisement whose option is malformed teaches nothing.
    let bad = advert("2001:db8:64::5:6:7:8", "2001:db8:64::c633:6414", 0x60, &[2, 1, 0, 1, 198, 51, 100, 8]);
    slow.handle(S, TestBuf::new(0, &p41("198.51.100.7", "198.51.100.20", &bad)), &mut io);
    assert_eq!(slow.counters().drops(DropReason::NdLinkLayerMalformed), 1);
    assert_eq!(io.updates.len(), 1);
}

/// At start the mechanisms' addresses on a port's subnet are announced with it.
#[test]
fn mechanisms_addresses_are_announced() {
    use super::slow_tests::Io;
    let lab = Lab::new(MECHANISMS);
    let mut slow = SlowPath::new(lab.pipe.settings(), &[PORT0, PORT1]);
    let mut io = Io::new(lab.tables.clone());
    slow.tick(0, &mut io);
    let announce = |a: &str| (0, eth(BCAST, PORT0, ET_ARP, &arp(1, PORT0, a, [0; 6], a)));
    let expect: Vec<_> = ["198.51.100.20", "198.51.100.21", "198.51.100.22", "198.51.100.23"].map(announce).into();
    assert_eq!(io.take(), expect);
    assert_eq!(slow.counters().event(Event::ArpAnnouncements), 4);
}

/// Random ND and router discovery messages (any type 133–137, any body and options, valid
/// checksum) over every mechanism's link, by unicast and by 6over4 group: the fast path,
/// the local answers and the slow path each give a verdict or a counted drop, never a
/// panic, and never send anywhere but a port.
mod random_nd {
    use proptest::prelude::*;

    use super::super::slow_tests::Io;
    use super::*;

    const SOURCES: [&str; 5] =
        ["fe80::200:5efe:c633:6407", "fe80::c633:6407", "2001:db8::200:5efe:c633:6407", "2001:db8:64::c633:6407", "::"];
    const DESTINATIONS: [&str; 6] =
        ["ff02::1", "ff02::2", "ff02::1:ff33:6414", "fe80::200:5efe:c633:6416", "2001:db8:64::c633:6414", "fe80::c633:6414"];
    const LOCALS: [&str; 4] = ["198.51.100.20", "198.51.100.21", "198.51.100.22", "198.51.100.23"];

    proptest! {
        #[test]
        fn nd_over_the_tunnels_never_panics(
            kind in 133u8..=137,
            code in 0u8..2,
            word in any::<[u8; 4]>(),
            body in proptest::collection::vec(any::<u8>(), 0..96),
            src in 0usize..SOURCES.len(),
            dst in 0usize..DESTINATIONS.len(),
            local in 0usize..LOCALS.len(),
            by_group in any::<bool>(),
            hop in prop_oneof![Just(255u8), any::<u8>()],
        ) {
            let inner = icmp6_raw(SOURCES[src], DESTINATIONS[dst], hop, kind, code, word, &body);
            let frame = if by_group {
                to_group("239.192.100.20", &inner)
            } else {
                p41("198.51.100.7", LOCALS[local], &inner)
            };
            let mut lab = Lab::new(MECHANISMS);
            let mut slow = SlowPath::new(lab.pipe.settings(), &[PORT0, PORT1]);
            slow.set_spontaneous(false);
            let mut io = Io::new(lab.tables.clone());
            let (v, _) = lab.run(0, &frame);
            prop_assert!(!matches!(v, Verdict::Tx(p) if p > 1));
            let (v, _) = lab.local(0, &frame);
            prop_assert!(!matches!(v, Verdict::Tx(p) if p > 1));
            slow.handle(0, TestBuf::new(0, &frame), &mut io);
            slow.tick(S, &mut io);
            prop_assert!(io.take().iter().all(|(port, _)| *port <= 1));
        }
    }
}
