//! IPv6 into IPv4 (RFC 4213 section 3): the outer header written from its fields (each
//! tunnel has its own TTL, DF and DSCP policy), its checksum summed from the same fields.
//! Which tunnels a packet may enter is the mechanisms' business (`mech`).
use crate::pipeline::model::PacketBuf;
use crate::pipeline::model::settings::DscpPolicy;
use crate::wire::bytes::{arr, arr_mut};
use crate::wire::checksum::fold;
use crate::wire::ip_proto;

pub const OUTER_LEN: usize = 20;

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
    let flags: u16 = if outer.df { 0x4000 } else { 0 };
    let ttl_proto = u16::from_be_bytes([outer.ttl, ip_proto::IPV6]);
    let (src, dst) = (outer.src, outer.dst);
    h[0] = 0x45;
    h[1] = tos;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[6..8].copy_from_slice(&flags.to_be_bytes());
    h[8..10].copy_from_slice(&ttl_proto.to_be_bytes());
    h[12..16].copy_from_slice(&src.to_be_bytes());
    h[16..20].copy_from_slice(&dst.to_be_bytes());
    let s = (0x4500 | u32::from(tos))
        + u32::from(total)
        + u32::from(id)
        + u32::from(flags)
        + u32::from(ttl_proto)
        + (src >> 16)
        + (src & 0xffff)
        + (dst >> 16)
        + (dst & 0xffff);
    h[10..12].copy_from_slice(&(!fold(s)).to_be_bytes());
    true
}
