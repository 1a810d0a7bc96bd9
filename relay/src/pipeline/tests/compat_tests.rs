//! Spec section 6: IPv4-compatible automatic tunnels (`::a.b.c.d`), off by default; when
//! on, `::/96` destinations go to the embedded address and the RFC 4213 source filter
//! exempts `::V` arriving from V.
use super::pkt::*;
use super::*;

const BASE: &str = wan_lan_box!(r#"
[[neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"

[[neighbour]]
ip = "2001:db8:20::5"
mac = "02:00:00:00:02:05"
"#);

fn compat() -> Lab {
    Lab::new(&format!("{BASE}\n[ipv4_compatible]\nipv4 = \"198.51.100.21\"\n"))
}

fn to_local(src4: &str, inner: &[u8]) -> Vec<u8> {
    eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41(src4, "198.51.100.21"), inner))
}

#[test]
fn off_by_default() {
    let s = Config::from_toml(BASE).unwrap().validate(2).unwrap();
    assert_eq!(s.automatic.ipv4_compatible, None);
    let mut lab = Lab::from_settings(s);
    assert_eq!(lab.tables.lookup("::203.0.113.1".parse().unwrap()), None);
    let e = parse_route("route add ::/96 ipv4-compatible").unwrap().apply(&mut lab.tables).unwrap_err().to_string();
    assert_eq!(e, "the IPv4-compatible tunnel is off ([pipeline.ipv4_compatible])");
    // No route: an ICMPv6 error goes back, nothing enters a tunnel.
    let inner = udp6("2001:db8:20::5", "::203.0.113.1", 64, 100);
    let (v, _) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!((lab.count("drop_no_route"), lab.count("encapsulated")), (1, 0));
}

#[test]
fn into_the_tunnel_exact_bytes() {
    let mut lab = compat();
    assert_eq!(lab.tables.lookup("::203.0.113.1".parse().unwrap()), Some(RouteTarget::Ipv4Compatible));
    let inner = udp6("2001:db8:20::5", "::203.0.113.1", 64, 100);
    let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(0));
    let expect = ipv4(V4::p41("198.51.100.21", "203.0.113.1"), &hop_minus(&inner, 1));
    assert_eq!(out, eth(GW4, PORT0, ET_IPV4, &expect));
    assert_eq!(lab.nonzero(), vec![("rx", 1), ("tx", 1), ("encapsulated", 1), ("encap_ipv4_compatible", 1)]);
}

/// The embedded address must be a global one of another host; `::` and `::1` are never
/// routed at all.
#[test]
fn embedded_address_sanity() {
    let mut lab = compat();
    for (dst, reason) in [
        ("::10.0.0.1", DropReason::Ipv4DstMartian),
        ("::224.0.0.1", DropReason::Ipv4DstMartian),
        ("::198.51.100.255", DropReason::Ipv4DstMartian),
        ("::198.51.100.20", DropReason::EncapDstIsSelf),
        ("::1", DropReason::Ipv6DstInvalid),
    ] {
        let inner = udp6("2001:db8:20::5", dst, 64, 100);
        lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &inner), reason);
    }
}

/// The ::/96 source filter exempts `::V` from V on this tunnel, and only there.
#[test]
fn out_of_the_tunnel_exact_bytes() {
    let mut lab = compat();
    let inner = udp6("::203.0.113.1", "2001:db8:20::5", 64, 100);
    let (v, out) = lab.run(0, &to_local("203.0.113.1", &inner));
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &hop_minus(&inner, 1)));
    assert_eq!(lab.count("decap_ipv4_compatible"), 1);
    // To our own ::V: local.
    let inner = echo6("::203.0.113.1", "::198.51.100.21", 64, 8);
    let frame = to_local("203.0.113.1", &inner);
    assert_eq!(lab.run(0, &frame), (Verdict::Punt, frame.clone()));
}

#[test]
fn receive_check() {
    let mut lab = compat();
    let inner = udp6("::203.0.113.1", "2001:db8:20::5", 64, 100);
    lab.expect_drop(0, &to_local("203.0.113.2", &inner), DropReason::DecapV4CompatSrcMismatch);
    lab.expect_drop(0, &to_local("10.0.0.1", &inner), DropReason::Ipv4SrcMartian);
    // Not an IPv4-compatible source: no mechanism of this address fits.
    let inner = udp6("2001:db8:77::1", "2001:db8:20::5", 64, 100);
    lab.expect_drop(0, &to_local("203.0.113.1", &inner), DropReason::DecapNoMechanism);
    // Loopback, mapped and multicast stay filtered (RFC 4213 3.6).
    for src in ["::1", "::ffff:203.0.113.1", "ff0e::1"] {
        let inner = udp6(src, "2001:db8:20::5", 64, 100);
        lab.expect_drop(0, &to_local("203.0.113.1", &inner), DropReason::DecapInnerSrcInvalid);
    }
    // The exemption is the mechanism's: ::V into a configured tunnel is still filtered.
    parse_update("tunnel set 0 local 198.51.100.20 remote 203.0.113.1").unwrap().apply(&mut lab.tables).unwrap();
    let inner = udp6("::203.0.113.1", "2001:db8:20::5", 64, 100);
    let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("203.0.113.1", "198.51.100.20"), &inner));
    lab.expect_drop(0, &frame, DropReason::DecapInnerSrcInvalid);
}
