//! Frames the router sends on its own: ARP requests and announcements (RFC 826,
//! RFC 5227), neighbour solicitations (RFC 4861 section 7.2.2) and router advertisements
//! (section 6.2.3). Built whole, for the control core to copy into a fresh buffer.
use crate::pipeline::model::addr::{ALL_NODES, is_link_local6, solicited_node};
use crate::pipeline::model::host::PortView;
use crate::pipeline::model::settings::RouterAdvertSettings;
use crate::wire::checksum::{fold, pseudo_header_v6, sum};
use crate::wire::{ethertype, ip_proto};

const BROADCAST: [u8; 6] = [0xff; 6];
/// Prefix lifetimes advertised (radvd's defaults): one day valid, four hours preferred.
pub(crate) const VALID_LIFETIME_S: u32 = 86_400;
pub(crate) const PREFERRED_LIFETIME_S: u32 = 14_400;
/// Router advertisement hop limit for hosts (RFC 4861 section 6.2.1 AdvCurHopLimit).
const HOST_HOP_LIMIT: u8 = 64;

/// The Ethernet (and 802.1Q) header of a frame we send on `port`.
fn l2_header(port: &PortView, dst: [u8; 6], et: u16) -> Vec<u8> {
    let mut f = Vec::with_capacity(128);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&port.mac);
    if let Some(vid) = port.vlan {
        f.extend_from_slice(&ethertype::VLAN.to_be_bytes());
        f.extend_from_slice(&vid.to_be_bytes());
    }
    f.extend_from_slice(&et.to_be_bytes());
    f
}

/// "Who has `target`? Tell `sender`": broadcast, or unicast to `to` (a reachability probe).
pub fn arp_request(port: &PortView, sender: u32, target: u32, to: Option<[u8; 6]>) -> Vec<u8> {
    let mut f = l2_header(port, to.unwrap_or(BROADCAST), ethertype::ARP);
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&port.mac);
    f.extend_from_slice(&sender.to_be_bytes());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target.to_be_bytes());
    f
}

/// A gratuitous ARP announcement of our `addr` (RFC 5227 section 2.3): a broadcast
/// request whose sender and target are both `addr`.
pub fn arp_announcement(port: &PortView, addr: u32) -> Vec<u8> {
    arp_request(port, addr, addr, None)
}

/// `33:33` and the group's last 32 bits (RFC 2464 section 7).
pub(crate) fn multicast_mac(group: u128) -> [u8; 6] {
    let g = group.to_be_bytes();
    [0x33, 0x33, g[12], g[13], g[14], g[15]]
}

/// An ND message `icmp` (checksum field zero) from `src` to `dst`, hop limit 255.
fn nd_frame(port: &PortView, eth_dst: [u8; 6], src: u128, dst: u128, icmp: &[u8]) -> Vec<u8> {
    let mut f = l2_header(port, eth_dst, ethertype::IPV6);
    f.extend_from_slice(&nd_packet(src, dst, icmp));
    f
}

/// The IPv6 packet of ND message `icmp` (checksum field zero) from `src` to `dst`, hop
/// limit 255, checksum filled in.
pub(crate) fn nd_packet(src: u128, dst: u128, icmp: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(40 + icmp.len());
    let len = icmp.len() as u16;
    p.extend_from_slice(&0x6000_0000u32.to_be_bytes());
    p.extend_from_slice(&len.to_be_bytes());
    p.extend_from_slice(&[ip_proto::ICMPV6, 255]);
    p.extend_from_slice(&src.to_be_bytes());
    p.extend_from_slice(&dst.to_be_bytes());
    p.extend_from_slice(icmp);
    let pseudo = pseudo_header_v6(&src.to_be_bytes(), &dst.to_be_bytes(), ip_proto::ICMPV6, u32::from(len));
    let csum = !fold(pseudo + sum(icmp));
    if let Some(c) = p.get_mut(42..44) {
        c.copy_from_slice(&csum.to_be_bytes());
    }
    p
}

/// A neighbour solicitation for `target` from `src`, with our source link-layer address:
/// to its solicited-node group, or unicast to `to` (a reachability probe).
pub fn neighbour_solicit(port: &PortView, src: u128, target: u128, to: Option<[u8; 6]>) -> Vec<u8> {
    let (dst, eth_dst) = match to {
        Some(mac) => (target, mac),
        None => (solicited_node(target), multicast_mac(solicited_node(target))),
    };
    let mut m = vec![135, 0, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&target.to_be_bytes());
    m.extend_from_slice(&[1, 1]);
    m.extend_from_slice(&port.mac);
    nd_frame(port, eth_dst, src, dst, &m)
}

/// A router advertisement to all-nodes from our link-local `src`: source link-layer
/// address, the port's MTU, and the prefix, on-link and autonomous (RFC 4861 section
/// 4.6.2, RFC 4862 section 5.5.3).
pub fn router_advert(port: &PortView, src: u128, ra: &RouterAdvertSettings) -> Vec<u8> {
    let mut m = vec![134, 0, 0, 0, HOST_HOP_LIMIT, 0];
    m.extend_from_slice(&ra.router_lifetime_s.to_be_bytes());
    m.extend_from_slice(&[0; 8]); // reachable time, retrans timer: unspecified
    m.extend_from_slice(&[1, 1]);
    m.extend_from_slice(&port.mac);
    m.extend_from_slice(&[5, 1, 0, 0]);
    m.extend_from_slice(&u32::from(port.mtu).to_be_bytes());
    m.extend_from_slice(&[3, 4, 64, 0xc0]); // /64, on-link, autonomous
    m.extend_from_slice(&VALID_LIFETIME_S.to_be_bytes());
    m.extend_from_slice(&PREFERRED_LIFETIME_S.to_be_bytes());
    m.extend_from_slice(&[0; 4]);
    m.extend_from_slice(&ra.prefix.octets());
    nd_frame(port, multicast_mac(ALL_NODES), src, ALL_NODES, &m)
}

/// Our address to solicit `target` from on `port` (RFC 4861 section 7.2.2): the
/// link-local one for a link-local target, else the port's address in the target's
/// prefix, else any of the port's, else the port's ICMPv6 error source.
pub fn solicit_source(port: &PortView, target: u128) -> Option<u128> {
    if is_link_local6(target) {
        if let Some(ll) = port.link_local {
            return Some(ll);
        }
    }
    port.ipv6
        .iter()
        .zip(&port.prefixes6)
        .find(|&(&a, &(net, mask))| (target ^ net) & mask == 0 && !is_link_local6(a))
        .map(|(&a, _)| a)
        .or_else(|| port.ipv6.iter().copied().find(|&a| !is_link_local6(a)))
        .or(port.link_local)
        .or(port.err_src)
}
