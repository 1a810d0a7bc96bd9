//! ICMPv4 errors about packets we encapsulated (RFC 4213 section 3.4): learn the path MTU
//! from "fragmentation needed" and relay the error to the inner source as ICMPv6.
use crate::pipeline::model::addr::{is_multicast6, sixtofour_addr};
use crate::pipeline::model::counters::Event;
use crate::pipeline::model::tables::Tables;
use crate::pipeline::model::verdict::{DropReason, Verdict};
use crate::wire::bytes::{arr, be16, v4_at, v6_at};
use crate::wire::checksum::{fold, sum};
use crate::wire::ip_proto;

use super::forward::IcmpError;
use super::icmp_error::{build, MAX_ERROR_LEN};
use super::{PacketBuf, Pipeline};

impl Pipeline {
    /// An ICMPv4 error (type 3, 11 or 12) to one of our addresses; its IPv4 header is at
    /// `l2`, `ihl` long, `total` bytes (validated).
    pub(crate) fn icmp4_error<B: PacketBuf>(&mut self, tables: &Tables, now: u64, buf: &mut B, l2: usize, ihl: usize, total: usize) -> Verdict {
        let d = buf.data();
        let icmp = d.get(l2 + ihl..l2 + total).unwrap_or_default();
        let Some(ih) = arr::<8>(icmp, 0) else { return Verdict::Drop(DropReason::Icmp4Malformed) };
        if fold(sum(icmp)) != 0xffff {
            return Verdict::Drop(DropReason::Icmp4BadChecksum);
        }
        let (icmp_type, code) = (ih[0], ih[1]);
        // The quoted packet: our outer header, then as much of the IPv6 packet as quoted.
        let quoted = icmp.get(8..).unwrap_or_default();
        let Some(q) = arr::<20>(quoted, 0) else { return Verdict::Drop(DropReason::Icmp4NotOurs) };
        let qihl = usize::from(q[0] & 0x0f) * 4;
        let (qsrc, qdst) = (v4_at(q, 12), v4_at(q, 16));
        if q[0] >> 4 != 4 || qihl < 20 || q[9] != ip_proto::IPV6 || !self.host.is_own_v4(qsrc) {
            return Verdict::Drop(DropReason::Icmp4NotOurs);
        }
        if icmp_type == 3 && code == 4 {
            // RFC 1191 next-hop MTU; an old router's 0 means "unknown": assume the minimum.
            let mtu = be16([ih[6], ih[7]]).max(68);
            self.pmtu.learn(qdst, mtu, now);
            self.counters.count(Event::PmtuLearned);
        }
        let inner = quoted.get(qihl..).unwrap_or_default();
        let Some(h6) = arr::<40>(inner, 0) else { return Verdict::Drop(DropReason::Icmp4QuoteShort) };
        let inner_src = v6_at(h6, 8);
        if h6[0] >> 4 != 6 || inner_src == 0 || is_multicast6(inner_src) {
            return Verdict::Drop(DropReason::Icmp4NotOurs);
        }
        let err = match (icmp_type, code) {
            (11, _) => IcmpError::TimeExceeded,
            (3, 4) => IcmpError::TooBig(self.tunnel_mtu_to(tables.tunnel_mtu(qsrc, qdst), qdst, now)),
            _ => IcmpError::AddressUnreachable,
        };
        if !self.bucket.take(now) {
            self.counters.count(Event::IcmpRateLimited);
            return Verdict::Drop(DropReason::Icmp4RateLimited);
        }
        // Keep only the quoted IPv6 packet, then wrap it in the ICMPv6 error.
        let start = l2 + ihl + 8 + qihl;
        let end = (l2 + total).min(start + inner.len().min(MAX_ERROR_LEN));
        let tail = d.len().saturating_sub(end);
        if !buf.trim(tail) || !buf.adj(start) {
            return Verdict::Drop(DropReason::Icmp4Malformed);
        }
        let (icmp6_type, code6, param, event) = match err {
            IcmpError::TimeExceeded => (3, 0, 0, Event::Icmp6TimeExceeded),
            IcmpError::TooBig(mtu) => (2, 0, u32::from(mtu), Event::Icmp6PacketTooBig),
            IcmpError::NoRoute => (1, 0, 0, Event::Icmp6DestUnreachable),
            IcmpError::AddressUnreachable => (1, 3, 0, Event::Icmp6DestUnreachable),
        };
        // From our 6to4 address for 6to4, else as any error about traffic of this port.
        let rx = buf.rx_port();
        let err_src = match self.host.is_endpoint(qsrc) {
            true => Some(sixtofour_addr(qsrc)),
            false => self.host.ports.get(usize::from(rx)).and_then(|p| p.err_src),
        };
        if !err_src.is_some_and(|s| build(buf, s, icmp6_type, code6, param)) {
            return Verdict::Drop(DropReason::NoHeadroom);
        }
        match self.route_generated(tables, now, buf, rx) {
            Ok(port) => {
                self.counters.count(Event::Icmp4Translated);
                self.counters.count(event);
                Verdict::Tx(port)
            }
            Err(r) => {
                self.counters.count(Event::IcmpUnroutable);
                Verdict::Drop(r)
            }
        }
    }
}
