//! Stage 1 of a burst: L2 accept, then classify each packet into a final verdict or a
//! route lookup (native IPv6, or IPv6 just taken out of a tunnel).
use crate::pipeline::mech::TunnelKind;
use crate::pipeline::model::addr::{ALL_NODES, ALL_ROUTERS, is_link_local6, is_martian6, is_multicast6};
use crate::pipeline::model::host::{Host, PortView};
use crate::pipeline::model::tables::Tables;
use crate::pipeline::model::verdict::{DropReason, Verdict};
use crate::wire::bytes::{arr, be16, v4_at, v6_at};
use crate::wire::{ethertype, ip_proto, Ipv4Packet, Ipv6Packet};

use super::decap::Outer;
use super::{PacketBuf, Pipeline};

/// Where the packet in a route lane came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Native IPv6 on the ingress port.
    Native,
    /// Decapsulated; `local` is our address it was sent to.
    Tunnel { local: u32, six_to_four: bool },
    /// Built by us (an ICMPv6 error): no hop limit decrement, no error about it.
    Generated,
}

pub(crate) enum Class {
    Done(Verdict),
    /// The buffer holds exactly one IPv6 packet; look `dst` up.
    Route { origin: Origin, src: [u8; 16], dst: [u8; 16] },
}

use Class::Done;
use DropReason::*;

#[inline(always)]
fn dropped(r: DropReason) -> Class {
    Done(Verdict::Drop(r))
}

/// The L2 header of a frame on `port`: our MAC, broadcast or multicast; the port's VLAN
/// (or none). Returns the EtherType and the header length.
#[inline(always)]
pub(crate) fn l2_accept(port: &PortView, d: &[u8]) -> Result<(u16, usize), DropReason> {
    let eth = arr::<14>(d, 0).ok_or(L2Truncated)?;
    if eth[0] & 0x01 == 0 && eth[..6] != port.mac {
        return Err(L2NotForUs);
    }
    let et = be16([eth[12], eth[13]]);
    if et == ethertype::VLAN {
        let tag = arr::<18>(d, 0).ok_or(L2Truncated)?;
        if port.vlan != Some(be16([tag[14], tag[15]]) & 0x0fff) {
            return Err(VlanMismatch);
        }
        return Ok((be16([tag[16], tag[17]]), 18));
    }
    if port.vlan.is_some() {
        return Err(VlanMismatch);
    }
    Ok((et, 14))
}

/// Local delivery of an IPv6 packet to a unicast address of ours or to a multicast group.
/// Only echo requests, solicitations for our addresses and advertisements go to the slow
/// path.
pub(crate) fn local6(host: &Host, ip: &[u8], dst: u128) -> Verdict {
    local6_on(host, false, ip, dst)
}

/// [`local6`] on a port that sends router advertisements (`sends_ra`): router
/// solicitations are answered there.
pub(crate) fn local6_on(host: &Host, sends_ra: bool, ip: &[u8], dst: u128) -> Verdict {
    let upper = Ipv6Packet::new_checked(ip).ok().and_then(|p| p.upper_layer().ok());
    let icmp_type = match upper {
        Some((ip_proto::ICMPV6, at)) => ip.get(at).copied(),
        _ => None,
    };
    let multicast = is_multicast6(dst);
    match icmp_type {
        Some(135) if !multicast || host.is_our_solicited_node(dst) => Verdict::Punt,
        // Solicited advertisements come to us, unsolicited ones to all-nodes.
        Some(136) if !multicast || dst == ALL_NODES => Verdict::Punt,
        Some(133) if sends_ra && (!multicast || dst == ALL_ROUTERS) => Verdict::Punt,
        Some(128) if !multicast => Verdict::Punt,
        _ if multicast && !host.is_our_group(dst) => Verdict::Drop(MulticastIgnored),
        Some(133..=137) => Verdict::Drop(NdIgnored),
        _ if multicast => Verdict::Drop(MulticastIgnored),
        _ => Verdict::Drop(LocalUnsupported),
    }
}

