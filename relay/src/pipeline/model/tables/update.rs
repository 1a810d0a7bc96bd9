//! Changes to the tables: [`TableUpdate`] and how each applies. Every change is checked
//! before anything is touched, so a rejected one leaves the tables as they were.
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::lpm::Lpm6;
use crate::pipeline::model::addr::{builtin_v4_ok, is_6to4, mask6, v4_of_6to4};
use crate::pipeline::model::automatic::Ipv6Prefix;
use crate::wire::EthernetAddress;

use super::{ConfiguredTunnel, HopSlot, NextHop, NextHopGroup, Route4Target, TableError, Tables, TunnelId, UNRESOLVED};

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
    /// Into configured tunnel `id` (RFC 4213): its fixed local and remote IPv4 addresses.
    Configured { tunnel: TunnelId },
    /// Onto the ISATAP link of our address `local` (RFC 5214), to the IPv4 address in each
    /// destination's interface identifier.
    Isatap { local: Ipv4Addr },
    /// Into the 6rd domain `prefix/len` (RFC 5969), to the CE address each destination
    /// embeds.
    SixRd { prefix: Ipv6Addr, len: u8 },
    /// Into the IPv4-compatible tunnel, to the V of each destination `::V`.
    Ipv4Compatible,
    /// Onto the 6over4 link of our address `local` (RFC 2529), to the V of interface
    /// identifier `::V`.
    SixOver4 { local: Ipv4Addr },
    /// One member of next-hop group `group` per flow (ECMP).
    Group { group: u16 },
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
            RouteTarget::Configured { tunnel } => write!(f, "tunnel {tunnel}"),
            RouteTarget::Isatap { local } => write!(f, "isatap {local}"),
            RouteTarget::SixRd { prefix, len } => write!(f, "6rd {prefix}/{len}"),
            RouteTarget::Ipv4Compatible => f.write_str("ipv4-compatible"),
            RouteTarget::SixOver4 { local } => write!(f, "6over4 {local}"),
            RouteTarget::Group { group } => write!(f, "group {group}"),
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
    /// Adds an outer IPv4 route `prefix/len`, or replaces its target.
    Route4Add { prefix: Ipv4Addr, len: u8, target: Route4Target },
    Route4Del { prefix: Ipv4Addr, len: u8 },
    /// Adds or replaces a static neighbour.
    NeighbourSet { addr: IpAddr, mac: EthernetAddress },
    NeighbourDel { addr: IpAddr },
    /// Adds or replaces configured tunnel `id` (RFC 4213); its `local` must be ours.
    TunnelSet { id: TunnelId, tunnel: ConfiguredTunnel },
    /// Removes a configured tunnel no route uses.
    TunnelDel { id: TunnelId },
    /// Adds or replaces next-hop group `id`; routes to it follow at once.
    GroupSet { id: u16, group: NextHopGroup },
    /// Removes a next-hop group no route uses.
    GroupDel { id: u16 },
}

impl TableUpdate {
    /// Applies the update, or changes nothing and says why. Deterministic: the same
    /// update on equal tables gives the same result, so a worker never fails an update
    /// the control copy accepted.
    pub fn apply(&self, t: &mut Tables) -> Result<(), TableError> {
        match *self {
            TableUpdate::RouteAdd { prefix, len, target } => t.route_add(prefix, len, target),
            TableUpdate::RouteDel { prefix, len } => t.route_del(prefix, len),
            TableUpdate::Route4Add { prefix, len, target } => t.route4_add(prefix, len, target),
            TableUpdate::Route4Del { prefix, len } => t.route4_del(prefix, len),
            TableUpdate::NeighbourSet { addr, mac } => t.neighbour_set(addr, mac),
            TableUpdate::NeighbourDel { addr } => t.neighbour_del(addr),
            TableUpdate::TunnelSet { id, tunnel } => t.tunnel_set(id, tunnel),
            TableUpdate::TunnelDel { id } => t.tunnel_del(id),
            TableUpdate::GroupSet { id, ref group } => t.group_set(id, group),
            TableUpdate::GroupDel { id } => t.group_del(id),
        }
    }
}

