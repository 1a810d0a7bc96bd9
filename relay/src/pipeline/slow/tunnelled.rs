//! What the router answers through its tunnels (spec sections 7, 9 and 11): echo
//! requests to its addresses go back the way they came (RFC 6343 section 4.4), over 6to4
//! and every automatic mechanism; neighbour solicitations for its addresses on 6over4
//! (RFC 2529 section 5) and ISATAP links are answered over IPv4 unicast, and router
//! solicitations on ISATAP links get a solicited advertisement (RFC 5214 section 8.3).
//! The request passed the receive checks of its mechanism again first.
use std::net::{IpAddr, Ipv6Addr};

use crate::pipeline::fast::encap::{self, OuterHeader};
use crate::pipeline::fast::l2::{self, reflect};
use crate::pipeline::fast::l2_accept;
use crate::pipeline::mech::{check_with, Automatic, Inner, TunnelKind};
use crate::pipeline::model::addr::ALL_NODES;
use crate::pipeline::model::addr::{is_multicast6, solicited_node};
use crate::pipeline::model::counters::Event;
use crate::pipeline::model::grow_tail;
use crate::pipeline::model::host::{Host, PortView};
use crate::pipeline::model::settings::DscpPolicy;
use crate::pipeline::model::verdict::DropReason::{self, *};
use crate::wire::bytes::{arr, arr_mut, be16, v4_at, v6_at};
use crate::wire::{ethertype, ip_proto};
use crate::wire::icmpv6::{NA_FLAG_OVERRIDE, NA_FLAG_SOLICITED, NEIGHBOR_ADVERT, NEIGHBOR_SOLICIT, OPT_SOURCE_LL_ADDR, OPT_TARGET_LL_ADDR, ROUTER_SOLICIT};

use super::local::{echo6_in_place, ipv4_header, turn_ipv4};
use super::neigh::{nd_message, Heard, How, Received};
use super::PacketBuf;
use super::sixover4_wrap::sixover4_multicast;
use super::tunnel_nd;

/// A protocol-41 request on `port` whose IPv4 header is at `l2`. Returns the port to
/// send the answer on (it replaced the request in `buf`) and what it was.
pub(crate) fn answer<B: PacketBuf>(host: &Host, auto: &Automatic, port: &PortView, rx: u16, l2: usize, buf: &mut B) -> Result<(u16, Event), DropReason> {
    let (ihl, total) = ipv4_header(buf.data(), l2)?;
    let d = buf.data();
    let h = arr::<20>(d, l2).ok_or(Ipv4Malformed)?;
    let (src4, dst4, id) = (v4_at(h, 12), v4_at(h, 16), be16([h[4], h[5]]));
    if h[9] != ip_proto::IPV6 {
        return Err(LocalUnsupported);
    }
    let kind = if host.is_endpoint(dst4) {
        TunnelKind::SixToFour
    } else if let Some(kind) = auto.bound(dst4).or_else(|| auto.sixover4_group(rx, dst4)) {
        kind
    } else {
        return Err(LocalUnsupported);
    };
    let inner_at = l2 + ihl;
    let inner = d.get(inner_at..l2 + total).unwrap_or_default();
    let h6 = arr::<40>(inner, 0).ok_or(DecapInnerMalformed)?;
    let inner_len = 40 + usize::from(be16([h6[4], h6[5]]));
    if h6[0] >> 4 != 6 || inner_len > inner.len() {
        return Err(DecapInnerMalformed);
    }
    if check_with(host, auto, kind, src4, dst4, v6_at(h6, 8), v6_at(h6, 24))? != Inner::Local {
        return Err(LocalUnsupported);
    }
    let ip = inner.get(..inner_len).unwrap_or_default();
    let icmp_type = if h6[6] == ip_proto::ICMPV6 { ip.get(40).copied() } else { None };
    let reply = match (icmp_type, kind) {
        (Some(128), _) => return echo(host, port, rx, l2, ihl, total, tunnel_ttl(host, auto, kind), buf),
        (Some(NEIGHBOR_SOLICIT), TunnelKind::SixOver4(i) | TunnelKind::SixOver4Group(i)) => {
            let (packet, to) = sixover4_advert(auto, i, ip, src4)?;
            let src4 = auto.sixover4_v4(i).ok_or(LocalUnsupported)?;
            Reply { multicast: to.is_none(), packet, src4, dst4: to.unwrap_or(0), event: Event::NdAdverts6over4 }
        }
        (Some(NEIGHBOR_SOLICIT), TunnelKind::Isatap(i)) => {
            Reply { multicast: false, packet: isatap_advert(auto, i, ip)?, src4: dst4, dst4: src4, event: Event::NdAdvertsIsatap }
        }
        (Some(ROUTER_SOLICIT), TunnelKind::Isatap(i)) => {
            Reply { multicast: false, packet: isatap_router_advert(auto, i, ip)?, src4: dst4, dst4: src4, event: Event::RouterAdvertsIsatap }
        }
        (Some(133..=137), _) => return Err(NdTunnelIgnored),
        _ => return Err(LocalUnsupported),
    };
    let eth_dst = arr::<6>(buf.data(), 6).copied().ok_or(L2Truncated)?;
    send(buf, port, &reply, eth_dst, tunnel_ttl(host, auto, kind), id)?;
    Ok((rx, reply.event))
}

