//! Validated configuration: what [`Config::validate`](super::Config::validate) produces
//! and a [`Pipeline`](super::Pipeline) runs with. Typed, complete, no defaults left open.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Deserialize;

use crate::wire::EthernetAddress;

use super::addr::{mask4, Ipv4Prefix, Martians};
use super::automatic::AutomaticSettings;
use super::error::{err, ConfigError};
use super::tables::{TableUpdate, DEFAULT_MAX_TUNNELS};

/// The 6to4 relay anycast address (RFC 3068), prefix 192.88.99.0/24.
pub const ANYCAST_V4: Ipv4Addr = Ipv4Addr::new(192, 88, 99, 1);
/// Its IPv6 form, `2002:c058:6301::`.
pub const ANYCAST_V6: Ipv6Addr = Ipv6Addr::new(0x2002, 0xc058, 0x6301, 0, 0, 0, 0, 0);

pub const DEFAULT_TUNNEL_MTU: u16 = 1480;
pub const DEFAULT_OUTER_TTL: u8 = 64;
pub const DEFAULT_PORT_MTU: u16 = 1500;
pub const DEFAULT_ICMP_RATE_PPS: u32 = 1000;
pub const DEFAULT_ICMP_BURST: u32 = 100;
/// Control-plane policing defaults, per worker. A BGP peer's full table is ~70k segments:
/// 20k pps loads it in seconds and still caps what a spoofed flood can push at the kernel.
pub const DEFAULT_PEER_PUNT_PPS: u32 = 20_000;
pub const DEFAULT_PEER_PUNT_BURST: u32 = 2_000;
/// Everything else to the kernel (SSH, other ICMP, TCP/UDP from anyone): an operator's trickle.
pub const DEFAULT_OTHER_PUNT_PPS: u32 = 1_000;
pub const DEFAULT_OTHER_PUNT_BURST: u32 = 100;
/// Outer IPv4 reassembly (RFC 4213 section 3.6): a decapsulator must reassemble at least
/// 1280 + 20 bytes and should 1500 + 20; the default is the latter, 65535 the most IPv4 has.
pub const MIN_REASSEMBLY_DATAGRAM: u32 = 1300;
pub const DEFAULT_REASSEMBLY_DATAGRAM: u32 = 1520;
pub const MAX_REASSEMBLY_DATAGRAM: u32 = 65535;
/// Datagrams being reassembled at once, per worker.
pub const DEFAULT_REASSEMBLY_IN_FLIGHT: u32 = 1024;
/// A datagram not complete this long after its first fragment is dropped (`frag_timeout`).
pub const DEFAULT_REASSEMBLY_TIMEOUT_MS: u32 = 2000;
/// Bytes of fragment data held at once, per worker.
pub const DEFAULT_REASSEMBLY_MEMORY: u32 = 4 << 20;
/// Linux interface names are at most 15 bytes (IFNAMSIZ - 1).
pub const MAX_IFNAME: usize = 15;

/// An interface address with its prefix length (host bits allowed: it is an address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Iface {
    pub addr: Ipv4Addr,
    pub len: u8,
}

impl Ipv4Iface {
    /// The directed broadcast address of the subnet (none for /31 and /32).
    pub fn broadcast(&self) -> Option<Ipv4Addr> {
        (self.len <= 30).then(|| Ipv4Addr::from(u32::from(self.addr) | !mask4(self.len)))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Iface {
    pub addr: Ipv6Addr,
    pub len: u8,
}

/// One port. Ports the configuration does not list are `configured: false` and drop
/// everything (`port_unconfigured`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSettings {
    pub configured: bool,
    /// Replaces the NIC's MAC as our address and the source of what we send.
    pub mac: Option<EthernetAddress>,
    pub ipv4: Option<Ipv4Iface>,
    /// IPv4 default gateway (at most one port has one).
    pub gateway: Option<Ipv4Addr>,
    pub ipv6: Vec<Ipv6Iface>,
    /// 802.1Q VLAN id: frames must carry it, and leave with it.
    pub vlan: Option<u16>,
    /// Largest IP packet sent natively on the port.
    pub mtu: u16,
    /// A LAN port of the 6to4 router: its site's hosts live behind it.
    pub site_lan: bool,
    /// The kernel TAP that carries this port's control-plane traffic (BGP, BFD, SSH): what
    /// is addressed to us and relayd does not answer goes there.
    pub control_tap: Option<String>,
}

impl Default for PortSettings {
    fn default() -> Self {
        PortSettings {
            configured: false,
            mac: None,
            ipv4: None,
            gateway: None,
            ipv6: Vec::new(),
            vlan: None,
            mtu: DEFAULT_PORT_MTU,
            site_lan: false,
            control_tap: None,
        }
    }
}

/// Control-plane policing (CoPP) of what goes to the kernel through the control TAPs: two
/// token buckets per worker, so a flood from anywhere cannot starve the routing sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlPlaneSettings {
    /// The routing daemon's neighbours (BGP, BFD): their packets have their own bucket.
    pub peers: Vec<IpAddr>,
    pub peer_rate_pps: u32,
    pub peer_burst: u32,
    pub other_rate_pps: u32,
    pub other_burst: u32,
}

