//! Next-hop groups (ECMP): a route to a group sends each flow through one member, chosen
//! by a hash of its addresses and ports; flows spread over the members by their weights;
//! the tables refuse a bad group whole; the slow path resolves the member a waiting
//! packet took.
use etherparse::PacketBuilder;

use super::pkt::*;
use super::slow_tests::Io;
use super::*;

/// Uplink A on port 0 (gateway 2001:db8:a::1), uplink B on port 1 (gateway 2001:db8:b::1),
/// both known; 2001:db8:c0::/44 through both.
const TWO_UPLINKS: &str = r#"
[[interface]]
port = 0
ipv6 = ["2001:db8:a::2/64"]

[[interface]]
port = 1
ipv6 = ["2001:db8:b::2/64"]

[[neighbour]]
ip = "2001:db8:a::1"
mac = "02:00:00:00:03:01"

[[neighbour]]
ip = "2001:db8:b::1"
mac = "02:00:00:00:03:02"

[[group]]
id = 1
nexthops = ["via 2001:db8:a::1 port 0", "via 2001:db8:b::1 port 1"]

[[route]]
add = "2001:db8:c0::/44 group 1"
"#;

const GW_A: [u8; 6] = GW6;
const GW_B: [u8; 6] = [0x02, 0, 0, 0, 0x03, 0x02];

/// A UDP packet of flow (`src`, `sport`) to 2001:db8:c0::5 port 53.
fn flow(src: &str, sport: u16) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ipv6(a6(src), a6("2001:db8:c0::5"), 64).udp(sport, 53).write(&mut out, &[0x5a; 32]).expect("udp6");
    out
}

/// The port a packet of `flow` leaves by, checking the frame: the member's gateway MAC,
/// our MAC on that port, the packet with its hop limit lowered.
fn egress(lab: &mut Lab, rx: u16, packet: &[u8]) -> u16 {
    let (v, out) = lab.run(rx, &eth(if rx == 0 { PORT0 } else { PORT1 }, GW6, ET_IPV6, packet));
    let (port, gw, mac) = match v {
        Verdict::Tx(0) => (0, GW_A, PORT0),
        Verdict::Tx(1) => (1, GW_B, PORT1),
        other => panic!("expected a member port, got {other:?}"),
    };
    assert_eq!(out, eth(gw, mac, ET_IPV6, &hop_minus(packet, 1)));
    port
}

#[test]
fn flows_spread_over_the_members_and_each_keeps_its_member() {
    let mut lab = Lab::new(TWO_UPLINKS);
    let mut per_port = [0u32; 2];
    for sport in 10_000..10_064 {
        let p = flow("2001:db8:a::99", sport);
        let first = egress(&mut lab, 0, &p);
        for _ in 0..3 {
            assert_eq!(egress(&mut lab, 0, &p), first, "flow {sport} changed member");
        }
        per_port[usize::from(first)] += 1;
    }
    // 64 flows over two equal members: each takes at least 20 % (the lab's check b).
    assert!(per_port.iter().all(|&n| n >= 13), "{per_port:?}");
    assert_eq!(lab.count("forwarded"), 64 * 4);
    // The source address alone moves flows too (traffic without ports, ICMP).
    let ports: std::collections::BTreeSet<u16> =
        (1..=32).map(|i| egress(&mut lab, 0, &echo6(&format!("2001:db8:a::{i:x}"), "2001:db8:c0::5", 64, 8))).collect();
    assert_eq!(ports.len(), 2, "32 ICMP sources use both members");
}

