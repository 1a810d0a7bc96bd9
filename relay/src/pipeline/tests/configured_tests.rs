//! Spec section 5 per configured tunnel: each tunnel's own MTU (and DF), TTL, DSCP and
//! name; ICMPv4 errors about its packets; its text form; and tunnels added and removed
//! between bursts with traffic flowing and nothing unaccounted.
use etherparse::{Icmpv6Type, PacketBuilder};

use super::pkt::*;
use super::tunnel_tests::CONFIGURED;
use super::*;

fn apply(lab: &mut Lab, text: &str) {
    parse_update(text).unwrap().apply(&mut lab.tables).unwrap_or_else(|e| panic!("{text}: {e}"));
}

fn lan(dst: &str, len: usize) -> (Vec<u8>, Vec<u8>) {
    let inner = udp6("2001:db8:20::5", dst, 64, len);
    (eth(PORT1, HOST, ET_IPV6, &inner), inner)
}

/// The tunnel's MTU bounds what enters it (Packet Too Big carries it); DF is clear at
/// 1280 and set above; other tunnels keep the pipeline's 1480.
#[test]
fn mtu_and_df_per_tunnel() {
    let mut lab = Lab::new(CONFIGURED);
    apply(&mut lab, "tunnel set 0 local 198.51.100.20 remote 203.0.113.50 mtu 1400");
    apply(&mut lab, "tunnel set 1 local 198.51.100.20 remote 203.0.113.51 mtu 1280");
    apply(&mut lab, "tunnel set 2 local 198.51.100.20 remote 203.0.113.52");
    apply(&mut lab, "route add 2001:db8:51::/48 tunnel 1");
    apply(&mut lab, "route add 2001:db8:52::/48 tunnel 2");
    let (frame, inner) = lan("2001:db8:50::1", 1400);
    let (v, out) = lab.run(1, &frame);
    assert_eq!(v, Verdict::Tx(0));
    assert_eq!(out[14..], ipv4(V4::p41("198.51.100.20", "203.0.113.50"), &hop_minus(&inner, 1))[..]);
    let (frame, inner) = lan("2001:db8:50::1", 1401);
    let (v, out) = lab.run(1, &frame);
    assert_eq!(v, Verdict::Tx(1));
    let mut expect = Vec::new();
    PacketBuilder::ipv6(a6("2001:db8:20::1"), a6("2001:db8:20::5"), 64)
        .icmpv6(Icmpv6Type::PacketTooBig { mtu: 1400 })
        .write(&mut expect, &inner[..1280 - 48])
        .unwrap();
    assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &expect));
    let (frame, inner) = lan("2001:db8:51::1", 1280);
    let (_, out) = lab.run(1, &frame);
    assert_eq!(out[14..], ipv4(V4 { id: 2, df: false, ..V4::p41("198.51.100.20", "203.0.113.51") }, &hop_minus(&inner, 1))[..]);
    assert_eq!(parse_icmp6(&lab.run(1, &lan("2001:db8:51::1", 1281).0).1[14..]).1, Icmpv6Type::PacketTooBig { mtu: 1280 });
    let (frame, inner) = lan("2001:db8:52::1", 1480);
    let (_, out) = lab.run(1, &frame);
    assert_eq!(out[14..], ipv4(V4 { id: 3, ..V4::p41("198.51.100.20", "203.0.113.52") }, &hop_minus(&inner, 1))[..]);
}

#[test]
fn ttl_and_dscp_per_tunnel() {
    let mut lab = Lab::new(&format!("outer_ttl = 100\ndscp = 8\n{CONFIGURED}"));
    apply(&mut lab, "tunnel set 1 local 198.51.100.20 remote 203.0.113.51 ttl 5 dscp copy");
    apply(&mut lab, "tunnel set 2 local 198.51.100.20 remote 203.0.113.52 dscp 46");
    apply(&mut lab, "route add 2001:db8:51::/48 tunnel 1");
    apply(&mut lab, "route add 2001:db8:52::/48 tunnel 2");
    for (id, dst, remote, ttl, tos) in [
        (1, "2001:db8:50::1", "203.0.113.50", 100, (8 << 2) | 2),
        (2, "2001:db8:51::1", "203.0.113.51", 5, 0x2a),
        (3, "2001:db8:52::1", "203.0.113.52", 100, (46 << 2) | 2),
    ] {
        let inner = with_tclass(udp6("2001:db8:20::5", dst, 64, 100), 0x2a);
        let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
        assert_eq!(v, Verdict::Tx(0));
        let expect = ipv4(V4 { id, ttl, tos, ..V4::p41("198.51.100.20", remote) }, &hop_minus(&inner, 1));
        assert_eq!(out, eth(GW4, PORT0, ET_IPV4, &expect), "{dst}");
        let h = parse_ipv4(&out[14..]).0;
        assert_eq!((h.time_to_live, h.dscp.value(), h.ecn.value()), (ttl, tos >> 2, 2));
    }
}