impl Default for ControlPlaneSettings {
    fn default() -> Self {
        ControlPlaneSettings {
            peers: Vec::new(),
            peer_rate_pps: DEFAULT_PEER_PUNT_PPS,
            peer_burst: DEFAULT_PEER_PUNT_BURST,
            other_rate_pps: DEFAULT_OTHER_PUNT_PPS,
            other_burst: DEFAULT_OTHER_PUNT_BURST,
        }
    }
}

/// `[pipeline.reassembly]`: bounds of the per-worker outer IPv4 reassembly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReassemblySettings {
    /// Largest reassembled IPv4 datagram, header included (1300..=65535).
    pub max_datagram: u32,
    /// Datagrams in flight per worker; 0 turns reassembly off (`frag_table_full`).
    pub max_in_flight: u32,
    pub timeout_ms: u32,
    /// Fragment bytes held per worker.
    pub memory: u32,
}

impl Default for ReassemblySettings {
    fn default() -> Self {
        ReassemblySettings {
            max_datagram: DEFAULT_REASSEMBLY_DATAGRAM,
            max_in_flight: DEFAULT_REASSEMBLY_IN_FLIGHT,
            timeout_ms: DEFAULT_REASSEMBLY_TIMEOUT_MS,
            memory: DEFAULT_REASSEMBLY_MEMORY,
        }
    }
}

/// 6to4 router role (RFC 3056): site `2002:V::/48` with hosts on its LAN ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterSettings {
    pub v4: Ipv4Addr,
    pub lan_ports: Vec<u16>,
}

/// 6to4 relay role (RFC 3068, RFC 7526).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelaySettings {
    /// The relay's unicast IPv4 address, always served.
    pub unicast: Ipv4Addr,
    /// Also serve 192.88.99.1 / `2002:c058:6301::` (off by default, RFC 7526).
    pub anycast: bool,
}

/// Router advertisements on a LAN port (RFC 4861 section 6), so hosts autoconfigure
/// addresses in `prefix` (a /64) and take the router as default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouterAdvertSettings {
    pub port: u16,
    /// The /64 advertised for SLAAC (on-link, autonomous).
    pub prefix: Ipv6Addr,
    /// Seconds between unsolicited advertisements.
    pub interval_s: u32,
    /// Router lifetime in seconds (0: not a default router).
    pub router_lifetime_s: u16,
}

/// The outer DSCP on encapsulation (the ECN field always follows RFC 6040).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DscpPolicy {
    Copy,
    Fixed(u8),
}

/// The TOML form of a [`DscpPolicy`]: `"copy"` or a DSCP value 0..=63.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum DscpConfig {
    Named(String),
    Value(i64),
}