impl fmt::Display for TableUpdate {
    /// The text form [`parse_update`](crate::pipeline::parse_update) reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableUpdate::RouteAdd { prefix, len, target } => write!(f, "route add {prefix}/{len} {target}"),
            TableUpdate::RouteDel { prefix, len } => write!(f, "route del {prefix}/{len}"),
            TableUpdate::Route4Add { prefix, len, target } => write!(f, "route add {prefix}/{len} {target}"),
            TableUpdate::Route4Del { prefix, len } => write!(f, "route del {prefix}/{len}"),
            TableUpdate::NeighbourSet { addr, mac } => write!(f, "neighbour set {addr} {mac}"),
            TableUpdate::NeighbourDel { addr } => write!(f, "neighbour del {addr}"),
            TableUpdate::TunnelSet { id, tunnel } => write!(f, "tunnel set {id} {tunnel}"),
            TableUpdate::TunnelDel { id } => write!(f, "tunnel del {id}"),
            TableUpdate::GroupSet { id, group } => write!(f, "group set {id} {group}"),
            TableUpdate::GroupDel { id } => write!(f, "group del {id}"),
        }
    }
}


impl Tables {
    pub(super) fn port_ok(&self, port: u16) -> Result<(), TableError> {
        match self.ports.get(usize::from(port)) {
            Some(true) => Ok(()),
            Some(false) => Err(TableError::PortUnconfigured(port)),
            None => Err(TableError::NoSuchPort { port, ports: self.ports.len() }),
        }
    }

    pub(super) fn check_target(&self, prefix: Ipv6Addr, len: u8, target: RouteTarget) -> Result<(), TableError> {
        match target {
            RouteTarget::Via { gateway, port } => {
                if gateway.is_multicast() || gateway.is_unspecified() || gateway.is_loopback() {
                    return Err(TableError::NextHopNotUnicast(gateway));
                }
                self.port_ok(port)
            }
            RouteTarget::Connected { port } => self.port_ok(port),
            RouteTarget::SixToFour => {
                if len < 16 || !is_6to4(u128::from(prefix)) {
                    return Err(TableError::SixToFourOutside2002 { prefix, len });
                }
                Ok(())
            }
            RouteTarget::Tunnel { via } => tunnel_remote(via).map(|_| ()),
            RouteTarget::Configured { tunnel } => match self.tunnels.contains_key(&tunnel) {
                true => Ok(()),
                false => Err(TableError::NoTunnel(tunnel)),
            },
            RouteTarget::Isatap { .. } | RouteTarget::SixRd { .. } | RouteTarget::Ipv4Compatible | RouteTarget::SixOver4 { .. } => {
                self.check_automatic(prefix, len, target)
            }
            RouteTarget::Group { group } => match self.group_index.contains_key(&group) {
                true => Ok(()),
                false => Err(TableError::NoGroup(group)),
            },
            RouteTarget::Blackhole => Ok(()),
        }
    }