/// An IPv6 packet to send through a tunnel, from our `src4` to `dst4`, or to all 6over4
/// nodes (`multicast`).
struct Reply {
    multicast: bool,
    packet: Vec<u8>,
    src4: u32,
    dst4: u32,
    event: Event,
}

/// Replaces the request in `buf` with `r`: to 6over4's group of its destination, or
/// unicast through the neighbour the request came from (`eth_dst`).
fn send<B: PacketBuf>(buf: &mut B, port: &PortView, r: &Reply, eth_dst: [u8; 6], ttl: u8, id: u16) -> Result<(), DropReason> {
    fill(buf, &r.packet)?;
    if r.multicast {
        return sixover4_multicast(buf, port, ttl, id);
    }
    let outer = OuterHeader { src: r.src4, dst: r.dst4, ttl, df: false, dscp: DscpPolicy::Copy };
    if !encap::push(buf, &outer, id) || !l2::push(buf, port, &eth_dst, ethertype::IPV4) {
        return Err(NoHeadroom);
    }
    Ok(())
}

/// Makes `buf` hold exactly `packet` (the front stays where it is: the headroom is kept).
fn fill<B: PacketBuf>(buf: &mut B, packet: &[u8]) -> Result<(), DropReason> {
    let have = buf.data().len();
    let sized = if have < packet.len() { grow_tail(buf, packet.len() - have) } else { buf.trim(have - packet.len()) };
    match buf.data_mut().get_mut(..) {
        Some(d) if sized && d.len() == packet.len() => {
            d.copy_from_slice(packet);
            Ok(())
        }
        _ => Err(NoHeadroom),
    }
}

/// A neighbour solicitation (RFC 4861 section 7.1.1) checked: the target, and whether it
/// is duplicate address detection.
fn solicitation(ip: &[u8], ours: impl Fn(u128) -> bool) -> Result<(super::neigh::NdMessage<'_>, bool), DropReason> {
    let m = nd_message(ip, 24)?;
    let target = m.target();
    if is_multicast6(target) {
        return Err(NdMalformed);
    }
    let dad = m.src == 0;
    if dad && (m.dst != solicited_node(target) || m.has_option(OPT_SOURCE_LL_ADDR)) {
        return Err(NdMalformed);
    }
    if !ours(target) {
        return Err(NdNotForUs);
    }
    Ok((m, dad))
}

/// RFC 2529 section 5: the advertisement of our address on 6over4 link `i`, with our
/// IPv4 address as target link-layer address, to the solicitor at the IPv4 address of
/// its source link-layer option (else the outer source `src4`); duplicate address
/// detection is answered to all-nodes (`None`: in group 239.192.0.1).
fn sixover4_advert(auto: &Automatic, i: u8, ip: &[u8], src4: u32) -> Result<(Vec<u8>, Option<u32>), DropReason> {
    let (m, dad) = solicitation(ip, |t| auto.sixover4_owns(i, t))?;
    let ours = auto.sixover4_v4(i).ok_or(LocalUnsupported)?;
    if dad {
        return Ok((tunnel_nd::advert(m.target(), ALL_NODES, Some(ours)), None));
    }
    let to = tunnel_nd::sixover4_link_layer(&m, OPT_SOURCE_LL_ADDR)?.unwrap_or(src4);
    if !auto.is_end(to) || to == ours {
        return Err(NdLinkLayerMalformed);
    }
    Ok((tunnel_nd::advert(m.target(), m.src, Some(ours)), Some(to)))
}

/// Neighbour unreachability detection on ISATAP link `i`: the advertisement, without a
/// link-layer option (the interface identifier is the address).
fn isatap_advert(auto: &Automatic, i: u8, ip: &[u8]) -> Result<Vec<u8>, DropReason> {
    let (m, dad) = solicitation(ip, |t| auto.isatap_owns(i, t))?;
    if dad {
        return Err(NdTunnelIgnored);
    }
    Ok(tunnel_nd::advert(m.target(), m.src, None))
}

/// RFC 4861 section 6.1.1, then the solicited advertisement, unicast to the solicitor
/// (RFC 4861 section 6.2.6; ISATAP has no multicast).
fn isatap_router_advert(auto: &Automatic, i: u8, ip: &[u8]) -> Result<Vec<u8>, DropReason> {
    let m = nd_message(ip, 8)?;
    if m.src == 0 && m.has_option(OPT_SOURCE_LL_ADDR) {
        return Err(NdMalformed);
    }
    let dst = if m.src == 0 { ALL_NODES } else { m.src };
    tunnel_nd::isatap_router_advert(auto, i, dst).ok_or(LocalUnsupported)
}

