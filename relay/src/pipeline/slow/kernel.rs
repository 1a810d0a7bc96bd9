//! The kernel behind a port's control TAP (where the routing daemon runs) shares the
//! port's MAC and addresses with relayd. Who resolves neighbours: relayd answers ARP and
//! neighbour solicitations for our addresses, as without a TAP, and gives the kernel a copy
//! of every ARP message and neighbour solicitation or advertisement it accepted on the port,
//! so the kernel learns the neighbours it talks to (its BGP peer) and sees the answers to
//! its own requests. The kernel answers the same requests too; those answers would repeat
//! relayd's, so they are dropped on the way out (`kernel_duplicate_answer`). Everything
//! else the kernel sends (its own requests, TCP, BFD) leaves through the port as it is.
use std::net::IpAddr;

use crate::pipeline::fast::l2_accept;
use crate::pipeline::model::host::Host;
use crate::pipeline::model::verdict::DropReason;
use crate::wire::icmpv6::{NEIGHBOR_ADVERT, NEIGHBOR_SOLICIT};
use crate::wire::{arp, ethertype, ip_proto, ArpPacket, EthernetFrame, Icmpv6Packet, Ipv6Packet};

/// The ICMPv6 type of an IPv6 packet, if it is ICMPv6.
fn icmp6_type(ip: &[u8]) -> Option<(u8, Option<IpAddr>)> {
    let p = Ipv6Packet::new_checked(ip).ok()?;
    let (next, at) = p.upper_layer().ok()?;
    if next != ip_proto::ICMPV6 {
        return None;
    }
    let icmp = Icmpv6Packet::new_checked(ip.get(at..)?).ok()?;
    Some((icmp.msg_type(), icmp.target_addr().map(IpAddr::V6)))
}

/// True for a frame the slow path accepted on `rx` that the kernel behind the port's
/// control TAP needs a copy of: ARP, and neighbour solicitations and advertisements.
pub fn kernel_wants_copy(host: &Host, rx: u16, frame: &[u8]) -> bool {
    let Some(port) = host.port(rx).filter(|p| p.kernel) else { return false };
    match l2_accept(port, frame) {
        Ok((ethertype::ARP, _)) => true,
        Ok((ethertype::IPV6, l2)) => {
            matches!(icmp6_type(frame.get(l2..).unwrap_or_default()), Some((NEIGHBOR_SOLICIT | NEIGHBOR_ADVERT, _)))
        }
        _ => false,
    }
}

/// A frame the kernel sent on port `port`'s control TAP: `Ok` to send it out of the port, or
/// why not.
pub fn kernel_egress(host: &Host, port: u16, frame: &[u8]) -> Result<(), DropReason> {
    let Some(view) = host.port(port) else { return Err(DropReason::PortUnconfigured) };
    let eth = EthernetFrame::new_checked(frame).map_err(|_| DropReason::L2Truncated)?;
    if view.vlan.is_some() != eth.is_vlan_tagged() || (view.vlan.is_some() && eth.vlan_id() != view.vlan) {
        // The kernel's TAP is untagged; relayd does not tag for it.
        return Err(DropReason::VlanMismatch);
    }
    match eth.ethertype() {
        ethertype::ARP => {
            let a = ArpPacket::new_checked(eth.payload()).map_err(|_| DropReason::ArpMalformed)?;
            let ours = host.answers_arp(view, u32::from(a.sender_protocol_addr()));
            if a.operation() == arp::OP_REPLY && ours {
                return Err(DropReason::KernelDuplicateAnswer);
            }
            Ok(())
        }
        ethertype::IPV6 => match icmp6_type(eth.payload()) {
            Some((NEIGHBOR_ADVERT, Some(IpAddr::V6(target)))) if host.answers_nd(u128::from(target)) => {
                Err(DropReason::KernelDuplicateAnswer)
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}
