//! Neighbour and router discovery over the automatic tunnels, as IPv6 packets for the
//! slow path to send through them. On 6over4 links a link-layer address option carries
//! an IPv4 address (RFC 2529 section 5); ISATAP has none, the interface identifier being
//! the address (RFC 5214 section 6.1), and its routers answer router solicitations
//! (RFC 5214 section 8.3, RFC 4861 section 6.2.6).
use std::net::Ipv4Addr;

use crate::pipeline::mech::{Automatic, LINK_LOCAL};
use crate::pipeline::model::addr::{solicited_node, ALL_NODES};
use crate::pipeline::model::automatic::isatap_iid;
use crate::pipeline::model::verdict::DropReason;
use crate::wire::icmpv6::{NA_FLAG_OVERRIDE, NA_FLAG_ROUTER, NA_FLAG_SOLICITED, NEIGHBOR_ADVERT, NEIGHBOR_SOLICIT, OPT_SOURCE_LL_ADDR, OPT_TARGET_LL_ADDR, ROUTER_ADVERT};

use super::neigh::{nd_packet, NdMessage, PREFERRED_LIFETIME_S, VALID_LIFETIME_S};

/// Router advertisements on ISATAP links: the hop limit for hosts and the router
/// lifetime are RFC 4861's defaults (AdvCurHopLimit, 3 × MaxRtrAdvInterval).
const HOST_HOP_LIMIT: u8 = 64;
const ROUTER_LIFETIME_S: u16 = 1800;

/// A 6over4 link-layer address option (RFC 2529 section 5): type, length 1, two zero
/// octets, the IPv4 address.
pub(crate) fn ipv4_link_layer_option(kind: u8, v4: u32) -> [u8; 8] {
    let [a, b, c, d] = v4.to_be_bytes();
    [kind, 1, 0, 0, a, b, c, d]
}

/// The IPv4 address of the first 6over4 link-layer address option of `kind` in `m`, if
/// any; one of another length or with the zero octets set is malformed.
pub(crate) fn sixover4_link_layer(m: &NdMessage, kind: u8) -> Result<Option<u32>, DropReason> {
    let Some(opt) = m.options().find(|o| o.first() == Some(&kind)) else { return Ok(None) };
    match *opt {
        [_, 1, 0, 0, a, b, c, d] => Ok(Some(u32::from_be_bytes([a, b, c, d]))),
        _ => Err(DropReason::NdLinkLayerMalformed),
    }
}

/// A neighbour advertisement for our `target` to `dst` (all-nodes when answering
/// duplicate address detection: then not solicited), as a router, overriding; with a
/// 6over4 target link-layer address option of our IPv4 address `v4` when given.
pub(crate) fn advert(target: u128, dst: u128, v4: Option<u32>) -> Vec<u8> {
    let solicited = if dst == ALL_NODES { 0 } else { NA_FLAG_SOLICITED };
    let mut m = vec![NEIGHBOR_ADVERT, 0, 0, 0, NA_FLAG_ROUTER | solicited | NA_FLAG_OVERRIDE, 0, 0, 0];
    m.extend_from_slice(&target.to_be_bytes());
    if let Some(v4) = v4 {
        m.extend_from_slice(&ipv4_link_layer_option(OPT_TARGET_LL_ADDR, v4));
    }
    nd_packet(target, dst, &m)
}

/// A neighbour solicitation for `target` from our `src`, with our IPv4 address `v4` as
/// 6over4 source link-layer address: to the solicited-node group, or to `target`
/// itself (a reachability probe).
pub(crate) fn solicit(src: u128, target: u128, v4: u32, unicast: bool) -> Vec<u8> {
    let dst = if unicast { target } else { solicited_node(target) };
    let mut m = vec![NEIGHBOR_SOLICIT, 0, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&target.to_be_bytes());
    m.extend_from_slice(&ipv4_link_layer_option(OPT_SOURCE_LL_ADDR, v4));
    nd_packet(src, dst, &m)
}

/// The solicited router advertisement of ISATAP link `i` to `dst`: from our
/// link-local address (u bit per RFC 5214 section 6.1), the tunnels' MTU, and every
/// prefix of the link, on-link and autonomous (RFC 4861 section 4.6.2).
pub(crate) fn isatap_router_advert(auto: &Automatic, i: u8, dst: u128) -> Option<Vec<u8>> {
    let (ipv4, prefixes64) = auto.isatap_link(i)?;
    let src = LINK_LOCAL | u128::from(isatap_iid(Ipv4Addr::from(ipv4)));
    let mut m = vec![ROUTER_ADVERT, 0, 0, 0, HOST_HOP_LIMIT, 0];
    m.extend_from_slice(&ROUTER_LIFETIME_S.to_be_bytes());
    m.extend_from_slice(&[0; 8]); // reachable time, retrans timer: unspecified
    m.extend_from_slice(&[5, 1, 0, 0]);
    m.extend_from_slice(&u32::from(auto.tunnel_mtu()).to_be_bytes());
    for p in prefixes64 {
        m.extend_from_slice(&[3, 4, 64, 0xc0]);
        m.extend_from_slice(&VALID_LIFETIME_S.to_be_bytes());
        m.extend_from_slice(&PREFERRED_LIFETIME_S.to_be_bytes());
        m.extend_from_slice(&[0; 4]);
        m.extend_from_slice(&p.to_be_bytes());
    }
    Some(nd_packet(src, dst, &m))
}