#[test]
fn weights_share_the_flows() {
    let config = TWO_UPLINKS.replace(r#""via 2001:db8:b::1 port 1"]"#, r#""via 2001:db8:b::1 port 1 weight 3"]"#);
    let mut lab = Lab::new(&config);
    let b = (0..4000u16).filter(|&i| egress(&mut lab, 0, &flow("2001:db8:a::99", 20_000 + i)) == 1).count();
    // Weight 3 of 4: three quarters of the flows, within what 4000 draws of a good hash give.
    assert!((2880..=3120).contains(&b), "{b} of 4000 flows on the weight-3 member");
}

#[test]
fn the_fragments_of_a_datagram_take_one_member() {
    let mut lab = Lab::new(TWO_UPLINKS);
    let mut ports = std::collections::BTreeSet::new();
    for i in 1..=16u16 {
        let src = format!("2001:db8:a::{i:x}");
        let fragment = |offset: u16, more: bool| {
            let payload = [0x11u8; 24];
            let mut p = Vec::new();
            let hdr = etherparse::Ipv6Header {
                payload_length: 8 + 24,
                next_header: etherparse::IpNumber::IPV6_FRAGMENTATION_HEADER,
                hop_limit: 64,
                source: a6(&src),
                destination: a6("2001:db8:c0::5"),
                ..Default::default()
            };
            hdr.write(&mut p).expect("ipv6");
            let frag = etherparse::Ipv6FragmentHeader::new(
                etherparse::IpNumber::UDP,
                etherparse::IpFragOffset::try_new(offset).expect("offset"),
                more,
                0x1234_5678,
            );
            frag.write(&mut p).expect("fragment header");
            p.extend_from_slice(&payload);
            p
        };
        // The first carries the UDP ports, the second only data: the same member.
        let first = egress(&mut lab, 0, &fragment(0, true));
        assert_eq!(egress(&mut lab, 0, &fragment(3, false)), first, "source {src}");
        ports.insert(first);
    }
    assert_eq!(ports.len(), 2, "fragmented flows still spread");
}

#[test]
fn a_member_whose_mac_is_unknown_waits_and_the_slow_path_resolves_that_member() {
    // Uplink B's gateway is not a static neighbour.
    let config = TWO_UPLINKS.replace("[[neighbour]]\nip = \"2001:db8:b::1\"\nmac = \"02:00:00:00:03:02\"\n", "");
    let mut lab = Lab::new(&config);
    let mut slow = SlowPath::new(lab.pipe.settings(), &[PORT0, PORT1]);
    let mut io = Io::new(lab.tables.clone());
    let on_b = (10_000..10_064).map(|s| flow("2001:db8:a::99", s)).find(|p| {
        let (v, _) = lab.run(0, &eth(PORT0, GW6, ET_IPV6, p));
        v == Verdict::Punt
    });
    let packet = on_b.expect("a flow on the unresolved member");
    let waiting = lab.expect_wait(0, &eth(PORT0, GW6, ET_IPV6, &packet), 1);
    slow.handle(0, TestBuf::new(0, &waiting), &mut io);
    let sent = io.take();
    assert_eq!(sent.len(), 1, "one solicitation: {sent:?}");
    let (port, frame) = &sent[0];
    assert_eq!(*port, 1, "on the member's port");
    let (ip, icmp, _) = parse_icmp6(&frame[14..]);
    assert_eq!(ip.destination, a6("ff02::1:ff00:1"), "to the solicited-node group of 2001:db8:b::1");
    assert!(matches!(icmp, etherparse::Icmpv6Type::Unknown { type_u8: 135, .. }), "a neighbour solicitation: {icmp:?}");
    assert_eq!(frame[14 + 48..14 + 64], a6("2001:db8:b::1"), "for the member's gateway");
    assert_eq!(slow.neighbours_text(&io.tables, 0), "2001:db8:a::1 02:00:00:00:03:01 static\n2001:db8:b::1 - incomplete port 1 age 0s waiting 1\n");
}

#[test]
fn strict_urpf_accepts_a_source_reached_through_any_member() {
    let config = format!("urpf = true\n{TWO_UPLINKS}[[route]]\nadd = \"2001:db8:5::/48 group 1\"\n");
    let mut lab = Lab::new(&config);
    // 2001:db8:5::9 is reached through the group, whose members leave by ports 0 and 1.
    for rx in [0, 1] {
        let src_mac = if rx == 0 { PORT0 } else { PORT1 };
        let (v, _) = lab.run(rx, &eth(src_mac, GW6, ET_IPV6, &flow("2001:db8:5::9", 7)));
        assert!(matches!(v, Verdict::Tx(_)), "from port {rx}: {v:?}");
    }
    // A source whose route is not the group fails on the other port.
    lab.expect_drop(1, &eth(PORT1, GW6, ET_IPV6, &flow("2001:db8:a::99", 7)), DropReason::UrpfFailed);
}

fn p6(s: &str) -> std::net::Ipv6Addr {
    s.parse().expect("address")
}

#[test]
fn group_grammar_round_trips_and_names_what_is_wrong() {
    let text = "group set 1 nexthop via 2001:db8:a::1 port 0 nexthop via 2001:db8:b::1 port 1 weight 2";
    let u = parse_update(text).expect("parses");
    let members = vec![
        GroupMember { target: RouteTarget::Via { gateway: p6("2001:db8:a::1"), port: 0 }, weight: 1 },
        GroupMember { target: RouteTarget::Via { gateway: p6("2001:db8:b::1"), port: 1 }, weight: 2 },
    ];
    assert_eq!(u, TableUpdate::GroupSet { id: 1, group: NextHopGroup::new(members).expect("valid") });
    assert_eq!(u.to_string(), text);
    let others = ["group set 2 nexthop port 1 nexthop via 2002:c058:6301:: nexthop tunnel 4", "group del 2", "route add 2001:db8::/32 group 2"];
    for t in others {
        assert_eq!(parse_update(t).map(|u| u.to_string()), Ok(t.to_string()));
    }
    let errors = [
        ("group set 1", "a next-hop group needs at least one `nexthop`"),
        ("group set 1 via fe80::1 port 0", "unexpected \"via\": expected `nexthop`"),
        ("group set 1 nexthop 6to4", "unexpected \"6to4\" in a group member: expected `via`, `port` or `tunnel`"),
        ("group set 1 nexthop via fe80::1", "next hop fe80::1 is not a 6to4 address: give a port"),
        ("group set 1 nexthop port 0 weight 0", "weight 0: a member's weight is 1..=256"),
        ("group set 1 nexthop port 0 weight 257", "weight 257: a member's weight is 1..=256"),
        ("group set 1 nexthop port 0 nexthop port 0", "`nexthop port 0` given twice"),
        ("group set x nexthop port 0", "\"x\": not a group number"),
        ("group add 1 nexthop port 0", "unknown group command \"add\": expected `set` or `del`"),
        ("group del 1 now", "unexpected \"now\" at the end"),
    ];
    for (t, e) in errors {
        assert_eq!(parse_update(t).map_err(|e| e.to_string()), Err(e.to_string()), "{t}");
    }
    let many: String = (0..65).map(|p| format!(" nexthop via fe80::{:x} port 0", p + 1)).collect();
    assert_eq!(parse_update(&format!("group set 1{many}")).map_err(|e| e.to_string()), Err("65 next hops: a group has at most 64".into()));
}

#[test]
fn the_tables_refuse_a_bad_group_whole_and_keep_groups_in_use() {
    let mut lab = Lab::new(TWO_UPLINKS);
    let before = lab.tables.clone();
    let apply = |t: &mut Tables, s: &str| parse_update(s).expect("parses").apply(t).map_err(|e| e.to_string());
    // The second member's port does not exist: nothing changes, not even the first member's hop.
    assert_eq!(apply(&mut lab.tables, "group set 1 nexthop via 2001:db8:a::7 port 0 nexthop port 5"), Err("port 5 does not exist (2 ports)".into()));
    assert_eq!(apply(&mut lab.tables, "group set 3 nexthop tunnel 9"), Err("no tunnel 9".into()));
    assert!(lab.tables == before && lab.tables.groups_text() == before.groups_text());
    assert_eq!(apply(&mut lab.tables, "group del 1"), Err("group 1 is in use by routes".into()));
    assert_eq!(apply(&mut lab.tables, "route add 2001:db8:d0::/44 group 7"), Err("no next-hop group 7".into()));
    assert_eq!(apply(&mut lab.tables, "group del 7"), Err("no next-hop group 7".into()));
    assert_eq!(lab.tables.groups_text(), "1 nexthop via 2001:db8:a::1 port 0 nexthop via 2001:db8:b::1 port 1\n");

    // Replaced, the route follows at once: every flow now leaves through uplink B.
    apply(&mut lab.tables, "group set 1 nexthop via 2001:db8:b::1 port 1").expect("replace");
    assert!((0..16).all(|s| egress(&mut lab, 0, &flow("2001:db8:a::99", s)) == 1));
    // Unused, it goes; so does the member's next hop (the route to it went first).
    apply(&mut lab.tables, "route del 2001:db8:c0::/44").expect("route del");
    apply(&mut lab.tables, "group del 1").expect("group del");
    assert_eq!(lab.tables.groups_text(), "");
    assert_eq!(lab.run(0, &eth(PORT0, GW6, ET_IPV6, &flow("2001:db8:a::99", 1))).0, Verdict::Drop(DropReason::NoRoute));
}

#[test]
fn a_tunnel_that_a_group_uses_is_not_deleted() {
    let mut lab = Lab::new(wan_lan_box!(
        r#"
[[tunnel]]
id = 4
local = "198.51.100.20"
remote = "203.0.113.50"
"#
    ));
    let apply = |t: &mut Tables, s: &str| parse_update(s).expect("parses").apply(t).map_err(|e| e.to_string());
    apply(&mut lab.tables, "group set 2 nexthop tunnel 4 nexthop via 2002:c058:6301::").expect("set");
    assert_eq!(apply(&mut lab.tables, "tunnel del 4"), Err("tunnel 4 is in use by routes".into()));
    apply(&mut lab.tables, "group del 2").expect("group del");
    apply(&mut lab.tables, "tunnel del 4").expect("tunnel del once the group is gone");
}

#[test]
fn groups_in_the_configuration_are_checked_by_field() {
    let bad = |groups: &str| Config::from_toml(&format!("{TWO_UPLINKS}{groups}")).map_err(|e| e.to_string()).and_then(|c| c.validate(2).map_err(|e| e.to_string())).map(|_| ());
    assert_eq!(
        bad("[[group]]\nid = 1\nnexthops = [\"port 0\"]\n"),
        Err("pipeline.group[1].id: 1: group 1 is configured twice".into())
    );
    assert_eq!(
        bad("[[group]]\nid = 40000\nnexthops = [\"port 0\"]\n"),
        Err("pipeline.group[1].id: group 40000: ids 32768..=65535 are the kernel mirror's; give 0..=32767".into())
    );
    assert_eq!(bad("[[group]]\nid = 2\nnexthops = [\"port 0 weight x\"]\n"), Err("pipeline.group[1].nexthops: \"x\": not a weight number".into()));
    assert_eq!(bad("[[group]]\nid = 2\nnexthops = []\n"), Err("pipeline.group[1].nexthops: a next-hop group needs at least one `nexthop`".into()));
    assert_eq!(
        bad("[[group]]\nid = 2\nnexthops = [\"via 2001:db8:a::3 port 3\"]\n"),
        Err("pipeline.group[1]: port 3 does not exist (2 ports)".into())
    );
}

#[test]
fn the_operator_may_not_touch_the_kernel_mirrors_groups() {
    let lab = Lab::new(TWO_UPLINKS);
    let settings = lab.pipe.settings();
    for (t, id) in [("group set 32768 nexthop port 0", 32768), ("group del 65535", 65535), ("route add 2001:db8::/32 group 40000", 40000)] {
        let want = format!("group {id}: ids 32768..=65535 are the kernel mirror's; give 0..=32767");
        assert_eq!(parse_route_command(t, settings).map_err(|e| e.to_string()), Err(want), "{t}");
    }
    assert!(parse_route_command("group set 32767 nexthop port 0", settings).is_ok());
}
