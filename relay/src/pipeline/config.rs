//! The `[pipeline]` table of relayd's TOML configuration, and its validation into
//! [`Settings`]. Validation is all-or-nothing: either every field is good and the
//! tables it describes build, or the first bad field is named with the reason.
//!
//! ```toml
//! [pipeline]
//! tunnel_mtu = 1480            # 1280..=1480; DF is set above 1280
//! outer_ttl = 64
//! dscp = "copy"                # or a fixed DSCP 0..=63
//! extra_bogons = ["198.18.0.0/15"]
//! urpf = false                 # strict uRPF on native ingress
//! icmp_rate_pps = 1000         # ICMP errors per worker; 0 = none
//! icmp_burst = 100
//! max_tunnels = 65536          # configured tunnel ids are 0..max_tunnels (1..=16777216)
//!
//! [pipeline.router]            # 6to4 router for 2002:c633:6407::/48
//! ipv4 = "198.51.100.7"
//! lan_ports = [1]
//!
//! [pipeline.relay]             # 6to4 relay
//! ipv4 = "198.51.100.9"
//! anycast = false              # 192.88.99.1 / 2002:c058:6301:: (RFC 7526: off)
//!
//! [[pipeline.interface]]       # one per port; port = DPDK port id
//! port = 0
//! ipv4 = "198.51.100.7/24"
//! gateway = "198.51.100.1"
//! # mac = "02:00:00:00:00:10", vlan = 100, mtu = 1500
//! # control_tap = "cp0"        # kernel TAP for BGP/BFD/SSH (docs/deploy-bgp.md)
//!
//! [pipeline.control_plane]     # policing of what goes to the control TAPs, per worker
//! peers = ["198.51.100.1"]     # routing neighbours: their own bucket
//! peer_rate_pps = 20000
//! other_rate_pps = 1000
//!
//! [pipeline.reassembly]        # outer IPv4 fragments to our tunnel endpoints, per worker
//! max_datagram = 1520          # 1300..=65535 bytes (RFC 4213 3.6)
//! max_in_flight = 1024         # datagrams; 0 = reassembly off
//! timeout_ms = 2000
//! memory = 4194304             # fragment bytes held
//!
//! [[pipeline.interface]]
//! port = 1
//! ipv6 = ["2002:c633:6407:1::1/64"]
//!
//! [[pipeline.neighbour]]       # static ARP/ND entries
//! ip = "198.51.100.1"
//! mac = "02:00:00:00:01:01"
//!
//! [[pipeline.tunnel]]          # configured tunnel (RFC 4213)
//! id = 0
//! local = "198.51.100.7"
//! remote = "203.0.113.50"
//!
//! [[pipeline.group]]           # next-hop group (ECMP): one member per flow
//! id = 1
//! nexthops = ["via fe80::1 port 0", "via fe80::2 port 0 weight 2"]
//!
//! [[pipeline.route]]           # the `route add` grammar of route_text.rs
//! add = "::/0 via 2002:c058:6301::"
//! # add = "2001:db8:c0::/44 group 1"
//!
//! [[pipeline.router_advert]]   # RAs for SLAAC on a LAN port (neigh/ra.rs)
//! port = 1
//! prefix = "2002:c633:6407:1::/64"
//! interval_s = 200
//! ```
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Deserialize;

use crate::pipeline::mech::{
    AutomaticConfig, Ipv4CompatibleConfig, IsatapConfig, RelayConfig, RouterConfig, SixOver4Config, SixRdConfig, TunnelConfig,
};
use crate::pipeline::model::addr::{mask4, Ipv4Prefix};
use crate::pipeline::model::error::{at, err, ConfigError};
use crate::pipeline::model::route_text::{parse_group, parse_route};
use crate::pipeline::model::settings::*;
use crate::pipeline::model::tables::{TableError, TableUpdate, Tables, KERNEL_GROUPS, MAX_MAX_TUNNELS};
use crate::wire::EthernetAddress;

