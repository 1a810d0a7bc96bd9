//! Receive checks of the automatic mechanisms besides 6to4; the common ones (our own
//! destination, link-local, RFC 6324 loops) follow in [`check_with`](super::check_with).
use super::{link_local_64, within, Automatic, Inner, SixOver4Link, TunnelKind};
use crate::pipeline::model::addr::{is_multicast6, solicited_node, ALL_ROUTERS};
use crate::pipeline::model::host::Host;
use crate::pipeline::model::verdict::{DropReason, DropReason::*};
use crate::wire::{ip_proto, Ipv6Packet};

/// Whether `a`'s interface identifier is ISATAP's for IPv4 address `v4` (RFC 5214 section
/// 6.1, either value of the universal/local bit): [`crate::pipeline::model::addr::v4_of_isatap`] in one compare.
#[inline(always)]
fn isatap_iid_of(a: u128, v4: u32) -> bool {
    a as u64 & 0xfcff_ffff_ffff_ffff == 0x5efe << 32 | u64::from(v4)
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
            TunnelKind::Ipv4Compatible => {
                if !host.martians.v4_ok(src4) {
                    return Err(Ipv4SrcMartian);
                }
                if src >> 32 != 0 {
                    return Err(DecapNoMechanism);
                }
                if src as u32 != src4 {
                    return Err(DecapV4CompatSrcMismatch);
                }
            }
            TunnelKind::Isatap(i) => {
                let l = self.isatap.get(usize::from(i)).ok_or(DecapNoMechanism)?;
                // The common case first: a client whose address embeds the outer source.
                let on_link = within(&l.prefixes, src) || link_local_64(src);
                let client = on_link && isatap_iid_of(src, src4);
                if !(client || l.prl.contains(&src4)) {
                    return Err(if on_link { DecapIsatapSrcMismatch } else { DecapNoMechanism });
                }
            }
            TunnelKind::SixRd => {
                let d = self.sixrd.iter().find(|d| d.br == dst4 && d.contains(src)).ok_or(DecapNoMechanism)?;
                if d.ce_v4(src) != src4 {
                    return Err(Decap6rdSrcMismatch);
                }
            }
            TunnelKind::SixOver4(i) => {
                let l = self.sixover4.get(usize::from(i)).ok_or(DecapNoMechanism)?;
                check_6over4_src(l, src4, src)?;
            }
            TunnelKind::SixOver4Group(i) => {
                let l = self.sixover4.get(usize::from(i)).ok_or(DecapNoMechanism)?;
                if src != 0 {
                    check_6over4_src(l, src4, src)?;
                }
                if !is_multicast6(dst) || dst as u16 != dst4 as u16 {
                    return Err(Decap6over4GroupMismatch);
                }
                return Ok(Inner::Local);
            }
            TunnelKind::SixToFour | TunnelKind::Configured => return Err(DecapNoMechanism),
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

/// A 6over4 source: on the link or link-local; with interface identifier `::V`, V must be
/// the outer source (RFC 2529 section 4). Other identifiers are the ND's business.
#[inline]
fn check_6over4_src(l: &SixOver4Link, src4: u32, src: u128) -> Result<(), DropReason> {
    if !(within(&l.prefixes, src) || link_local_64(src)) {
        return Err(DecapNoMechanism);
    }
    if (src >> 32) as u32 == 0 && src as u32 != src4 {
        return Err(Decap6over4SrcMismatch);
    }
    Ok(())
}