/// An echo request to one of our addresses goes back through the tunnel it came from.
/// The outer TTL of what we send back through a tunnel of `kind`: a 6over4 link's own,
/// else the pipeline's.
fn tunnel_ttl(host: &Host, auto: &Automatic, kind: TunnelKind) -> u8 {
    match kind {
        TunnelKind::SixOver4(i) | TunnelKind::SixOver4Group(i) => auto.sixover4_ttl(i).unwrap_or(host.outer_ttl),
        _ => host.outer_ttl,
    }
}

#[allow(clippy::too_many_arguments)]
fn echo<B: PacketBuf>(host: &Host, port: &PortView, rx: u16, l2: usize, ihl: usize, total: usize, ttl: u8, buf: &mut B) -> Result<(u16, Event), DropReason> {
    let d = buf.data_mut();
    let inner_len = echo6_in_place(host, d.get_mut(l2 + ihl..l2 + total).unwrap_or_default())?;
    let outer_len = ihl + inner_len;
    let ip = d.get_mut(l2..).unwrap_or_default();
    if let Some(len) = arr_mut::<2>(ip, 2) {
        *len = (outer_len as u16).to_be_bytes();
    }
    turn_ipv4(ip, ihl, ttl);
    reflect(d, port);
    let pad = d.len() - (l2 + outer_len);
    if !buf.trim(pad) {
        return Err(Ipv4Malformed);
    }
    Ok((rx, Event::Echo6Replies))
}

/// What a 6over4 neighbour solicitation or advertisement received on `rx` teaches
/// (RFC 4861 sections 7.2.3 and 7.2.5): the IPv4 address of the sender (its source
/// link-layer option) or of the target (its target link-layer option), as link-layer
/// address `0:0:V`, for an address in the link's prefixes (what the fast path sends
/// to). `None`: not 6over4 neighbour discovery; solicitations are answered as well.
pub(crate) fn sixover4_nd(host: &Host, auto: &Automatic, frame: &[u8], rx: u16) -> Option<Result<Received, DropReason>> {
    let port = host.port(rx)?;
    let (et, l2) = l2_accept(port, frame).ok()?;
    let h = arr::<20>(frame, l2).filter(|h| et == ethertype::IPV4 && h[9] == ip_proto::IPV6)?;
    let dst4 = v4_at(h, 16);
    let i = match auto.bound(dst4).or_else(|| auto.sixover4_group(rx, dst4))? {
        TunnelKind::SixOver4(i) | TunnelKind::SixOver4Group(i) => i,
        _ => return None,
    };
    let ip = frame.get(l2 + usize::from(h[0] & 0x0f) * 4..).unwrap_or_default();
    let icmp_type = match arr::<41>(ip, 0) {
        Some(h6) if h6[6] == ip_proto::ICMPV6 => h6[40],
        _ => return None,
    };
    if icmp_type != NEIGHBOR_SOLICIT && icmp_type != NEIGHBOR_ADVERT {
        return None;
    }
    Some(sixover4_heard(auto, i, rx, ip, dst4, icmp_type))
}

fn sixover4_heard(auto: &Automatic, i: u8, rx: u16, ip: &[u8], dst4: u32, icmp_type: u8) -> Result<Received, DropReason> {
    let m = nd_message(ip, 24)?;
    let lla = |kind| -> Result<Option<[u8; 6]>, DropReason> {
        match tunnel_nd::sixover4_link_layer(&m, kind)? {
            Some(v) if !auto.is_end(v) || Some(v) == auto.sixover4_v4(i) || v == dst4 => Err(NdLinkLayerMalformed),
            Some(v) => Ok(Some(lla_of(v))),
            None => Ok(None),
        }
    };
    let addr = |a: u128| IpAddr::V6(Ipv6Addr::from(a));
    if icmp_type == NEIGHBOR_SOLICIT {
        let mac = lla(OPT_SOURCE_LL_ADDR)?;
        let heard = mac.filter(|_| m.src != 0 && auto.in_sixover4_prefix(i, m.src));
        return Ok(Received::Answer(heard.map(|mac| Heard { port: rx, addr: addr(m.src), mac: Some(mac), how: How::Request })));
    }
    let flags = m.icmp.get(4).copied().unwrap_or_default();
    let target = m.target();
    if is_multicast6(target) || (is_multicast6(m.dst) && flags & NA_FLAG_SOLICITED != 0) {
        return Err(NdMalformed);
    }
    if !auto.in_sixover4_prefix(i, target) {
        return Err(NeighbourBogus);
    }
    // Without an option the advertisement only confirms what we hold (the outer source
    // is the sender, not necessarily the target's V).
    let how = How::Advert { solicited: flags & NA_FLAG_SOLICITED != 0, override_: flags & NA_FLAG_OVERRIDE != 0 };
    Ok(Received::Learn(Heard { port: rx, addr: addr(target), mac: lla(OPT_TARGET_LL_ADDR)?, how }))
}

/// The link-layer address of 6over4 node `v4`, as the workers' neighbour table holds it
/// (RFC 2529 section 5: two zero octets and the IPv4 address).
pub(crate) fn lla_of(v4: u32) -> [u8; 6] {
    let [a, b, c, d] = v4.to_be_bytes();
    [0, 0, a, b, c, d]
}
