//! The seed's testbed, as data: who has which address, MAC, namespace and bridge. Every
//! relayd configuration and every `ip` command of the lab is derived from these structs.
//!
//! ```text
//!  A --site1-- R1 --wan1-- [rlab-inet: 198.51.100.1 | 203.0.113.1] --wan2-- R2 --site2-- B
//!                    |           192.0.2.1                           |
//!              rogue .66           wan3            R3 203.0.113.30 + 192.88.99.1 --native-- C
//!                                  |   |             (+ tunnel to R4, 6rd BR 203.0.113.31)
//!        D --site4-- R4 192.0.2.40 +   + 192.0.2.50 R5 (6rd CE) --site5-- E
//! ```
//! (docs/lab.md has the full picture.)
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The 6to4 relay anycast address (RFC 3068), on in the lab.
pub const ANYCAST_V4: Ipv4Addr = Ipv4Addr::new(192, 88, 99, 1);
/// Namespaces and root-namespace interfaces of the lab carry these prefixes, so that
/// `down` finds every leftover of a crashed run by name.
pub const NS_PREFIX: &str = "rlab-";
pub const LINK_PREFIX: &str = "rl-";
pub const NS_INET: &str = "rlab-inet";
pub const NS_SWITCH: &str = "rlab-sw";
pub const NS_ROGUE: &str = "rlab-rogue";

/// `2002:V::`: the 6to4 address (and /48 prefix) of IPv4 address V.
pub fn sixtofour(v: Ipv4Addr) -> Ipv6Addr {
    let o = v.octets();
    Ipv6Addr::new(0x2002, u16::from_be_bytes([o[0], o[1]]), u16::from_be_bytes([o[2], o[3]]), 0, 0, 0, 0, 0)
}

/// `2002:V:subnet::host`: an address in subnet `subnet` of V's 6to4 site.
pub fn site_addr(v: Ipv4Addr, subnet: u16, host: u16) -> Ipv6Addr {
    let s = sixtofour(v).segments();
    Ipv6Addr::new(s[0], s[1], s[2], subnet, 0, 0, 0, host)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

/// Locally administered MACs: `02:6c:<who>:00:<side>:<n>`.
const fn mac(who: u8, side: u8, n: u8) -> Mac {
    Mac([0x02, 0x6c, who, 0, side, n])
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouterId {
    R1,
    R2,
    R3,
    R4,
    R5,
}

impl RouterId {
    pub const ALL: [RouterId; 5] = [RouterId::R1, RouterId::R2, RouterId::R3, RouterId::R4, RouterId::R5];

    pub fn index(self) -> usize {
        self as usize
    }

    /// `r1` … `r5`: file names, EAL prefixes, interface names.
    pub fn lower(self) -> &'static str {
        ["r1", "r2", "r3", "r4", "r5"][self.index()]
    }
}

impl fmt::Display for RouterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(["R1", "R2", "R3", "R4", "R5"][self.index()])
    }
}

/// What a relayd instance is in the seed's testbed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// A 6to4 router (RFC 3056) for the site `2002:V::/48` of its WAN address.
    Router,
    /// A 6to4 relay (RFC 3068): its WAN unicast address plus the anycast one.
    Relay { anycast: bool },
    /// A site router whose only way out is a configured tunnel (RFC 4213) to the relay.
    TunnelSite,
    /// A 6rd customer edge (RFC 5969). relayd has no CE role; a CE sends everything to
    /// its BR and takes back what the BR sends, which is a configured tunnel from its
    /// IPv4 address to the BR's with a default route over it.
    SixRdCe,
}

/// `[[pipeline.tunnel]]`: a configured tunnel (RFC 4213).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tunnel {
    pub id: u32,
    pub name: &'static str,
    pub local: Ipv4Addr,
    pub remote: Ipv4Addr,
    pub mtu: u16,
}

/// `[[pipeline.6rd]]`: a 6rd domain (RFC 5969) on a border relay, its common IPv4 bits
/// given as a prefix (Linux's `6rd-relay_prefix`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SixRdDomain {
    pub br: Ipv4Addr,
    pub prefix: Ipv6Addr,
    pub prefix_len: u8,
    pub ipv4_prefix: Ipv4Addr,
    pub ipv4_len: u8,
}

