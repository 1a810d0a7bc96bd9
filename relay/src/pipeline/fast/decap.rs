//! IPv4 protocol 41 out of the tunnel (RFC 3056 section 5, RFC 4213 section 3.6, RFC 3964
//! section 5, RFC 6324, RFC 6040).
use crate::pipeline::mech::{check_with, Inner, TunnelKind};
use crate::pipeline::model::addr::is_multicast6;
use crate::pipeline::model::counters::Event;
use crate::pipeline::model::PacketBuf;
use crate::pipeline::model::verdict::{DropReason, Verdict};
use crate::wire::bytes::{arr, v6_at};
use crate::wire::ecn;

use super::classify::{is_jumbogram, local6, Class, Origin};
use super::Pipeline;

/// The validated outer IPv4 header of a received frame.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Outer {
    /// Offset of the IPv4 header (the L2 header length).
    pub l2: usize,
    pub ihl: usize,
    /// IPv4 total length.
    pub total: usize,
    pub src: u32,
    pub dst: u32,
    pub tos: u8,
}

impl Pipeline {
    /// A protocol-41 packet to our endpoint. On success the buffer holds exactly the
    /// inner IPv6 packet.
    pub(crate) fn decap<B: PacketBuf>(&mut self, buf: &mut B, outer: Outer, kind: TunnelKind) -> Class {
        let Outer { l2, ihl, total, src: src4, dst: dst4, tos } = outer;
        let d = buf.data();
        let inner_at = l2 + ihl;
        let Some(inner) = d.get(inner_at..l2 + total) else {
            return Class::Done(Verdict::Drop(DropReason::DecapInnerMalformed));
        };
        let Some(h) = arr::<40>(inner, 0) else {
            return Class::Done(Verdict::Drop(DropReason::DecapInnerMalformed));
        };
        let inner_len = 40 + usize::from(u16::from_be_bytes([h[4], h[5]]));
        if h[0] >> 4 != 6 || inner_len > inner.len() || is_jumbogram(h) {
            return Class::Done(Verdict::Drop(DropReason::DecapInnerMalformed));
        }
        let (src, dst) = (v6_at(h, 8), v6_at(h, 24));
        match check_with(&self.host, &self.auto, kind, src4, dst4, src, dst) {
            Err(r) => return Class::Done(Verdict::Drop(r)),
            Ok(Inner::Local) if is_multicast6(dst) => {
                let ip = inner.get(..inner_len).unwrap_or_default();
                let verdict = if self.auto.punts_multicast(kind, ip, dst) { Verdict::Punt } else { local6(&self.host, ip, dst) };
                return Class::Done(verdict);
            }
            Ok(Inner::Local) => return Class::Done(Verdict::Punt),
            Ok(Inner::Forward) => {}
        }
        // RFC 6040 section 4.2: the outer ECN is copied in when it says more than the inner
        // one — CE onto an ECT inner, ECT(1) onto ECT(0) — and CE on a Not-ECT inner drops
        // it. Only an outer ECT(1) or CE can change anything, which one test tells.
        let (outer_ecn, inner_ecn) = (tos & 0x03, (h[1] >> 4) & 0x03);
        if outer_ecn & ecn::ECT1 != 0 && inner_ecn != outer_ecn && inner_ecn != ecn::CE {
            match (outer_ecn, inner_ecn) {
                (ecn::CE, ecn::NOT_ECT) => return Class::Done(Verdict::Drop(DropReason::EcnCeNotEct)),
                // Not-ECT stays Not-ECT under ECT(1): the inner transport did not ask for ECN.
                (ecn::ECT1, ecn::NOT_ECT) => {}
                (to, _) => {
                    if let Some(b) = buf.data_mut().get_mut(inner_at + 1) {
                        *b = (*b & !0x30) | (to << 4);
                    }
                    if to == ecn::CE {
                        self.counters.count(Event::EcnCeMarked);
                    }
                }
            }
        }
        let tail = buf.data().len().saturating_sub(inner_at + inner_len);
        if !buf.trim(tail) || !buf.adj(inner_at) {
            return Class::Done(Verdict::Drop(DropReason::DecapInnerMalformed));
        }
        self.counters.count(Event::Decapsulated);
        self.counters.count(kind.event());
        if let TunnelKind::Configured(id) = kind {
            self.tunnel_counters.count_rx(id, inner_len);
        }
        let origin = Origin::Tunnel { local: dst4, six_to_four: kind == TunnelKind::SixToFour };
        Class::Route { origin, src: src.to_be_bytes(), dst: dst.to_be_bytes() }
    }
}
