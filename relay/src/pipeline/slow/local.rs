//! The slow path for punted frames: what the router answers for itself (spec section
//! 11). Each function rewrites the request in place into the reply and returns the
//! verdict: ARP reply for our IPv4 addresses (the anycast one too when on), neighbour
//! advertisement for our IPv6 addresses, ICMPv4 and ICMPv6 echo replies — the latter
//! also encapsulated, when the request came through a 6to4 tunnel (RFC 6343 section 4.4).
//! Replies go back where the request came from (port and MAC). Anything else is dropped
//! with its own reason.
use DropReason::*;

use crate::pipeline::fast::l2::reflect;
use crate::pipeline::fast::l2_accept;
use crate::pipeline::mech::Automatic;
use crate::pipeline::model::addr::{ALL_NODES, is_multicast6, solicited_node};
use crate::pipeline::model::counters::Event;
use crate::pipeline::model::grow_tail;
use crate::pipeline::model::host::{Host, PortView};
use crate::pipeline::model::verdict::{DropReason, Verdict};
use crate::wire::bytes::{arr, arr_mut, be16, v4_at, v6_at};
use crate::wire::checksum::{fold, pseudo_header_v6, sum, update16};
use crate::wire::{ethertype, ip_proto};

use super::neigh::nd_message;
use super::PacketBuf;
use super::tunnelled;
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];

/// Answers whatever `buf` asks of us (through 6to4, not the other automatic mechanisms:
/// [`Pipeline::process_local`](super::Pipeline::process_local) knows those).
pub fn handle<B: PacketBuf>(host: &Host, buf: &mut B) -> Verdict {
    to_verdict(answer(host, &Automatic::default(), buf))
}

/// ARP request for one of our IPv4 addresses on the port → ARP reply.
pub fn arp_reply<B: PacketBuf>(host: &Host, buf: &mut B) -> Verdict {
    to_verdict(with_l2(host, buf, ethertype::ARP, arp).map(|p| (p, Event::ArpReplies)))
}

/// Neighbour solicitation for one of our IPv6 addresses → neighbour advertisement.
pub fn neighbour_advert<B: PacketBuf>(host: &Host, buf: &mut B) -> Verdict {
    to_verdict(with_l2(host, buf, ethertype::IPV6, nd).map(|p| (p, Event::NdAdverts)))
}

/// ICMPv4 echo request to us → echo reply.
pub fn echo4_reply<B: PacketBuf>(host: &Host, buf: &mut B) -> Verdict {
    to_verdict(with_l2(host, buf, ethertype::IPV4, echo4).map(|p| (p, Event::Echo4Replies)))
}

/// ICMPv6 echo request to us, native or in protocol 41 (6to4) → echo reply, the same way.
pub fn echo6_reply<B: PacketBuf>(host: &Host, buf: &mut B) -> Verdict {
    let rx = buf.rx_port();
    let r = host.port(rx).ok_or(PortUnconfigured).and_then(|p| {
        let (et, l2) = l2_accept(p, buf.data())?;
        match et {
            ethertype::IPV6 => echo6(host, p, rx, l2, buf),
            ethertype::IPV4 => tunnelled::answer(host, &Automatic::default(), p, rx, l2, buf).map(|(port, _)| port),
            _ => Err(LocalUnsupported),
        }
    });
    to_verdict(r.map(|p| (p, Event::Echo6Replies)))
}

fn to_verdict(r: Result<(u16, Event), DropReason>) -> Verdict {
    match r {
        Ok((port, _)) => Verdict::Tx(port),
        Err(r) => Verdict::Drop(r),
    }
}

type Handler<B> = fn(&Host, &PortView, u16, usize, &mut B) -> Result<u16, DropReason>;

