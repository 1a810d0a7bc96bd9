//! The tables workers read: IPv6 routes (LPM + next-hop table), IPv4 egress (connected
//! subnets, default gateway) and static neighbours.
//!
//! Next hops are resolved when the tables change, not per packet: a next-hop entry holds
//! its egress port and destination MAC (the gateway's static neighbour, or the IPv4
//! egress of a fixed tunnel endpoint), so the fast path reads one small array slot after
//! the LPM. Only connected routes (a MAC per destination) and 6to4 routes (an IPv4
//! endpoint per destination) resolve per packet.
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::lpm::Lpm6;
use crate::pipeline::model::addr::{mask4, mask6};
use crate::pipeline::model::automatic::AutomaticSettings;
use crate::pipeline::model::settings::{DscpPolicy, Settings};
use crate::pipeline::model::v4set::V4Set;
use crate::pipeline::model::verdict::DropReason;
use crate::wire::EthernetAddress;

mod automatic;
mod error;
mod group;
mod routes4;
mod tunnel;
mod update;

pub use error::TableError;
pub use group::{GroupMember, NextHopGroup, KERNEL_GROUPS, MAX_GROUP_MEMBERS, MAX_WEIGHT};
use group::GroupSlot;
pub use routes4::Route4Target;
use routes4::Routes4;
pub(crate) use routes4::check_prefix4;
pub use tunnel::{ConfiguredTunnel, TunnelId, TunnelName, DEFAULT_MAX_TUNNELS, MAX_MAX_TUNNELS};
pub use update::{RouteTarget, TableUpdate};
pub(crate) use update::{check_prefix, tunnel_remote};

/// One next-hop slot, indexed by the id the LPM returns: the [`RouteTarget`] the routes
/// point at (the one type that says so, for the control plane and the fast path alike),
/// resolved into what the fast path needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NextHop {
    pub target: RouteTarget,
    /// Egress port (Via, Connected; Tunnel once resolved).
    pub port: u16,
    /// Destination MAC, valid when `resolved` (Via, Tunnel).
    pub mac: [u8; 6],
    pub resolved: bool,
    /// Tunnel endpoint (Tunnel, Configured); the CEs' common IPv4 bits (SixRd).
    pub remote: u32,
    /// Outer source (Configured and the automatic kinds but 6to4).
    pub local: u32,
    /// SixRd: the CE bits of a destination are the `bits` bits above bit `shift`.
    pub shift: u8,
    pub bits: u8,
    /// Largest IPv6 packet into the tunnel, outer TTL and DSCP policy (DF above 1280).
    pub mtu: u16,
    pub ttl: u8,
    pub dscp: DscpPolicy,
    /// Group: its slot in the group table, whose members are next hops of their own.
    pub group: u32,
}

const UNRESOLVED: NextHop = NextHop {
    target: RouteTarget::Blackhole,
    port: 0,
    mac: [0; 6],
    resolved: false,
    remote: 0,
    local: 0,
    shift: 0,
    bits: 0,
    mtu: 1280,
    ttl: 64,
    dscp: DscpPolicy::Copy,
    group: u32::MAX,
};

/// What a tunnel next hop uses unless its tunnel says otherwise: the pipeline's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct EncapDefaults {
    mtu: u16,
    ttl: u8,
    dscp: DscpPolicy,
}

/// A next hop and how many routes use it (it is freed with the last).
#[derive(Clone, Debug)]
struct HopSlot {
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

/// Routes, next hops, IPv4 egress and neighbours. The workers share one immutable set; the
/// control core changes a second one and publishes it (`runtime::control`).
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
    /// Outer IPv4 routes, beside the subnets and the gateway (`routes4.rs`).
    routes4: Routes4,
    /// Which ports are configured (routes may only use those).
    ports: Vec<bool>,
    /// Our IPv4 addresses (a configured tunnel's local end must be one).
    own_v4: Vec<u32>,
    tunnels: BTreeMap<TunnelId, ConfiguredTunnel>,
    /// Configured tunnel ids are below this.
    max_tunnels: u32,
    /// Next-hop groups by slot (a group next hop holds its slot), their ids' slots, and
    /// the slots free for reuse.
    groups: Vec<Option<GroupSlot>>,
    group_index: BTreeMap<u16, u32>,
    free_groups: Vec<u32>,
    /// `(local, remote)` → tunnel id, for decapsulation.
    tunnel_ends: IntMap<(u32, u32), TunnelId>,
    /// The remote ends in `tunnel_ends`: most protocol-41 packets come from elsewhere
    /// (6to4, ISATAP, 6rd), and this says so without hashing the pair.
    tunnel_remotes: V4Set,
    /// How many tunnels each remote and each local end has: the sets above change only
    /// when a count goes to or from zero, so a tunnel is added or removed in constant time.
    tunnel_remote_uses: IntMap<u32, u32>,
    tunnel_local_uses: IntMap<u32, u32>,
    tunnel_names: HashMap<TunnelName, TunnelId>,
    /// The automatic mechanisms' parameters, for their routes' next hops.
    automatic: AutomaticSettings,
    encap: EncapDefaults,
}

