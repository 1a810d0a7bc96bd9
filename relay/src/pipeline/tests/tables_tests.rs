//! Tables, table updates and the route text grammar.
use std::net::{IpAddr, Ipv6Addr};

use super::pkt::*;
use super::*;

fn p6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

#[test]
fn route_grammar() {
    let cases = [
        ("route add 2001:db8::/32 via fe80::1 port 1", RouteTarget::Via { gateway: p6("fe80::1"), port: 1 }, "2001:db8::", 32),
        ("add 2001:db8::/32 via fe80::1 port 1", RouteTarget::Via { gateway: p6("fe80::1"), port: 1 }, "2001:db8::", 32),
        ("route add 2002::/16 6to4", RouteTarget::SixToFour, "2002::", 16),
        ("route add ::/0 via 2002:c058:6301::", RouteTarget::Tunnel { via: p6("2002:c058:6301::") }, "::", 0),
        ("route add 2001:db8:1::/48 port 0", RouteTarget::Connected { port: 0 }, "2001:db8:1::", 48),
        ("route  add\t2001:db8:2::/48   blackhole", RouteTarget::Blackhole, "2001:db8:2::", 48),
        ("route add 2001:db8:3::/48 tunnel 7", RouteTarget::Configured { tunnel: 7 }, "2001:db8:3::", 48),
        ("route add 2001:db8::1/128 via 2002:c633:6409::1 port 0", RouteTarget::Via { gateway: p6("2002:c633:6409::1"), port: 0 }, "2001:db8::1", 128),
    ];
    for (text, target, prefix, len) in cases {
        let u = parse_route(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(u, TableUpdate::RouteAdd { prefix: p6(prefix), len, target }, "{text}");
        assert_eq!(parse_update(&u.to_string()), Ok(u.clone()), "round trip of {u}");
    }
    assert_eq!(parse_route("route del 2001:db8::/32"), Ok(TableUpdate::RouteDel { prefix: p6("2001:db8::"), len: 32 }));
    assert_eq!(parse_route("del ::/0"), Ok(TableUpdate::RouteDel { prefix: p6("::"), len: 0 }));
}

#[test]
fn route_grammar_errors() {
    let cases = [
        ("", "empty route command: expected `add` or `del`"),
        ("route add", "`add` needs a prefix like 2001:db8::/32"),
        ("route add 2001:db8::/32", "`add` needs a target: `via …`, `port N`, `6to4`, `tunnel N`, `isatap V`, `6rd PREFIX`, `ipv4-compatible`, `6over4 V`, `group N` or `blackhole`"),
        ("route add 2001:db8::1/32 port 1", "2001:db8::1/32 has host bits set (the network is 2001:db8::/32)"),
        ("route add 2001:db8::/129 port 1", "prefix length 129 is over 128"),
        ("route add 2001:db8:: port 1", "\"2001:db8::\": expected a prefix like 2001:db8::/32"),
        ("route add 2001:db8::/32 via fe80::1", "next hop fe80::1 is not a 6to4 address: give a port"),
        ("route add ::/0 via 2002:a00:1::", "next hop 2002:a00:1:: embeds 10.0.0.1, which is not a global IPv4 address"),
        ("route add 2001:db8::/32 6to4", "2001:db8::/32: a 6to4 route must lie within 2002::/16"),
        ("route add ::/0 6to4", "::/0: a 6to4 route must lie within 2002::/16"),
        ("route add 2001:db8::/32 via fe80::1 port x", "\"x\": not a port number"),
        ("route add 2001:db8::/32 via fe80::1 dev 1", "unexpected \"dev\" after the next hop: expected `port N`"),
        ("route add 2001:db8::/32 port 1 now", "unexpected \"now\" at the end"),
        ("route add 2001:db8::/32 gateway 1", "unexpected \"gateway\": expected `via`, `port`, `6to4`, `tunnel`, `isatap`, `6rd`, `ipv4-compatible`, `6over4`, `group` or `blackhole`"),
        ("route add 2001:db8::/32 isatap", "`isatap` needs an IPv4 address"),
        ("route add 2001:db8::/32 6rd 2001:db8::", "\"2001:db8::\": expected a prefix like 2001:db8::/32"),
        ("route add 2001:db8::/32 6over4 x", "\"x\": not an IPv4 address"),
        ("route flush 2001:db8::/32", "unknown route command \"flush\": expected `add` or `del`"),
        ("route del 2001:db8::/32 port 1", "unexpected \"port\" at the end"),
    ];
    for (text, err) in cases {
        assert_eq!(parse_route(text).map_err(|e| e.to_string()), Err(err.to_string()), "{text:?}");
    }
}

#[test]
fn neighbour_and_tunnel_grammar() {
    let mac = EthernetAddress([2, 0, 0, 0, 1, 1]);
    let set4 = TableUpdate::NeighbourSet { addr: IpAddr::from([198, 51, 100, 1]), mac };
    assert_eq!(parse_update("neighbour set 198.51.100.1 02:00:00:00:01:01"), Ok(set4.clone()));
    assert_eq!(parse_update("neigh set 198.51.100.1 02-00-00-00-01-01"), Ok(set4.clone()));
    assert_eq!(parse_update(&set4.to_string()), Ok(set4));
    let del6 = TableUpdate::NeighbourDel { addr: "fe80::1".parse().unwrap() };
    assert_eq!(parse_update("neighbor del fe80::1"), Ok(del6));
    assert_eq!(parse_update("neighbour set 198.51.100.1").map_err(|e| e.to_string()), Err("`set` needs a MAC address".into()));
    assert_eq!(parse_update("neighbour add 198.51.100.1 02:00:00:00:01:01").map_err(|e| e.to_string()), Err("unknown neighbour command \"add\": expected `set` or `del`".into()));
    let t = TableUpdate::TunnelSet { id: 3, tunnel: ConfiguredTunnel::new("198.51.100.7".parse().unwrap(), "203.0.113.50".parse().unwrap()) };
    assert_eq!(parse_update("tunnel set 3 local 198.51.100.7 remote 203.0.113.50"), Ok(t.clone()));
    assert_eq!(parse_update("tunnel set 3 remote 203.0.113.50 local 198.51.100.7"), Ok(t.clone()));
    assert_eq!(parse_update(&t.to_string()), Ok(t));
    assert_eq!(parse_update("tunnel del 3"), Ok(TableUpdate::TunnelDel { id: 3 }));
    assert_eq!(parse_update("tunnel set 3 remote 203.0.113.50").map_err(|e| e.to_string()), Err("expected `local IPV4`".into()));
}

#[test]
fn route_add_replace_and_delete() {
    let mut lab = Lab::relay(false);
    let t = &mut lab.tables;
    let before = t.clone();
    let apply = |s: &str, t: &mut Tables| parse_update(s).unwrap().apply(t);
    apply("route add 2001:db8:1::/48 port 1", t).unwrap();
    assert_eq!(t.lookup(p6("2001:db8:1::5")), Some(RouteTarget::Connected { port: 1 }));
    apply("route add 2001:db8:1::/48 blackhole", t).unwrap();
    assert_eq!(t.lookup(p6("2001:db8:1::5")), Some(RouteTarget::Blackhole));
    apply("route del 2001:db8:1::/48", t).unwrap();
    assert_eq!(*t, before);
    assert_eq!(apply("route del 2001:db8:1::/48", t).map_err(|e| e.to_string()), Err("no route 2001:db8:1::/48".into()));
    assert_eq!(apply("route add 2001:db8:1::/48 port 2", t).map_err(|e| e.to_string()), Err("port 2 does not exist (2 ports)".into()));
    assert_eq!(apply("route add 2001:db8:1::/48 via ff02::1 port 1", t).map_err(|e| e.to_string()), Err("next hop ff02::1 is not a unicast address".into()));
    assert_eq!(*t, before, "rejected updates change nothing");
}

#[test]
fn blackhole_route_drops() {
    let mut lab = Lab::relay(false);
    parse_route("route add 2001:db8:dead::/48 blackhole").unwrap().apply(&mut lab.tables).unwrap();
    let inner = udp6("2001:db8::1", "2001:db8:dead::1", 64, 60);
    lab.expect_drop(1, &eth(PORT1, GW6, ET_IPV6, &inner), DropReason::RouteBlackhole);
}

#[test]
fn unconfigured_ports_take_no_routes() {
    let mut lab = Lab::new("[[interface]]\nport = 0\nipv4 = \"198.51.100.7/24\"\n");
    let err = parse_route("route add ::/0 port 1").unwrap().apply(&mut lab.tables);
    assert_eq!(err.map_err(|e| e.to_string()), Err("port 1 is not configured".into()));
}

/// Gateways resolve through the static neighbour table when it changes.
#[test]
fn neighbour_changes_resolve_next_hops() {
    let mut lab = Lab::relay(false);
    let frame = eth(PORT1, GW6, ET_IPV6, &udp6("2001:db8:1::1", "2001:db8:2::1", 9, 80));
    parse_update("neighbour del 2001:db8:ff::1").unwrap().apply(&mut lab.tables).unwrap();
    lab.expect_wait(1, &frame, 1);
    parse_update("neighbour set 2001:db8:ff::1 02:00:00:00:03:02").unwrap().apply(&mut lab.tables).unwrap();
    let (v, out) = lab.run(1, &frame);
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out[..6], [2, 0, 0, 0, 3, 2]);
    // The IPv4 gateway too.
    parse_update("neighbour del 198.51.100.1").unwrap().apply(&mut lab.tables).unwrap();
    let to_6to4 = eth(PORT1, GW6, ET_IPV6, &udp6("2001:db8::1", "2002:cb00:7101::5", 9, 80));
    lab.expect_wait(1, &to_6to4, 0);
    assert_eq!(parse_update("neighbour del 198.51.100.1").unwrap().apply(&mut lab.tables).map_err(|e| e.to_string()), Err("no neighbour 198.51.100.1".into()));
    assert_eq!(parse_update("neighbour set ff02::1 02:00:00:00:03:02").unwrap().apply(&mut lab.tables).map_err(|e| e.to_string()), Err("ff02::1 is not a unicast IPv6 address".into()));
    assert_eq!(parse_update("neighbour set 198.51.100.3 01:00:5e:00:00:01").unwrap().apply(&mut lab.tables).map_err(|e| e.to_string()), Err("01:00:5e:00:00:01 is not a unicast MAC address".into()));
}

