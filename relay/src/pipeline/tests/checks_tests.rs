//! Pure address policy: 6to4 prefixes, RFC 4213 filter, IPv4 prefixes.
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::pipeline::model::addr::*;
use super::*;

fn a6(s: &str) -> u128 {
    u128::from(s.parse::<Ipv6Addr>().unwrap())
}

/// Spec 1: 198.51.100.7 → `2002:c633:6407::/48`.
#[test]
fn site_prefix_of_an_ipv4_address() {
    let v = u32::from(Ipv4Addr::new(198, 51, 100, 7));
    assert_eq!(Ipv6Addr::from(sixtofour_addr(v)), "2002:c633:6407::".parse::<Ipv6Addr>().unwrap());
    assert!(is_6to4(a6("2002:c633:6407:1::5")) && !is_6to4(a6("2001:db8::1")) && !is_6to4(a6("2003::")));
    assert_eq!(v4_of_6to4(a6("2002:cb00:7101::5")), u32::from(Ipv4Addr::new(203, 0, 113, 1)));
    assert_eq!(Ipv6Addr::from(sixtofour_addr(u32::from(ANYCAST_V4))), ANYCAST_V6);
}

#[test]
fn rfc4213_source_filter() {
    for bad in ["ff02::1", "ff0e::1", "::1", "::2", "::c633:6407", "::ffff:198.51.100.7", "::ffff:0.0.0.1"] {
        assert!(!rfc4213_src_ok(a6(bad)), "{bad}");
    }
    for ok in ["::", "2001:db8::1", "2002:c633:6407::1", "::1:0:0:1", "fe80::1", "1::"] {
        assert!(rfc4213_src_ok(a6(ok)), "{ok}");
    }
}

#[test]
fn scopes_and_groups() {
    assert!(is_multicast6(a6("ff02::1")) && !is_multicast6(a6("fe80::1")));
    assert!(is_link_local6(a6("fe80::1")) && is_link_local6(a6("febf::1")) && !is_link_local6(a6("fec0::1")));
    assert_eq!(solicited_node(a6("2002:c633:6407:1::abcd:1234")), a6("ff02::1:ffcd:1234"));
}

#[test]
fn ipv4_prefixes() {
    let p: Ipv4Prefix = "198.18.0.0/15".parse().unwrap();
    assert_eq!((p.addr(), p.prefix_len(), p.to_string()), (Ipv4Addr::new(198, 18, 0, 0), 15, "198.18.0.0/15".to_string()));
    assert!(p.contains(u32::from(Ipv4Addr::new(198, 19, 255, 255))) && !p.contains(u32::from(Ipv4Addr::new(198, 20, 0, 0))));
    assert_eq!("198.18.0.0".parse::<Ipv4Prefix>(), Err("\"198.18.0.0\": expected a.b.c.d/len".to_string()));
    assert_eq!("198.18.0.0/33".parse::<Ipv4Prefix>(), Err("prefix length 33 is over 32".to_string()));
    assert_eq!(mask4(0), 0);
    assert_eq!(mask4(32), u32::MAX);
    assert_eq!(mask6(0), 0);
    assert_eq!(mask6(128), u128::MAX);
}

/// Our subnets' broadcast addresses and the operator's prefixes join the deny list.
#[test]
fn deny_list_additions() {
    let extra: Ipv4Prefix = "198.18.0.0/15".parse().unwrap();
    let m = Martians::new(&[extra], &[Ipv4Addr::new(203, 0, 113, 255)]);
    for bad in ["198.18.0.1", "203.0.113.255"] {
        assert!(!m.v4_addr_ok(bad.parse().unwrap()), "{bad}");
    }
    assert!(m.v4_addr_ok("203.0.113.254".parse().unwrap()));
    assert!(!m.v6_addr_ok("2002:c612::1".parse().unwrap()));
    assert!(builtin_v4_ok(Ipv4Addr::new(198, 18, 0, 1)) && !builtin_v4_ok(Ipv4Addr::new(100, 64, 0, 1)));
}
