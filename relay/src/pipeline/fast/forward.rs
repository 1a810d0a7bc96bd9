//! Stage 3 of a burst: act on the route of each packet — forward natively, encapsulate,
//! or fail with a drop reason or an ICMPv6 error to send.
use crate::pipeline::mech::{tunnel_ends, AWAITING_V4};
use crate::pipeline::model::counters::Event;
use crate::pipeline::model::tables::{NextHop, RouteTarget, Tables};
use crate::pipeline::model::verdict::{DropReason, Verdict};
use crate::wire::bytes::{arr, v6_at};
use crate::wire::ethertype;

use super::classify::Origin;
use super::ecmp::flow_hash;
use super::encap::{self, OuterHeader, OUTER_LEN};
use super::l2;
use super::{PacketBuf, Pipeline, TokenBucket};

/// The ICMPv6 error a failed packet earns (RFC 4443).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IcmpError {
    /// Type 3 code 0: hop limit exceeded in transit.
    TimeExceeded,
    /// Type 1 code 0: no route to destination.
    NoRoute,
    /// Type 1 code 3: address unreachable (an IPv4 hop of the tunnel said so).
    AddressUnreachable,
    /// Type 2 with the MTU.
    TooBig(u16),
}

pub(crate) enum Fail {
    Drop(DropReason),
    /// Send this error (rate permitting); the packet counts as dropped for the reason.
    Icmp(IcmpError, DropReason),
    /// The frame is complete but for its destination MAC, which is the placeholder
    /// [`awaiting_mac`]: the slow path resolves the next hop and sends it.
    Wait,
}

/// Destination MAC of a frame waiting for its next hop's: all zero but the egress port.
/// No station has it (zero OUI), and the fast path drops any frame received with it
/// (`l2_not_for_us`), so a punted frame carrying it was built by us.
#[inline(always)]
pub(crate) fn awaiting_mac(port: u16) -> [u8; 6] {
    let p = port.to_be_bytes();
    [0, 0, 0, 0, p[0], p[1]]
}

/// The egress port of a frame built with [`awaiting_mac`].
#[inline]
pub(crate) fn awaiting_port(frame: &[u8]) -> Option<u16> {
    match arr::<6>(frame, 0) {
        Some(&[0, 0, 0, 0, hi, lo]) => Some(u16::from_be_bytes([hi, lo])),
        _ => None,
    }
}

use Fail::Icmp;

fn drop(r: DropReason) -> Fail {
    Fail::Drop(r)
}

impl Pipeline {
    /// Route lane of a burst: `hop` is the LPM result for the destination, `src_hop`
    /// for the source (used by uRPF).
    #[inline]
    pub(crate) fn act<B: PacketBuf>(&mut self, tables: &Tables, now: u64, buf: &mut B, origin: Origin, hop: u32, src_hop: u32) -> Verdict {
        let rx = buf.rx_port();
        if self.urpf && origin == Origin::Native {
            if !tables.hop(src_hop).is_some_and(|h| leads_back(tables, h, rx)) {
                return Verdict::Drop(DropReason::UrpfFailed);
            }
        }
        // Sent leaves first: one test, not a merge of every verdict's fields.
        let fail = match self.route(tables, now, buf, origin, rx, hop) {
            Ok(port) => return Verdict::Tx(port),
            Err(f) => f,
        };
        match fail {
            Fail::Drop(r) => Verdict::Drop(r),
            Icmp(e, r) => self.send_icmp_error(tables, now, buf, origin, rx, e, r),
            Fail::Wait => Verdict::Punt,
        }
    }

    /// The largest IPv6 packet for a tunnel of MTU `mtu` to `remote`, lowered by a learned
    /// IPv4 path MTU (minus the outer header, never below 1280).
    #[inline]
    pub(crate) fn tunnel_mtu_to(&self, mtu: u16, remote: u32, now: u64) -> u16 {
        match self.pmtu.get(remote, now) {
            Some(p) => mtu.min(p.saturating_sub(OUTER_LEN as u16).max(1280)),
            None => mtu,
        }
    }