/// Tables built by different sequences of updates compare equal (next-hop ids aside);
/// released next-hop slots are reused.
#[test]
fn equality_ignores_history() {
    let a = Lab::relay(false).tables;
    let mut b = a.clone();
    for u in [
        "route add 2001:db8:1::/48 via 2001:db8:ff::1 port 1",
        "route add 2001:db8:2::/48 via 2001:db8:ff::2 port 1",
        "route add 2001:db8:3::/48 via 2001:db8:ff::2 port 1",
        "route del 2001:db8:2::/48",
        "route del 2001:db8:3::/48",
        "route del 2001:db8:1::/48",
    ] {
        parse_update(u).unwrap().apply(&mut b).unwrap();
    }
    assert_eq!(a, b);
    assert_eq!(a.routes(), b.routes());
}

/// The 6to4 route comes with a 6to4 role, unless configured otherwise.
#[test]
fn six_to_four_route_from_the_role() {
    let relay = Lab::relay(false);
    assert!(relay.tables.routes().contains(&(p6("2002::"), 16, RouteTarget::SixToFour)));
    let plain = Lab::new("[[interface]]\nport = 1\nipv6 = [\"2001:db8:1::1/64\"]\n");
    assert_eq!(plain.tables.routes(), vec![(p6("2001:db8:1::"), 64, RouteTarget::Connected { port: 1 })]);
    let overridden = Lab::new(&format!("{}\n[[route]]\nadd = \"2002::/16 blackhole\"\n", relay_config(false)));
    assert!(overridden.tables.routes().contains(&(p6("2002::"), 16, RouteTarget::Blackhole)));
}

