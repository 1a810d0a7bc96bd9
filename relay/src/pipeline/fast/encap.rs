//! IPv6 into IPv4 (RFC 4213 section 3): the outer header written from its fields (each
//! tunnel has its own TTL, DF and DSCP policy), its checksum summed from the same fields.
//! Which tunnels a packet may enter is the mechanisms' business (`mech`).
use std::net::Ipv4Addr;

use crate::pipeline::model::PacketBuf;
use crate::pipeline::model::settings::DscpPolicy;
use crate::wire::bytes::{arr, arr_mut};
use crate::wire::{ip_proto, ipv4};

pub const OUTER_LEN: usize = ipv4::HEADER_LEN;

/// The outer IPv4 header of one tunnel packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OuterHeader {
    pub src: u32,
    pub dst: u32,
    pub ttl: u8,
    /// Set unless the tunnel MTU is the IPv6 minimum 1280 (then the IPv4 path may
    /// fragment: RFC 4213 section 3.2).
    pub df: bool,
    pub dscp: DscpPolicy,
}

/// Prepends `outer` (IHL 5, protocol 41, identification `id`) to the IPv6 packet that
/// fills `buf`: TOS from the DSCP policy and the inner ECN (RFC 6040), checksum summed
/// from the fields rather than the bytes. False (buffer unchanged) without headroom.
#[inline(always)]
pub(crate) fn push<B: PacketBuf>(buf: &mut B, outer: &OuterHeader, id: u16) -> bool {
    let d = buf.data();
    let Ok(total) = u16::try_from(d.len() + OUTER_LEN) else { return false };
    let Some(&[b0, b1]) = arr::<2>(d, 0) else { return false };
    let tclass = (b0 << 4) | (b1 >> 4);
    let ecn = tclass & 0x03;
    let tos = match outer.dscp {
        DscpPolicy::Copy => tclass,
        DscpPolicy::Fixed(dscp) => (dscp << 2) | ecn,
    };
    if !buf.prepend(OUTER_LEN) {
        return false;
    }
    let Some(h) = arr_mut::<OUTER_LEN>(buf.data_mut(), 0) else { return false };
    let repr = ipv4::Repr {
        src: Ipv4Addr::from(outer.src),
        dst: Ipv4Addr::from(outer.dst),
        next_header: ip_proto::IPV6,
        ttl: outer.ttl,
        tos,
        total_len: total,
        ident: id,
        dont_frag: outer.df,
    };
    repr.emit(h);
    true
}
