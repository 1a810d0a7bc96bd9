//! Stage 3 of a burst: act on the route of each packet — forward natively, encapsulate,
//! or fail with a drop reason or an ICMPv6 error to send.
use super::bytes::{arr, v6_at};
use super::checks::{is_6to4, v4_of_6to4};
use super::classify::Origin;
use super::counters::Event;
use super::encap::{self, OUTER_LEN};
use super::l2;
use super::tables::{HopKind, NextHop, Tables};
use super::verdict::{DropReason, Verdict};
use super::{PacketBuf, Pipeline};
use crate::wire::ethertype;

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
            let back = tables.hop(src_hop).is_some_and(|h| matches!(h.kind, HopKind::Via | HopKind::Connected) && h.port == rx);
            if !back {
                return Verdict::Drop(DropReason::UrpfFailed);
            }
        }
        match self.route(tables, now, buf, origin, rx, hop) {
            Ok(port) => Verdict::Tx(port),
            Err(Fail::Drop(r)) => Verdict::Drop(r),
            Err(Icmp(e, r)) => self.send_icmp_error(tables, now, buf, origin, rx, e, r),
        }
    }

    /// The largest IPv6 packet for the tunnel to `remote`: the tunnel MTU, lowered by a
    /// learned IPv4 path MTU (minus the outer header, never below 1280).
    #[inline]
    pub(crate) fn tunnel_mtu_to(&self, remote: u32, now: u64) -> u16 {
        match self.pmtu.get(remote, now) {
            Some(p) => self.tunnel_mtu.min(p.saturating_sub(OUTER_LEN as u16).max(1280)),
            None => self.tunnel_mtu,
        }
    }

    /// Sends the IPv6 packet that fills `buf` by next hop `hop`. On `Ok` the frame is
    /// complete for the returned port.
    pub(crate) fn route<B: PacketBuf>(&mut self, tables: &Tables, now: u64, buf: &mut B, origin: Origin, rx: u16, hop: u32) -> Result<u16, Fail> {
        let h = arr::<40>(buf.data(), 0).ok_or(drop(DropReason::Ipv6Malformed))?;
        let p = Ipv6Fields { src: v6_at(h, 8), dst: v6_at(h, 24), hop_limit: h[7], len: buf.data().len(), origin, rx };
        let hop = *tables.hop(hop).ok_or(Icmp(IcmpError::NoRoute, DropReason::NoRoute))?;
        match hop.kind {
            HopKind::Blackhole => Err(drop(DropReason::RouteBlackhole)),
            HopKind::Via | HopKind::Connected => self.forward_native(tables, buf, &p, &hop),
            HopKind::SixToFour | HopKind::Tunnel | HopKind::Configured => self.encapsulate(tables, now, buf, &p, &hop),
        }
    }

    fn forward_native<B: PacketBuf>(&mut self, tables: &Tables, buf: &mut B, p: &Ipv6Fields, hop: &NextHop) -> Result<u16, Fail> {
        let port = self.host.port(hop.port).ok_or(drop(DropReason::PortUnconfigured))?;
        if p.expired() {
            return Err(Icmp(IcmpError::TimeExceeded, DropReason::HopLimitExceeded));
        }
        if p.len > usize::from(port.mtu) {
            return Err(Icmp(IcmpError::TooBig(port.mtu), DropReason::MtuExceeded));
        }
        let mac = match hop.kind {
            HopKind::Connected => tables.neighbour6(p.dst).ok_or(drop(DropReason::NeighbourMissing))?,
            _ if hop.resolved => hop.mac,
            _ => return Err(drop(DropReason::NeighbourMissing)),
        };
        p.decrement_hop_limit(buf);
        if !l2::push(buf, port, mac, ethertype::IPV6) {
            return Err(drop(DropReason::NoHeadroom));
        }
        self.counters.count(Event::Forwarded);
        Ok(hop.port)
    }

    /// Into a tunnel: the checks of its kind, then hop limit, MTU, outer header, L2.
    fn encapsulate<B: PacketBuf>(&mut self, tables: &Tables, now: u64, buf: &mut B, p: &Ipv6Fields, hop: &NextHop) -> Result<u16, Fail> {
        if let Origin::Tunnel { .. } = p.origin {
            return Err(drop(DropReason::TunnelToTunnel));
        }
        let (outer_src, remote) = match hop.kind {
            HopKind::Configured => {
                encap::check_configured(&self.host, p.src, p.rx).map_err(drop)?;
                (hop.local, hop.remote)
            }
            _ => {
                let remote = match hop.kind {
                    HopKind::Tunnel => hop.remote,
                    _ if is_6to4(p.dst) => v4_of_6to4(p.dst),
                    _ => return Err(drop(DropReason::Ipv6DstMartian)),
                };
                (encap::check(&self.host, p.src, p.dst, remote, p.rx).map_err(drop)?, remote)
            }
        };
        let (port_id, mac) = match hop.kind {
            HopKind::SixToFour => tables.v4_egress(remote).map_err(drop)?,
            _ if hop.resolved => (hop.port, hop.mac),
            _ => return Err(drop(DropReason::NeighbourMissing)),
        };
        let port = self.host.port(port_id).ok_or(drop(DropReason::PortUnconfigured))?;
        if p.expired() {
            return Err(Icmp(IcmpError::TimeExceeded, DropReason::HopLimitExceeded));
        }
        let mtu = self.tunnel_mtu_to(remote, now).min(port.mtu.saturating_sub(OUTER_LEN as u16));
        if p.len > usize::from(mtu) {
            return Err(Icmp(IcmpError::TooBig(mtu), DropReason::MtuExceeded));
        }
        p.decrement_hop_limit(buf);
        self.ident = self.ident.wrapping_add(1);
        if !self.encap.push(buf, outer_src, remote, self.ident) || !l2::push(buf, port, mac, ethertype::IPV4) {
            return Err(drop(DropReason::NoHeadroom));
        }
        self.counters.count(Event::Encapsulated);
        Ok(port_id)
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
