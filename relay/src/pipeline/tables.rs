//! The tables workers read: IPv6 routes (LPM + next-hop table), IPv4 egress (connected
//! subnets, default gateway) and static neighbours.
//!
//! Next hops are resolved when the tables change, not per packet: a next-hop entry holds
//! its egress port and destination MAC (the gateway's static neighbour, or the IPv4
//! egress of a fixed tunnel endpoint), so the fast path reads one small array slot after
//! the LPM. Only connected routes (a MAC per destination) and 6to4 routes (an IPv4
//! endpoint per destination) resolve per packet.
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::checks::{builtin_v4_ok, is_6to4, mask4, mask6, v4_of_6to4};
use super::settings::Settings;
use super::verdict::DropReason;
use crate::lpm::Lpm6;
use crate::wire::EthernetAddress;

/// Where a route sends packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteTarget {
    /// Through the IPv6 router `gateway` on `port` (MAC from the neighbour table).
    Via { gateway: Ipv6Addr, port: u16 },
    /// On-link on `port`: each destination's MAC from the neighbour table.
    Connected { port: u16 },
    /// Into the 6to4 tunnel, to the IPv4 address embedded in each destination.
    SixToFour,
    /// Into the 6to4 tunnel to the IPv4 address embedded in `via` (a 2002:: next hop,
    /// typically a relay: `2002:c058:6301::` is 192.88.99.1).
    Tunnel { via: Ipv6Addr },
    /// Dropped, counted as `route_blackhole`.
    Blackhole,
}

impl fmt::Display for RouteTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteTarget::Via { gateway, port } => write!(f, "via {gateway} port {port}"),
            RouteTarget::Connected { port } => write!(f, "port {port}"),
            RouteTarget::SixToFour => f.write_str("6to4"),
            RouteTarget::Tunnel { via } => write!(f, "via {via}"),
            RouteTarget::Blackhole => f.write_str("blackhole"),
        }
    }
}

/// A change to [`Tables`], as sent from the control core to every worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableUpdate {
    /// Adds `prefix/len`, or replaces its target.
    RouteAdd { prefix: Ipv6Addr, len: u8, target: RouteTarget },
    RouteDel { prefix: Ipv6Addr, len: u8 },
    /// Adds or replaces a static neighbour.
    NeighbourSet { addr: IpAddr, mac: EthernetAddress },
    NeighbourDel { addr: IpAddr },
}

impl TableUpdate {
    /// Applies the update, or changes nothing and says why. Deterministic: the same
    /// update on equal tables gives the same result, so a worker never fails an update
    /// the control copy accepted.
    pub fn apply(&self, t: &mut Tables) -> Result<(), String> {
        match *self {
            TableUpdate::RouteAdd { prefix, len, target } => t.route_add(prefix, len, target),
            TableUpdate::RouteDel { prefix, len } => t.route_del(prefix, len),
            TableUpdate::NeighbourSet { addr, mac } => t.neighbour_set(addr, mac),
            TableUpdate::NeighbourDel { addr } => t.neighbour_del(addr),
        }
    }
}

impl fmt::Display for TableUpdate {
    /// The text form [`parse_update`](super::parse_update) reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableUpdate::RouteAdd { prefix, len, target } => write!(f, "route add {prefix}/{len} {target}"),
            TableUpdate::RouteDel { prefix, len } => write!(f, "route del {prefix}/{len}"),
            TableUpdate::NeighbourSet { addr, mac } => write!(f, "neighbour set {addr} {mac}"),
            TableUpdate::NeighbourDel { addr } => write!(f, "neighbour del {addr}"),
        }
    }
}

/// The fast path's form of a route target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HopKind {
    Via,
    Connected,
    SixToFour,
    Tunnel,
    Blackhole,
}

/// One next-hop slot, indexed by the id the LPM returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NextHop {
    pub kind: HopKind,
    /// Egress port (Via, Connected; Tunnel once resolved).
    pub port: u16,
    /// Destination MAC, valid when `resolved` (Via, Tunnel).
    pub mac: [u8; 6],
    pub resolved: bool,
    /// Tunnel endpoint (Tunnel).
    pub remote: u32,
}

#[derive(Clone, Debug)]
struct HopSlot {
    target: RouteTarget,
    routes: u32,
    hop: NextHop,
}

/// Multiplicative hashing for integer keys (addresses the operator configured, not
/// attacker-chosen insertions, so no SipHash needed).
#[derive(Default, Clone, Copy)]
pub(crate) struct IntHasher(u64);

