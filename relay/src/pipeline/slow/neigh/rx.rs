//! What the slow path hears from its neighbours: the checks RFC 4861 section 7.1 asks of
//! every received ND message, and what an ARP (RFC 826) or ND (RFC 4861 section 7.2)
//! message tells about a neighbour's link-layer address.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::pipeline::fast::{arp_kind, l2_accept, ArpKind};
use crate::pipeline::model::addr::is_multicast6;
use crate::pipeline::model::host::Host;
use crate::pipeline::model::verdict::DropReason::{self, *};
use crate::wire::bytes::{arr, be16, v4_at, v6_at};
use crate::wire::checksum::{fold, pseudo_header_v6, sum};
use crate::wire::{ethertype, ip_proto};
use crate::wire::icmpv6::{NA_FLAG_OVERRIDE, NA_FLAG_SOLICITED, NEIGHBOR_ADVERT, NEIGHBOR_SOLICIT, OPT_SOURCE_LL_ADDR, OPT_TARGET_LL_ADDR, ROUTER_SOLICIT};

use super::cache::How;


/// A received ND message that passed the checks every ND message must pass.
pub(crate) struct NdMessage<'a> {
    pub src: u128,
    pub dst: u128,
    /// The ICMPv6 message: at least its fixed part, options well formed after it.
    pub icmp: &'a [u8],
    fixed: usize,
}

/// The ND message of the IPv6 packet `ip` with a fixed part of `fixed` bytes: IPv6 and
/// ICMPv6 lengths, hop limit 255, code 0, checksum, options of non-zero length that fit
/// (RFC 4861 sections 6.1 and 7.1). The caller checks the type.
pub(crate) fn nd_message(ip: &[u8], fixed: usize) -> Result<NdMessage<'_>, DropReason> {
    let h = arr::<40>(ip, 0).ok_or(NdMalformed)?;
    let plen = be16([h[4], h[5]]);
    let total = 40 + usize::from(plen);
    if h[0] >> 4 != 6 || total > ip.len() || h[6] != ip_proto::ICMPV6 {
        return Err(NdMalformed);
    }
    if h[7] != 255 {
        return Err(NdBadHopLimit);
    }
    let icmp = ip.get(40..total).unwrap_or_default();
    if icmp.len() < fixed.max(8) || icmp.get(1) != Some(&0) {
        return Err(NdMalformed);
    }
    let (src, dst) = (v6_at(h, 8), v6_at(h, 24));
    let pseudo = pseudo_header_v6(&src.to_be_bytes(), &dst.to_be_bytes(), ip_proto::ICMPV6, u32::from(plen));
    if fold(pseudo + sum(icmp)) != 0xffff {
        return Err(NdBadChecksum);
    }
    let mut at = fixed;
    while at < icmp.len() {
        let opt = arr::<2>(icmp, at).ok_or(NdMalformed)?;
        let len = usize::from(opt[1]) * 8;
        if len == 0 || at + len > icmp.len() {
            return Err(NdMalformed);
        }
        at += len;
    }
    Ok(NdMessage { src, dst, icmp, fixed })
}

impl NdMessage<'_> {
    /// Every option, whole (type and length octets included).
    pub fn options(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = self.icmp.get(self.fixed..).unwrap_or_default();
        std::iter::from_fn(move || {
            let len = usize::from(*rest.get(1)?) * 8;
            let opt = rest.get(..len).filter(|o| !o.is_empty())?;
            rest = rest.get(len..).unwrap_or_default();
            Some(opt)
        })
    }

    pub fn has_option(&self, kind: u8) -> bool {
        self.options().any(|o| o.first() == Some(&kind))
    }

    /// The Ethernet address of the first link-layer address option of `kind`.
    pub fn link_layer(&self, kind: u8) -> Option<[u8; 6]> {
        let opt = self.options().find(|o| o.first() == Some(&kind))?;
        arr::<8>(opt, 0).map(|o| [o[2], o[3], o[4], o[5], o[6], o[7]])
    }

    /// The target address of an NS or NA.
    pub fn target(&self) -> u128 {
        arr::<24>(self.icmp, 0).map_or(0, |m| v6_at(m, 8))
    }
}

/// A neighbour's address as a message tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Heard {
    pub port: u16,
    pub addr: IpAddr,
    pub mac: Option<[u8; 6]>,
    pub how: How,
}