    pub(super) fn route_add(&mut self, prefix: Ipv6Addr, len: u8, target: RouteTarget) -> Result<(), TableError> {
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
                Err(e.into())
            }
        }
    }

    fn route_del(&mut self, prefix: Ipv6Addr, len: u8) -> Result<(), TableError> {
        check_prefix(prefix, len)?;
        match self.lpm.remove(prefix, len) {
            Ok(Some(old)) => {
                self.release(old);
                Ok(())
            }
            Ok(None) => Err(TableError::NoRoute { prefix, len }),
            Err(e) => Err(e.into()),
        }
    }

    /// The next-hop id for `target`, shared by every route to it; counts one more route.
    pub(super) fn hop_for(&mut self, target: RouteTarget) -> Result<u32, TableError> {
        if let Some(&id) = self.hop_ids.get(&target) {
            if let Some(slot) = self.hops.get_mut(id as usize) {
                slot.routes += 1;
            }
            return Ok(id);
        }
        let slot = HopSlot { routes: 1, hop: self.resolve(target) };
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
                    .ok_or(TableError::NextHopTableFull)?;
                self.hops.push(slot);
                id
            }
        };
        self.hop_ids.insert(target, id);
        Ok(id)
    }

    pub(super) fn release(&mut self, id: u32) {
        let Some(slot) = self.hops.get_mut(id as usize) else { return };
        slot.routes = slot.routes.saturating_sub(1);
        if slot.routes == 0 {
            self.hop_ids.remove(&slot.hop.target);
            slot.hop = UNRESOLVED;
            self.free_hops.push(id);
        }
    }

    fn resolve(&self, target: RouteTarget) -> NextHop {
        let mut hop = NextHop { target, mtu: self.encap.mtu, ttl: self.encap.ttl, dscp: self.encap.dscp, ..UNRESOLVED };
        match target {
            RouteTarget::Via { gateway, port } => {
                hop.port = port;
                if let Some(m) = self.neigh6.get(&u128::from(gateway)) {
                    hop.mac = m.0;
                    hop.resolved = true;
                }
            }
            RouteTarget::Connected { port } => {
                hop.port = port;
            }
            // The 6to4 address of each destination names its end, per packet.
            RouteTarget::SixToFour | RouteTarget::Blackhole => {}
            RouteTarget::Group { group } => {
                hop.group = self.group_index.get(&group).copied().unwrap_or(u32::MAX);
            }
            RouteTarget::Tunnel { via } => {
                hop.remote = v4_of_6to4(u128::from(via));
            }
            RouteTarget::Configured { tunnel } => {
                if let Some(t) = self.tunnels.get(&tunnel) {
                    hop.local = u32::from(t.local);
                    hop.remote = u32::from(t.remote);
                    hop.mtu = t.mtu.unwrap_or(hop.mtu);
                    hop.ttl = t.ttl.unwrap_or(hop.ttl);
                    hop.dscp = t.dscp.unwrap_or(hop.dscp);
                }
            }
            RouteTarget::Isatap { local } => {
                hop.local = u32::from(local);
            }
            RouteTarget::SixRd { prefix, len } => {
                if let Some(d) = self.automatic.sixrd.iter().find(|d| d.prefix == Ipv6Prefix { addr: prefix, len }) {
                    hop.local = u32::from(d.br);
                    hop.remote = u32::from(d.ipv4_prefix.addr());
                    hop.shift = d.shift();
                    hop.bits = d.embedded_bits();
                }
            }
            RouteTarget::Ipv4Compatible => {
                hop.local = self.automatic.ipv4_compatible.map_or(0, u32::from);
            }
            RouteTarget::SixOver4 { local } => {
                hop.local = u32::from(local);
                if let Some(l) = self.automatic.sixover4.iter().find(|l| l.ipv4 == local) {
                    hop.ttl = l.ttl;
                }
            }
        }
        if matches!(target, RouteTarget::Tunnel { .. } | RouteTarget::Configured { .. }) {
            if let Ok((port, mac)) = self.v4_egress(hop.remote) {
                hop.port = port;
                hop.mac = mac;
                hop.resolved = true;
            }
        }
        hop
    }

    /// Re-resolves the gateway and every next hop after a neighbour change.
    pub(super) fn resolve_all(&mut self) {
        self.gateway_egress = self
            .v4_gateway
            .and_then(|(gw, port)| self.neigh4.get(&gw).map(|m| (port, m.0)));
        self.routes4.resolve(&self.neigh4);
        for i in 0..self.hops.len() {
            if let Some(target) = self.hops.get(i).filter(|s| s.routes > 0).map(|s| s.hop.target) {
                let hop = self.resolve(target);
                if let Some(s) = self.hops.get_mut(i) {
                    s.hop = hop;
                }
            }
        }
    }

    fn neighbour_set(&mut self, addr: IpAddr, mac: EthernetAddress) -> Result<(), TableError> {
        if !mac.is_unicast() || mac.0 == [0; 6] {
            return Err(TableError::MacNotUnicast(mac));
        }
        match addr {
            IpAddr::V4(a) if a.is_unspecified() || a.is_broadcast() || a.is_multicast() => {
                return Err(TableError::NeighbourNotUnicastV4(a));
            }
            IpAddr::V6(a) if a.is_unspecified() || a.is_multicast() => {
                return Err(TableError::NeighbourNotUnicastV6(a));
            }
            IpAddr::V4(a) => self.neigh4.insert(u32::from(a), mac),
            IpAddr::V6(a) => self.neigh6.insert(u128::from(a), mac),
        };
        self.resolve_all();
        Ok(())
    }

    fn neighbour_del(&mut self, addr: IpAddr) -> Result<(), TableError> {
        let removed = match addr {
            IpAddr::V4(a) => self.neigh4.remove(&u32::from(a)),
            IpAddr::V6(a) => self.neigh6.remove(&u128::from(a)),
        };
        removed.ok_or(TableError::NoNeighbour(addr))?;
        self.resolve_all();
        Ok(())
    }

    /// Adds or replaces tunnel `id`. Constant time whatever the number of tunnels: only
    /// the next hop of routes into this tunnel is resolved again.
    fn tunnel_set(&mut self, id: TunnelId, tunnel: ConfiguredTunnel) -> Result<(), TableError> {
        let ConfiguredTunnel { local, remote, name, .. } = tunnel;
        if id >= self.max_tunnels {
            return Err(TableError::TunnelIdOutOfRange { id, max: self.max_tunnels });
        }
        tunnel.check()?;
        if !self.own_v4.contains(&u32::from(local)) {
            return Err(TableError::TunnelLocalNotOurs(local));
        }
        if remote.is_unspecified() || remote.is_broadcast() || remote.is_multicast() || self.own_v4.contains(&u32::from(remote)) {
            return Err(TableError::TunnelRemoteInvalid(remote));
        }
        let ends = (u32::from(local), u32::from(remote));
        if let Some(&other) = self.tunnel_ends.get(&ends).filter(|&&other| other != id) {
            return Err(TableError::TunnelEndsTaken { other, local, remote });
        }
        if let Some(n) = name {
            if let Some(&other) = self.tunnel_names.get(&n).filter(|&&other| other != id) {
                return Err(TableError::TunnelNameTaken { other, name: n });
            }
        }
        if let Some(old) = self.tunnels.insert(id, tunnel) {
            self.forget_tunnel(&old);
        }
        self.tunnel_ends.insert(ends, id);
        *self.tunnel_local_uses.entry(ends.0).or_default() += 1;
        let uses = self.tunnel_remote_uses.entry(ends.1).or_default();
        *uses += 1;
        if *uses == 1 {
            self.tunnel_remotes.insert(ends.1);
        }
        if let Some(n) = name {
            self.tunnel_names.insert(n, id);
        }
        self.resolve_target(RouteTarget::Configured { tunnel: id });
        Ok(())
    }

    fn tunnel_del(&mut self, id: TunnelId) -> Result<(), TableError> {
        if self.hop_ids.contains_key(&RouteTarget::Configured { tunnel: id }) {
            return Err(TableError::TunnelInUse(id));
        }
        let t = self.tunnels.remove(&id).ok_or(TableError::NoTunnel(id))?;
        self.forget_tunnel(&t);
        Ok(())
    }

    /// Takes a tunnel that left `tunnels` out of the indexes.
    fn forget_tunnel(&mut self, t: &ConfiguredTunnel) {
        let (local, remote) = (u32::from(t.local), u32::from(t.remote));
        self.tunnel_ends.remove(&(local, remote));
        if let Some(n) = t.name {
            self.tunnel_names.remove(&n);
        }
        if decrement(&mut self.tunnel_remote_uses, remote) {
            self.tunnel_remotes.remove(remote);
        }
        decrement(&mut self.tunnel_local_uses, local);
    }

    /// Resolves the next hop of `target` again, if a route uses it.
    fn resolve_target(&mut self, target: RouteTarget) {
        if let Some(&id) = self.hop_ids.get(&target) {
            let hop = self.resolve(target);
            if let Some(s) = self.hops.get_mut(id as usize) {
                s.hop = hop;
            }
        }
    }
}