fn with_l2<B: PacketBuf>(host: &Host, buf: &mut B, want: u16, f: Handler<B>) -> Result<u16, DropReason> {
    let rx = buf.rx_port();
    let port = host.port(rx).ok_or(PortUnconfigured)?;
    let (et, l2) = l2_accept(port, buf.data())?;
    if et != want {
        return Err(LocalUnsupported);
    }
    f(host, port, rx, l2, buf)
}

/// Dispatches on the frame; returns the port to send the reply on and what it was.
/// Protocol 41 is [`tunnelled`]'s, with the automatic mechanisms of `auto`.
pub(crate) fn answer<B: PacketBuf>(host: &Host, auto: &Automatic, buf: &mut B) -> Result<(u16, Event), DropReason> {
    let rx = buf.rx_port();
    let port = host.port(rx).ok_or(PortUnconfigured)?;
    let (et, l2) = l2_accept(port, buf.data())?;
    let d = buf.data();
    match et {
        ethertype::ARP => arp(host, port, rx, l2, buf).map(|p| (p, Event::ArpReplies)),
        ethertype::IPV6 => {
            let h = arr::<40>(d, l2).ok_or(Ipv6Malformed)?;
            let icmp_type = if h[6] == ip_proto::ICMPV6 { d.get(l2 + 40).copied() } else { None };
            match icmp_type {
                Some(135) => nd(host, port, rx, l2, buf).map(|p| (p, Event::NdAdverts)),
                Some(128) => echo6(host, port, rx, l2, buf).map(|p| (p, Event::Echo6Replies)),
                Some(133..=137) => Err(NdIgnored),
                _ => Err(LocalUnsupported),
            }
        }
        ethertype::IPV4 => {
            let h = arr::<20>(d, l2).ok_or(Ipv4Malformed)?;
            match h[9] {
                ip_proto::ICMP => echo4(host, port, rx, l2, buf).map(|p| (p, Event::Echo4Replies)),
                ip_proto::IPV6 => tunnelled::answer(host, auto, port, rx, l2, buf),
                _ => Err(LocalUnsupported),
            }
        }
        _ => Err(UnknownEthertype),
    }
}

/// An Ethernet/IPv4 ARP request for an address we answer for on `port`
/// ([`Host::answers_arp`]). Returns the target address.
pub(crate) fn arp_request_for_us(host: &Host, port: &PortView, a: &[u8; 28]) -> Result<u32, DropReason> {
    if a[0..6] != [0, 1, 8, 0, 6, 4] {
        return Err(ArpMalformed);
    }
    if a[6..8] != [0, 1] {
        return Err(ArpNotRequest);
    }
    let tpa = v4_at(a, 24);
    if !host.answers_arp(port, tpa) {
        return Err(ArpNotForUs);
    }
    Ok(tpa)
}

fn arp<B: PacketBuf>(host: &Host, port: &PortView, rx: u16, l2: usize, buf: &mut B) -> Result<u16, DropReason> {
    let d = buf.data_mut();
    let a = arr_mut::<28>(d, l2).ok_or(ArpMalformed)?;
    let tpa = arp_request_for_us(host, port, a)?;
    let mut sender = [0u8; 10];
    sender.copy_from_slice(&a[8..18]);
    a[7] = 2;
    a[18..28].copy_from_slice(&sender);
    a[8..14].copy_from_slice(&port.mac);
    a[14..18].copy_from_slice(&tpa.to_be_bytes());
    reflect(d, port);
    Ok(rx)
}