    /// Sends the IPv6 packet that fills `buf` by next hop `hop`. On `Ok` the frame is
    /// complete for the returned port.
    pub(crate) fn route<B: PacketBuf>(&mut self, tables: &Tables, now: u64, buf: &mut B, origin: Origin, rx: u16, hop: u32) -> Result<u16, Fail> {
        let h = arr::<40>(buf.data(), 0).ok_or(drop(DropReason::Ipv6Malformed))?;
        let p = Ipv6Fields { src: v6_at(h, 8), dst: v6_at(h, 24), hop_limit: h[7], len: buf.data().len(), origin, rx };
        let mut hop = tables.hop(hop).ok_or(Icmp(IcmpError::NoRoute, DropReason::NoRoute))?;
        if let RouteTarget::Group { .. } = hop.target {
            hop = tables.group_member(hop.group, flow_hash(buf.data())).ok_or(Icmp(IcmpError::NoRoute, DropReason::NoRoute))?;
        }
        match hop.target {
            RouteTarget::Blackhole => Err(drop(DropReason::RouteBlackhole)),
            // A member is never a group (NextHopGroup::new).
            RouteTarget::Group { .. } => Err(Icmp(IcmpError::NoRoute, DropReason::NoRoute)),
            RouteTarget::Via { .. } | RouteTarget::Connected { .. } => self.forward_native(tables, now, buf, &p, hop),
            RouteTarget::SixToFour
            | RouteTarget::Tunnel { .. }
            | RouteTarget::Configured { .. }
            | RouteTarget::Isatap { .. }
            | RouteTarget::SixRd { .. }
            | RouteTarget::Ipv4Compatible
            | RouteTarget::SixOver4 { .. } => self.encapsulate(tables, now, buf, &p, hop),
        }
    }

    /// The frame is built; it is sent (`Ok`) or, with the placeholder MAC, waits.
    #[inline(always)]
    fn sent_or_waiting(&mut self, port: u16, waiting: bool, sent: Event) -> Result<u16, Fail> {
        if waiting {
            self.counters.count(Event::Unresolved);
            return Err(Fail::Wait);
        }
        self.counters.count(sent);
        Ok(port)
    }

    fn forward_native<B: PacketBuf>(&mut self, tables: &Tables, now: u64, buf: &mut B, p: &Ipv6Fields, hop: &NextHop) -> Result<u16, Fail> {
        let port = self.host.port(hop.port).ok_or(drop(DropReason::PortUnconfigured))?;
        if p.expired() {
            return Err(Icmp(IcmpError::TimeExceeded, DropReason::HopLimitExceeded));
        }
        if p.len > usize::from(port.mtu) {
            return Err(Icmp(IcmpError::TooBig(port.mtu), DropReason::MtuExceeded));
        }
        let mac = match hop.target {
            RouteTarget::Connected { .. } => tables.neighbour6_ref(p.dst),
            _ => hop.resolved.then_some(&hop.mac),
        };
        if mac.is_none() {
            may_wait(&mut self.resolve_bucket, p, now)?;
        }
        p.decrement_hop_limit(buf);
        let awaiting = awaiting_mac(hop.port);
        if !l2::push(buf, port, mac.unwrap_or(&awaiting), ethertype::IPV6) {
            return Err(drop(DropReason::NoHeadroom));
        }
        self.sent_or_waiting(hop.port, mac.is_none(), Event::Forwarded)
    }

