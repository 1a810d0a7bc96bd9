//! Scenario 5: the rogue IPv4 host (198.51.100.66) sends protocol 41 that RFC 3964 section
//! 5 rejects, to R2 and to the relay. Every kind is counted under its own drop reason, no
//! spoofed packet reaches B or C (captured there), and a real ping afterwards proves the
//! captures see what does get through.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::super::probe::{self, Capture, Frame, Spoof, SPOOF_MARKER};
use super::super::sh::Result;
use super::super::topology::{sixtofour, Host, RouterId, ANYCAST_V4, R3_UNICAST, ROGUE_V4, V2};
use super::super::Lab;
use super::{counters, settled, Outcome};

const EACH: u32 = 5;

fn v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V6(a) => a,
        IpAddr::V4(a) => a.to_ipv6_mapped(),
    }
}

/// `2002:V::1`.
fn six(v: Ipv4Addr) -> Ipv6Addr {
    let s = sixtofour(v).segments();
    Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 1)
}

/// Each case and the drop reason it must be counted under.
fn cases(a: Ipv6Addr, b: Ipv6Addr, c: Ipv6Addr) -> Vec<(RouterId, Spoof, &'static str)> {
    let native = Ipv6Addr::new(0x2001, 0xdb8, 0x66, 0, 0, 0, 0, 1);
    let case = |outer, inner| Spoof { outer, inner, count: EACH };
    vec![
        // A 6to4 source whose V is not the sender's IPv4 address (it claims to be site 1).
        (RouterId::R2, case((ROGUE_V4, V2), (a, b)), "decap_src_v4_mismatch"),
        // Martian V embedded in the source: 2002:0a00:0001:: is 10.0.0.1.
        (RouterId::R2, case((ROGUE_V4, V2), (six(Ipv4Addr::new(10, 0, 0, 1)), b)), "ipv6_src_martian"),
        // Native to native has no business in a 6to4 tunnel.
        (RouterId::R2, case((ROGUE_V4, V2), (native, c)), "decap_native_to_native"),
        // A private outer source (forwarded by the Internet, which does no filtering).
        (RouterId::R2, case((Ipv4Addr::new(10, 1, 2, 3), V2), (six(Ipv4Addr::new(10, 1, 2, 3)), b)), "ipv4_src_martian"),
        (RouterId::R3, case((ROGUE_V4, ANYCAST_V4), (a, c)), "decap_src_v4_mismatch"),
        (RouterId::R3, case((ROGUE_V4, R3_UNICAST), (six(Ipv4Addr::new(192, 168, 1, 1)), c)), "ipv6_src_martian"),
        (RouterId::R3, case((ROGUE_V4, ANYCAST_V4), (native, c)), "decap_native_to_native"),
        // The rogue's own 6to4 source, but a destination embedding 127.0.0.1.
        (RouterId::R3, case((ROGUE_V4, ANYCAST_V4), (six(ROGUE_V4), six(Ipv4Addr::new(127, 0, 0, 1)))), "ipv6_dst_martian"),
    ]
}

pub fn spoofing(lab: &mut Lab, o: &mut Outcome) -> Result<()> {
    let t = &lab.topology;
    let (a, b, c) = (t.a(), t.b(), t.c());
    let cases = cases(v6(a.addr), v6(b.addr), v6(c.addr));
    let dir = lab.runtime.dir.clone();
    let cap_b = Capture::start(b.netns, "eth0", "ip6", &dir.join("s5-at-b.pcap"))?;
    let cap_c = Capture::start(c.netns, "eth0", "ip6", &dir.join("s5-at-c.pcap"))?;
    let before = [lab.stats(RouterId::R2)?, lab.stats(RouterId::R3)?];

    let spoofs: Vec<Spoof> = cases.iter().map(|(_, s, _)| s.clone()).collect();
    probe::spoof(&dir, t.rogue.netns, &spoofs)?;

    for (i, id) in [RouterId::R2, RouterId::R3].into_iter().enumerate() {
        let names: Vec<String> = cases.iter().filter(|(r, _, _)| *r == id).map(|(_, _, n)| format!("pipeline.drop_{n}")).collect();
        let mut expect: Vec<(&str, u64)> = names.iter().map(|n| (n.as_str(), u64::from(EACH))).collect();
        let after = settled(lab, id, &before[i], &expect)?;
        // Nothing came out of the tunnel while the rogue was at it.
        expect.push(("pipeline.decapsulated", 0));
        counters(o, id, &before[i], &after, &expect);
    }

    // Real traffic through the same routers, inside the same captures.
    for to in [b, c] {
        let p = probe::ping(a.netns, to.addr, 1, &[])?;
        o.eq(format!("ping6 A -> {} after the spoofing: replies", to.name), 1, p.received);
    }
    for (host, cap) in [(b, cap_b), (c, cap_c)] {
        let seen: Vec<_> = cap.stop()?.iter().filter_map(Frame::decode).collect();
        o.eq(format!("spoofed packets captured at {}", host.name), 0, seen.iter().filter(|s| s.carries(SPOOF_MARKER)).count());
        o.eq(format!("A's echo request captured at {}", host.name), 1, echo_requests_from(&seen, a, host));
    }
    Ok(())
}

fn echo_requests_from(seen: &[probe::Seen], from: &Host, to: &Host) -> usize {
    seen.iter().filter(|s| IpAddr::V6(s.src) == from.addr && IpAddr::V6(s.dst) == to.addr && s.icmp6_type() == Some(128)).count()
}