impl Hasher for IntHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn write_u128(&mut self, n: u128) {
        self.write_u32(n as u32 ^ (n >> 96) as u32);
        self.0 = (self.0 ^ (n >> 32) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

/// Routes, next hops, IPv4 egress and neighbours. Each worker owns a replica.
#[derive(Clone, Debug)]
pub struct Tables {
    lpm: Lpm6,
    hops: Vec<HopSlot>,
    hop_ids: HashMap<RouteTarget, u32>,
    free_hops: Vec<u32>,
    neigh4: IntMap<u32, EthernetAddress>,
    neigh6: IntMap<u128, EthernetAddress>,
    /// `(network, mask, port)` of each port's IPv4 subnet.
    v4_connected: Vec<(u32, u32, u16)>,
    v4_gateway: Option<(u32, u16)>,
    /// The gateway's `(port, MAC)` once its neighbour is known.
    gateway_egress: Option<(u16, [u8; 6])>,
    /// Which ports are configured (routes may only use those).
    ports: Vec<bool>,
}

impl Tables {
    /// Tables for `settings`: connected routes and subnets of every port, the default
    /// gateway, `2002::/16 6to4` when a 6to4 role is on (unless configured otherwise),
    /// then the configured neighbours and routes.
    pub fn new(settings: &Settings) -> Result<Tables, String> {
        let mut t = Tables {
            lpm: Lpm6::new(),
            hops: Vec::new(),
            hop_ids: HashMap::new(),
            free_hops: Vec::new(),
            neigh4: IntMap::default(),
            neigh6: IntMap::default(),
            v4_connected: Vec::new(),
            v4_gateway: None,
            gateway_egress: None,
            ports: settings.ports.iter().map(|p| p.configured).collect(),
        };
        for (port, p) in settings.ports.iter().enumerate() {
            let port = port as u16;
            if let Some(a) = p.ipv4 {
                t.v4_connected.push((u32::from(a.addr) & mask4(a.len), mask4(a.len), port));
            }
            if let Some(gw) = p.gateway {
                t.v4_gateway = Some((u32::from(gw), port));
            }
            for a in p.ipv6.iter().filter(|a| !a.addr.is_unicast_link_local()) {
                let net = Ipv6Addr::from(u128::from(a.addr) & mask6(a.len));
                t.route_add(net, a.len, RouteTarget::Connected { port })?;
            }
        }
        let configured_6to4 = settings.routes.iter().any(|u| {
            matches!(u, TableUpdate::RouteAdd { prefix, len: 16, .. } if u128::from(*prefix) == 0x2002 << 112)
        });
        if (settings.router.is_some() || settings.relay.is_some()) && !configured_6to4 {
            t.route_add(Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16, RouteTarget::SixToFour)?;
        }
        for u in settings.neighbours.iter().chain(settings.routes.iter()) {
            u.apply(&mut t).map_err(|e| format!("{u}: {e}"))?;
        }
        Ok(t)
    }

    /// Every route, sorted by prefix then length.
    pub fn routes(&self) -> Vec<(Ipv6Addr, u8, RouteTarget)> {
        self.lpm
            .routes()
            .into_iter()
            .filter_map(|(p, l, id)| Some((p, l, self.hops.get(id as usize)?.target)))
            .collect()
    }

    /// Every static neighbour, sorted by address.
    pub fn neighbours(&self) -> Vec<(IpAddr, EthernetAddress)> {
        let v4 = self.neigh4.iter().map(|(&a, &m)| (IpAddr::from(Ipv4Addr::from(a)), m));
        let v6 = self.neigh6.iter().map(|(&a, &m)| (IpAddr::from(Ipv6Addr::from(a)), m));
        let mut all: Vec<_> = v4.chain(v6).collect();
        all.sort();
        all
    }

    /// The route for `addr` (longest match), as the fast path sees it.
    pub fn lookup(&self, addr: Ipv6Addr) -> Option<RouteTarget> {
        let id = self.lpm.lookup(&addr.octets());
        self.hops.get(id as usize).map(|h| h.target)
    }

    #[inline(always)]
    pub(crate) fn lookup_bulk(&self, addrs: &[[u8; 16]], out: &mut [u32]) {
        self.lpm.lookup_bulk(addrs, out);
    }

    #[inline(always)]
    pub(crate) fn lookup_one(&self, addr: &[u8; 16]) -> u32 {
        self.lpm.lookup(addr)
    }

    #[inline(always)]
    pub(crate) fn hop(&self, id: u32) -> Option<&NextHop> {
        self.hops.get(id as usize).map(|h| &h.hop)
    }

    #[inline(always)]
    pub(crate) fn neighbour6(&self, addr: u128) -> Option<[u8; 6]> {
        self.neigh6.get(&addr).map(|m| m.0)
    }

    /// Port and next-hop MAC towards the IPv4 `dst`: its own MAC on a connected subnet,
    /// else the gateway's.
    #[inline]
    pub(crate) fn v4_egress(&self, dst: u32) -> Result<(u16, [u8; 6]), DropReason> {
        for &(net, mask, port) in &self.v4_connected {
            if (dst ^ net) & mask == 0 {
                return self.neigh4.get(&dst).map(|m| (port, m.0)).ok_or(DropReason::NeighbourMissing);
            }
        }
        match (self.v4_gateway, self.gateway_egress) {
            (Some(_), Some(egress)) => Ok(egress),
            (Some(_), None) => Err(DropReason::NeighbourMissing),
            (None, _) => Err(DropReason::Ipv4NoRoute),
        }
    }

    fn port_ok(&self, port: u16) -> Result<(), String> {
        match self.ports.get(usize::from(port)) {
            Some(true) => Ok(()),
            Some(false) => Err(format!("port {port} is not configured")),
            None => Err(format!("port {port} does not exist ({} ports)", self.ports.len())),
        }
    }

    fn check_target(&self, prefix: Ipv6Addr, len: u8, target: RouteTarget) -> Result<(), String> {
        match target {
            RouteTarget::Via { gateway, port } => {
                if gateway.is_multicast() || gateway.is_unspecified() || gateway.is_loopback() {
                    return Err(format!("next hop {gateway} is not a unicast address"));
                }
                self.port_ok(port)
            }
            RouteTarget::Connected { port } => self.port_ok(port),
            RouteTarget::SixToFour => {
                if len < 16 || !is_6to4(u128::from(prefix)) {
                    return Err(format!("{prefix}/{len}: a 6to4 route must lie within 2002::/16"));
                }
                Ok(())
            }
            RouteTarget::Tunnel { via } => tunnel_remote(via).map(|_| ()),
            RouteTarget::Blackhole => Ok(()),
        }
    }

    fn route_add(&mut self, prefix: Ipv6Addr, len: u8, target: RouteTarget) -> Result<(), String> {
        check_prefix(prefix, len)?;
        self.check_target(prefix, len, target)?;
        let id = self.hop_for(target)?;
        match self.lpm.insert(prefix, len, id) {
            Ok(old) => {
                // The route held a reference on the hop it had (possibly this same one).
                if let Some(old) = old {
                    self.release(old);
                }
                Ok(())
            }
            Err(e) => {
                self.release(id);
                Err(e.to_string())
            }
        }
    }

    fn route_del(&mut self, prefix: Ipv6Addr, len: u8) -> Result<(), String> {
        check_prefix(prefix, len)?;
        match self.lpm.remove(prefix, len) {
            Ok(Some(old)) => {
                self.release(old);
                Ok(())
            }
            Ok(None) => Err(format!("no route {prefix}/{len}")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The next-hop id for `target`, shared by every route to it; counts one more route.
    fn hop_for(&mut self, target: RouteTarget) -> Result<u32, String> {
        if let Some(&id) = self.hop_ids.get(&target) {
            if let Some(slot) = self.hops.get_mut(id as usize) {
                slot.routes += 1;
            }
            return Ok(id);
        }
        let slot = HopSlot { target, routes: 1, hop: self.resolve(target) };
        let id = match self.free_hops.pop() {
            Some(id) => {
                if let Some(s) = self.hops.get_mut(id as usize) {
                    *s = slot;
                }
                id
            }
            None => {
                let id = u32::try_from(self.hops.len())
                    .ok()
                    .filter(|&id| id != Lpm6::MISS)
                    .ok_or("next-hop table full")?;
                self.hops.push(slot);
                id
            }
        };
        self.hop_ids.insert(target, id);
        Ok(id)
    }

    fn release(&mut self, id: u32) {
        let Some(slot) = self.hops.get_mut(id as usize) else { return };
        slot.routes = slot.routes.saturating_sub(1);
        if slot.routes == 0 {
            self.hop_ids.remove(&slot.target);
            slot.target = RouteTarget::Blackhole;
            slot.hop = NextHop { kind: HopKind::Blackhole, port: 0, mac: [0; 6], resolved: false, remote: 0 };
            self.free_hops.push(id);
        }
    }

    fn resolve(&self, target: RouteTarget) -> NextHop {
        let mut hop = NextHop { kind: HopKind::Blackhole, port: 0, mac: [0; 6], resolved: false, remote: 0 };
        match target {
            RouteTarget::Via { gateway, port } => {
                hop.kind = HopKind::Via;
                hop.port = port;
                if let Some(m) = self.neigh6.get(&u128::from(gateway)) {
                    hop.mac = m.0;
                    hop.resolved = true;
                }
            }
            RouteTarget::Connected { port } => {
                hop.kind = HopKind::Connected;
                hop.port = port;
            }
            RouteTarget::SixToFour => hop.kind = HopKind::SixToFour,
            RouteTarget::Tunnel { via } => {
                hop.kind = HopKind::Tunnel;
                hop.remote = v4_of_6to4(u128::from(via));
                if let Ok((port, mac)) = self.v4_egress(hop.remote) {
                    hop.port = port;
                    hop.mac = mac;
                    hop.resolved = true;
                }
            }
            RouteTarget::Blackhole => {}
        }
        hop
    }

    /// Re-resolves the gateway and every next hop after a neighbour change.
    fn resolve_all(&mut self) {
        self.gateway_egress = self
            .v4_gateway
            .and_then(|(gw, port)| self.neigh4.get(&gw).map(|m| (port, m.0)));
        for i in 0..self.hops.len() {
            if let Some(target) = self.hops.get(i).filter(|s| s.routes > 0).map(|s| s.target) {
                let hop = self.resolve(target);
                if let Some(s) = self.hops.get_mut(i) {
                    s.hop = hop;
                }
            }
        }
    }

    fn neighbour_set(&mut self, addr: IpAddr, mac: EthernetAddress) -> Result<(), String> {
        if !mac.is_unicast() || mac.0 == [0; 6] {
            return Err(format!("{mac} is not a unicast MAC address"));
        }
        match addr {
            IpAddr::V4(a) if a.is_unspecified() || a.is_broadcast() || a.is_multicast() => {
                return Err(format!("{a} is not a unicast IPv4 address"));
            }
            IpAddr::V6(a) if a.is_unspecified() || a.is_multicast() => {
                return Err(format!("{a} is not a unicast IPv6 address"));
            }
            IpAddr::V4(a) => self.neigh4.insert(u32::from(a), mac),
            IpAddr::V6(a) => self.neigh6.insert(u128::from(a), mac),
        };
        self.resolve_all();
        Ok(())
    }

    fn neighbour_del(&mut self, addr: IpAddr) -> Result<(), String> {
        let removed = match addr {
            IpAddr::V4(a) => self.neigh4.remove(&u32::from(a)),
            IpAddr::V6(a) => self.neigh6.remove(&u128::from(a)),
        };
        removed.ok_or_else(|| format!("no neighbour {addr}"))?;
        self.resolve_all();
        Ok(())
    }
}

impl PartialEq for Tables {
    /// Same routes, neighbours and IPv4 egress (next-hop ids may differ).
    fn eq(&self, other: &Tables) -> bool {
        self.routes() == other.routes()
            && self.neighbours() == other.neighbours()
            && self.v4_connected == other.v4_connected
            && self.v4_gateway == other.v4_gateway
            && self.ports == other.ports
    }
}

/// `len` in range and no host bits past it.
pub(crate) fn check_prefix(prefix: Ipv6Addr, len: u8) -> Result<(), String> {
    if len > 128 {
        return Err(format!("prefix length {len} is over 128"));
    }
    let a = u128::from(prefix);
    if a & !mask6(len) != 0 {
        let net = Ipv6Addr::from(a & mask6(len));
        return Err(format!("{prefix}/{len} has host bits set (the network is {net}/{len})"));
    }
    Ok(())
}

/// The IPv4 endpoint of a tunnel next hop: the V of a 2002:V:: address, which must be a
/// global unicast IPv4 address.
pub(crate) fn tunnel_remote(via: Ipv6Addr) -> Result<Ipv4Addr, String> {
    let a = u128::from(via);
    if !is_6to4(a) {
        return Err(format!("next hop {via} is not a 6to4 address: give a port"));
    }
    let v4 = Ipv4Addr::from(v4_of_6to4(a));
    if !builtin_v4_ok(v4) {
        return Err(format!("next hop {via} embeds {v4}, which is not a global IPv4 address"));
    }
    Ok(v4)
}
