//! Which member of a next-hop group a packet takes: a hash of its flow, so that every
//! packet of a TCP connection or UDP flow leaves by the same path (no reordering), and
//! different flows spread over the members.
//!
//! The flow is the source and destination address, the upper-layer protocol and, for the
//! protocols that have them, the two ports (Linux's `fib_multipath_hash_policy=1`). The
//! flow label is left out: Linux changes it when a connection times out (to move it off
//! a broken path upstream), which would move it here too. Fragments hash without ports
//! (only the first carries them), so all fragments of a datagram take one path.
//!
//! The hash is a multiply-xor fold (no SipHash: a flow hash that an attacker can aim
//! costs nothing worse than an uneven spread, and it runs per packet), with a fixed seed:
//! relayd's choice never correlates with the upstream's, which seeds its own at random,
//! so one does not polarise the other.
use crate::pipeline::model::tables::{RouteTarget, Tables};
use crate::wire::ports::has_ports;
use crate::wire::{Ipv6Packet, PortsPacket};

const SEED: u64 = 0x243f_6a88_85a3_08d3;
const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

#[inline(always)]
fn mix(h: u64, v: u64) -> u64 {
    (h ^ v).wrapping_mul(MULTIPLIER).rotate_left(29)
}

/// The 32-bit flow hash of the IPv6 packet `ipv6` (from its first byte). A packet whose
/// header does not parse hashes on what there is (its flow is no flow anyway).
#[inline]
pub(crate) fn flow_hash(ipv6: &[u8]) -> u32 {
    let Ok(p) = Ipv6Packet::new_checked(ipv6) else { return 0 };
    let (src, dst) = (u128::from_be_bytes(p.src_bytes()), u128::from_be_bytes(p.dst_bytes()));
    let (proto, ports) = match p.upper_layer() {
        Ok((proto, at)) if has_ports(proto) => {
            let l4 = ipv6.get(at..).and_then(|l4| PortsPacket::new_checked(l4).ok());
            (proto, l4.map_or(0, |l4| u32::from(l4.src_port()) << 16 | u32::from(l4.dst_port())))
        }
        Ok((proto, _)) => (proto, 0),
        Err(_) => (p.next_header(), 0),
    };
    let mut h = SEED;
    for v in [src as u64, (src >> 64) as u64, dst as u64, (dst >> 64) as u64, u64::from(proto) << 32 | u64::from(ports)] {
        h = mix(h, v);
    }
    // The final avalanche of MurmurHash3's fmix64: every input bit reaches the top 32.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h >> 32) as u32
}

/// The route the IPv6 packet `ipv6` takes: its destination's longest match, and for a
/// group the member of the packet's flow (what [`Pipeline::route`](super::Pipeline)
/// chose when it sent the packet).
pub(crate) fn route_of_packet(tables: &Tables, ipv6: &[u8]) -> Option<RouteTarget> {
    let dst = Ipv6Packet::new_checked(ipv6).ok()?.dst_bytes();
    let hop = tables.hop(tables.lookup_one(&dst))?;
    match hop.target {
        RouteTarget::Group { .. } => tables.group_member(hop.group, flow_hash(ipv6)).map(|m| m.target),
        t => Some(t),
    }
}