/// Validates a neighbour solicitation (RFC 4861 section 7.1.1) and answers it.
fn nd<B: PacketBuf>(host: &Host, port: &PortView, rx: u16, l2: usize, buf: &mut B) -> Result<u16, DropReason> {
    let d = buf.data();
    let m = nd_message(d.get(l2..).unwrap_or_default(), 24)?;
    if m.icmp.first() != Some(&135) {
        return Err(NdIgnored);
    }
    let (src, dst, target) = (m.src, m.dst, m.target());
    if is_multicast6(target) {
        return Err(NdMalformed);
    }
    let has_slla = m.has_option(1);
    let dad = src == 0;
    if dad && (dst != solicited_node(target) || has_slla) {
        return Err(NdMalformed);
    }
    if !host.answers_nd(target) {
        return Err(NdNotForUs);
    }

    let (reply_dst, eth_dst) = if dad {
        (ALL_NODES, ALL_NODES_MAC)
    } else {
        (src, arr::<6>(d, 6).copied().unwrap_or(ALL_NODES_MAC))
    };
    let need = l2 + 40 + 32;
    let have = d.len();
    let sized = if have < need { grow_tail(buf, need - have) } else { buf.trim(have - need) };
    if !sized {
        return Err(NoHeadroom);
    }
    let d = buf.data_mut();
    if let Some(eth) = arr_mut::<12>(d, 0) {
        eth[0..6].copy_from_slice(&eth_dst);
        eth[6..12].copy_from_slice(&port.mac);
    }
    let na = arr_mut::<72>(d, l2).ok_or(NoHeadroom)?;
    na[0..4].copy_from_slice(&0x6000_0000u32.to_be_bytes());
    na[4..6].copy_from_slice(&32u16.to_be_bytes());
    na[6] = ip_proto::ICMPV6;
    na[7] = 255;
    na[8..24].copy_from_slice(&target.to_be_bytes());
    na[24..40].copy_from_slice(&reply_dst.to_be_bytes());
    // Router, Solicited (unless answering DAD), Override.
    let flags = 0x80 | 0x20 | if dad { 0 } else { 0x40 };
    na[40..48].copy_from_slice(&[136, 0, 0, 0, flags, 0, 0, 0]);
    na[48..64].copy_from_slice(&target.to_be_bytes());
    na[64..66].copy_from_slice(&[2, 1]);
    na[66..72].copy_from_slice(&port.mac);
    let pseudo = pseudo_header_v6(&target.to_be_bytes(), &reply_dst.to_be_bytes(), ip_proto::ICMPV6, 32);
    let csum = !fold(pseudo + sum(&na[40..72]));
    na[42..44].copy_from_slice(&csum.to_be_bytes());
    Ok(rx)
}

/// An IPv4 header at `l2`: `(ihl, total)` once version, lengths and checksum check out.
pub(crate) fn ipv4_header(d: &[u8], l2: usize) -> Result<(usize, usize), DropReason> {
    let ip = d.get(l2..).unwrap_or_default();
    let h = arr::<20>(ip, 0).ok_or(Ipv4Malformed)?;
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let total = usize::from(be16([h[2], h[3]]));
    if h[0] >> 4 != 4 || ihl < 20 || total < ihl || total > ip.len() {
        return Err(Ipv4Malformed);
    }
    if fold(sum(ip.get(..ihl).unwrap_or_default())) != 0xffff {
        return Err(Ipv4BadChecksum);
    }
    if be16([h[6], h[7]]) & 0x3fff != 0 {
        return Err(LocalUnsupported); // a fragment: the workers reassemble tunnel datagrams only
    }
    Ok((ihl, total))
}

/// Swaps source and destination of the IPv4 header at `ip`, sets the TTL and refreshes
/// the checksum.
pub(crate) fn turn_ipv4(ip: &mut [u8], ihl: usize, ttl: u8) {
    if let Some(h) = arr_mut::<20>(ip, 0) {
        let src = v4_at(h, 12);
        h.copy_within(16..20, 12);
        h[16..20].copy_from_slice(&src.to_be_bytes());
        h[8] = ttl;
        h[10..12].copy_from_slice(&[0, 0]);
    }
    let csum = !fold(sum(ip.get(..ihl).unwrap_or_default()));
    if let Some(c) = arr_mut::<2>(ip, 10) {
        *c = csum.to_be_bytes();
    }
}