#[test]
fn views_list_everything() {
    let lab = Lab::router_r();
    let neighbours: Vec<String> = lab.tables.neighbours().iter().map(|(a, m)| format!("{a} {m}")).collect();
    assert_eq!(neighbours, ["198.51.100.1 02:00:00:00:01:01", "2002:c633:6407::1 02:00:00:00:02:05", "2002:c633:6407:1::5 02:00:00:00:02:05"]);
    let routes: Vec<String> = lab.tables.routes().iter().map(|(p, l, t)| format!("{p}/{l} {t}")).collect();
    assert_eq!(routes, ["::/0 via 2002:c058:6301::", "2002::/16 6to4", "2002:c633:6407::/48 port 1", "2002:c633:6407:1::/64 port 1"]);
}

#[test]
fn text_views_and_control_commands() {
    let lab = Lab::relay(false);
    assert_eq!(lab.tables.routes_text(), "::/0 via 2001:db8:ff::1 port 1\n2001:db8:ff::/64 port 1\n2002::/16 6to4\n");
    assert_eq!(lab.tables.neighbours_text(), "198.51.100.1 02:00:00:00:01:01\n2001:db8:ff::1 02:00:00:00:03:01\n");
    let s = lab.pipe.settings();
    assert_eq!(
        parse_route_command("add 2001:db8::/32 via fe80::1 port 1", s),
        Ok(TableUpdate::RouteAdd { prefix: p6("2001:db8::"), len: 32, target: RouteTarget::Via { gateway: p6("fe80::1"), port: 1 } })
    );
    assert_eq!(parse_route_command("add 2001:db8::/32 port 3", s).map_err(|e| e.to_string()), Err("port 3 is not configured".into()));
    assert_eq!(parse_route_command("neighbour del fe80::1", s), Ok(TableUpdate::NeighbourDel { addr: "fe80::1".parse().unwrap() }));
}

/// A reload may change only what the tables hold.
#[test]
fn same_forwarding_ignores_table_contents() {
    let a = Config::from_toml(&relay_config(false)).unwrap().validate(2).unwrap();
    let more_routes = format!("{}\n[[route]]\nadd = \"2001:db8:9::/48 blackhole\"\n", relay_config(false));
    let b = Config::from_toml(&more_routes).unwrap().validate(2).unwrap();
    assert!(a.same_forwarding(&b) && a != b);
    let c = Config::from_toml(&relay_config(true)).unwrap().validate(2).unwrap();
    assert!(!a.same_forwarding(&c));
}
