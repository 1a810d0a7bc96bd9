//! Into a tunnel: the dispatch from an automatic tunnel's next hop to its mechanism — the
//! outer source and destination and the mechanism's checks — and the RFC 6324 rule every
//! mechanism shares. The automatic mechanisms derive the outer destination from the IPv6
//! one.
use crate::pipeline::model::counters::Event;
use crate::pipeline::model::host::Host;
use crate::pipeline::model::tables::{NextHop, RouteTarget, Tables};
use crate::pipeline::model::verdict::{DropReason, DropReason::*};

use super::{ipv4_compatible, isatap, sixover4, sixrd, Automatic};
use super::sixover4::AWAITING_V4;

/// Where a packet from `src` to `dst` into the automatic tunnel of next hop `hop` goes,
/// after its mechanism's checks: `(outer source, outer destination, the mechanism's
/// counter)`. 6to4 (`sixtofour::check_encap`) and configured tunnels (their own ends) are
/// dispatched by the fast path itself.
///
/// ```text
/// ISATAP, 6rd, IPv4-compatible, 6over4      RFC 6324; our address on the mechanism, and
///                                           the far end its format embeds (a 6over4 end
///                                           not known yet is AWAITING_V4: the packet waits)
/// ```
#[inline]
pub(crate) fn tunnel_ends(host: &Host, auto: &Automatic, tables: &Tables, hop: &NextHop, src: u128, dst: u128, rx: u16) -> Result<(u32, u32, Event), DropReason> {
    check_loop(host, auto, src, rx)?;
    let event = match hop.target {
        RouteTarget::Isatap { .. } => Event::EncapIsatap,
        RouteTarget::SixRd { .. } => Event::Encap6rd,
        RouteTarget::Ipv4Compatible => Event::EncapIpv4Compatible,
        RouteTarget::SixOver4 { .. } => Event::Encap6over4,
        _ => return Err(Ipv6DstMartian),
    };
    match auto.remote(host, tables, hop, dst) {
        Ok(remote) => Ok((hop.local, remote, event)),
        // Waits for the slow path to learn its V by ND over the link.
        Err(NeighbourMissing) => Ok((hop.local, AWAITING_V4, event)),
        Err(r) => Err(r),
    }
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

impl Automatic {
    /// ```text
    /// ISATAP            V of the interface identifier 0:5efe:V / 200:5efe:V (RFC 5214 6.1)
    /// 6rd               common bits | the CE bits after 6rdPrefix (RFC 5969 section 7)
    /// IPv4-compatible   ::V, V a global address
    /// 6over4            V of the interface identifier ::V (RFC 2529 4); others the V
    ///                   the slow path learned by ND (link-layer address 0:0:V), else
    ///                   NeighbourMissing: the packet may wait for it
    /// V is a unicast address of another host
    /// ```
    #[inline]
    pub(crate) fn remote(&self, host: &Host, tables: &Tables, hop: &NextHop, dst: u128) -> Result<u32, DropReason> {
        let v = match hop.target {
            RouteTarget::Isatap { .. } => isatap::remote(dst)?,
            RouteTarget::SixRd { .. } => sixrd::remote(hop, dst),
            RouteTarget::Ipv4Compatible => ipv4_compatible::remote(host, dst)?,
            RouteTarget::SixOver4 { .. } => sixover4::remote(tables, dst)?,
            _ => return Err(Ipv6DstMartian),
        };
        if !self.ends.ok(v) {
            return Err(Ipv4DstMartian);
        }
        if host.is_own_v4(v) {
            return Err(EncapDstIsSelf);
        }
        Ok(v)
    }
}
