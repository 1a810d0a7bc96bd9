//! 6to4 (RFC 3056) as router and relay (RFC 3068, RFC 7526): the RFC 3964 section 5
//! checks on the way out of and into the tunnel, and the outer source a packet into it
//! takes (the site's V, or the relay's anycast or unicast address for a native source).
use crate::pipeline::model::addr::{is_6to4, v4_of_6to4};
use crate::pipeline::model::host::Host;
use crate::pipeline::model::verdict::DropReason;

use super::{check_loop, Automatic};


/// RFC 3964 section 5 for a packet out of 6to4:
///
/// ```text
/// src_v4 passes IPv4 sanity (dst_v4 is our endpoint); src_v6, dst_v6 pass IPv6 sanity
/// dst_v6 in 2002::/16: V(dst_v6) == dst_v4, and if src_v6 in 2002::/16, V(src_v6) == src_v4
/// elif src_v6 in 2002::/16: V(src_v6) == src_v4, and dst_v4 is a relay address of ours
/// else native to native
/// ```
#[inline]
pub(crate) fn check_decap(host: &Host, src4: u32, dst4: u32, src: u128, dst: u128) -> Result<(), DropReason> {
    if !host.martians.v4_ok(src4) {
        return Err(DropReason::Ipv4SrcMartian);
    }
    if !host.martians.v6_ok(src) {
        return Err(DropReason::Ipv6SrcMartian);
    }
    if !host.martians.v6_ok(dst) {
        return Err(DropReason::Ipv6DstMartian);
    }
    if is_6to4(dst) {
        if v4_of_6to4(dst) != dst4 {
            return Err(DropReason::DecapDstV4Mismatch);
        }
        if is_6to4(src) && v4_of_6to4(src) != src4 {
            return Err(DropReason::DecapSrcV4Mismatch);
        }
    } else if is_6to4(src) {
        if v4_of_6to4(src) != src4 {
            return Err(DropReason::DecapSrcV4Mismatch);
        }
        if !host.is_relay_endpoint(dst4) {
            return Err(DropReason::DecapNotRelay);
        }
    } else {
        return Err(DropReason::DecapNativeToNative);
    }
    Ok(())
}


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
pub(crate) fn check_encap(host: &Host, auto: &Automatic, src: u128, dst: u128, remote: u32, rx_port: u16) -> Result<u32, DropReason> {
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