impl SixRdDomain {
    /// The CE's delegated prefix: 6rdPrefix followed by the CE address's bits after the
    /// common ones (RFC 5969 section 4), and its length.
    pub fn delegated(&self, ce: Ipv4Addr) -> (Ipv6Addr, u8) {
        let ce_bits = 32 - u32::from(self.ipv4_len);
        let len = u32::from(self.prefix_len) + ce_bits;
        let low = u32::from(ce) & u32::MAX.checked_shr(u32::from(self.ipv4_len)).unwrap_or(0);
        let a = u128::from(self.prefix) | (u128::from(low) << (128 - len));
        (Ipv6Addr::from(a), len as u8)
    }
}

/// One relayd port: the TAP relayd creates, where it is moved and to which bridge it is
/// plugged, the MAC relayd uses and the one the kernel side is given (a bridge must not
/// own the MAC it forwards to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    pub name: &'static str,
    pub tap: String,
    pub mac: Mac,
    pub tap_mac: Mac,
    pub netns: &'static str,
    pub bridge: &'static str,
}

/// One relayd: everything its configuration says, plus its wiring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Router {
    pub id: RouterId,
    pub role: Role,
    /// The WAN interface address and prefix length; for a router this is V.
    pub wan_v4: Ipv4Addr,
    pub wan_len: u8,
    pub gateway: Ipv4Addr,
    /// The address of the inner port (site LAN or native side) and its /64.
    pub inner_v6: Ipv6Addr,
    pub inner_len: u8,
    pub wan: Port,
    pub inner: Port,
    /// Static neighbours relayd is given (`[[pipeline.neighbour]]`).
    pub neighbours: Vec<(IpAddr, Mac)>,
    /// `[[pipeline.route]]` lines beyond the connected ones (`2002::/16 6to4` would be
    /// implicit; it is written out to match the seed's `ipv6 route 2002::/16 Tunnel0`).
    pub routes: Vec<String>,
    pub tunnels: Vec<Tunnel>,
    pub sixrd: Vec<SixRdDomain>,
}

impl Router {
    /// The relayd ports, in port-id order (WAN 0, inner 1).
    pub fn ports(&self) -> [&Port; 2] {
        [&self.wan, &self.inner]
    }

    /// IPv4 addresses that terminate 6to4 here.
    pub fn endpoints(&self) -> Vec<Ipv4Addr> {
        match self.role {
            Role::Relay { anycast: true } => vec![self.wan_v4, ANYCAST_V4],
            _ => vec![self.wan_v4],
        }
    }
}

/// A Linux host (or the IPv4 router and the rogue): a namespace with one veth `eth0`
/// plugged into `bridge` of `bridge_ns`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    pub name: &'static str,
    pub netns: &'static str,
    pub mac: Mac,
    pub addr: IpAddr,
    pub len: u8,
    /// `ip route` lines (`default via …`, `2002::/16 via …`).
    pub routes: Vec<String>,
    pub bridge_ns: &'static str,
    pub bridge: &'static str,
    /// Permanent neighbour entries (with static neighbours): the router's address and MAC.
    pub neighbours: Vec<(IpAddr, Mac)>,
}

/// The IPv4 Internet: one namespace routing between bridged segments (wan1, wan2, wan3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inet {
    /// `(bridge, address, prefix length, bridge MAC)`.
    pub segments: Vec<(&'static str, Ipv4Addr, u8, Mac)>,
    /// `ip route` lines (the anycast prefix towards R3).
    pub routes: Vec<String>,
    /// Permanent ARP entries for the routers' WAN addresses (with static neighbours).
    pub neighbours: Vec<(&'static str, Ipv4Addr, Mac)>,
}

/// The whole testbed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    pub routers: Vec<Router>,
    /// A, B, C, D, E.
    pub hosts: [Host; 5],
    pub rogue: Host,
    pub inet: Inet,
    /// LAN bridges in [`NS_SWITCH`].
    pub switches: Vec<&'static str>,
    pub static_neighbours: bool,
}

pub const V1: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
pub const V2: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 20);
pub const R3_UNICAST: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 30);
pub const ROGUE_V4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 66);
/// R4, the configured tunnel's far end, and R5, the 6rd CE, on the ISP's segment wan3.
pub const R4_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 40);
pub const CE_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 50);
/// R3's 6rd BR address: its own, as an automatic mechanism cannot share the 6to4 relay's
/// (RFC 3964 section 6.1).
pub const BR_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 31);
const GW1: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const GW2: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
const GW3: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const INET_MAC1: Mac = mac(0xf0, 0, 1);
const INET_MAC2: Mac = mac(0xf0, 0, 2);
const INET_MAC3: Mac = mac(0xf0, 0, 3);

