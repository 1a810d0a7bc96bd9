//! Spec section 5: configured tunnels (RFC 4213) as entries of the same tables.
use super::pkt::*;
use super::*;

pub const CONFIGURED: &str = wan_lan_box!(r#"
[[tunnel]]
id = 0
local = "198.51.100.20"
remote = "203.0.113.50"

[[route]]
add = "2001:db8:50::/48 tunnel 0"

[[neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"

[[neighbour]]
ip = "2001:db8:20::5"
mac = "02:00:00:00:02:05"
"#);

fn from_remote(src4: &str, inner: &[u8]) -> Vec<u8> {
    eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41(src4, "198.51.100.20"), inner))
}

#[test]
fn into_the_configured_tunnel_exact_bytes() {
    let mut lab = Lab::new(CONFIGURED);
    let inner = udp6("2001:db8:20::5", "2001:db8:50::1", 64, 100);
    let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(0));
    let expect = ipv4(V4::p41("198.51.100.20", "203.0.113.50"), &hop_minus(&inner, 1));
    assert_eq!(out, eth(GW4, PORT0, ET_IPV4, &expect));
}

#[test]
fn out_of_the_configured_tunnel_exact_bytes() {
    let mut lab = Lab::new(CONFIGURED);
    let inner = udp6("2001:db8:50::1", "2001:db8:20::5", 64, 100);
    let (v, out) = lab.run(0, &from_remote("203.0.113.50", &inner));
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &hop_minus(&inner, 1)));
}

/// The outer source must be the configured remote; otherwise a silent drop.
#[test]
fn wrong_remote_is_dropped_silently() {
    let mut lab = Lab::new(CONFIGURED);
    let inner = udp6("2001:db8:50::1", "2001:db8:20::5", 1, 100);
    lab.expect_drop(0, &from_remote("203.0.113.51", &inner), DropReason::DecapTunnelSrcMismatch);
    assert_eq!(lab.count("icmp6_time_exceeded") + lab.count("icmp_rate_limited"), 0);
}

/// RFC 4213 3.6: inner sources dropped after decapsulation.
#[test]
fn inner_source_filter() {
    for src in ["ff0e::1", "ff02::1", "::1", "::203.0.113.50", "::c633:6407", "::ffff:203.0.113.50"] {
        let mut lab = Lab::new(CONFIGURED);
        let inner = udp6(src, "2001:db8:20::5", 64, 60);
        lab.expect_drop(0, &from_remote("203.0.113.50", &inner), DropReason::DecapInnerSrcInvalid);
    }
    // The unspecified address is not in the RFC 4213 list but is never forwarded.
    let mut lab = Lab::new(CONFIGURED);
    let inner = udp6("::", "2001:db8:20::5", 64, 60);
    lab.expect_drop(0, &from_remote("203.0.113.50", &inner), DropReason::Ipv6SrcInvalid);
    // The same filter protects 6to4.
    let inner = udp6("::1", "2002:cb00:7101::5", 64, 60);
    let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("198.51.100.7", "203.0.113.1"), &inner));
    Lab::router_w().expect_drop(0, &frame, DropReason::DecapInnerSrcInvalid);
}

#[test]
fn link_local_is_not_forwarded_out_of_a_tunnel() {
    let mut lab = Lab::new(CONFIGURED);
    let inner = udp6("fe80::1", "2001:db8:20::5", 64, 60);
    lab.expect_drop(0, &from_remote("203.0.113.50", &inner), DropReason::Ipv6LinkLocal);
    let inner = udp6("2001:db8:50::1", "fe80::5", 64, 60);
    lab.expect_drop(0, &from_remote("203.0.113.50", &inner), DropReason::Ipv6LinkLocal);
    let inner = udp6("2001:db8:50::1", "ff0e::1", 64, 60);
    lab.expect_drop(0, &from_remote("203.0.113.50", &inner), DropReason::MulticastIgnored);
    // The decap path tests these together with their neighbours (::/16, fe80:: and up):
    // the neighbours are forwarded.
    for src in ["0:1::5", "fec0::1", "2001:db8:50::1"] {
        let inner = udp6(src, "2001:db8:20::5", 64, 60);
        let (v, _) = lab.run(0, &from_remote("203.0.113.50", &inner));
        assert_eq!(v, Verdict::Tx(1), "from {src}");
    }
}