/// Payload length 0 with a Hop-by-Hop header: an RFC 2675 jumbogram, whose length is in a
/// Jumbo Payload option. No Ethernet link carries one, and without its option the packet is
/// a bare header that claims an extension header it does not hold; the wire views refuse it
/// too ([`Ipv6Packet::check_header`]). Found by the pipeline fuzzer (docs/fuzzing.md).
#[inline]
pub(super) fn is_jumbogram(h: &[u8; 40]) -> bool {
    h[4] == 0 && h[5] == 0 && h[6] == ip_proto::HOP_BY_HOP
}

impl Pipeline {
    #[inline]
    pub(crate) fn classify<B: PacketBuf>(&mut self, tables: &Tables, now: u64, buf: &mut B) -> Class {
        let rx = buf.rx_port();
        let Some(port) = self.host.port(rx) else { return dropped(PortUnconfigured) };
        let (et, l2) = match l2_accept(port, buf.data()) {
            Ok(v) => v,
            Err(r) => return dropped(r),
        };
        match et {
            ethertype::IPV6 => {
                let (sends_ra, kernel) = (port.sends_ra, port.kernel);
                self.classify6(now, buf, l2, sends_ra, kernel)
            }
            ethertype::IPV4 => self.classify4(tables, now, buf, l2),
            // Only what the slow path answers or learns from reaches it.
            ethertype::ARP => match arr::<28>(buf.data(), l2).ok_or(ArpMalformed) {
                Ok(a) => match arp_kind(&self.host, port, a) {
                    Ok(_) => Done(Verdict::Punt),
                    Err(r) => dropped(r),
                },
                Err(r) => dropped(r),
            },
            _ => dropped(UnknownEthertype),
        }
    }

    #[inline]
    fn classify6<B: PacketBuf>(&mut self, now: u64, buf: &mut B, l2: usize, sends_ra: bool, kernel: bool) -> Class {
        let d = buf.data();
        let ip = d.get(l2..).unwrap_or_default();
        let Some(h) = arr::<40>(ip, 0) else { return dropped(Ipv6Malformed) };
        let total = 40 + usize::from(be16([h[4], h[5]]));
        if h[0] >> 4 != 6 || total > ip.len() || is_jumbogram(h) {
            return dropped(Ipv6Malformed);
        }
        let (src, dst) = (v6_at(h, 8), v6_at(h, 24));
        // For the lookup as they are in the header: no byte swap back.
        let (raw_src, raw_dst) = (*arr::<16>(h, 8).unwrap_or(&[0; 16]), *arr::<16>(h, 24).unwrap_or(&[0; 16]));
        // Multicast, `::`, `::1` and link-local are all in `::/16` or `fe80::/9` and up: for
        // transit traffic, two compares stand for the four checks.
        let special = is_martian6(src) || is_martian6(dst);
        if (special && is_multicast6(dst)) || self.host.is_own_v6(dst) {
            return Done(match local6_on(&self.host, sends_ra, ip, dst) {
                Verdict::Drop(LocalUnsupported) if kernel => {
                    let peer = self.host.is_peer6(src);
                    self.to_kernel(now, peer)
                }
                v => v,
            });
        }
        if special {
            if is_multicast6(src) || src <= 1 {
                return dropped(Ipv6SrcInvalid);
            }
            if dst <= 1 {
                return dropped(Ipv6DstInvalid);
            }
            if is_link_local6(src) || is_link_local6(dst) {
                return dropped(Ipv6LinkLocal);
            }
        }
        let pad = ip.len() - total;
        if !buf.trim(pad) || !buf.adj(l2) {
            return dropped(Ipv6Malformed);
        }
        Class::Route { origin: Origin::Native, src: raw_src, dst: raw_dst }
    }