fn echo4<B: PacketBuf>(host: &Host, port: &PortView, rx: u16, l2: usize, buf: &mut B) -> Result<u16, DropReason> {
    let (ihl, total) = ipv4_header(buf.data(), l2)?;
    let d = buf.data();
    let h = arr::<20>(d, l2).ok_or(Ipv4Malformed)?;
    let (src, dst) = (v4_at(h, 12), v4_at(h, 16));
    if h[9] != ip_proto::ICMP || !host.is_own_v4(dst) {
        return Err(LocalUnsupported);
    }
    if src >= 0xe000_0000 || host.is_broadcast_v4(src) || src == 0 {
        return Err(MulticastIgnored);
    }
    let icmp = d.get(l2 + ihl..l2 + total).unwrap_or_default();
    let ih = arr::<8>(icmp, 0).ok_or(Icmp4Malformed)?;
    if fold(sum(icmp)) != 0xffff {
        return Err(Icmp4BadChecksum);
    }
    if ih[0] != 8 {
        return Err(LocalUnsupported);
    }
    let (code, csum) = (ih[1], be16([ih[2], ih[3]]));
    let pad = d.len() - (l2 + total);
    if !buf.trim(pad) {
        return Err(Ipv4Malformed);
    }
    let d = buf.data_mut();
    reflect(d, port);
    let ip = d.get_mut(l2..).unwrap_or_default();
    turn_ipv4(ip, ihl, 64);
    if let Some(ih) = arr_mut::<4>(ip, ihl) {
        ih[0] = 0;
        let c = update16(csum, u16::from_be_bytes([8, code]), u16::from_be_bytes([0, code]));
        ih[2..4].copy_from_slice(&c.to_be_bytes());
    }
    Ok(rx)
}

/// Checks the ICMPv6 echo request at the start of `ip` (addressed to us) and turns it
/// into the reply. Returns the IPv6 packet's length.
pub(crate) fn echo6_in_place(host: &Host, ip: &mut [u8]) -> Result<usize, DropReason> {
    let h = arr::<40>(ip, 0).ok_or(Ipv6Malformed)?;
    let plen = be16([h[4], h[5]]);
    let total = 40 + usize::from(plen);
    if h[0] >> 4 != 6 || total > ip.len() {
        return Err(Ipv6Malformed);
    }
    let (src, dst) = (v6_at(h, 8), v6_at(h, 24));
    if h[6] != ip_proto::ICMPV6 || !host.is_own_v6(dst) || src == 0 || is_multicast6(src) {
        return Err(LocalUnsupported);
    }
    let icmp = ip.get(40..total).unwrap_or_default();
    let ih = arr::<8>(icmp, 0).ok_or(Icmp6Malformed)?;
    let pseudo = pseudo_header_v6(&src.to_be_bytes(), &dst.to_be_bytes(), ip_proto::ICMPV6, u32::from(plen));
    if fold(pseudo + sum(icmp)) != 0xffff {
        return Err(Icmp6BadChecksum);
    }
    if ih[0] != 128 {
        return Err(LocalUnsupported);
    }
    let (code, csum) = (ih[1], be16([ih[2], ih[3]]));
    let h = arr_mut::<44>(ip, 0).ok_or(Icmp6Malformed)?;
    h[8..24].copy_from_slice(&dst.to_be_bytes());
    h[24..40].copy_from_slice(&src.to_be_bytes());
    h[7] = 64;
    h[40] = 129;
    let c = update16(csum, u16::from_be_bytes([128, code]), u16::from_be_bytes([129, code]));
    h[42..44].copy_from_slice(&c.to_be_bytes());
    Ok(total)
}

fn echo6<B: PacketBuf>(host: &Host, port: &PortView, rx: u16, l2: usize, buf: &mut B) -> Result<u16, DropReason> {
    let d = buf.data_mut();
    let total = echo6_in_place(host, d.get_mut(l2..).unwrap_or_default())?;
    reflect(d, port);
    let pad = d.len() - (l2 + total);
    if !buf.trim(pad) {
        return Err(Ipv6Malformed);
    }
    Ok(rx)
}