    /// Into a tunnel: the checks of its kind, then hop limit, MTU, outer header, L2.
    fn encapsulate<B: PacketBuf>(&mut self, tables: &Tables, now: u64, buf: &mut B, p: &Ipv6Fields, hop: &NextHop) -> Result<u16, Fail> {
        if let Origin::Tunnel { .. } = p.origin {
            return Err(drop(DropReason::TunnelToTunnel));
        }
        let (outer_src, remote, event) = tunnel_ends(&self.host, &self.auto, tables, hop, p.src, p.dst, p.rx).map_err(drop)?;
        // Fixed ends were resolved with the tables; the automatic ones vary per packet.
        let (port_id, mac) = match hop.target {
            RouteTarget::Tunnel { .. } | RouteTarget::Configured { .. } if hop.resolved => (hop.port, Some(&hop.mac)),
            RouteTarget::SixOver4 { .. } if remote == AWAITING_V4 => (self.auto.sixover4_port(hop.local).ok_or(drop(DropReason::NeighbourMissing))?, None),
            _ => tables.v4_route(remote).map_err(drop)?,
        };
        let port = self.host.port(port_id).ok_or(drop(DropReason::PortUnconfigured))?;
        if p.expired() {
            return Err(Icmp(IcmpError::TimeExceeded, DropReason::HopLimitExceeded));
        }
        let mtu = self.tunnel_mtu_to(hop.mtu, remote, now).min(port.mtu.saturating_sub(OUTER_LEN as u16));
        if p.len > usize::from(mtu) {
            return Err(Icmp(IcmpError::TooBig(mtu), DropReason::MtuExceeded));
        }
        if mac.is_none() {
            may_wait(&mut self.resolve_bucket, p, now)?;
        }
        p.decrement_hop_limit(buf);
        self.ident = self.ident.wrapping_add(1);
        let awaiting = awaiting_mac(port_id);
        let outer = OuterHeader { src: outer_src, dst: remote, ttl: hop.ttl, df: hop.mtu > 1280, dscp: hop.dscp };
        if !encap::push(buf, &outer, self.ident) || !l2::push(buf, port, mac.unwrap_or(&awaiting), ethertype::IPV4) {
            return Err(drop(DropReason::NoHeadroom));
        }
        let sent = self.sent_or_waiting(port_id, mac.is_none(), Event::Encapsulated)?;
        self.counters.count(event);
        if let RouteTarget::Configured { tunnel } = hop.target {
            self.tunnel_counters.count_tx(tunnel, p.len);
        }
        Ok(sent)
    }
}

/// Strict uRPF (RFC 3704 section 2.2): the route back to the source leaves by the port the
/// packet came in on — for a group, one of its members does.
fn leads_back(tables: &Tables, h: &NextHop, rx: u16) -> bool {
    let native_on_rx = |h: &NextHop| matches!(h.target, RouteTarget::Via { .. } | RouteTarget::Connected { .. }) && h.port == rx;
    match h.target {
        RouteTarget::Group { .. } => tables.group_members(h.group).any(native_on_rx),
        _ => native_on_rx(h),
    }
}

/// A packet whose next hop has no MAC yet may wait for it in the slow path, within the
/// worker's punt budget; packets we built ourselves are not worth the wait.
#[inline]
fn may_wait(budget: &mut TokenBucket, p: &Ipv6Fields, now: u64) -> Result<(), Fail> {
    if p.origin != Origin::Generated && budget.take(now) {
        Ok(())
    } else {
        Err(drop(DropReason::NeighbourMissing))
    }
}

/// What routing needs from the IPv6 header.
struct Ipv6Fields {
    src: u128,
    dst: u128,
    hop_limit: u8,
    /// The whole IPv6 packet.
    len: usize,
    origin: Origin,
    rx: u16,
}

impl Ipv6Fields {
    /// Forwarding would take the hop limit to 0. Packets we built are not forwarded but
    /// sent, and keep theirs.
    #[inline(always)]
    fn expired(&self) -> bool {
        self.origin != Origin::Generated && self.hop_limit <= 1
    }

    #[inline(always)]
    fn decrement_hop_limit<B: PacketBuf>(&self, buf: &mut B) {
        if self.origin != Origin::Generated {
            if let Some(b) = buf.data_mut().get_mut(7) {
                *b = self.hop_limit.saturating_sub(1);
            }
        }
    }
}
