//! 6over4 neighbours on the slow path (RFC 2529 section 5, RFC 4861 section 7): a packet
//! to an address of the link whose interface identifier is not `::V` waits here while a
//! solicitation goes to the target's solicited-node group (IPv4 group 239.192.x.y);
//! the advertisement's target link-layer option gives the target's IPv4 address V. The
//! neighbour state machine keeps it like any other neighbour — link-layer address
//! `0:0:V`, probed by unicast solicitations over IPv4, deleted when silent — and the
//! workers' neighbour table holds it, which is where their 6over4 encapsulation reads V.
use std::net::IpAddr;

use crate::pipeline::fast::encap::{self, OuterHeader};
use crate::pipeline::fast::forward::awaiting_mac;
use crate::pipeline::fast::l2;
use crate::pipeline::mech::AWAITING_V4;
use crate::pipeline::model::addr::mask6;
use crate::pipeline::model::counters::Event;
use crate::pipeline::model::PacketBuf;
use crate::pipeline::model::settings::DscpPolicy;
use crate::pipeline::model::verdict::DropReason;
use crate::wire::bytes::{arr, arr_mut, v4_at, v6_at};
use crate::wire::checksum::{fold, sum};
use crate::wire::{ethertype, ip_proto};

use super::sixover4_wrap::sixover4_multicast;
use super::{SlowIo, SlowPath};
use super::tunnel_nd;

impl<B: PacketBuf> SlowPath<B> {
    /// The 6over4 link on `port`, if `a` is in its prefixes: a neighbour resolved over it.
    pub(super) fn sixover4_neighbour(&self, port: u16, a: u128) -> Option<u8> {
        self.auto.sixover4_link(port).filter(|&i| self.auto.in_sixover4_prefix(i, a))
    }

    /// The L2 header length of frames on `port`.
    fn l2_len(&self, port: u16) -> Option<usize> {
        let view = self.host.port(port)?;
        Some(if view.vlan.is_some() { 18 } else { 14 })
    }

    /// A frame the workers built for the 6over4 link of `port` without its outer
    /// destination ([`AWAITING_V4`]).
    pub(super) fn is_sixover4_waiting(&self, port: u16, frame: &[u8]) -> bool {
        let Some(l2) = self.l2_len(port) else { return false };
        self.auto.sixover4_link(port).is_some()
            && arr::<20>(frame, l2).is_some_and(|h| h[9] == ip_proto::IPV6 && v4_at(h, 16) == AWAITING_V4)
    }

    /// The next hop of such a frame: its inner destination, if still on the link.
    pub(super) fn sixover4_next_hop(&self, port: u16, frame: &[u8], l2: usize) -> Option<IpAddr> {
        let h = arr::<20>(frame, l2).filter(|h| h[9] == ip_proto::IPV6)?;
        let ihl = usize::from(h[0] & 0x0f) * 4;
        let dst = v6_at(arr::<40>(frame, l2 + ihl)?, 24);
        self.sixover4_neighbour(port, dst).map(|_| IpAddr::V6(dst.into()))
    }

    /// A solicitation for `target` on 6over4 link `link` from our address in its /64:
    /// to its solicited-node group, or a probe unicast to the V we hold (`to`: `0:0:V`)
    /// when that V's IPv4 next hop is known.
    pub(super) fn sixover4_solicit(&mut self, port: u16, link: u8, target: u128, to: Option<[u8; 6]>, io: &mut impl SlowIo<B>) {
        let (Some(view), Some(ours)) = (self.host.port(port), self.auto.sixover4_v4(link)) else { return };
        let view = view.clone();
        let unicast = to.and_then(|[_, _, a, b, c, d]| {
            let v = u32::from_be_bytes([a, b, c, d]);
            match io.tables().v4_route(v) {
                Ok((p, Some(&mac))) if p == port => Some((v, mac)),
                _ => None,
            }
        });
        let src = (target & mask6(64)) | u128::from(ours);
        let packet = tunnel_nd::solicit(src, target, ours, unicast.is_some());
        let Some(mut buf) = io.frame(&packet) else {
            return self.counters.count_drop(DropReason::SlowTxFailed);
        };
        let ttl = self.auto.sixover4_ttl(link).unwrap_or(self.host.outer_ttl);
        let wrapped = match unicast {
            Some((v, mac)) => {
                let outer = OuterHeader { src: ours, dst: v, ttl, df: false, dscp: DscpPolicy::Copy };
                if encap::push(&mut buf, &outer, 0) && l2::push(&mut buf, &view, &mac, ethertype::IPV4) {
                    Ok(())
                } else {
                    Err(DropReason::NoHeadroom)
                }
            }
            None => sixover4_multicast(&mut buf, &view, ttl, 0),
        };
        match wrapped {
            Ok(()) => {
                self.counters.count(Event::NdSolicits6over4);
                self.send(port, buf, io);
            }
            Err(r) => self.counters.count_drop(r),
        }
    }

    /// A waiting frame whose next hop resolved to `lla` (`0:0:V`): the outer destination
    /// becomes V, then it leaves towards V's IPv4 next hop, or waits for that one's MAC.
    pub(super) fn sixover4_release(&mut self, port: u16, lla: [u8; 6], mut packet: B, io: &mut impl SlowIo<B>) {
        let [0, 0, a, b, c, d] = lla else {
            return self.counters.count_drop(DropReason::NeighbourBogus);
        };
        let v = u32::from_be_bytes([a, b, c, d]);
        let Some(l2) = self.l2_len(port) else {
            return self.counters.count_drop(DropReason::PortUnconfigured);
        };
        let ip = packet.data_mut().get_mut(l2..).unwrap_or_default();
        let ihl = ip.first().map_or(0, |b| usize::from(b & 0x0f) * 4);
        if let Some(h) = arr_mut::<20>(ip, 0) {
            h[16..20].copy_from_slice(&v.to_be_bytes());
            h[10..12].copy_from_slice(&[0, 0]);
        }
        let csum = !fold(sum(ip.get(..ihl).unwrap_or_default()));
        if let Some(c) = arr_mut::<2>(ip, 10) {
            *c = csum.to_be_bytes();
        }
        match io.tables().v4_route(v) {
            Ok((p, Some(&mac))) if p == port => {
                if let Some(dst) = packet.data_mut().get_mut(..6) {
                    dst.copy_from_slice(&mac);
                }
                self.counters.count(Event::NeighReleased);
                self.send(port, packet, io);
            }
            Ok((p, None)) if p == port => {
                if let Some(dst) = packet.data_mut().get_mut(..6) {
                    dst.copy_from_slice(&awaiting_mac(port));
                }
                let now = self.now;
                self.wait(now, port, packet, io);
            }
            _ => self.counters.count_drop(DropReason::NeighbourRouteChanged),
        }
    }
}
