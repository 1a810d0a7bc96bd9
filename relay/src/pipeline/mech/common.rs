//! The rules every mechanism shares on the way out of a tunnel (RFC 4213 section 3.6, our
//! own destinations, RFC 6324 loops) and on the way in (RFC 6324): each mechanism's own
//! checks are called from here, by the kind the decapsulation table chose.
use crate::pipeline::model::addr::{is_link_local6, is_multicast6, rfc4213_src_ok};
use crate::pipeline::model::host::Host;
use crate::pipeline::model::verdict::DropReason;

use super::sixtofour;
use super::{Automatic, Inner, TunnelKind};


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
        TunnelKind::Configured => {}
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

/// RFC 6324 on the way into any tunnel: no source that embeds one of our IPv4 addresses
/// in an automatic format (6to4, ISATAP, 6rd) unless it is ours or on-link. Configured
/// tunnels take any other IPv6.
#[inline(always)]
pub(crate) fn check_loop(host: &Host, auto: &Automatic, src: u128, rx_port: u16) -> Result<(), DropReason> {
    if auto.embeds_own_v4(host, src) && !host.is_own_v6(src) && !auto.is_own_v6(src) && !host.src_on_link(src, rx_port) {
        return Err(DropReason::LoopSrcEmbedsOwnV4);
    }
    Ok(())
}