impl DscpConfig {
    /// The policy, or why not (as field `path`).
    pub fn policy(&self, path: &str) -> Result<DscpPolicy, ConfigError> {
        match self {
            DscpConfig::Named(n) if n == "copy" => Ok(DscpPolicy::Copy),
            DscpConfig::Named(n) => err(path, format!("{n:?}: expected \"copy\" or a DSCP value 0..=63")),
            DscpConfig::Value(v) => match u8::try_from(*v) {
                Ok(d) if d < 64 => Ok(DscpPolicy::Fixed(d)),
                _ => err(path, format!("{v}: a DSCP value is 0..=63")),
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Indexed by port id; one entry per port the runtime has.
    pub ports: Vec<PortSettings>,
    pub router: Option<RouterSettings>,
    pub relay: Option<RelaySettings>,
    /// Largest IPv6 packet sent into a tunnel (1280..=1480).
    pub tunnel_mtu: u16,
    pub outer_ttl: u8,
    pub dscp: DscpPolicy,
    /// Configured tunnel ids are `0..max_tunnels`.
    pub max_tunnels: u32,
    /// Operator additions to the RFC 3964 IPv4 deny list.
    pub extra_bogons: Vec<Ipv4Prefix>,
    /// Strict unicast RPF on native IPv6 ingress.
    pub urpf: bool,
    /// ICMP errors per second (0: none) and the bucket depth.
    pub icmp_rate_pps: u32,
    pub icmp_burst: u32,
    /// `RouteAdd`s from `[[pipeline.route]]`.
    pub routes: Vec<TableUpdate>,
    /// `NeighbourSet`s from `[[pipeline.neighbour]]`.
    pub neighbours: Vec<TableUpdate>,
    /// `TunnelSet`s from `[[pipeline.tunnel]]`.
    pub tunnels: Vec<TableUpdate>,
    /// `GroupSet`s from `[[pipeline.group]]`.
    pub groups: Vec<TableUpdate>,
    /// IPv4-compatible, ISATAP, 6rd and 6over4 (all off by default).
    pub automatic: AutomaticSettings,
    /// `[[pipeline.router_advert]]`, one per port at most.
    pub router_adverts: Vec<RouterAdvertSettings>,
    /// `[pipeline.control_plane]`: policing of what goes to the control TAPs.
    pub control_plane: ControlPlaneSettings,
    /// `[pipeline.reassembly]`: outer IPv4 reassembly before decapsulation.
    pub reassembly: ReassemblySettings,
}

impl Settings {
    /// Defaults for `ports` unconfigured ports and no role.
    pub fn new(ports: usize) -> Settings {
        Settings {
            ports: vec![PortSettings::default(); ports],
            router: None,
            relay: None,
            tunnel_mtu: DEFAULT_TUNNEL_MTU,
            outer_ttl: DEFAULT_OUTER_TTL,
            dscp: DscpPolicy::Copy,
            max_tunnels: DEFAULT_MAX_TUNNELS,
            extra_bogons: Vec::new(),
            urpf: false,
            icmp_rate_pps: DEFAULT_ICMP_RATE_PPS,
            icmp_burst: DEFAULT_ICMP_BURST,
            routes: Vec::new(),
            neighbours: Vec::new(),
            tunnels: Vec::new(),
            groups: Vec::new(),
            automatic: AutomaticSettings::default(),
            router_adverts: Vec::new(),
            control_plane: ControlPlaneSettings::default(),
            reassembly: ReassemblySettings::default(),
        }
    }

    /// Equal apart from the table contents (routes, neighbours, tunnels, groups): a reload that
    /// changes only those can swap tables under running workers.
    pub fn same_forwarding(&self, other: &Settings) -> bool {
        let strip = |s: &Settings| Settings { routes: Vec::new(), neighbours: Vec::new(), tunnels: Vec::new(), groups: Vec::new(), ..s.clone() };
        strip(self) == strip(other)
    }

    /// IPv4 addresses that terminate 6to4: the router's V, the relay's unicast address,
    /// and 192.88.99.1 when anycast is on.
    pub fn tunnel_endpoints(&self) -> Vec<Ipv4Addr> {
        let mut v = Vec::new();
        if let Some(r) = &self.router {
            v.push(r.v4);
        }
        v.extend(self.relay_endpoints());
        v.dedup();
        v
    }

    /// The relay's endpoints: unicast, and anycast when on.
    pub fn relay_endpoints(&self) -> Vec<Ipv4Addr> {
        match self.relay {
            Some(r) if r.anycast => vec![r.unicast, ANYCAST_V4],
            Some(r) => vec![r.unicast],
            None => Vec::new(),
        }
    }

    /// Every IPv4 address of ours: port addresses, 6to4 endpoints and the local addresses
    /// of the other automatic mechanisms.
    pub fn own_v4(&self) -> Vec<Ipv4Addr> {
        let mut v: Vec<Ipv4Addr> = self.ports.iter().filter_map(|p| p.ipv4.map(|a| a.addr)).collect();
        v.extend(self.tunnel_endpoints());
        v.extend(self.automatic.locals());
        v.sort();
        v.dedup();
        v
    }

    /// The RFC 3964 deny list: built in, the operator's, and our subnets' broadcasts.
    pub fn martians(&self) -> Martians {
        let bcast: Vec<Ipv4Addr> = self.ports.iter().filter_map(|p| p.ipv4?.broadcast()).collect();
        Martians::new(&self.extra_bogons, &bcast)
    }
}
