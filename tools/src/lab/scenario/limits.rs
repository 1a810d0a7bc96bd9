//! Scenarios 3 and 4: the tunnel is one IPv6 hop with an MTU of its own.
//!
//! Hop limit: from A, hop 1 is R1 (its site address), hop 2 the relay (its anycast 6to4
//! address, the source of errors about tunnelled packets), hop 3 C; the IPv4 Internet is
//! no IPv6 hop. MTU: a 1500-byte packet from C towards A does not fit R3's 1480-byte tunnel:
//! R3 answers Packet Too Big with 1480, C's kernel learns the path MTU, and packets of
//! that size get through.
use std::net::IpAddr;

use super::super::probe;
use super::super::sh::{self, Result};
use super::super::topology::{sixtofour, RouterId, ANYCAST_V4};
use super::super::Lab;
use super::{counters, settled, Outcome};

pub fn hop_limit(lab: &mut Lab, o: &mut Outcome) -> Result<()> {
    let t = &lab.topology;
    let (a, c) = (t.a(), t.c());
    let r1_site = t.router(RouterId::R1).inner_v6.to_string();
    let relay6 = sixtofour(ANYCAST_V4).to_string();
    let te = "Time exceeded: Hop limit".to_string();

    let r1_before = lab.stats(RouterId::R1)?;
    let p = probe::ping(a.netns, c.addr, 1, &["-t", "1"])?;
    o.eq("ping6 -t 1 A -> C: the error", vec![(r1_site.clone(), te.clone())], p.errors_from());
    let expect1 = [("pipeline.drop_hop_limit_exceeded", 1), ("pipeline.icmp6_time_exceeded", 1)];
    let r1_after = settled(lab, RouterId::R1, &r1_before, &expect1)?;
    counters(o, RouterId::R1, &r1_before, &r1_after, &expect1);

    let r3_before = lab.stats(RouterId::R3)?;
    let p = probe::ping(a.netns, c.addr, 1, &["-t", "2"])?;
    o.eq("ping6 -t 2 A -> C: the error", vec![(relay6.clone(), te)], p.errors_from());
    let r3_after = settled(lab, RouterId::R3, &r3_before, &expect1)?;
    counters(o, RouterId::R3, &r3_before, &r3_after, &expect1);

    let p = probe::ping(a.netns, c.addr, 1, &["-t", "3"])?;
    o.eq("ping6 -t 3 A -> C: replies", 1, p.received);

    match probe::traceroute(a.netns, c.addr, 6)? {
        Some(hops) => {
            let want: Vec<Option<IpAddr>> = vec![r1_site.parse().ok(), relay6.parse().ok(), Some(c.addr)];
            o.eq("traceroute6 A -> C: hops", want, hops);
        }
        None => o.that("traceroute6 A -> C", false, "traceroute6 is not installed (scripts/setup.sh installs it)"),
    }
    Ok(())
}

pub fn mtu(lab: &mut Lab, o: &mut Outcome) -> Result<()> {
    let t = &lab.topology;
    let (a, c) = (t.a(), t.c());
    let tunnel_mtu = 1480u32;
    // Earlier traffic may have taught the hosts the path MTU already.
    for h in [a, c] {
        sh::run(sh::in_ns(Some(h.netns), "ip").args(["-6", "route", "flush", "cache"]))?;
    }
    // C -> A through R3, then A -> C through R1: each tunnel entrance answers for itself.
    for (from, to, id) in [(c, a, RouterId::R3), (a, c, RouterId::R1)] {
        let router = t.router(id);
        let before = lab.stats(id)?;
        // 1452 bytes of ICMPv6 data + 8 + 40 = a 1500-byte packet; DF (IPv6 routers never fragment).
        let p = probe::ping(from.netns, to.addr, 1, &["-s", "1452", "-M", "do"])?;
        o.eq(
            format!("ping6 -s 1452 -M do {} -> {}: the error", from.name, to.name),
            vec![(router.inner_v6.to_string(), format!("Packet too big: mtu={tunnel_mtu}"))],
            p.errors_from(),
        );
        let expect = [("pipeline.drop_mtu_exceeded", 1), ("pipeline.icmp6_packet_too_big", 1)];
        let after = settled(lab, id, &before, &expect)?;
        counters(o, id, &before, &after, &expect);

        let route = sh::run(sh::in_ns(Some(from.netns), "ip").args(["-6", "route", "get"]).arg(to.addr.to_string()))?;
        o.that(
            format!("{}'s route to {} has learned mtu {tunnel_mtu}", from.name, to.name),
            route.contains(&format!("mtu {tunnel_mtu}")),
            route.trim(),
        );
        // The next attempt at the learned size: 1480-byte packets, still DF.
        let p = probe::ping(from.netns, to.addr, 3, &["-s", &(tunnel_mtu - 48).to_string(), "-M", "do"])?;
        o.eq(format!("ping6 -s 1432 -M do {} -> {} (1480-byte packets): replies", from.name, to.name), 3, p.received);
    }
    // The original size now leaves C in fragments that fit, and A's replies too.
    let p = probe::ping(c.netns, a.addr, 3, &["-s", "1452"])?;
    o.eq("ping6 -s 1452 C -> A (fragmented by the hosts): replies", 3, p.received);
    Ok(())
}