/// RFC 4213 3.4: an ICMPv4 error quoting a configured tunnel's packet reaches the inner
/// source as ICMPv6, Packet Too Big bounded by that tunnel's MTU.
#[test]
fn icmpv4_errors_about_configured_tunnel_packets() {
    let mut lab = Lab::new(CONFIGURED);
    apply(&mut lab, "tunnel set 0 local 198.51.100.20 remote 203.0.113.50 mtu 1300");
    let inner = udp6("2001:db8:20::5", "2001:db8:50::1", 64, 1300);
    let quote = ipv4(V4::p41("198.51.100.20", "203.0.113.50"), &hop_minus(&inner, 1));
    let quote = &quote[..20 + 40 + 8];
    let frame = eth(PORT0, GW4, ET_IPV4, &icmp4("192.0.2.1", "198.51.100.20", 3, 4, [0, 0, 0x05, 0xdc], quote));
    let (v, out) = lab.run(0, &frame);
    assert_eq!(v, Verdict::Tx(1));
    let mut expect = Vec::new();
    PacketBuilder::ipv6(a6("2001:db8:20::1"), a6("2001:db8:20::5"), 64)
        .icmpv6(Icmpv6Type::PacketTooBig { mtu: 1300 })
        .write(&mut expect, &hop_minus(&inner, 1)[..48])
        .unwrap();
    assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &expect));
    assert_eq!((lab.count("icmp4_translated"), lab.count("pmtu_learned")), (1, 1));
    // A quote of a packet we did not send from one of our addresses is not ours.
    let quote = ipv4(V4::p41("198.51.100.99", "203.0.113.50"), &hop_minus(&inner, 1));
    let frame = eth(PORT0, GW4, ET_IPV4, &icmp4("192.0.2.1", "198.51.100.20", 11, 0, [0; 4], &quote[..68]));
    lab.expect_drop(0, &frame, DropReason::Icmp4NotOurs);
}

#[test]
fn text_form() {
    let t = |s: &str| parse_tunnel(s);
    let full = "tunnel set 3 local 198.51.100.20 remote 203.0.113.53 name to-c mtu 1400 ttl 9 dscp 0";
    let u = t(full).unwrap();
    assert_eq!(u.to_string(), full);
    let TableUpdate::TunnelSet { id: 3, tunnel } = u else { panic!("{u:?}") };
    assert_eq!((tunnel.name.map(|n| n.to_string()), tunnel.mtu, tunnel.ttl, tunnel.dscp), (Some("to-c".into()), Some(1400), Some(9), Some(DscpPolicy::Fixed(0))));
    // Options in any order, each once.
    let u = t("tunnel set 3 dscp copy remote 203.0.113.53 local 198.51.100.20").unwrap();
    assert_eq!(u.to_string(), "tunnel set 3 local 198.51.100.20 remote 203.0.113.53 dscp copy");
    for (text, err) in [
        ("tunnel set 3 local 198.51.100.20", "expected `remote IPV4`"),
        ("tunnel set 3 remote 203.0.113.53", "expected `local IPV4`"),
        ("tunnel set 3 local 198.51.100.20 local 198.51.100.21 remote 203.0.113.53", "`local` given twice"),
        ("tunnel set 3 local 198.51.100.20 remote 203.0.113.53 hops 3", "unexpected \"hops\": expected `local`, `remote`, `name`, `mtu`, `ttl` or `dscp`"),
        ("tunnel set 3 local 198.51.100.20 remote 203.0.113.53 mtu 1481", "1481: the tunnel MTU must be 1280..=1480"),
        ("tunnel set 3 local 198.51.100.20 remote 203.0.113.53 mtu", "`mtu` needs a number"),
        ("tunnel set 3 local 198.51.100.20 remote 203.0.113.53 ttl 0", "0: the outer TTL must be 1..=255"),
        ("tunnel set 3 local 198.51.100.20 remote 203.0.113.53 ttl 256", "the outer TTL must be 1..=255"),
        ("tunnel set 3 local 198.51.100.20 remote 203.0.113.53 dscp 64", "64: a DSCP value is 0..=63"),
        ("tunnel set 3 local 198.51.100.20 remote 203.0.113.53 dscp ef", "\"ef\": not a dscp number"),
        ("tunnel set 3 local 198.51.100.20 remote 203.0.113.53 name", "`name` needs a name"),
        ("tunnel set 3 local 198.51.100.20 remote 203.0.113.53 name a/b", "tunnel name \"a/b\" may hold only letters, digits, '-', '_' and '.'"),
        ("tunnel set 3 local 198.51.100.20 remote nowhere", "\"nowhere\": not an IPv4 address"),
        ("tunnel del 3 now", "unexpected \"now\" at the end"),
    ] {
        assert_eq!(t(text).map_err(|e| e.to_string()), Err(err.to_string()), "{text}");
    }
}

