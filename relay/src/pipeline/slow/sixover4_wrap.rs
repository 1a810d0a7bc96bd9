//! IPv6 multicast onto a 6over4 link (RFC 2529 section 6): what the slow path uses to
//! send its neighbour discovery there. The fast path only receives multicast.
use crate::pipeline::fast::encap::{self, OuterHeader};
use crate::pipeline::fast::l2;
use crate::pipeline::model::addr::is_multicast6;
use crate::pipeline::model::automatic::sixover4_group;
use crate::pipeline::model::host::PortView;
use crate::pipeline::model::PacketBuf;
use crate::pipeline::model::settings::DscpPolicy;
use crate::pipeline::model::verdict::DropReason;
use crate::wire::bytes::{arr, v6_at};
use crate::wire::ethertype;

/// Wraps the IPv6 multicast packet that fills `buf` for the 6over4 link of `port`: from
/// the port's IPv4 address to group 239.192.x.y (x.y the group's last two bytes), in an
/// Ethernet frame to that group's MAC 01:00:5e:40:x:y (RFC 1112 section 6.4).
pub fn sixover4_multicast<B: PacketBuf>(buf: &mut B, port: &PortView, ttl: u8, id: u16) -> Result<(), DropReason> {
    let h = arr::<40>(buf.data(), 0).ok_or(DropReason::Ipv6Malformed)?;
    let dst = v6_at(h, 24);
    if !is_multicast6(dst) {
        return Err(DropReason::Ipv6DstInvalid);
    }
    let src = port.ipv4.ok_or(DropReason::PortUnconfigured)?;
    let group = sixover4_group(dst);
    let [_, g1, g2, g3] = group.to_be_bytes();
    let mac = [0x01, 0x00, 0x5e, g1 & 0x7f, g2, g3];
    let outer = OuterHeader { src, dst: group, ttl, df: false, dscp: DscpPolicy::Copy };
    if !encap::push(buf, &outer, id) || !l2::push(buf, port, &mac, ethertype::IPV4) {
        return Err(DropReason::NoHeadroom);
    }
    Ok(())
}