/// The lab's 6rd domain: 6rdPrefix 2001:db8:600::/40 over the CE addresses 192.0.2.0/24
/// (IPv4MaskLen 24): each CE gets a /48, 192.0.2.50 the prefix 2001:db8:632::/48.
pub fn sixrd_domain() -> SixRdDomain {
    SixRdDomain { br: BR_V4, prefix: Ipv6Addr::new(0x2001, 0xdb8, 0x600, 0, 0, 0, 0, 0), prefix_len: 40, ipv4_prefix: Ipv4Addr::new(192, 0, 2, 0), ipv4_len: 24 }
}

/// D's site behind the configured tunnel.
pub fn site_d() -> (Ipv6Addr, u8) {
    (Ipv6Addr::new(0x2001, 0xdb8, 0xd, 0, 0, 0, 0, 0), 48)
}

/// `prefix` with subnet `subnet` (its fourth group) and interface identifier `host`.
fn in_prefix(prefix: Ipv6Addr, subnet: u16, host: u16) -> Ipv6Addr {
    let s = prefix.segments();
    Ipv6Addr::new(s[0], s[1], s[2], subnet, 0, 0, 0, host)
}

fn port(r: RouterId, side: u8, name: &'static str, suffix: &str, netns: &'static str, bridge: &'static str) -> Port {
    let n = r.index() as u8 + 1;
    Port { name, tap: format!("{LINK_PREFIX}{}-{suffix}", r.lower()), mac: mac(n, 0, side), tap_mac: mac(n, 0xff, side), netns, bridge }
}

