//! Outer IPv4 routes (issue 16 §3): with two IPv4 uplinks, where an encapsulated packet
//! leaves is the longest IPv4 route to its tunnel endpoint; no route, the default gateway;
//! a blackhole drops, counted; our own subnets stay on-link; every change applies whole or
//! not at all, and the IPv6 next hops whose endpoint a route moves follow it.
use super::pkt::*;
use super::*;

/// A relay with uplink A on port 0 (198.51.100.9/24, default gateway .1) and uplink B on
/// port 1 (203.0.113.9/24, router .254), native IPv6 on port 1; a configured tunnel to
/// 192.0.2.50.
const TWO_UPLINKS: &str = r#"
[[interface]]
port = 0
ipv4 = "198.51.100.9/24"
gateway = "198.51.100.1"

[[interface]]
port = 1
ipv4 = "203.0.113.9/24"
ipv6 = ["2001:db8:ff::9/64"]

[relay]
ipv4 = "198.51.100.9"

[[tunnel]]
id = 0
local = "198.51.100.9"
remote = "192.0.2.50"

[[neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"

[[neighbour]]
ip = "203.0.113.254"
mac = "02:00:00:00:04:01"

[[neighbour]]
ip = "2001:db8:ff::1"
mac = "02:00:00:00:03:01"

[[route]]
add = "::/0 via 2001:db8:ff::1 port 1"

[[route]]
add = "2001:db8:50::/48 tunnel 0"
"#;

const GW_B: [u8; 6] = [0x02, 0, 0, 0, 0x04, 0x01];

fn update(lab: &mut Lab, text: &str) -> Result<(), String> {
    let u = parse_update(text).map_err(|e| e.to_string())?;
    u.apply(&mut lab.tables).map_err(|e| e.to_string())
}

/// The outer packet `src` → `dst` around `inner`, with the identification the encapsulator
/// gave `out` (its per-packet counter, checked in encap_tests; the checksum is recomputed).
fn outer_of(out: &[u8], src: &str, dst: &str, inner: &[u8]) -> Vec<u8> {
    let id = out.get(18..20).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    ipv4(V4 { id, ..V4::p41(src, dst) }, &hop_minus(inner, 1))
}

/// Native IPv6 to the 6to4 host 2002:<v4>::5 and the frame it becomes.
fn to_6to4(lab: &mut Lab, v4: &str) -> (Verdict, Vec<u8>, Vec<u8>) {
    let o = a4(v4);
    let dst = format!("2002:{:02x}{:02x}:{:02x}{:02x}::5", o[0], o[1], o[2], o[3]);
    let inner = udp6("2001:db8::1", &dst, 64, 100);
    let (v, out) = lab.run(1, &eth(PORT1, GW6, ET_IPV6, &inner));
    let outer = outer_of(&out, "198.51.100.9", v4, &inner);
    (v, out, outer)
}

#[test]
fn no_ipv4_route_leaves_through_the_default_gateway() {
    let mut lab = Lab::new(TWO_UPLINKS);
    assert_eq!(lab.tables.routes4(), vec![]);
    let (v, out, outer) = to_6to4(&mut lab, "192.0.2.5");
    assert_eq!(v, Verdict::Tx(0));
    assert_eq!(out, eth(GW4, PORT0, ET_IPV4, &outer));
}

#[test]
fn the_longest_ipv4_route_chooses_the_uplink() {
    let mut lab = Lab::new(TWO_UPLINKS);
    update(&mut lab, "route add 192.0.2.0/24 via 203.0.113.254 port 1").expect("route");
    update(&mut lab, "route add 192.0.2.128/25 blackhole").expect("blackhole");
    let (v, out, outer) = to_6to4(&mut lab, "192.0.2.5");
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out, eth(GW_B, PORT1, ET_IPV4, &outer));
    // A destination outside every route: the default gateway, as before.
    let (v, out, outer) = to_6to4(&mut lab, "192.0.3.5");
    assert_eq!(v, Verdict::Tx(0));
    assert_eq!(out, eth(GW4, PORT0, ET_IPV4, &outer));
    // The more specific blackhole drops, counted.
    let inner = udp6("2001:db8::1", "2002:c000:0285::5", 64, 100);
    lab.expect_drop(1, &eth(PORT1, GW6, ET_IPV6, &inner), DropReason::RouteBlackhole);
    assert_eq!(lab.tables.routes_text().lines().filter(|l| l.starts_with("192.0.2.")).collect::<Vec<_>>(), ["192.0.2.0/24 via 203.0.113.254 port 1", "192.0.2.128/25 blackhole"]);
    // Deleted, the default gateway again.
    update(&mut lab, "route del 192.0.2.0/24").expect("del");
    let (v, _, _) = to_6to4(&mut lab, "192.0.2.5");
    assert_eq!(v, Verdict::Tx(0));
    assert_eq!(update(&mut lab, "route del 192.0.2.0/24"), Err("no route 192.0.2.0/24".into()));
}

#[test]
fn our_own_subnets_stay_on_link_whatever_the_routes() {
    let mut lab = Lab::new(TWO_UPLINKS);
    update(&mut lab, "route add 0.0.0.0/0 via 203.0.113.254 port 1").expect("default");
    // 198.51.100.1 is on port 0's subnet (and a known neighbour): delivered there.
    let (v, out, outer) = to_6to4(&mut lab, "198.51.100.1");
    assert_eq!(v, Verdict::Tx(0));
    assert_eq!(out, eth(GW4, PORT0, ET_IPV4, &outer));
    // Everything else takes the route, not the configured gateway.
    let (v, _, _) = to_6to4(&mut lab, "192.0.2.5");
    assert_eq!(v, Verdict::Tx(1));
}

#[test]
fn a_tunnel_endpoint_follows_its_ipv4_route() {
    let mut lab = Lab::new(TWO_UPLINKS);
    let inner = udp6("2001:db8::1", "2001:db8:50::1", 64, 100);
    let (v, out) = lab.run(1, &eth(PORT1, GW6, ET_IPV6, &inner));
    let outer = outer_of(&out, "198.51.100.9", "192.0.2.50", &inner);
    assert_eq!((v, out), (Verdict::Tx(0), eth(GW4, PORT0, ET_IPV4, &outer)));
    update(&mut lab, "route add 192.0.2.0/26 via 203.0.113.254 port 1").expect("route");
    let (v, out) = lab.run(1, &eth(PORT1, GW6, ET_IPV6, &inner));
    let outer = outer_of(&out, "198.51.100.9", "192.0.2.50", &inner);
    assert_eq!((v, out), (Verdict::Tx(1), eth(GW_B, PORT1, ET_IPV4, &outer)));
    update(&mut lab, "route del 192.0.2.0/26").expect("del");
    let (v, _) = lab.run(1, &eth(PORT1, GW6, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(0));
}

#[test]
fn an_unresolved_route_gateway_waits_and_is_the_next_hop_to_resolve() {
    let mut lab = Lab::new(TWO_UPLINKS);
    update(&mut lab, "route add 192.0.2.0/24 via 203.0.113.77 port 1").expect("route");
    let inner = udp6("2001:db8::1", "2002:c000:0205::5", 64, 100);
    lab.expect_wait(1, &eth(PORT1, GW6, ET_IPV6, &inner), 1);
    assert_eq!(lab.tables.v4_next_hop(u32::from_be_bytes(a4("192.0.2.5"))), Some((1, u32::from_be_bytes(a4("203.0.113.77")))));
    // Its MAC learned (as ARP would give it), the route's packets leave.
    update(&mut lab, "neighbour set 203.0.113.77 02:00:00:00:04:77").expect("neighbour");
    let (v, out, outer) = to_6to4(&mut lab, "192.0.2.5");
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out, eth([0x02, 0, 0, 0, 0x04, 0x77], PORT1, ET_IPV4, &outer));
    update(&mut lab, "route add 192.0.2.0/24 blackhole").expect("replaced");
    assert_eq!(lab.tables.v4_next_hop(u32::from_be_bytes(a4("192.0.2.5"))), None);
}

#[test]
fn bad_ipv4_routes_are_refused_and_change_nothing() {
    let mut lab = Lab::new(TWO_UPLINKS);
    let before = lab.tables.clone();
    for (text, why) in [
        ("route add 192.0.2.1/24 via 203.0.113.254 port 1", "192.0.2.1/24 has host bits set (the network is 192.0.2.0/24)"),
        ("route add 192.0.2.0/33 blackhole", "IPv4 prefix length 33 is over 32"),
        ("route add 192.0.2.0/24 via 203.0.113.254", "`via IPV4` needs `port N`: the port the router is on"),
        ("route add 192.0.2.0/24 6to4", "unexpected \"6to4\": an IPv4 route takes `via IPV4 port N` or `blackhole`"),
        ("route add 192.0.2.0/24 via 203.0.113.9 port 1", "IPv4 next hop 203.0.113.9 is not another host's unicast address"),
        ("route add 192.0.2.0/24 via 224.0.0.1 port 1", "IPv4 next hop 224.0.0.1 is not another host's unicast address"),
        ("route add 192.0.2.0/24 via 203.0.113.254 port 7", "port 7 does not exist (2 ports)"),
        ("route add 192.0.2.0/24 via 2001:db8::1 port 1", "\"2001:db8::1\": not an IPv4 address"),
        ("route add 192.0.2.0/24 blackhole extra", "unexpected \"extra\" at the end"),
    ] {
        assert_eq!(update(&mut lab, text), Err(why.to_string()), "{text}");
        assert!(lab.tables == before, "{text} changed the tables");
    }
}

#[test]
fn ipv4_routes_from_the_configuration_and_their_text() {
    let cfg = format!("{TWO_UPLINKS}\n[[route]]\nadd = \"192.0.2.0/24 via 203.0.113.254 port 1\"\n");
    let lab = Lab::new(&cfg);
    assert!(lab.tables.routes_text().ends_with("192.0.2.0/24 via 203.0.113.254 port 1\n"), "{}", lab.tables.routes_text());
    let u = parse_update("route add 192.0.2.0/24 via 203.0.113.254 port 1").expect("parses");
    assert_eq!(u.to_string(), "route add 192.0.2.0/24 via 203.0.113.254 port 1");
    assert_eq!(parse_update(&u.to_string()), Ok(u));
    let bad = format!("{TWO_UPLINKS}\n[[route]]\nadd = \"192.0.2.0/24 via 203.0.113.254 port 3\"\n");
    let e = Config::from_toml(&bad).expect("parses").validate(2).expect_err("port 3");
    assert!(e.to_string().contains("pipeline.route[2].add"), "{e}");
}
