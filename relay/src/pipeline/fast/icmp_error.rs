//! ICMPv6 errors (RFC 4443) built in place from the offending packet, then routed like
//! any packet. Rate-limited per worker; never about an error, a multicast or an
//! unspecified source (RFC 4443 section 2.4(e)).
use crate::pipeline::model::addr::{is_multicast6, sixtofour_addr};
use crate::pipeline::model::counters::Event;
use crate::pipeline::model::tables::Tables;
use crate::pipeline::model::verdict::{DropReason, Verdict};
use crate::wire::bytes::{arr, arr_mut, v6_at};
use crate::wire::checksum::{fold, pseudo_header_v6, sum};
use crate::wire::{ip_proto, Ipv6Packet};

use super::classify::{Lane, Origin};
use super::forward::{Fail, IcmpError};
use super::{PacketBuf, Pipeline};

/// An error is at most the IPv6 minimum MTU (RFC 4443 section 2.4(c)).
pub const MAX_ERROR_LEN: usize = 1280;
const HEADERS: usize = 40 + 8;

/// RFC 4443 section 2.4(e): no error about a packet from a multicast or unspecified
/// source, nor about an ICMPv6 error.
pub(crate) fn may_answer(ip: &[u8]) -> bool {
    let Some(h) = arr::<40>(ip, 0) else { return false };
    let src = v6_at(h, 8);
    if src == 0 || is_multicast6(src) {
        return false;
    }
    match Ipv6Packet::new_unchecked(ip).upper_layer() {
        Ok((ip_proto::ICMPV6, at)) => ip.get(at).is_some_and(|&t| t >= 128),
        Ok(_) => true,
        Err(_) => false,
    }
}

/// Rewrites the IPv6 packet filling `buf` into an ICMPv6 error from `src` to its source,
/// quoting as much of it as fits in 1280 bytes. False if the buffer is not an IPv6
/// packet or has no headroom (then it may be cut short, but it is dropped anyway).
pub(crate) fn build<B: PacketBuf>(buf: &mut B, src: u128, icmp_type: u8, code: u8, param: u32) -> bool {
    let d = buf.data();
    let Some(h) = arr::<40>(d, 0) else { return false };
    let dst = v6_at(h, 8);
    let len = d.len();
    let quote = len.min(MAX_ERROR_LEN - HEADERS);
    if !buf.trim(len - quote) || !buf.prepend(HEADERS) {
        return false;
    }
    let d = buf.data_mut();
    let Some(h) = arr_mut::<HEADERS>(d, 0) else { return false };
    let upper_len = (8 + quote) as u16;
    h[0..4].copy_from_slice(&0x6000_0000u32.to_be_bytes());
    h[4..6].copy_from_slice(&upper_len.to_be_bytes());
    h[6] = ip_proto::ICMPV6;
    h[7] = 64;
    h[8..24].copy_from_slice(&src.to_be_bytes());
    h[24..40].copy_from_slice(&dst.to_be_bytes());
    h[40] = icmp_type;
    h[41] = code;
    h[42..44].copy_from_slice(&[0, 0]);
    h[44..48].copy_from_slice(&param.to_be_bytes());
    let pseudo = pseudo_header_v6(&src.to_be_bytes(), &dst.to_be_bytes(), ip_proto::ICMPV6, u32::from(upper_len));
    let csum = !fold(pseudo + sum(d.get(40..).unwrap_or_default()));
    if let Some(c) = arr_mut::<2>(d, 42) {
        *c = csum.to_be_bytes();
    }
    true
}

impl Pipeline {
    /// Answers the packet in `buf` (dropped for `reason`) with `err`, if allowed and the
    /// bucket has a token. The source is our address on the side the packet came from.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send_icmp_error<B: PacketBuf>(&mut self, tables: &Tables, now: u64, buf: &mut B, origin: Origin, rx: u16, err: IcmpError, reason: DropReason) -> Verdict {
        if origin == Origin::Generated || !may_answer(buf.data()) {
            return Verdict::Drop(reason);
        }
        if !self.bucket.take(now) {
            self.counters.count(Event::IcmpRateLimited);
            return Verdict::Drop(reason);
        }
        let src = match origin {
            Origin::Tunnel { local, six_to_four: true } => Some(sixtofour_addr(local)),
            _ => self.host.ports.get(usize::from(rx)).and_then(|p| p.err_src),
        };
        let (icmp_type, code, param, event) = match err {
            IcmpError::TimeExceeded => (3, 0, 0, Event::Icmp6TimeExceeded),
            IcmpError::NoRoute => (1, 0, 0, Event::Icmp6DestUnreachable),
            IcmpError::AddressUnreachable => (1, 3, 0, Event::Icmp6DestUnreachable),
            IcmpError::TooBig(mtu) => (2, 0, u32::from(mtu), Event::Icmp6PacketTooBig),
        };
        let built = src.is_some_and(|src| build(buf, src, icmp_type, code, param));
        match built.then(|| self.route_generated(tables, now, buf, rx)) {
            Some(Ok(port)) => {
                self.counters.count_reason(reason);
                self.counters.count(event);
                Verdict::Tx(port)
            }
            _ => {
                self.counters.count(Event::IcmpUnroutable);
                Verdict::Drop(reason)
            }
        }
    }

    /// Routes a packet we built (no hop limit decrement, no error about it).
    pub(crate) fn route_generated<B: PacketBuf>(&mut self, tables: &Tables, now: u64, buf: &mut B, rx: u16) -> Result<u16, DropReason> {
        let d = buf.data();
        let h = arr::<40>(d, 0).ok_or(DropReason::Ipv6Malformed)?;
        let lane = Lane::of(Origin::Generated, h, 0, d.len());
        let hop = tables.lookup_one(&Ipv6Packet::new_unchecked(h).dst_bytes());
        self.route(tables, now, buf, &lane, rx, hop).map_err(|f| match f {
            Fail::Drop(r) | Fail::Icmp(_, r) => r,
            Fail::Wait => DropReason::NeighbourMissing,
        })
    }
}
