//! The outer destination of a packet into an automatic tunnel besides 6to4, derived from
//! its IPv6 destination as the route's next hop says.
use super::Automatic;
use crate::pipeline::model::automatic::ce_v4;
use crate::pipeline::model::addr::v4_of_isatap;
use crate::pipeline::model::host::Host;
use crate::pipeline::model::tables::{HopKind, NextHop, Tables};
use crate::pipeline::model::verdict::{DropReason, DropReason::*};

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
        let v = match hop.kind {
            HopKind::Isatap => v4_of_isatap(dst).ok_or(EncapNotIsatap)?,
            HopKind::SixRd => ce_v4(hop.remote, hop.shift, hop.bits, dst),
            HopKind::Ipv4Compatible => {
                if dst >> 32 != 0 || !host.martians.v4_ok(dst as u32) {
                    return Err(Ipv4DstMartian);
                }
                dst as u32
            }
            HopKind::SixOver4 if (dst >> 32) as u32 == 0 => dst as u32,
            HopKind::SixOver4 => match tables.neighbour6(dst) {
                Some([0, 0, a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
                _ => return Err(NeighbourMissing),
            },
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
