//! Out of a tunnel: the dispatch from the kind the decapsulation table chose to that
//! mechanism's checks, and the rules every mechanism shares (RFC 4213 section 3.6 inner
//! source, our own destinations, RFC 6324 loops).
use crate::pipeline::model::addr::{is_link_local6, is_multicast6, rfc4213_src_ok, solicited_node, ALL_ROUTERS};
use crate::pipeline::model::host::Host;
use crate::pipeline::model::verdict::{DropReason, DropReason::*};
use crate::wire::{ip_proto, Ipv6Packet};

use super::{ipv4_compatible, sixrd, sixtofour, Automatic, Inner, TunnelKind};

/// The checks on the way out of a tunnel of `kind`:
///
/// ```text
/// inner src passes RFC 4213 3.6 (::V exempt on the IPv4-compatible tunnel)
/// 6to4: RFC 3964 section 5 (`sixtofour::check_decap`)
/// configured: the ends matched the table already
/// the other automatic kinds: their own source checks (Automatic::check_decap)
/// dst_v6 ours -> local; otherwise (but for 6to4, whose sanity check covers it) a
///   source ::, a multicast or link-local address is not forwarded
/// not ours, not on-link and embedding our IPv4 -> loop (RFC 6324)
/// ```
#[inline]
pub(crate) fn check_with(host: &Host, auto: &Automatic, kind: TunnelKind, src4: u32, dst4: u32, src: u128, dst: u128) -> Result<Inner, DropReason> {
    let compatible = kind == TunnelKind::Ipv4Compatible && src >> 32 == 0 && src > 1;
    if !rfc4213_src_ok(src) && !compatible {
        return Err(DropReason::DecapInnerSrcInvalid);
    }
    match kind {
        TunnelKind::SixToFour => sixtofour::check_decap(host, src4, dst4, src, dst)?,
        TunnelKind::Configured(_) => {}
        _ => match auto.check_decap(host, kind, src4, dst4, src, dst)? {
            Inner::Forward => {}
            inner => return Ok(inner),
        },
    }
    if host.is_own_v6(dst) {
        return Ok(Inner::Local);
    }
    // 6to4's sanity checks covered these. For the others, one cheap test (a source in
    // ::/16, either address from fe80:: up) lets nearly every packet past the rare inner
    // addresses that are not forwarded as they are.
    if kind != TunnelKind::SixToFour {
        let top16 = |a: u128| (a >> 112) as u16;
        if top16(src).wrapping_sub(1) >= 0xfe80 - 1 || top16(dst) >= 0xfe80 {
            if let Some(refused) = odd_inner(kind, src, dst) {
                return refused;
            }
        }
    }
    if auto.embeds_own_v4(host, dst) && !host.dst_ours_or_on_link(dst) && !auto.on_link(dst) {
        return Err(DropReason::LoopDstEmbedsOwnV4);
    }
    Ok(Inner::Forward)
}

/// A packet out of a tunnel other than 6to4 with a multicast destination, or an
/// unspecified or link-local source or destination, is not forwarded; `None` for any
/// other.
#[cold]
fn odd_inner(kind: TunnelKind, src: u128, dst: u128) -> Option<Result<Inner, DropReason>> {
    if is_multicast6(dst) {
        return Some(match kind {
            // Router solicitations on an ISATAP link come to all-routers (RFC 5214
            // section 8.3), from `::` too (RFC 4861 section 6.1.1).
            TunnelKind::Isatap(_) => Ok(Inner::Local),
            _ if src == 0 => Err(DropReason::Ipv6SrcInvalid),
            _ => Err(DropReason::MulticastIgnored),
        });
    }
    if src == 0 {
        return Some(Err(DropReason::Ipv6SrcInvalid));
    }
    (is_link_local6(src) || is_link_local6(dst)).then_some(Err(DropReason::Ipv6LinkLocal))
}

impl Automatic {
    /// The checks of automatic mechanism `kind` on a packet out of the tunnel:
    ///
    /// ```text
    /// outer source unicast (global for IPv4-compatible)
    /// IPv4-compatible  inner source ::V, V == outer source
    /// ISATAP           outer source in the PRL, or the inner source is an ISATAP address
    ///                  of the link (or link-local) with V == outer source (RFC 5214 7.3)
    /// 6rd              inner source in a domain of this BR, CE address == outer source
    ///                  (RFC 5969 section 8)
    /// 6over4           inner source on the link or link-local (:: for DAD to a group); an
    ///                  interface identifier ::V has V == outer source; to a group: the
    ///                  IPv6 group maps to the outer one (RFC 2529 section 6)
    /// a source outside every prefix of the mechanism: no mechanism (RFC 3964 6.1)
    /// inner destination one of our addresses on the link -> local
    /// ```
    #[inline]
    pub(crate) fn check_decap(&self, host: &Host, kind: TunnelKind, src4: u32, dst4: u32, src: u128, dst: u128) -> Result<Inner, DropReason> {
        if !self.ends.ok(src4) {
            return Err(Ipv4SrcMartian);
        }
        match kind {
            TunnelKind::Ipv4Compatible => ipv4_compatible::check_decap(host, src4, src)?,
            TunnelKind::Isatap(i) => self.isatap.get(usize::from(i)).ok_or(DecapNoMechanism)?.check_decap(src4, src)?,
            TunnelKind::SixRd => sixrd::check_decap(&self.sixrd, dst4, src4, src)?,
            TunnelKind::SixOver4(i) => self.sixover4.get(usize::from(i)).ok_or(DecapNoMechanism)?.check_src(src4, src)?,
            TunnelKind::SixOver4Group(i) => {
                self.sixover4.get(usize::from(i)).ok_or(DecapNoMechanism)?.check_group(src4, dst4, src, dst)?;
                return Ok(Inner::Local);
            }
            TunnelKind::SixToFour | TunnelKind::Configured(_) => return Err(DecapNoMechanism),
        }
        // Each of our addresses on a link embeds the link's IPv4 address, which is dst4.
        if dst as u32 == dst4 && self.is_own_v6(dst) {
            return Ok(Inner::Local);
        }
        Ok(Inner::Forward)
    }

    /// Local delivery of IPv6 multicast out of 6over4 and ISATAP: solicitations for one of
    /// our addresses on a 6over4 link and router solicitations on an ISATAP link go to the
    /// slow path (true); the rest is delivered as any multicast to us.
    pub(crate) fn punts_multicast(&self, kind: TunnelKind, ip: &[u8], group: u128) -> bool {
        let upper = Ipv6Packet::new_checked(ip).ok().and_then(|p| p.upper_layer().ok());
        let icmp_type = match upper {
            Some((ip_proto::ICMPV6, at)) => ip.get(at).copied(),
            _ => None,
        };
        match (kind, icmp_type) {
            (TunnelKind::SixOver4Group(_), Some(135)) => self.own_v6.iter().any(|&a| solicited_node(a) == group),
            (TunnelKind::Isatap(_), Some(133)) => group == ALL_ROUTERS,
            _ => false,
        }
    }
}