/// `[pipeline]`, as written. Every field but `interface` is optional.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub interface: Vec<InterfaceConfig>,
    pub router: Option<RouterConfig>,
    pub relay: Option<RelayConfig>,
    /// 1280..=1480, default 1480.
    pub tunnel_mtu: Option<u16>,
    /// 1..=255, default 64.
    pub outer_ttl: Option<u8>,
    /// `"copy"` (default) or a DSCP value 0..=63.
    pub dscp: Option<DscpConfig>,
    /// Configured tunnel ids are below it; 1..=2^24, default 2^16.
    pub max_tunnels: Option<u32>,
    /// IPv4 prefixes added to the RFC 3964 deny list, e.g. `"198.18.0.0/15"`.
    #[serde(default)]
    pub extra_bogons: Vec<String>,
    #[serde(default)]
    pub urpf: bool,
    /// Default 1000; 0 sends no ICMP errors.
    pub icmp_rate_pps: Option<u32>,
    /// Default 100.
    pub icmp_burst: Option<u32>,
    #[serde(default)]
    pub route: Vec<RouteConfig>,
    #[serde(default)]
    pub neighbour: Vec<NeighbourConfig>,
    #[serde(default)]
    pub tunnel: Vec<TunnelConfig>,
    #[serde(default)]
    pub group: Vec<GroupConfig>,
    /// `[pipeline.ipv4_compatible]`: present turns the `::V` tunnel on.
    pub ipv4_compatible: Option<Ipv4CompatibleConfig>,
    #[serde(default)]
    pub isatap: Vec<IsatapConfig>,
    #[serde(default, rename = "6rd")]
    pub sixrd: Vec<SixRdConfig>,
    #[serde(default, rename = "6over4")]
    pub sixover4: Vec<SixOver4Config>,
    #[serde(default)]
    pub router_advert: Vec<super::neigh::RouterAdvertConfig>,
    /// `[pipeline.control_plane]`: policing of the control TAPs' traffic.
    pub control_plane: Option<ControlPlaneConfig>,
    /// `[pipeline.reassembly]`: bounds of the outer IPv4 reassembly.
    pub reassembly: Option<ReassemblyConfig>,
}

/// `[pipeline.reassembly]`: every field optional (see [`ReassemblySettings`]).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReassemblyConfig {
    pub max_datagram: Option<u32>,
    pub max_in_flight: Option<u32>,
    pub timeout_ms: Option<u32>,
    pub memory: Option<u32>,
}

impl ReassemblyConfig {
    fn validate(&self) -> Result<ReassemblySettings, ConfigError> {
        let max_datagram = self.max_datagram.unwrap_or(DEFAULT_REASSEMBLY_DATAGRAM);
        if !(MIN_REASSEMBLY_DATAGRAM..=MAX_REASSEMBLY_DATAGRAM).contains(&max_datagram) {
            return err(
                "pipeline.reassembly.max_datagram",
                format!("{max_datagram}: must be {MIN_REASSEMBLY_DATAGRAM}..={MAX_REASSEMBLY_DATAGRAM} (RFC 4213 3.6: at least 1280 + 20)"),
            );
        }
        let max_in_flight = self.max_in_flight.unwrap_or(DEFAULT_REASSEMBLY_IN_FLIGHT);
        if max_in_flight > 1 << 20 {
            return err("pipeline.reassembly.max_in_flight", format!("{max_in_flight}: at most {} datagrams per worker", 1 << 20));
        }
        let timeout_ms = self.timeout_ms.unwrap_or(DEFAULT_REASSEMBLY_TIMEOUT_MS);
        if !(1..=60_000).contains(&timeout_ms) {
            return err("pipeline.reassembly.timeout_ms", format!("{timeout_ms}: must be 1..=60000"));
        }
        let memory = self.memory.unwrap_or(DEFAULT_REASSEMBLY_MEMORY);
        if memory < max_datagram {
            return err("pipeline.reassembly.memory", format!("{memory}: less than one datagram of max_datagram = {max_datagram} bytes"));
        }
        Ok(ReassemblySettings { max_datagram, max_in_flight, timeout_ms, memory })
    }
}

/// `[pipeline.control_plane]`: what may reach the kernel through the control TAPs, per
/// worker. `peers` are the routing daemon's neighbours (their own, larger bucket).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ControlPlaneConfig {
    #[serde(default)]
    pub peers: Vec<String>,
    pub peer_rate_pps: Option<u32>,
    pub peer_burst: Option<u32>,
    pub other_rate_pps: Option<u32>,
    pub other_burst: Option<u32>,
}

/// `[[pipeline.interface]]`: one port.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InterfaceConfig {
    pub port: u16,
    pub mac: Option<String>,
    /// `"198.51.100.7/24"`.
    pub ipv4: Option<String>,
    pub gateway: Option<String>,
    /// `["2002:c633:6407:1::1/64", "fe80::1/64"]`.
    #[serde(default)]
    pub ipv6: Vec<String>,
    pub vlan: Option<u16>,
    /// 1280..=9216, default 1500.
    pub mtu: Option<u16>,
    /// A kernel TAP (created by relayd, `cp0`) with the port's MAC and addresses, for the
    /// routing daemon: what is addressed to us and relayd does not answer goes there.
    pub control_tap: Option<String>,
}

