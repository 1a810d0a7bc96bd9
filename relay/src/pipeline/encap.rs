//! IPv6 into IPv4 (RFC 3056 section 5, RFC 4213 section 3): the RFC 3964 section 5
//! checks, and the outer header written from its fields (each tunnel has its own TTL, DF
//! and DSCP policy), its checksum summed from the same fields.
use super::auto::Automatic;
use super::bytes::{arr, arr_mut};
use super::checks::{is_6to4, v4_of_6to4};
use super::host::Host;
use super::settings::DscpPolicy;
use super::verdict::DropReason;
use super::PacketBuf;
use crate::wire::checksum::fold;

pub const OUTER_LEN: usize = 20;
const PROTO_IPV6: u8 = 41;

/// RFC 3964 section 5 and RFC 6324 on the way into the tunnel. Returns the outer source.
///
/// ```text
/// src, dst pass IPv6 sanity
/// src off-link and embeds one of our IPv4 addresses      -> loop (RFC 6324)
/// src in 2002::/16: V(src) is ours, and the outer source
/// elif dst in 2002::/16: native source, relays only; outer source anycast or unicast
/// else native to native
/// remote passes IPv4 sanity and is not ours
/// ```
#[inline]
pub(crate) fn check(host: &Host, auto: &Automatic, src: u128, dst: u128, remote: u32, rx_port: u16) -> Result<u32, DropReason> {
    if !host.martians.v6_ok(src) {
        return Err(DropReason::Ipv6SrcMartian);
    }
    if !host.martians.v6_ok(dst) {
        return Err(DropReason::Ipv6DstMartian);
    }
    check_loop(host, auto, src, rx_port)?;
    let outer_src = if is_6to4(src) {
        let v = v4_of_6to4(src);
        if !host.is_endpoint(v) {
            return Err(DropReason::EncapSrcV4Mismatch);
        }
        v
    } else if is_6to4(dst) {
        host.native_outer_src.ok_or(DropReason::EncapNotRelay)?
    } else {
        return Err(DropReason::EncapNativeToNative);
    };
    if !host.martians.v4_ok(remote) {
        return Err(DropReason::Ipv4DstMartian);
    }
    if host.is_own_v4(remote) {
        return Err(DropReason::EncapDstIsSelf);
    }
    Ok(outer_src)
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
    let ttl_proto = u16::from_be_bytes([outer.ttl, PROTO_IPV6]);
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