/// What to do with a frame that reached the slow path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Received {
    /// Answer it (ARP request, NS, echo, …), after learning what it tells, if anything.
    Answer(Option<Heard>),
    /// Only learn from it: ARP reply or announcement, NA.
    Learn(Heard),
    /// A router solicitation on a port that advertises.
    RouterSolicit(u16, Option<Heard>),
}

/// Sorts a frame punted on port `rx`. Errors are drops of messages that teach nothing
/// and need no answer; messages to answer are checked by [`local`](super::super::local).
pub(crate) fn inspect(host: &Host, frame: &[u8], rx: u16) -> Result<Received, DropReason> {
    let port = host.port(rx).ok_or(PortUnconfigured)?;
    let (et, l2) = l2_accept(port, frame)?;
    match et {
        ethertype::ARP => {
            let a = arr::<28>(frame, l2).ok_or(ArpMalformed)?;
            let kind = arp_kind(host, port, a)?;
            let sender = IpAddr::V4(Ipv4Addr::from(v4_at(a, 14)));
            let mac = Some([a[8], a[9], a[10], a[11], a[12], a[13]]);
            let heard = |how| Heard { port: rx, addr: sender, mac, how };
            Ok(match kind {
                ArpKind::Request => Received::Answer(Some(heard(How::Request))),
                ArpKind::Reply => Received::Learn(heard(How::Advert { solicited: true, override_: true })),
                ArpKind::Announcement => Received::Learn(heard(How::Advert { solicited: false, override_: true })),
            })
        }
        ethertype::IPV6 => {
            let ip = frame.get(l2..).unwrap_or_default();
            let icmp_type = match arr::<41>(ip, 0) {
                Some(h) if h[6] == ip_proto::ICMPV6 => h[40],
                _ => return Ok(Received::Answer(None)),
            };
            match icmp_type {
                NEIGHBOR_SOLICIT => Ok(Received::Answer(solicitation(host, rx, ip))),
                NEIGHBOR_ADVERT => advertisement(rx, ip).map(Received::Learn),
                ROUTER_SOLICIT if port.sends_ra => router_solicitation(rx, ip),
                _ => Ok(Received::Answer(None)),
            }
        }
        _ => Ok(Received::Answer(None)),
    }
}

/// An NS for one of our addresses from a unicast source with its link-layer address
/// teaches it (RFC 4861 section 7.2.3); [`local`](super::super::local) checks the rest.
fn solicitation(host: &Host, rx: u16, ip: &[u8]) -> Option<Heard> {
    let m = nd_message(ip, 24).ok()?;
    if m.src == 0 || !host.answers_nd(m.target()) {
        return None;
    }
    let mac = m.link_layer(OPT_SOURCE_LL_ADDR)?;
    Some(Heard { port: rx, addr: IpAddr::V6(Ipv6Addr::from(m.src)), mac: Some(mac), how: How::Request })
}

/// RFC 4861 section 7.1.2.
fn advertisement(rx: u16, ip: &[u8]) -> Result<Heard, DropReason> {
    let m = nd_message(ip, 24)?;
    let flags = m.icmp.get(4).copied().unwrap_or_default();
    let target = m.target();
    if is_multicast6(target) || (is_multicast6(m.dst) && flags & NA_FLAG_SOLICITED != 0) {
        return Err(NdMalformed);
    }
    let how = How::Advert { solicited: flags & NA_FLAG_SOLICITED != 0, override_: flags & NA_FLAG_OVERRIDE != 0 };
    Ok(Heard { port: rx, addr: IpAddr::V6(Ipv6Addr::from(target)), mac: m.link_layer(OPT_TARGET_LL_ADDR), how })
}

/// RFC 4861 section 6.1.1; a source link-layer option may create a stale entry (6.2.6).
fn router_solicitation(rx: u16, ip: &[u8]) -> Result<Received, DropReason> {
    let m = nd_message(ip, 8)?;
    if m.src == 0 && m.has_option(OPT_SOURCE_LL_ADDR) {
        return Err(NdMalformed);
    }
    let heard = match m.link_layer(OPT_SOURCE_LL_ADDR) {
        Some(mac) if m.src != 0 => Some(Heard { port: rx, addr: IpAddr::V6(Ipv6Addr::from(m.src)), mac: Some(mac), how: How::Request }),
        _ => None,
    };
    Ok(Received::RouterSolicit(rx, heard))
}