#[test]
fn names_are_unique_and_listed() {
    let mut lab = Lab::new(CONFIGURED);
    apply(&mut lab, "tunnel set 0 local 198.51.100.20 remote 203.0.113.50 name to-b");
    let e = parse_update("tunnel set 1 local 198.51.100.20 remote 203.0.113.51 name to-b").unwrap().apply(&mut lab.tables).unwrap_err().to_string();
    assert_eq!(e, "tunnel 0 is already named to-b");
    apply(&mut lab, "tunnel set 1 local 198.51.100.20 remote 203.0.113.51 name to-c ttl 7");
    // Renaming a tunnel to its own name is no conflict.
    apply(&mut lab, "tunnel set 0 local 198.51.100.20 remote 203.0.113.50 name to-b mtu 1300");
    assert_eq!(
        lab.tables.tunnels_text(),
        "0 local 198.51.100.20 remote 203.0.113.50 name to-b mtu 1300\n1 local 198.51.100.20 remote 203.0.113.51 name to-c ttl 7\n"
    );
}

/// Tunnels come and go between bursts while packets flow: tunnel 0's traffic never
/// notices, tunnel 1's goes into it exactly while its route exists, and every packet is
/// counted once (rx = tx + dropped + punted).
#[test]
fn added_and_removed_between_bursts_with_nothing_unaccounted() {
    let mut lab = Lab::new(CONFIGURED);
    let (steady, _) = lan("2001:db8:50::1", 100);
    let (churned, _) = lan("2001:db8:51::1", 100);
    let (mut present, mut absent) = (0u64, 0u64);
    for round in 0..200u64 {
        let up = round % 2 == 0;
        if up {
            let remote = format!("203.0.113.{}", 51 + round % 4);
            apply(&mut lab, &format!("tunnel set 1 local 198.51.100.20 remote {remote} name churn"));
            apply(&mut lab, "route add 2001:db8:51::/48 tunnel 1");
        }
        let mut bufs: Vec<TestBuf> = (0..16).map(|i| TestBuf::new(1, if i % 2 == 0 { &steady } else { &churned })).collect();
        let mut verdicts = vec![Verdict::Punt; bufs.len()];
        lab.pipe.process_burst(&lab.tables, round * 1_000_000, &mut bufs, &mut verdicts);
        for (i, (v, b)) in verdicts.iter().zip(&bufs).enumerate() {
            if i % 2 == 0 {
                assert_eq!(*v, Verdict::Tx(0), "round {round}");
                assert_eq!(parse_ipv4(&b.to_vec()[14..]).0.destination, a4("203.0.113.50"));
            } else if up {
                assert_eq!(*v, Verdict::Tx(0), "round {round}");
                assert_eq!(parse_ipv4(&b.to_vec()[14..]).0.destination, a4(&format!("203.0.113.{}", 51 + round % 4)));
                present += 1;
            } else {
                // No route: an ICMPv6 error back to the host, or a counted drop when the
                // error is rate-limited.
                assert!(matches!(*v, Verdict::Tx(1) | Verdict::Drop(DropReason::NoRoute)), "round {round}: {v:?}");
                absent += 1;
            }
        }
        if up {
            apply(&mut lab, "route del 2001:db8:51::/48");
            apply(&mut lab, "tunnel del 1");
            assert_eq!(lab.tables.tunnels().len(), 1);
        }
    }
    let c = |n: &str| lab.count(n);
    assert_eq!((present, absent), (800, 800));
    assert_eq!(c("rx"), 3200);
    assert_eq!(c("rx"), c("tx") + c("dropped") + c("punted"), "{:?}", lab.nonzero());
    assert_eq!((c("encap_configured"), c("drop_no_route")), (1600 + present, absent));
    assert_eq!(c("icmp6_dest_unreachable") + c("icmp_rate_limited"), absent);
    assert_eq!(c("dropped"), c("icmp_rate_limited"));
}