    #[inline]
    fn classify4<B: PacketBuf>(&mut self, tables: &Tables, now: u64, buf: &mut B, l2: usize) -> Class {
        let d = buf.data();
        let Ok(ip) = Ipv4Packet::new_checked(d.get(l2..).unwrap_or_default()) else { return dropped(Ipv4Malformed) };
        if !ip.verify_checksum() {
            return dropped(Ipv4BadChecksum);
        }
        let (ihl, total) = (ip.header_len(), usize::from(ip.total_len()));
        let (src, dst) = (u32::from(ip.src_addr()), u32::from(ip.dst_addr()));
        let (proto, fragment, tos) = (ip.next_header(), ip.is_fragment(), ip.tos());
        if !self.host.is_own_v4(dst) {
            // 6over4 (RFC 2529): IPv6 multicast in the port's 239.192.0.0/16 groups.
            let group = self.auto.sixover4_group(buf.rx_port(), dst).filter(|_| proto == ip_proto::IPV6 && !fragment);
            if let Some(kind) = group {
                return self.decap(buf, Outer { l2, ihl, total, src, dst, tos }, kind);
            }
            if dst >= 0xe000_0000 || self.host.is_broadcast_v4(dst) {
                return dropped(MulticastIgnored);
            }
            return dropped(Ipv4NotForUs);
        }
        match proto {
            ip_proto::IPV6 => {
                // The decapsulation table: configured tunnels by exact ends, then the one
                // automatic mechanism bound to the local address, 6to4 first (RFC 3964
                // 6.1; each kind's checks follow in decap).
                let kind = if let Some(id) = tables.configured_tunnel(dst, src) {
                    TunnelKind::Configured(id)
                } else if self.host.is_endpoint(dst) {
                    if !self.host.martians.v4_ok(src) {
                        return dropped(Ipv4SrcMartian);
                    }
                    TunnelKind::SixToFour
                } else if let Some(kind) = self.auto.bound(dst) {
                    kind
                } else if tables.is_tunnel_local(dst) {
                    return dropped(DecapTunnelSrcMismatch);
                } else {
                    return dropped(DecapNotEndpoint);
                };
                if fragment {
                    return self.reassemble(now, buf, l2, kind);
                }
                self.decap(buf, Outer { l2, ihl, total, src, dst, tos }, kind)
            }
            // Only tunnel datagrams are reassembled here; the kernel reassembles its own.
            _ if fragment => match self.host.port(buf.rx_port()).is_some_and(|p| p.kernel) {
                true => self.local4_other(now, buf.rx_port(), src),
                false => dropped(FragNotTunnel),
            },
            ip_proto::ICMP => match ip.payload().first() {
                Some(8) => Done(Verdict::Punt),
                Some(3 | 11 | 12) => Done(self.icmp4_error(tables, now, buf, l2, ihl, total)),
                _ => self.local4_other(now, buf.rx_port(), src),
            },
            _ => self.local4_other(now, buf.rx_port(), src),
        }
    }

    /// IPv4 for us that relayd does not answer (TCP, UDP, other ICMP): the kernel's, if the
    /// port has a control TAP.
    #[inline]
    fn local4_other(&mut self, now: u64, rx: u16, src: u32) -> Class {
        if self.host.port(rx).is_some_and(|p| p.kernel) {
            let peer = self.host.is_peer4(src);
            Done(self.to_kernel(now, peer))
        } else {
            dropped(LocalUnsupported)
        }
    }
}


/// What an ARP message is to us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArpKind {
    /// A request for an address we answer for on the port.
    Request,
    /// A reply to one of our addresses: the answer to our request or probe.
    Reply,
    /// A gratuitous request or reply (sender and target the same, not ours): news about
    /// a neighbour we may hold (RFC 5227 section 2.3).
    Announcement,
}

/// Sorts an Ethernet/IPv4 ARP message received on `port`: what the slow path answers
/// or learns from, or why it is dropped.
pub(crate) fn arp_kind(host: &Host, port: &PortView, a: &[u8; 28]) -> Result<ArpKind, DropReason> {
    if a[0..6] != [0, 1, 8, 0, 6, 4] {
        return Err(ArpMalformed);
    }
    let (spa, tpa) = (v4_at(a, 14), v4_at(a, 24));
    let ours = host.answers_arp(port, tpa);
    match (a[6], a[7]) {
        (0, 1) if ours => Ok(ArpKind::Request),
        (0, 2) if ours => Ok(ArpKind::Reply),
        (0, 1 | 2) if spa == tpa && port.ipv4.is_some() => Ok(ArpKind::Announcement),
        (0, 1 | 2) => Err(ArpNotForUs),
        _ => Err(ArpNotRequest),
    }
}