impl Tables {
    /// Tables for `settings`: connected routes and subnets of every port, the default
    /// gateway, `2002::/16 6to4` when a 6to4 role is on (unless configured otherwise),
    /// then the configured neighbours, tunnels, groups and routes.
    pub fn new(settings: &Settings) -> Result<Tables, TableError> {
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
            routes4: Routes4::default(),
            ports: settings.ports.iter().map(|p| p.configured).collect(),
            own_v4: settings.own_v4().into_iter().map(u32::from).collect(),
            tunnels: Default::default(),
            max_tunnels: settings.max_tunnels,
            groups: Vec::new(),
            group_index: BTreeMap::new(),
            free_groups: Vec::new(),
            tunnel_ends: IntMap::default(),
            tunnel_remotes: V4Set::new(&[]),
            tunnel_remote_uses: IntMap::default(),
            tunnel_local_uses: IntMap::default(),
            tunnel_names: HashMap::new(),
            automatic: settings.automatic.clone(),
            encap: EncapDefaults { mtu: settings.tunnel_mtu, ttl: settings.outer_ttl, dscp: settings.dscp },
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
        for (prefix, len, target) in settings.automatic.implicit_routes() {
            t.route_add(prefix, len, target)?;
        }
        for u in settings.neighbours.iter().chain(&settings.tunnels).chain(&settings.groups).chain(&settings.routes) {
            u.apply(&mut t).map_err(|e| TableError::Entry { update: Box::new(u.clone()), reason: Box::new(e) })?;
        }
        Ok(t)
    }

    /// [`Tables::new`], by the name the daemon uses.
    pub fn from_settings(settings: &Settings) -> Result<Tables, TableError> {
        Tables::new(settings)
    }

    /// The route for exactly `prefix/len`, if there is one.
    pub fn route(&self, prefix: Ipv6Addr, len: u8) -> Option<RouteTarget> {
        let id = self.lpm.get(prefix, len)?;
        self.hops.get(id as usize).map(|s| s.hop.target)
    }

    /// Every route, one per line, in the text grammar (`2001:db8::/32 via fe80::1 port 1`),
    /// the IPv4 routes after the IPv6 ones.
    pub fn routes_text(&self) -> String {
        let v6 = self.routes().into_iter().map(|(p, l, t)| format!("{p}/{l} {t}\n"));
        v6.chain(self.routes4().into_iter().map(|(p, l, t)| format!("{p}/{l} {t}\n"))).collect()
    }

    /// The outer IPv4 route for exactly `prefix/len`, if there is one.
    pub fn route4(&self, prefix: Ipv4Addr, len: u8) -> Option<Route4Target> {
        self.routes4.get(prefix, len)
    }

    /// Every outer IPv4 route, sorted by prefix then length.
    pub fn routes4(&self) -> Vec<(Ipv4Addr, u8, Route4Target)> {
        self.routes4.routes()
    }

    /// Every static neighbour, one per line (`198.51.100.1 02:00:00:00:01:01`).
    pub fn neighbours_text(&self) -> String {
        self.neighbours().iter().map(|(a, m)| format!("{a} {m}\n")).collect()
    }

    /// Every route, sorted by prefix then length.
    pub fn routes(&self) -> Vec<(Ipv6Addr, u8, RouteTarget)> {
        self.lpm
            .routes()
            .into_iter()
            .filter_map(|(p, l, id)| Some((p, l, self.hops.get(id as usize)?.hop.target)))
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

    /// Every configured tunnel by id.
    pub fn tunnels(&self) -> Vec<(TunnelId, ConfiguredTunnel)> {
        self.tunnels.iter().map(|(&id, &t)| (id, t)).collect()
    }

    /// Configured tunnel `id`, if there is one.
    pub fn tunnel(&self, id: TunnelId) -> Option<ConfiguredTunnel> {
        self.tunnels.get(&id).copied()
    }

    /// The ids of every configured tunnel, in order.
    pub fn tunnel_ids(&self) -> impl Iterator<Item = TunnelId> + '_ {
        self.tunnels.keys().copied()
    }

    /// Every configured tunnel, one per line (`0 local 198.51.100.7 remote 203.0.113.50`).
    pub fn tunnels_text(&self) -> String {
        self.tunnels.iter().map(|(id, t)| format!("{id} {t}\n")).collect()
    }

