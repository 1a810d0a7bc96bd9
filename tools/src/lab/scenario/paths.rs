//! Scenarios 1 and 2: the seed's two paths. Pings both ways with the tunnel packets
//! captured on the IPv4 segments (outer and inner addresses checked), then 10 MiB over TCP
//! both ways with SHA-256 compared end to end.
use std::net::{IpAddr, Ipv4Addr};

use super::super::probe::{self, Capture, Direction, Frame, Seen};
use super::super::sh::Result;
use super::super::topology::{Host, RouterId, ANYCAST_V4, NS_INET};
use super::super::Lab;
use super::{counters, settled, Outcome};

/// At least 10 MB each way, as the issue asks.
pub const TRANSFER_BYTES: u64 = 10 * 1024 * 1024;
pub(super) const PINGS: u32 = 5;
const ECHO_REQUEST: u8 = 128;

pub fn site_to_site(lab: &mut Lab, o: &mut Outcome) -> Result<()> {
    let t = &lab.topology;
    let (a, b) = (t.a(), t.b());
    let (v1, v2) = (t.router(RouterId::R1).wan_v4, t.router(RouterId::R2).wan_v4);
    let seg = t.router(RouterId::R1).wan.bridge;
    tunnelled_pings(lab, o, a, b, seg, (v1, v2), "s1-a-to-b.pcap")?;
    let p = probe::ping(b.netns, a.addr, PINGS, &[])?;
    o.eq("ping6 B -> A: replies", PINGS, p.received);
    tcp_both_ways(lab, o, a, b, 5001)
}

pub fn site_to_native(lab: &mut Lab, o: &mut Outcome) -> Result<()> {
    let t = &lab.topology;
    let (a, c) = (t.a(), t.c());
    let v1 = t.router(RouterId::R1).wan_v4;
    let (seg1, seg2) = (t.router(RouterId::R1).wan.bridge, t.router(RouterId::R3).wan.bridge);

    // A -> C: R1 tunnels to the relay's anycast address; R3 takes it out to the native side.
    let r3_before = lab.stats(RouterId::R3)?;
    tunnelled_pings(lab, o, a, c, seg1, (v1, ANYCAST_V4), "s2-a-to-c.pcap")?;
    let expect = [("pipeline.decapsulated", u64::from(PINGS)), ("pipeline.encapsulated", u64::from(PINGS))];
    let r3_after = settled(lab, RouterId::R3, &r3_before, &expect)?;
    counters(o, RouterId::R3, &r3_before, &r3_after, &expect);

    // C -> A: R3 tunnels to V1, from the anycast address (RFC 3068 with anycast on).
    tunnelled_pings(lab, o, c, a, seg2, (ANYCAST_V4, v1), "s2-c-to-a.pcap")?;
    tcp_both_ways(lab, o, a, c, 5002)
}

/// `from` pings `to` while `segment` (in the Internet namespace) is captured for protocol
/// 41 between `outer`: every request must be seen there, inside the expected outer header.
pub(super) fn tunnelled_pings(lab: &Lab, o: &mut Outcome, from: &Host, to: &Host, segment: &str, outer: (Ipv4Addr, Ipv4Addr), file: &str) -> Result<()> {
    let filter = format!("ip proto 41 and src host {} and dst host {}", outer.0, outer.1);
    let cap = Capture::start(NS_INET, segment, &filter, &lab.runtime.dir.join(file))?;
    let p = probe::ping(from.netns, to.addr, PINGS, &[])?;
    o.eq(format!("ping6 {} -> {}: replies", from.name, to.name), PINGS, p.received);
    let frames = cap.stop()?;
    let seen: Vec<Seen> = frames.iter().filter_map(Frame::decode).collect();
    o.eq(format!("{segment}: protocol-41 frames {} -> {}", outer.0, outer.1), PINGS as usize, frames.len());
    let requests = seen
        .iter()
        .filter(|s| s.outer == Some(outer) && IpAddr::V6(s.src) == from.addr && IpAddr::V6(s.dst) == to.addr)
        .filter(|s| s.icmp6_type() == Some(ECHO_REQUEST))
        .count();
    o.eq(format!("{segment}: of them, echo requests {} -> {} inside", from.name, to.name), PINGS as usize, requests);
    Ok(())
}

/// 10 MiB from `x` to `y`, then from `y` to `x` (`y` listens).
fn tcp_both_ways(lab: &Lab, o: &mut Outcome, x: &Host, y: &Host, port: u16) -> Result<()> {
    for (direction, label) in [(Direction::ClientToServer, format!("{} -> {}", x.name, y.name)), (Direction::ServerToClient, format!("{} -> {}", y.name, x.name))] {
        let t = probe::tcp_transfer(&lab.runtime.dir, y.netns, y.addr, x.netns, direction, TRANSFER_BYTES, port)?;
        o.eq(format!("TCP {label}: bytes sent"), TRANSFER_BYTES, t.sent.0);
        o.eq(format!("TCP {label}: bytes received"), TRANSFER_BYTES, t.received.0);
        o.eq(format!("TCP {label}: SHA-256 received = sent"), t.sent.1, t.received.1);
    }
    Ok(())
}
