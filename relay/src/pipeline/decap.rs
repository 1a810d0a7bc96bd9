//! IPv4 protocol 41 out of the tunnel (RFC 3056 section 5, RFC 4213 section 3.6, RFC 3964
//! section 5, RFC 6324, RFC 6040).
use super::auto::Automatic;
use super::bytes::{arr, v6_at};
use super::checks::{is_6to4, is_link_local6, is_multicast6, rfc4213_src_ok, v4_of_6to4};
use super::classify::{Class, Origin};
use super::counters::Event;
use super::host::Host;
use super::verdict::{DropReason, Verdict};
use super::{PacketBuf, Pipeline};

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

/// Which kind of tunnel a protocol-41 packet arrived on: a row of the decapsulation
/// table, chosen by the outer addresses (RFC 3964 section 6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TunnelKind {
    SixToFour,
    Configured,
    Ipv4Compatible,
    /// ISATAP link i.
    Isatap(u8),
    /// The 6rd domains of the BR address (the inner source picks the domain).
    SixRd,
    /// 6over4 link i, unicast to our address.
    SixOver4(u8),
    /// 6over4 link i, IPv6 multicast in IPv4 group 239.192.x.y.
    SixOver4Group(u8),
}

impl TunnelKind {
    /// The per-mechanism counter of packets taken out.
    fn event(self) -> Event {
        match self {
            TunnelKind::SixToFour => Event::Decap6to4,
            TunnelKind::Configured => Event::DecapConfigured,
            TunnelKind::Ipv4Compatible => Event::DecapIpv4Compatible,
            TunnelKind::Isatap(_) => Event::DecapIsatap,
            TunnelKind::SixRd => Event::Decap6rd,
            TunnelKind::SixOver4(_) | TunnelKind::SixOver4Group(_) => Event::Decap6over4,
        }
    }
}

/// What to do with an inner packet that passed the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inner {
    /// Addressed to us: the slow path answers (echo, ND). To a group (6over4, ISATAP):
    /// delivered as any multicast to us.
    Local,
    Forward,
}

/// The checks on the way out of a tunnel of `kind`:
///
/// ```text
/// inner src passes RFC 4213 3.6 (::V exempt on the IPv4-compatible tunnel)
/// 6to4: RFC 3964 section 5 (check_6to4)
/// configured: the ends matched the table already
/// the other automatic kinds: their own source checks (Automatic::check_decap)
/// dst_v6 ours -> local; otherwise (but for 6to4, whose sanity check covers it) a
///   source ::, a multicast or link-local address is not forwarded
/// not ours, not on-link and embedding our IPv4 -> loop (RFC 6324)
/// ```
#[inline]
pub(crate) fn check_with(host: &Host, auto: &Automatic, kind: TunnelKind, src4: u32, dst4: u32, src: u128, dst: u128) -> Result<Inner, DropReason> {
    let compatible = kind == TunnelKind::Ipv4Compatible && src >> 32 == 0 && src > 1;
    if !rfc4213_src_ok(src) && !compatible {
        return Err(DropReason::DecapInnerSrcInvalid);
    }
    match kind {
        TunnelKind::SixToFour => check_6to4(host, src4, dst4, src, dst)?,
        TunnelKind::Configured => {}
        _ => match auto.check_decap(host, kind, src4, dst4, src, dst)? {
            Inner::Forward => {}
            inner => return Ok(inner),
        },
    }
    if host.is_own_v6(dst) {
        return Ok(Inner::Local);
    }
    // 6to4's sanity checks covered these. For the others, one cheap test (a source in
    // ::/16, either address from fe80:: up) lets nearly every packet past the rare inner
    // addresses that are not forwarded as they are.
    if kind != TunnelKind::SixToFour {
        let top16 = |a: u128| (a >> 112) as u16;
        if top16(src).wrapping_sub(1) >= 0xfe80 - 1 || top16(dst) >= 0xfe80 {
            if let Some(refused) = odd_inner(kind, src, dst) {
                return refused;
            }
        }
    }
    if auto.embeds_own_v4(host, dst) && !host.dst_ours_or_on_link(dst) && !auto.on_link(dst) {
        return Err(DropReason::LoopDstEmbedsOwnV4);
    }
    Ok(Inner::Forward)
}

/// A packet out of a tunnel other than 6to4 with a multicast destination, or an
/// unspecified or link-local source or destination, is not forwarded; `None` for any
/// other.
#[cold]
fn odd_inner(kind: TunnelKind, src: u128, dst: u128) -> Option<Result<Inner, DropReason>> {
    if is_multicast6(dst) {
        return Some(match kind {
            // Router solicitations on an ISATAP link come to all-routers (RFC 5214
            // section 8.3), from `::` too (RFC 4861 section 6.1.1).
            TunnelKind::Isatap(_) => Ok(Inner::Local),
            _ if src == 0 => Err(DropReason::Ipv6SrcInvalid),
            _ => Err(DropReason::MulticastIgnored),
        });
    }
    if src == 0 {
        return Some(Err(DropReason::Ipv6SrcInvalid));
    }
    (is_link_local6(src) || is_link_local6(dst)).then_some(Err(DropReason::Ipv6LinkLocal))
}

/// RFC 3964 section 5 for a packet out of 6to4:
///
/// ```text
/// src_v4 passes IPv4 sanity (dst_v4 is our endpoint); src_v6, dst_v6 pass IPv6 sanity
/// dst_v6 in 2002::/16: V(dst_v6) == dst_v4, and if src_v6 in 2002::/16, V(src_v6) == src_v4
/// elif src_v6 in 2002::/16: V(src_v6) == src_v4, and dst_v4 is a relay address of ours
/// else native to native
/// ```
#[inline]
fn check_6to4(host: &Host, src4: u32, dst4: u32, src: u128, dst: u128) -> Result<(), DropReason> {
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
        if h[0] >> 4 != 6 || inner_len > inner.len() {
            return Class::Done(Verdict::Drop(DropReason::DecapInnerMalformed));
        }
        let (src, dst) = (v6_at(h, 8), v6_at(h, 24));
        match check_with(&self.host, &self.auto, kind, src4, dst4, src, dst) {
            Err(r) => return Class::Done(Verdict::Drop(r)),
            Ok(Inner::Local) if is_multicast6(dst) => {
                let ip = inner.get(..inner_len).unwrap_or_default();
                return Class::Done(self.auto.local_multicast(&self.host, kind, ip, dst));
            }
            Ok(Inner::Local) => return Class::Done(Verdict::Punt),
            Ok(Inner::Forward) => {}
        }
        // RFC 6040 section 4.2: outer CE is copied to an ECT inner, and drops a Not-ECT one.
        let inner_ecn = (h[1] >> 4) & 0x03;
        if tos & 0x03 == 0x03 && inner_ecn != 0x03 {
            if inner_ecn == 0 {
                return Class::Done(Verdict::Drop(DropReason::EcnCeNotEct));
            }
            if let Some(b) = buf.data_mut().get_mut(inner_at + 1) {
                *b |= 0x30;
            }
            self.counters.count(Event::EcnCeMarked);
        }
        let tail = buf.data().len().saturating_sub(inner_at + inner_len);
        if !buf.trim(tail) || !buf.adj(inner_at) {
            return Class::Done(Verdict::Drop(DropReason::DecapInnerMalformed));
        }
        self.counters.count(Event::Decapsulated);
        self.counters.count(kind.event());
        let origin = Origin::Tunnel { local: dst4, six_to_four: kind == TunnelKind::SixToFour };
        Class::Route { origin, src: src.to_be_bytes(), dst: dst.to_be_bytes() }
    }
}