/// `[[pipeline.route]] add = "2001:db8::/32 via fe80::1 port 1"`: the text after
/// `route add` (see [`parse_route`]).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub add: String,
}

/// `[[pipeline.group]] id = 1  nexthops = ["via fe80::1 port 0", "via fe80::2 port 1 weight 2"]`:
/// each member in the `nexthop` grammar of `group set` (see [`parse_group`]).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub id: u16,
    pub nexthops: Vec<String>,
}

/// `[[pipeline.neighbour]] ip = "198.51.100.1"  mac = "02:00:00:00:00:01"`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NeighbourConfig {
    pub ip: String,
    pub mac: String,
}

impl Config {
    /// Parses the `[pipeline]` table's TOML text (without the header).
    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Checks every field for a runtime with `ports` ports and builds the tables once to
    /// prove the routes, neighbours and tunnels apply.
    pub fn validate(&self, ports: usize) -> Result<Settings, ConfigError> {
        self.build(ports).map(|(settings, _)| settings)
    }

    /// [`validate`](Self::validate), and the tables it built to prove the entries apply:
    /// the daemon starts (and reloads) with them instead of building them again (a large
    /// static table is the longest part of the start).
    pub fn build(&self, ports: usize) -> Result<(Settings, Tables), ConfigError> {
        let mut s = Settings::new(ports);
        self.validate_interfaces(&mut s)?;
        for (k, b) in self.extra_bogons.iter().enumerate() {
            s.extra_bogons.push(at(&format!("pipeline.extra_bogons[{k}]"), b.parse::<Ipv4Prefix>())?);
        }
        self.validate_roles(&mut s)?;
        s.router_adverts = super::neigh::validate_router_adverts(&self.router_advert, &s)?;
        self.validate_tunnel_settings(&mut s)?;
        let automatic = AutomaticConfig {
            ipv4_compatible: self.ipv4_compatible.as_ref(),
            isatap: &self.isatap,
            sixrd: &self.sixrd,
            sixover4: &self.sixover4,
        };
        automatic.validate(&mut s)?;
        if let Some(r) = &self.reassembly {
            s.reassembly = r.validate()?;
        }
        let tables = self.validate_table_entries(&mut s)?;
        Ok((s, tables))
    }

