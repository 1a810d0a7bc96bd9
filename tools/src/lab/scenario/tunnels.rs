//! Scenarios 7 and 8: the lab's other tunnels to the relay. D's site router R4 reaches R3
//! over a configured tunnel (RFC 4213); the 6rd CE R5 reaches R3 as its border relay
//! (RFC 5969). Pings both ways with the tunnel packets captured on the IPv4 segments, R3's
//! per-mechanism counters, and protocol 41 from the rogue host into each tunnel dropped
//! under its reason.
use std::net::{IpAddr, Ipv6Addr};

use super::super::probe::{self, Spoof};
use super::super::sh::Result;
use super::super::topology::{Host, RouterId, BR_V4, CE_V4, R3_UNICAST, R4_V4, ROGUE_V4};
use super::super::Lab;
use super::paths::{tunnelled_pings, PINGS};
use super::{counters, delta, settled, Outcome};

const SPOOFED: u32 = 5;

fn v6(h: &Host) -> Ipv6Addr {
    match h.addr {
        IpAddr::V6(a) => a,
        IpAddr::V4(a) => a.to_ipv6_mapped(),
    }
}

pub fn configured(lab: &mut Lab, o: &mut Outcome) -> Result<()> {
    let t = &lab.topology;
    let (c, d) = (t.c(), t.d());
    let (wan3, wan2) = (t.router(RouterId::R4).wan.bridge, t.router(RouterId::R3).wan.bridge);
    let n = u64::from(PINGS);

    // D -> C: R4 tunnels to R3's unicast address, R3 takes it out and tunnels the replies back.
    let before = lab.stats(RouterId::R3)?;
    tunnelled_pings(lab, o, d, c, wan3, (R4_V4, R3_UNICAST), "s7-d-to-c.pcap")?;
    let expect = [("pipeline.decap_configured", n), ("pipeline.encap_configured", n), ("pipeline.decapsulated", n), ("pipeline.encapsulated", n)];
    let after = settled(lab, RouterId::R3, &before, &expect)?;
    counters(o, RouterId::R3, &before, &after, &expect);

    // C -> D: from R3's end of the tunnel.
    tunnelled_pings(lab, o, c, d, wan2, (R3_UNICAST, R4_V4), "s7-c-to-d.pcap")?;

    // R4's end takes protocol 41 from R3 only (the rogue claims R3's tunnel to D).
    let spoof = Spoof { outer: (ROGUE_V4, R4_V4), inner: (v6(c), v6(d)), count: SPOOFED };
    spoofed(lab, o, RouterId::R4, &[spoof], "pipeline.drop_decap_tunnel_src_mismatch", "pipeline.decapsulated")
}

pub fn sixrd(lab: &mut Lab, o: &mut Outcome) -> Result<()> {
    let t = &lab.topology;
    let (c, e) = (t.c(), t.e());
    let (wan3, wan2) = (t.router(RouterId::R5).wan.bridge, t.router(RouterId::R3).wan.bridge);
    let n = u64::from(PINGS);

    // E -> C: the CE sends everything to the BR; the BR checks that E's address embeds the
    // CE's, and sends the replies to the CE address it derives from E's.
    let before = lab.stats(RouterId::R3)?;
    tunnelled_pings(lab, o, e, c, wan3, (CE_V4, BR_V4), "s8-e-to-c.pcap")?;
    let expect = [("pipeline.decap_6rd", n), ("pipeline.encap_6rd", n), ("pipeline.decapsulated", n), ("pipeline.encapsulated", n)];
    let after = settled(lab, RouterId::R3, &before, &expect)?;
    counters(o, RouterId::R3, &before, &after, &expect);

    // C -> E: the BR tunnels from its own address to the CE's.
    tunnelled_pings(lab, o, c, e, wan2, (BR_V4, CE_V4), "s8-c-to-e.pcap")?;

    // The rogue (198.51.100.66) sends from E's prefix, which embeds 192.0.2.50.
    let spoof = Spoof { outer: (ROGUE_V4, BR_V4), inner: (v6(e), v6(c)), count: SPOOFED };
    spoofed(lab, o, RouterId::R3, &[spoof], "pipeline.drop_decap_6rd_src_mismatch", "pipeline.decap_6rd")
}

/// The rogue host sends `spoofs`: `id` counts each under `reason` and takes none of them
/// out of the tunnel (`taken_out` +0). The checks are named `rogue: <id> <counter> +`.
fn spoofed(lab: &Lab, o: &mut Outcome, id: RouterId, spoofs: &[Spoof], reason: &str, taken_out: &str) -> Result<()> {
    let before = lab.stats(id)?;
    probe::spoof(&lab.runtime.dir, lab.topology.rogue.netns, spoofs)?;
    let sent: u64 = spoofs.iter().map(|s| u64::from(s.count)).sum();
    let after = settled(lab, id, &before, &[(reason, sent)])?;
    for (name, n) in [(reason, sent), (taken_out, 0)] {
        o.eq(format!("rogue: {id} {name} +"), n, delta(&before, &after, name));
    }
    Ok(())
}