impl Topology {
    pub fn new(static_neighbours: bool) -> Topology {
        let a = site_addr(V1, 1, 0xa);
        let b = site_addr(V2, 1, 0xb);
        let c = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0xc);
        let domain = sixrd_domain();
        let (d_site, e_site) = (site_d(), domain.delegated(CE_V4));
        let (d, e) = (in_prefix(d_site.0, 1, 0xd), in_prefix(e_site.0, 1, 0xe));
        let (mac_a, mac_b, mac_c) = (mac(0xa0, 0, 0x0a), mac(0xb0, 0, 0x0b), mac(0xc0, 0, 0x0c));
        let (mac_d, mac_e) = (mac(0xd0, 0, 0x0d), mac(0xe0, 0, 0x0e));
        let sixtofour_route = "2002::/16 6to4".to_string();
        let relay_via = format!("::/0 via {}", sixtofour(ANYCAST_V4));
        let router = |id: RouterId, v: Ipv4Addr, len, gw, bridge, site_bridge, host: (Ipv6Addr, Mac), wan_peers: Vec<(IpAddr, Mac)>| {
            let wan = port(id, 1, "wan", "wan", NS_INET, bridge);
            let inner = port(id, 2, "lan", "lan", NS_SWITCH, site_bridge);
            let mut neighbours = wan_peers;
            neighbours.push((host.0.into(), host.1));
            Router {
                id,
                role: Role::Router,
                wan_v4: v,
                wan_len: len,
                gateway: gw,
                inner_v6: site_addr(v, 1, 1),
                inner_len: 64,
                wan,
                inner,
                neighbours,
                routes: vec![sixtofour_route.clone(), relay_via.clone()],
                tunnels: Vec::new(),
                sixrd: Vec::new(),
            }
        };
        let r3_wan = port(RouterId::R3, 1, "wan", "wan", NS_INET, "wan2");
        let r1 = router(RouterId::R1, V1, 24, GW1, "wan1", "site1", (a, mac_a), vec![(GW1.into(), INET_MAC1)]);
        // R2 and R3 share the segment wan2: each knows the other's MAC.
        let r2_peers = vec![(GW2.into(), INET_MAC2), (R3_UNICAST.into(), r3_wan.mac)];
        let r2 = router(RouterId::R2, V2, 24, GW2, "wan2", "site2", (b, mac_b), r2_peers);
        let tunnel = |name, local, remote| Tunnel { id: 0, name, local, remote, mtu: 1480 };
        let r3 = Router {
            id: RouterId::R3,
            role: Role::Relay { anycast: true },
            wan_v4: R3_UNICAST,
            wan_len: 24,
            gateway: GW2,
            inner_v6: Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1),
            inner_len: 64,
            wan: r3_wan,
            inner: port(RouterId::R3, 2, "native", "nat", NS_SWITCH, "native"),
            neighbours: vec![(GW2.into(), INET_MAC2), (V2.into(), r2.wan.mac), (c.into(), mac_c)],
            // The 6rd domain's prefix is routed into it implicitly.
            routes: vec![sixtofour_route, format!("{}/{} tunnel 0", d_site.0, d_site.1)],
            tunnels: vec![tunnel("to-r4", R3_UNICAST, R4_V4)],
            sixrd: vec![domain.clone()],
        };
        // R4 and R5: a site /64 behind one tunnel, everything else into it.
        let site = |id: RouterId, role, v: Ipv4Addr, prefix: Ipv6Addr, bridge, host: (Ipv6Addr, Mac), tunnel: Tunnel| Router {
            id,
            role,
            wan_v4: v,
            wan_len: 24,
            gateway: GW3,
            inner_v6: in_prefix(prefix, 1, 1),
            inner_len: 64,
            wan: port(id, 1, "wan", "wan", NS_INET, "wan3"),
            inner: port(id, 2, "lan", "lan", NS_SWITCH, bridge),
            neighbours: vec![(GW3.into(), INET_MAC3), (host.0.into(), host.1)],
            routes: vec!["::/0 tunnel 0".to_string()],
            tunnels: vec![tunnel],
            sixrd: Vec::new(),
        };
        let r4 = site(RouterId::R4, Role::TunnelSite, R4_V4, d_site.0, "site4", (d, mac_d), tunnel("to-r3", R4_V4, R3_UNICAST));
        let r5 = site(RouterId::R5, Role::SixRdCe, CE_V4, e_site.0, "site5", (e, mac_e), tunnel("6rd-br", CE_V4, BR_V4));
        let host = |name, netns, mac, addr: Ipv6Addr, bridge, routes: Vec<String>, gw: &Router| Host {
            name,
            netns,
            mac,
            addr: addr.into(),
            len: 64,
            routes,
            bridge_ns: NS_SWITCH,
            bridge,
            neighbours: vec![(gw.inner_v6.into(), gw.inner.mac)],
        };
        let default_via = |r: &Router| vec![format!("default via {}", r.inner_v6)];
        // The relay announces 2002::/16, D's site and the 6rd domain to the native side:
        // here, C's routes to them.
        let c_routes = [(Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16), d_site, (domain.prefix, domain.prefix_len)]
            .iter()
            .map(|(p, l)| format!("{p}/{l} via {}", r3.inner_v6))
            .collect();
        let hosts = [
            host("A", "rlab-a", mac_a, a, "site1", default_via(&r1), &r1),
            host("B", "rlab-b", mac_b, b, "site2", default_via(&r2), &r2),
            host("C", "rlab-c", mac_c, c, "native", c_routes, &r3),
            host("D", "rlab-d", mac_d, d, "site4", default_via(&r4), &r4),
            host("E", "rlab-e", mac_e, e, "site5", default_via(&r5), &r5),
        ];
        let rogue = Host {
            name: "rogue",
            netns: NS_ROGUE,
            mac: mac(0xe0, 0, 0x66),
            addr: ROGUE_V4.into(),
            len: 24,
            routes: vec![format!("default via {GW1}")],
            bridge_ns: NS_INET,
            bridge: "wan1",
            neighbours: Vec::new(),
        };
        let inet = Inet {
            segments: vec![("wan1", GW1, 24, INET_MAC1), ("wan2", GW2, 24, INET_MAC2), ("wan3", GW3, 24, INET_MAC3)],
            routes: vec![format!("{}/24 via {R3_UNICAST}", Ipv4Addr::new(192, 88, 99, 0))],
            neighbours: vec![
                ("wan1", V1, r1.wan.mac),
                ("wan2", V2, r2.wan.mac),
                ("wan2", R3_UNICAST, r3.wan.mac),
                ("wan2", BR_V4, r3.wan.mac),
                ("wan3", R4_V4, r4.wan.mac),
                ("wan3", CE_V4, r5.wan.mac),
            ],
        };
        Topology {
            routers: vec![r1, r2, r3, r4, r5],
            hosts,
            rogue,
            inet,
            switches: vec!["site1", "site2", "native", "site4", "site5"],
            static_neighbours,
        }
    }

    pub fn router(&self, id: RouterId) -> &Router {
        &self.routers[id.index()]
    }

    pub fn a(&self) -> &Host {
        &self.hosts[0]
    }

    pub fn b(&self) -> &Host {
        &self.hosts[1]
    }

    pub fn c(&self) -> &Host {
        &self.hosts[2]
    }

    pub fn d(&self) -> &Host {
        &self.hosts[3]
    }

    pub fn e(&self) -> &Host {
        &self.hosts[4]
    }

    /// Every namespace of the lab, in creation order.
    pub fn namespaces(&self) -> Vec<&'static str> {
        let mut v = vec![NS_INET, NS_SWITCH];
        v.extend(self.hosts.iter().map(|h| h.netns));
        v.push(self.rogue.netns);
        v
    }
}
