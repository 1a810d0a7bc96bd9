//! Stage 3 of a burst: act on the route of each packet — forward natively, encapsulate,
//! or fail with a drop reason or an ICMPv6 error to send.
use crate::pipeline::mech::{check_loop, sixtofour, tunnel_ends, AWAITING_V4};
use crate::pipeline::model::addr::{is_6to4, v4_of_6to4};
use crate::pipeline::model::counters::Event;
use crate::pipeline::model::tables::{NextHop, RouteTarget, Tables, TunnelId};
use crate::pipeline::model::verdict::{DropReason, Verdict};
use crate::wire::bytes::{arr, arr_mut};
use crate::wire::{ethertype, Ipv6Packet};

use super::classify::{Lane, Origin};
use super::ecmp::flow_hash;
use super::encap::{OuterHeader, OUTER_LEN};
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
    pub(crate) fn act<B: PacketBuf>(&mut self, tables: &Tables, now: u64, buf: &mut B, lane: &Lane, hop: u32, src_hop: u32) -> Verdict {
        let rx = buf.rx_port();
        if self.urpf && lane.origin == Origin::Native {
            if !tables.hop(src_hop).is_some_and(|h| leads_back(tables, h, rx)) {
                return Verdict::Drop(DropReason::UrpfFailed);
            }
        }
        // Sent leaves first: one test, not a merge of every verdict's fields.
        let fail = match self.route(tables, now, buf, lane, rx, hop) {
            Ok(port) => return Verdict::Tx(port),
            Err(f) => f,
        };
        match fail {
            Fail::Drop(r) => Verdict::Drop(r),
            // The error quotes the IPv6 packet, which the headers in front of it are not.
            Icmp(e, r) if buf.adj(usize::from(lane.at)) => self.send_icmp_error(tables, now, buf, lane.origin, rx, e, r),
            Icmp(_, r) => Verdict::Drop(r),
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

    /// Sends the IPv6 packet of `lane` by next hop `hop`. On `Ok` the frame is complete
    /// for the returned port.
    pub(crate) fn route<B: PacketBuf>(&mut self, tables: &Tables, now: u64, buf: &mut B, lane: &Lane, rx: u16, hop: u32) -> Result<u16, Fail> {
        let mut hop = tables.hop(hop).ok_or(Icmp(IcmpError::NoRoute, DropReason::NoRoute))?;
        if let RouteTarget::Group { .. } = hop.target {
            let ip = buf.data().get(usize::from(lane.at)..).unwrap_or_default();
            hop = tables.group_member(hop.group, flow_hash(ip)).ok_or(Icmp(IcmpError::NoRoute, DropReason::NoRoute))?;
        }
        match hop.target {
            RouteTarget::Via { .. } | RouteTarget::Connected { .. } => self.forward_native(tables, now, buf, lane, rx, hop),
            RouteTarget::SixToFour | RouteTarget::Tunnel { .. } => self.encap_6to4(tables, now, buf, lane, rx, hop),
            RouteTarget::Configured { tunnel } => self.encap_configured(tables, now, buf, lane, rx, hop, tunnel),
            RouteTarget::Isatap { .. } | RouteTarget::SixRd { .. } | RouteTarget::Ipv4Compatible | RouteTarget::SixOver4 { .. } => {
                self.encap_automatic(tables, now, buf, lane, rx, hop)
            }
            RouteTarget::Blackhole => Err(drop(DropReason::RouteBlackhole)),
            // A member is never a group (NextHopGroup::new).
            RouteTarget::Group { .. } => Err(Icmp(IcmpError::NoRoute, DropReason::NoRoute)),
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

    fn forward_native<B: PacketBuf>(&mut self, tables: &Tables, now: u64, buf: &mut B, lane: &Lane, _rx: u16, hop: &NextHop) -> Result<u16, Fail> {
        let port = self.host.port(hop.port).ok_or(drop(DropReason::PortUnconfigured))?;
        if lane.expired() {
            return Err(Icmp(IcmpError::TimeExceeded, DropReason::HopLimitExceeded));
        }
        if lane.len > port.mtu {
            return Err(Icmp(IcmpError::TooBig(port.mtu), DropReason::MtuExceeded));
        }
        let mac = match hop.target {
            RouteTarget::Connected { .. } => tables.neighbour6_ref(lane.dst),
            _ => hop.resolved.then_some(&hop.mac),
        };
        if mac.is_none() {
            may_wait(&mut self.resolve_bucket, lane, now)?;
        }
        lane.decrement_hop_limit(buf);
        let awaiting = awaiting_mac(hop.port);
        let eth = l2::header(port, mac.unwrap_or(&awaiting), ethertype::IPV6);
        if !l2::make_room(buf, usize::from(lane.at), eth.header_len()) || eth.emit(buf.data_mut()).is_err() {
            return Err(drop(DropReason::NoHeadroom));
        }
        self.sent_or_waiting(hop.port, mac.is_none(), Event::Forwarded)
    }

    /// Into 6to4 (RFC 3056, RFC 3068): to the V of each destination, or of the relay a
    /// `via 2002:V::` route names; the RFC 3964 checks are the mechanism's.
    #[inline(never)]
    fn encap_6to4<B: PacketBuf>(&mut self, tables: &Tables, now: u64, buf: &mut B, lane: &Lane, rx: u16, hop: &NextHop) -> Result<u16, Fail> {
        if lane.from_tunnel() {
            return Err(drop(DropReason::TunnelToTunnel));
        }
        let remote = match hop.target {
            RouteTarget::Tunnel { .. } => hop.remote,
            _ if is_6to4(lane.dst) => v4_of_6to4(lane.dst),
            _ => return Err(drop(DropReason::Ipv6DstMartian)),
        };
        let outer_src = sixtofour::check_encap(&self.host, &self.auto, lane.src, lane.dst, remote, rx).map_err(drop)?;
        let (port, mac) = match hop.target {
            RouteTarget::Tunnel { .. } if hop.resolved => (hop.port, Some(&hop.mac)),
            _ => tables.v4_route(remote).map_err(drop)?,
        };
        let sent = self.send_in_tunnel(now, buf, lane, hop, (outer_src, remote), port, mac)?;
        self.counters.count(Event::Encap6to4);
        Ok(sent)
    }

    /// Into configured tunnel `tunnel` (RFC 4213): its own ends, its egress resolved with
    /// the tables.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn encap_configured<B: PacketBuf>(&mut self, tables: &Tables, now: u64, buf: &mut B, lane: &Lane, rx: u16, hop: &NextHop, tunnel: TunnelId) -> Result<u16, Fail> {
        if lane.from_tunnel() {
            return Err(drop(DropReason::TunnelToTunnel));
        }
        check_loop(&self.host, &self.auto, lane.src, rx).map_err(drop)?;
        let (port, mac) = match hop.resolved {
            true => (hop.port, Some(&hop.mac)),
            false => tables.v4_route(hop.remote).map_err(drop)?,
        };
        let sent = self.send_in_tunnel(now, buf, lane, hop, (hop.local, hop.remote), port, mac)?;
        self.counters.count(Event::EncapConfigured);
        self.tunnel_counters.count_tx(tunnel, usize::from(lane.len));
        Ok(sent)
    }

    /// Into ISATAP, 6rd, the IPv4-compatible tunnel or 6over4: the far end each
    /// destination embeds (a 6over4 end not known yet waits for the slow path).
    fn encap_automatic<B: PacketBuf>(&mut self, tables: &Tables, now: u64, buf: &mut B, lane: &Lane, rx: u16, hop: &NextHop) -> Result<u16, Fail> {
        if lane.from_tunnel() {
            return Err(drop(DropReason::TunnelToTunnel));
        }
        let (outer_src, remote, event) = tunnel_ends(&self.host, &self.auto, tables, hop, lane.src, lane.dst, rx).map_err(drop)?;
        let (port, mac) = match hop.target {
            RouteTarget::SixOver4 { .. } if remote == AWAITING_V4 => (self.auto.sixover4_port(hop.local).ok_or(drop(DropReason::NeighbourMissing))?, None),
            _ => tables.v4_route(remote).map_err(drop)?,
        };
        let sent = self.send_in_tunnel(now, buf, lane, hop, (outer_src, remote), port, mac)?;
        self.counters.count(event);
        Ok(sent)
    }

    /// The IPv6 packet of `lane` into the tunnel from `ends.0` to `ends.1` by `port_id`
    /// to `mac` (None: not resolved yet, the frame waits): hop limit, MTU, then the outer
    /// IPv4 and L2 headers written in front of it.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn send_in_tunnel<B: PacketBuf>(&mut self, now: u64, buf: &mut B, lane: &Lane, hop: &NextHop, ends: (u32, u32), port_id: u16, mac: Option<&[u8; 6]>) -> Result<u16, Fail> {
        let (outer_src, remote) = ends;
        let port = self.host.port(port_id).ok_or(drop(DropReason::PortUnconfigured))?;
        if lane.expired() {
            return Err(Icmp(IcmpError::TimeExceeded, DropReason::HopLimitExceeded));
        }
        let mtu = self.tunnel_mtu_to(hop.mtu, remote, now).min(port.mtu.saturating_sub(OUTER_LEN as u16));
        if lane.len > mtu {
            return Err(Icmp(IcmpError::TooBig(mtu), DropReason::MtuExceeded));
        }
        if mac.is_none() {
            may_wait(&mut self.resolve_bucket, lane, now)?;
        }
        lane.decrement_hop_limit(buf);
        self.ident = self.ident.wrapping_add(1);
        let awaiting = awaiting_mac(port_id);
        let outer = OuterHeader { src: outer_src, dst: remote, ttl: hop.ttl, df: hop.mtu > 1280, dscp: hop.dscp };
        let ipv4 = outer.repr(lane.traffic_class, usize::from(lane.len), self.ident).ok_or(drop(DropReason::NoHeadroom))?;
        let eth = l2::header(port, mac.unwrap_or(&awaiting), ethertype::IPV4);
        let l2_len = eth.header_len();
        if !l2::make_room(buf, usize::from(lane.at), l2_len + OUTER_LEN) {
            return Err(drop(DropReason::NoHeadroom));
        }
        let d = buf.data_mut();
        match arr_mut::<OUTER_LEN>(d, l2_len) {
            Some(h) => ipv4.emit(h),
            None => return Err(drop(DropReason::NoHeadroom)),
        }
        if eth.emit(d).is_err() {
            return Err(drop(DropReason::NoHeadroom));
        }
        self.sent_or_waiting(port_id, mac.is_none(), Event::Encapsulated)
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
fn may_wait(budget: &mut TokenBucket, lane: &Lane, now: u64) -> Result<(), Fail> {
    if lane.origin != Origin::Generated && budget.take(now) {
        Ok(())
    } else {
        Err(drop(DropReason::NeighbourMissing))
    }
}

impl Lane {
    #[inline(always)]
    fn from_tunnel(&self) -> bool {
        matches!(self.origin, Origin::Tunnel { .. })
    }

    /// Forwarding would take the hop limit to 0. Packets we built are not forwarded but
    /// sent, and keep theirs.
    #[inline(always)]
    fn expired(&self) -> bool {
        self.origin != Origin::Generated && self.hop_limit <= 1
    }

    #[inline(always)]
    fn decrement_hop_limit<B: PacketBuf>(&self, buf: &mut B) {
        if self.origin != Origin::Generated {
            if let Some(h) = arr_mut::<40>(buf.data_mut(), usize::from(self.at)) {
                Ipv6Packet::new_unchecked(h).set_hop_limit(self.hop_limit.saturating_sub(1));
            }
        }
    }
}