    /// The MTU of the tunnel from our `local` to `remote`: the configured tunnel's own, else
    /// the pipeline's.
    pub(crate) fn tunnel_mtu(&self, local: u32, remote: u32) -> u16 {
        self.configured_tunnel(local, remote)
            .and_then(|id| self.tunnels.get(&id))
            .and_then(|t| t.mtu)
            .unwrap_or(self.encap.mtu)
    }

    /// The configured tunnel from `remote` to our `local`, if any.
    #[inline]
    pub(crate) fn configured_tunnel(&self, local: u32, remote: u32) -> Option<TunnelId> {
        if !self.tunnel_remotes.contains(remote) {
            return None;
        }
        self.tunnel_ends.get(&(local, remote)).copied()
    }

    /// `local` is the local end of some configured tunnel.
    pub(crate) fn is_tunnel_local(&self, local: u32) -> bool {
        self.tunnel_local_uses.contains_key(&local)
    }

    /// Configured tunnel ids are `0..max_tunnels()`.
    pub fn max_tunnels(&self) -> u32 {
        self.max_tunnels
    }

    /// The route for `addr` (longest match), as the fast path sees it.
    pub fn lookup(&self, addr: Ipv6Addr) -> Option<RouteTarget> {
        let id = self.lpm.lookup(&addr.octets());
        self.hops.get(id as usize).map(|h| h.hop.target)
    }

    #[inline(always)]
    pub(crate) fn lookup_bulk(&self, addrs: &[[u8; 16]], out: &mut [u32], prefetch: impl Fn(*const u8)) {
        self.lpm.lookup_bulk_with_prefetch(addrs, out, prefetch);
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

    /// [`neighbour6`](Self::neighbour6) for the fast path, which copies the MAC once, into
    /// the frame.
    #[inline(always)]
    pub(crate) fn neighbour6_ref(&self, addr: u128) -> Option<&[u8; 6]> {
        self.neigh6.get(&addr).map(|m| &m.0)
    }

    #[inline(always)]
    pub(crate) fn neighbour4(&self, addr: u32) -> Option<[u8; 6]> {
        self.neigh4.get(&addr).map(|m| m.0)
    }

    /// Port and next-hop MAC towards the IPv4 `dst`: its own MAC on a connected subnet,
    /// else the gateway's.
    #[inline]
    pub(crate) fn v4_egress(&self, dst: u32) -> Result<(u16, [u8; 6]), DropReason> {
        match self.v4_route(dst)? {
            (port, Some(&mac)) => Ok((port, mac)),
            (_, None) => Err(DropReason::NeighbourMissing),
        }
    }

    /// [`v4_egress`](Self::v4_egress), with the port even while the next hop's MAC is
    /// unknown (it is being resolved). The MAC by reference: copied by value the compiler
    /// takes the `Option<[u8; 6]>` apart byte by byte.
    #[inline]
    pub(crate) fn v4_route(&self, dst: u32) -> Result<(u16, Option<&[u8; 6]>), DropReason> {
        for &(net, mask, port) in &self.v4_connected {
            if (dst ^ net) & mask == 0 {
                return Ok((port, self.neigh4.get(&dst).map(|m| &m.0)));
            }
        }
        if let Some(hop) = self.routes4.lookup(dst) {
            return match hop.target {
                Route4Target::Via { port, .. } => Ok((port, hop.mac.as_ref())),
                Route4Target::Blackhole => Err(DropReason::RouteBlackhole),
            };
        }
        match (self.v4_gateway, &self.gateway_egress) {
            (Some(_), Some((port, mac))) => Ok((*port, Some(mac))),
            (Some((_, port)), None) => Ok((port, None)),
            (None, _) => Err(DropReason::Ipv4NoRoute),
        }
    }

    /// The IPv4 next hop towards `dst`: `(port, address)`, `dst` itself on a connected
    /// subnet, else its route's gateway, else the default gateway; None for no route or a
    /// blackhole.
    pub(crate) fn v4_next_hop(&self, dst: u32) -> Option<(u16, u32)> {
        for &(net, mask, port) in &self.v4_connected {
            if (dst ^ net) & mask == 0 {
                return Some((port, dst));
            }
        }
        if let Some(hop) = self.routes4.lookup(dst) {
            return match hop.target {
                Route4Target::Via { gateway, port } => Some((port, u32::from(gateway))),
                Route4Target::Blackhole => None,
            };
        }
        self.v4_gateway.map(|(gw, port)| (port, gw))
    }
}

impl PartialEq for Tables {
    /// Same routes, neighbours and IPv4 egress (next-hop ids may differ).
    fn eq(&self, other: &Tables) -> bool {
        self.routes() == other.routes()
            && self.neighbours() == other.neighbours()
            && self.v4_connected == other.v4_connected
            && self.v4_gateway == other.v4_gateway
            && self.routes4() == other.routes4()
            && self.ports == other.ports
            && self.tunnels == other.tunnels
            && self.groups() == other.groups()
    }
}