/// One use fewer of `key`; true when that was its last (the entry is gone).
fn decrement(uses: &mut super::IntMap<u32, u32>, key: u32) -> bool {
    match uses.get_mut(&key) {
        Some(n) if *n > 1 => {
            *n -= 1;
            false
        }
        Some(_) => {
            uses.remove(&key);
            true
        }
        None => false,
    }
}

/// `len` in range and no host bits past it.
pub(crate) fn check_prefix(prefix: Ipv6Addr, len: u8) -> Result<(), TableError> {
    if len > 128 {
        return Err(TableError::PrefixTooLong(len));
    }
    let a = u128::from(prefix);
    if a & !mask6(len) != 0 {
        let net = Ipv6Addr::from(a & mask6(len));
        return Err(TableError::HostBitsSet { prefix, len, net });
    }
    Ok(())
}

/// The IPv4 endpoint of a tunnel next hop: the V of a 2002:V:: address, which must be a
/// global unicast IPv4 address.
pub(crate) fn tunnel_remote(via: Ipv6Addr) -> Result<Ipv4Addr, TableError> {
    let a = u128::from(via);
    if !is_6to4(a) {
        return Err(TableError::NextHopNotSixToFour(via));
    }
    let v4 = Ipv4Addr::from(v4_of_6to4(a));
    if !builtin_v4_ok(v4) {
        return Err(TableError::NextHopEmbedsNonGlobal { via, v4 });
    }
    Ok(v4)
}