    fn validate_interfaces(&self, s: &mut Settings) -> Result<(), ConfigError> {
        let ports = s.ports.len();
        let mut gateway_at: Option<usize> = None;
        let mut seen = HashSet::new();
        for (i, ic) in self.interface.iter().enumerate() {
            let p = format!("pipeline.interface[{i}]");
            let port = usize::from(ic.port);
            if port >= ports {
                return err(format!("{p}.port"), format!("port {port} does not exist ({ports} ports)"));
            }
            if !seen.insert(port) {
                return err(format!("{p}.port"), format!("port {port} is configured twice"));
            }
            let mut ps = PortSettings { configured: true, ..PortSettings::default() };
            if let Some(m) = &ic.mac {
                let mac: EthernetAddress = at(&format!("{p}.mac"), m.parse())?;
                if !mac.is_unicast() || mac.0 == [0; 6] {
                    return err(format!("{p}.mac"), format!("{mac} is not a unicast MAC address"));
                }
                ps.mac = Some(mac);
            }
            if let Some(a) = &ic.ipv4 {
                ps.ipv4 = Some(at(&format!("{p}.ipv4"), parse_v4_iface(a))?);
            }
            if let Some(g) = &ic.gateway {
                let path = format!("{p}.gateway");
                let gw = at(&path, parse_v4(g))?;
                let Some(iface) = ps.ipv4 else {
                    return err(path, "a gateway needs the interface's ipv4 address/prefix");
                };
                let on_subnet = (u32::from(gw) ^ u32::from(iface.addr)) & mask4(iface.len) == 0;
                if !on_subnet || gw == iface.addr {
                    return err(path, format!("{gw} is not another host of {}/{}", iface.addr, iface.len));
                }
                if let Some(j) = gateway_at {
                    return err(path, format!("pipeline.interface[{j}] already has the default gateway"));
                }
                gateway_at = Some(i);
                ps.gateway = Some(gw);
            }
            for (k, a) in ic.ipv6.iter().enumerate() {
                ps.ipv6.push(at(&format!("{p}.ipv6[{k}]"), parse_v6_iface(a))?);
            }
            if let Some(v) = ic.vlan {
                if !(1..=4094).contains(&v) {
                    return err(format!("{p}.vlan"), format!("{v}: a VLAN id is 1..=4094"));
                }
                ps.vlan = Some(v);
            }
            if let Some(m) = ic.mtu {
                if !(1280..=9216).contains(&m) {
                    return err(format!("{p}.mtu"), format!("{m}: the MTU must be 1280..=9216"));
                }
                ps.mtu = m;
            }
            if let Some(name) = &ic.control_tap {
                let path = format!("{p}.control_tap");
                let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
                if name.is_empty() || name.len() > MAX_IFNAME || !name.chars().all(valid) {
                    return err(path, format!("{name:?}: an interface name is 1..={MAX_IFNAME} of a-z A-Z 0-9 - _ ."));
                }
                if let Some(j) = self.interface[..i].iter().position(|o| o.control_tap.as_deref() == Some(name)) {
                    return err(path, format!("{name:?} is already pipeline.interface[{j}]'s control TAP"));
                }
                ps.control_tap = Some(name.clone());
            }
            if let Some(slot) = s.ports.get_mut(port) {
                *slot = ps;
            }
        }
        if let Some(cp) = &self.control_plane {
            let c = &mut s.control_plane;
            for (k, peer) in cp.peers.iter().enumerate() {
                let path = format!("pipeline.control_plane.peers[{k}]");
                c.peers.push(at(&path, peer.parse::<IpAddr>().map_err(|_| format!("{peer:?}: not an IP address")))?);
            }
            c.peer_rate_pps = cp.peer_rate_pps.unwrap_or(DEFAULT_PEER_PUNT_PPS);
            c.peer_burst = cp.peer_burst.unwrap_or(DEFAULT_PEER_PUNT_BURST);
            c.other_rate_pps = cp.other_rate_pps.unwrap_or(DEFAULT_OTHER_PUNT_PPS);
            c.other_burst = cp.other_burst.unwrap_or(DEFAULT_OTHER_PUNT_BURST);
            if c.peer_rate_pps > 0 && c.peer_burst == 0 {
                return err("pipeline.control_plane.peer_burst", "0: the burst must be at least 1 when the rate is not 0");
            }
            if c.other_rate_pps > 0 && c.other_burst == 0 {
                return err("pipeline.control_plane.other_burst", "0: the burst must be at least 1 when the rate is not 0");
            }
        }
        Ok(())
    }

    /// The 6to4 router and relay roles; their IPv4 addresses must be global (after the
    /// operator's bogons are known).
    fn validate_roles(&self, s: &mut Settings) -> Result<(), ConfigError> {
        let martians = s.martians();
        if let Some(r) = &self.router {
            s.router = Some(r.validate(&mut s.ports, &martians)?);
        }
        if let Some(r) = &self.relay {
            s.relay = Some(r.validate(&martians)?);
        }
        Ok(())
    }

    fn validate_tunnel_settings(&self, s: &mut Settings) -> Result<(), ConfigError> {
        if let Some(m) = self.tunnel_mtu {
            if !(1280..=1480).contains(&m) {
                return err("pipeline.tunnel_mtu", format!("{m}: the tunnel MTU must be 1280..=1480"));
            }
            s.tunnel_mtu = m;
        }
        if let Some(t) = self.outer_ttl {
            if t == 0 {
                return err("pipeline.outer_ttl", "0: the outer TTL must be 1..=255");
            }
            s.outer_ttl = t;
        }
        if let Some(m) = self.max_tunnels {
            if !(1..=MAX_MAX_TUNNELS).contains(&m) {
                return err("pipeline.max_tunnels", format!("{m}: must be 1..={MAX_MAX_TUNNELS}"));
            }
            s.max_tunnels = m;
        }
        s.dscp = match &self.dscp {
            None => DscpPolicy::Copy,
            Some(d) => d.policy("pipeline.dscp")?,
        };
        s.urpf = self.urpf;
        s.icmp_rate_pps = self.icmp_rate_pps.unwrap_or(DEFAULT_ICMP_RATE_PPS);
        s.icmp_burst = self.icmp_burst.unwrap_or(DEFAULT_ICMP_BURST);
        if s.icmp_rate_pps > 0 && s.icmp_burst == 0 {
            return err("pipeline.icmp_burst", "0: the burst must be at least 1 when ICMP errors are on");
        }
        Ok(())
    }