/// The tunnel is one hop: hop limit 1 into it gets Time Exceeded.
#[test]
fn hop_limit_into_the_configured_tunnel() {
    let mut lab = Lab::new(CONFIGURED);
    let inner = udp6("2001:db8:20::5", "2001:db8:50::1", 1, 100);
    let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(1));
    let (h, t, quoted) = parse_icmp6(&out[14..]);
    assert_eq!((h.source, h.destination), (a6("2001:db8:20::1"), a6("2001:db8:20::5")));
    assert_eq!(t, etherparse::Icmpv6Type::TimeExceeded(etherparse::icmpv6::TimeExceededCode::HopLimitExceeded));
    assert_eq!(quoted, inner);
}

/// Errors about packets out of a configured tunnel come from a port address (not 6to4).
#[test]
fn error_source_after_configured_decapsulation() {
    let mut lab = Lab::new(&CONFIGURED.replace("2001:db8:50::/48 tunnel 0", "::/0 tunnel 0"));
    let inner = udp6("2001:db8:50::1", "2001:db8:20::5", 1, 100);
    let (v, out) = lab.run(0, &from_remote("203.0.113.50", &inner));
    assert_eq!(v, Verdict::Tx(0));
    let (h, payload) = parse_ipv4(&out[14..]);
    assert_eq!((h.source, h.destination), (a4("198.51.100.20"), a4("203.0.113.50")));
    let (h6, _, quoted) = parse_icmp6(&payload);
    assert_eq!((h6.source, h6.destination), (a6("2001:db8:20::1"), a6("2001:db8:50::1")));
    assert_eq!(quoted, inner);
}

#[test]
fn tunnel_updates() {
    let mut lab = Lab::new(CONFIGURED);
    let t = &mut lab.tables;
    assert_eq!(t.tunnels(), vec![(0, ConfiguredTunnel::new("198.51.100.20".parse().unwrap(), "203.0.113.50".parse().unwrap()))]);
    let err = |s: &str, t: &mut Tables| parse_update(s).unwrap().apply(t).unwrap_err().to_string();
    assert_eq!(err("tunnel del 0", t), "tunnel 0 is in use by routes");
    assert_eq!(err("tunnel set 1 local 198.51.100.21 remote 203.0.113.9", t), "tunnel local address 198.51.100.21 is not one of ours");
    assert_eq!(err("tunnel set 1 local 198.51.100.20 remote 198.51.100.20", t), "tunnel remote address 198.51.100.20 is not another host's unicast address");
    assert_eq!(err("tunnel set 1 local 198.51.100.20 remote 203.0.113.50", t), "tunnel 0 already joins 198.51.100.20 and 203.0.113.50");
    assert_eq!(err("route add 2001:db8:60::/48 tunnel 1", t), "no tunnel 1");
    assert_eq!(err("tunnel del 3", t), "no tunnel 3");
    // Moving the tunnel's remote takes effect for routes already using it.
    parse_update("tunnel set 0 local 198.51.100.20 remote 203.0.113.60").unwrap().apply(t).unwrap();
    let inner = udp6("2001:db8:20::5", "2001:db8:50::1", 64, 100);
    let (_, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    assert_eq!(parse_ipv4(&out[14..]).0.destination, a4("203.0.113.60"));
    parse_update("route del 2001:db8:50::/48").unwrap().apply(&mut lab.tables).unwrap();
    parse_update("tunnel del 0").unwrap().apply(&mut lab.tables).unwrap();
    assert!(lab.tables.tunnels().is_empty());
}
