//! IPv6 into IPv4 (RFC 3056 section 5, RFC 4213 section 3): the RFC 3964 section 5
//! checks, and the outer header from a per-source template (VPP `sixrd.c` style: copy 20
//! bytes, patch TOS, length, id, destination, finish the checksum from a partial sum).
use super::bytes::arr_mut;
use super::checks::{is_6to4, v4_of_6to4};
use super::host::Host;
use super::settings::DscpPolicy;
use super::verdict::DropReason;
use super::PacketBuf;
use crate::wire::checksum::{fold, sum};

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
pub(crate) fn check(host: &Host, src: u128, dst: u128, remote: u32, rx_port: u16) -> Result<u32, DropReason> {
    if !host.martians.v6_ok(src) {
        return Err(DropReason::Ipv6SrcMartian);
    }
    if !host.martians.v6_ok(dst) {
        return Err(DropReason::Ipv6DstMartian);
    }
    if host.embeds_own_v4(src) && !host.is_own_v6(src) && !host.src_on_link(src, rx_port) {
        return Err(DropReason::LoopSrcEmbedsOwnV4);
    }
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

/// A configured tunnel (RFC 4213) takes any IPv6, but not from a source that embeds one
/// of our IPv4 addresses off-link (RFC 6324).
#[inline]
pub(crate) fn check_configured(host: &Host, src: u128, rx_port: u16) -> Result<(), DropReason> {
    if host.embeds_own_v4(src) && !host.is_own_v6(src) && !host.src_on_link(src, rx_port) {
        return Err(DropReason::LoopSrcEmbedsOwnV4);
    }
    Ok(())
}

/// A precomputed outer header for one source address.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Template {
    src: u32,
    hdr: [u8; OUTER_LEN],
    /// Sum of the words that never change: flags/fragment, TTL/protocol, source.
    partial: u32,
}

/// Outer headers for each of our tunnel sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Encapsulator {
    templates: Vec<Template>,
    dscp: DscpPolicy,
}

impl Encapsulator {
    /// DF is set unless the tunnel MTU is the IPv6 minimum 1280 (then the IPv4 path may
    /// fragment: RFC 4213 section 3.2).
    pub fn new(sources: &[u32], ttl: u8, dscp: DscpPolicy, tunnel_mtu: u16) -> Encapsulator {
        let flags: u16 = if tunnel_mtu > 1280 { 0x4000 } else { 0 };
        let templates = sources
            .iter()
            .map(|&src| {
                let mut hdr = [0u8; OUTER_LEN];
                hdr[0] = 0x45;
                hdr[6..8].copy_from_slice(&flags.to_be_bytes());
                hdr[8] = ttl;
                hdr[9] = PROTO_IPV6;
                hdr[12..16].copy_from_slice(&src.to_be_bytes());
                let partial = sum(&hdr[6..10]) + sum(&hdr[12..16]);
                Template { src, hdr, partial }
            })
            .collect();
        Encapsulator { templates, dscp }
    }

    /// Prepends the outer header to the IPv6 packet that fills `buf`. False (buffer
    /// unchanged) without headroom or template.
    #[inline]
    pub fn push<B: PacketBuf>(&self, buf: &mut B, src: u32, dst: u32, id: u16) -> bool {
        let Some(t) = self.templates.iter().find(|t| t.src == src) else { return false };
        let d = buf.data();
        let inner_len = d.len();
        let Ok(total) = u16::try_from(inner_len + OUTER_LEN) else { return false };
        let Some(&[b0, b1]) = d.get(..2).and_then(|s| <&[u8; 2]>::try_from(s).ok()) else { return false };
        let tclass = (b0 << 4) | (b1 >> 4);
        let ecn = tclass & 0x03;
        let tos = match self.dscp {
            DscpPolicy::Copy => (tclass & 0xfc) | ecn,
            DscpPolicy::Fixed(dscp) => (dscp << 2) | ecn,
        };
        if !buf.prepend(OUTER_LEN) {
            return false;
        }
        let Some(h) = arr_mut::<OUTER_LEN>(buf.data_mut(), 0) else { return false };
        *h = t.hdr;
        h[1] = tos;
        h[2..4].copy_from_slice(&total.to_be_bytes());
        h[4..6].copy_from_slice(&id.to_be_bytes());
        h[16..20].copy_from_slice(&dst.to_be_bytes());
        let s = t.partial
            + (0x4500 | u32::from(tos))
            + u32::from(total)
            + u32::from(id)
            + (dst >> 16)
            + (dst & 0xffff);
        h[10..12].copy_from_slice(&(!fold(s)).to_be_bytes());
        true
    }
}
