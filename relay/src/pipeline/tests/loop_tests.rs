//! Spec section 4: loops between automatic tunnels (RFC 6324 section 3.2.3).
use super::pkt::*;
use super::*;

/// Spec test: native src `2001:db8::200:5efe:<our V>` → dst 2002:… must not be
/// encapsulated; nor any other automatic format embedding one of our IPv4 addresses.
#[test]
fn source_embedding_our_v4_is_not_encapsulated() {
    for src in ["2001:db8::200:5efe:c633:6409", "2001:db8::5efe:c633:6409", "2001:db8:1:2:300:5efe:c633:6409", "2002:c633:6409:1::5"] {
        let mut lab = Lab::relay(false);
        let inner = udp6(src, "2002:cb00:7101::5", 64, 60);
        lab.expect_drop(1, &eth(PORT1, GW6, ET_IPV6, &inner), DropReason::LoopSrcEmbedsOwnV4);
    }
    // Embedding someone else's address is fine.
    let mut lab = Lab::relay(false);
    let inner = udp6("2001:db8::200:5efe:c633:6410", "2002:cb00:7101::5", 64, 60);
    assert_eq!(lab.run(1, &eth(PORT1, GW6, ET_IPV6, &inner)).0, Verdict::Tx(0));
}

/// On-link sources are exempt: the 6to4 site's own hosts embed the router's V.
#[test]
fn on_link_source_embedding_our_v4_is_encapsulated() {
    let mut lab = Lab::router_r();
    let inner = udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 60);
    assert_eq!(lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner)).0, Verdict::Tx(0));
    // The same source arriving on the WAN port is not on-link there.
    lab.expect_drop(0, &eth(PORT0, GW4, ET_IPV6, &inner), DropReason::LoopSrcEmbedsOwnV4);
}

/// A port's own prefix is on-link for sources arriving on that port.
#[test]
fn source_in_the_ingress_port_prefix_is_on_link() {
    let cfg = relay_config(false).replace("[\"2001:db8:ff::9/64\"]", "[\"2001:db8:ff::9/64\", \"2001:db8:5e::1/64\"]");
    let mut lab = Lab::new(&cfg);
    let inner = udp6("2001:db8:5e::200:5efe:c633:6409", "2002:cb00:7101::5", 64, 60);
    assert_eq!(lab.run(1, &eth(PORT1, GW6, ET_IPV6, &inner)).0, Verdict::Tx(0));
}

/// Decapsulation: a destination that is neither ours nor on-link but embeds one of our
/// IPv4 addresses is dropped.
#[test]
fn destination_embedding_our_v4_is_not_decapsulated() {
    for dst in ["2001:db8::200:5efe:c633:6409", "2001:db8::5efe:c633:6409", "2002:c633:6409:1::5"] {
        let mut lab = Lab::relay(false);
        let inner = udp6("2002:cb00:7101::5", dst, 64, 60);
        let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("203.0.113.1", "198.51.100.9"), &inner));
        lab.expect_drop(0, &frame, DropReason::LoopDstEmbedsOwnV4);
    }
}

#[test]
fn embedded_formats() {
    let a = |s: &str| u128::from(s.parse::<std::net::Ipv6Addr>().unwrap());
    let v = u32::from(std::net::Ipv4Addr::new(198, 51, 100, 7));
    assert_eq!(model::addr::embedded_v4s(a("2002:c633:6407::1")), [Some(v), None]);
    assert_eq!(model::addr::embedded_v4s(a("2001:db8::5efe:c633:6407")), [None, Some(v)]);
    assert_eq!(model::addr::embedded_v4s(a("2001:db8::200:5efe:c633:6407")), [None, Some(v)]);
    assert_eq!(model::addr::embedded_v4s(a("2002:c633:6407::200:5efe:c633:6407")), [Some(v), Some(v)]);
    assert_eq!(model::addr::embedded_v4s(a("2001:db8::1:5efe:c633:6407")), [None, None]);
    assert_eq!(model::addr::embedded_v4s(a("2001:db8::1")), [None, None]);
}