    /// Neighbours, tunnels, groups and routes: parsed, then applied in that order to tables built
    /// from the rest, reporting the first entry that does not apply.
    fn validate_table_entries(&self, s: &mut Settings) -> Result<Tables, ConfigError> {
        for (k, n) in self.neighbour.iter().enumerate() {
            let p = format!("pipeline.neighbour[{k}]");
            let addr: IpAddr = at(&format!("{p}.ip"), n.ip.parse::<IpAddr>().map_err(|_| format!("{:?}: not an IP address", n.ip)))?;
            let mac: EthernetAddress = at(&format!("{p}.mac"), n.mac.parse())?;
            s.neighbours.push(TableUpdate::NeighbourSet { addr, mac });
        }
        for (k, tc) in self.tunnel.iter().enumerate() {
            s.tunnels.push(tc.validate(k)?);
        }
        for (k, g) in self.group.iter().enumerate() {
            if KERNEL_GROUPS.contains(&g.id) {
                return err(&format!("pipeline.group[{k}].id"), TableError::GroupIdReserved(g.id).to_string());
            }
            if self.group[..k].iter().any(|o| o.id == g.id) {
                return err(&format!("pipeline.group[{k}].id"), format!("{}: group {} is configured twice", g.id, g.id));
            }
            let members: String = g.nexthops.iter().map(|n| format!(" nexthop {}", n.trim())).collect();
            let u = at(&format!("pipeline.group[{k}].nexthops"), parse_group(&format!("group set {}{members}", g.id)))?;
            s.groups.push(u);
        }
        for (k, r) in self.route.iter().enumerate() {
            let u = at(&format!("pipeline.route[{k}].add"), parse_route(&format!("add {}", r.add.trim())))?;
            s.routes.push(u);
        }
        let base = Settings { routes: Vec::new(), neighbours: Vec::new(), tunnels: Vec::new(), groups: Vec::new(), ..s.clone() };
        let mut t = at("pipeline.interface", Tables::new(&base))?;
        for (k, u) in s.neighbours.iter().enumerate() {
            at(&format!("pipeline.neighbour[{k}]"), u.apply(&mut t))?;
        }
        for (k, u) in s.tunnels.iter().enumerate() {
            at(&format!("pipeline.tunnel[{k}]"), u.apply(&mut t))?;
        }
        for (k, u) in s.groups.iter().enumerate() {
            at(&format!("pipeline.group[{k}]"), u.apply(&mut t))?;
        }
        for (k, u) in s.routes.iter().enumerate() {
            at(&format!("pipeline.route[{k}].add"), u.apply(&mut t))?;
        }
        // What Tables::new(s) builds: a configured 2002::/16 has replaced the implicit one
        // (tables compare equal whatever their next-hop ids).
        Ok(t)
    }
}

fn parse_v4(text: &str) -> Result<Ipv4Addr, String> {
    text.parse().map_err(|_| format!("{text:?}: not an IPv4 address"))
}

fn parse_v4_iface(text: &str) -> Result<Ipv4Iface, String> {
    let (a, l) = text.split_once('/').ok_or_else(|| format!("{text:?}: expected a.b.c.d/len"))?;
    let addr = a.parse::<Ipv4Addr>().map_err(|_| format!("{a:?}: not an IPv4 address"))?;
    let len = l.parse::<u8>().ok().filter(|&l| (1..=32).contains(&l)).ok_or_else(|| format!("{l:?}: prefix length must be 1..=32"))?;
    if addr.is_unspecified() || addr.is_multicast() || addr.is_broadcast() {
        return Err(format!("{addr} is not a unicast address"));
    }
    Ok(Ipv4Iface { addr, len })
}

fn parse_v6_iface(text: &str) -> Result<Ipv6Iface, String> {
    let (a, l) = text.split_once('/').ok_or_else(|| format!("{text:?}: expected address/len"))?;
    let addr = a.parse::<Ipv6Addr>().map_err(|_| format!("{a:?}: not an IPv6 address"))?;
    let len = l.parse::<u8>().ok().filter(|&l| (1..=128).contains(&l)).ok_or_else(|| format!("{l:?}: prefix length must be 1..=128"))?;
    if addr.is_unspecified() || addr.is_multicast() || addr.is_loopback() {
        return Err(format!("{addr} is not a unicast address"));
    }
    Ok(Ipv6Iface { addr, len })
}
