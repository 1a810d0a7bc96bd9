//! Who we are, compiled from [`Settings`] for the fast path: per-port L2/L3 identity,
//! our addresses as integers, the RFC 3964 deny list and on-link prefixes.
use crate::wire::EthernetAddress;

use super::addr::{ALL_NODES, ALL_ROUTERS, embedded_v4s, is_link_local6, is_multicast6, mask4, mask6, sixtofour_addr, solicited_node, Martians};
use super::settings::{Settings, ANYCAST_V4};
use super::v4set::V4Set;

/// One port as the pipeline needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortView {
    pub configured: bool,
    pub mac: [u8; 6],
    /// 802.1Q TCI to expect and to send (VLAN id, priority 0).
    pub vlan: Option<u16>,
    pub mtu: u16,
    pub ipv4: Option<u32>,
    /// Local addresses of the automatic mechanisms (ISATAP, 6rd BR, IPv4-compatible) in
    /// the port's IPv4 subnet, other than its own: ARP answers for them here.
    pub mechanism_v4: Vec<u32>,
    /// `(network, mask)` of the port's IPv6 prefixes.
    pub prefixes6: Vec<(u128, u128)>,
    pub site_lan: bool,
    /// Source of ICMPv6 errors about packets that arrived here.
    pub err_src: Option<u128>,
    /// The port's IPv6 addresses, its link-local one included.
    pub ipv6: Vec<u128>,
    /// The configured link-local address, else on a port sending router advertisements
    /// the modified EUI-64 one of its MAC (RAs must come from a link-local address).
    pub link_local: Option<u128>,
    /// Router advertisements are sent here, so router solicitations are answered.
    pub sends_ra: bool,
    /// The port has a control TAP: what is for us and relayd does not answer goes to the
    /// kernel instead of being dropped.
    pub kernel: bool,
}

/// A 256-bit Bloom filter (one hash) over IPv6 addresses: `false` is certain, `true` means
/// "scan the list". With the handful of addresses a router has, a transit address skips the
/// scan about 95 % of the time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct AddrFilter([u64; 4]);

impl AddrFilter {
    fn new(addrs: impl IntoIterator<Item = u128>) -> AddrFilter {
        let mut f = [0u64; 4];
        for a in addrs {
            let b = Self::bit(a);
            f[b >> 6] |= 1 << (b & 63);
        }
        AddrFilter(f)
    }

    /// Fibonacci hashing of the folded address: 8 bits, spread by every address bit.
    #[inline(always)]
    fn bit(a: u128) -> usize {
        (((a as u64) ^ ((a >> 64) as u64)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize
    }

    #[inline(always)]
    fn may_hold(&self, a: u128) -> bool {
        let b = Self::bit(a);
        self.0[(b >> 6) & 3] >> (b & 63) & 1 != 0
    }
}

/// Our addresses and policy, shared by the fast path and the slow path ([`super::local`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    pub ports: Vec<PortView>,
    /// Every IPv4 address of ours.
    pub own_v4: Vec<u32>,
    own_v4_set: V4Set,
    /// IPv4 addresses terminating 6to4 (router V, relay unicast, anycast when on).
    pub endpoints: Vec<u32>,
    endpoint_set: V4Set,
    /// The relay's endpoints (6to4 to native is only relayed when sent to one of them).
    pub relay_endpoints: Vec<u32>,
    relay_endpoint_set: V4Set,
    /// Outer source for native IPv6 sources: anycast when on, else the relay's unicast.
    pub native_outer_src: Option<u32>,
    /// Our IPv6 addresses on the ports (answered by ND there) and `2002:E::` per endpoint E.
    pub own_v6: Vec<u128>,
    /// Our addresses on the automatic tunnels' links (ISATAP, 6over4) and `::V` of the
    /// IPv4-compatible tunnel: ours, but neighbour discovery for them runs only over
    /// their tunnels.
    pub tunnel_v6: Vec<u128>,
    /// Over `own_v6` and `tunnel_v6`: most destinations are not ours, and this says so
    /// without scanning the lists.
    own_v6_filter: AddrFilter,
    /// The router's site `2002:V::/48`.
    pub site: Option<u128>,
    pub martians: Martians,
    /// IPv4 broadcast addresses of our subnets.
    pub broadcasts: Vec<u32>,
    broadcast_set: V4Set,
    pub outer_ttl: u8,
    /// The routing daemon's neighbours (`[pipeline.control_plane] peers`), sorted.
    pub peers4: Vec<u32>,
    pub peers6: Vec<u128>,
}

impl Host {
    pub fn new(s: &Settings, port_macs: &[impl Into<EthernetAddress> + Copy]) -> Host {
        let endpoints: Vec<u32> = s.tunnel_endpoints().into_iter().map(u32::from).collect();
        let macs: Vec<[u8; 6]> = (0..s.ports.len())
            .map(|i| s.ports[i].mac.or_else(|| port_macs.get(i).map(|&m| m.into())).unwrap_or_default().0)
            .collect();
        let sends_ra = |i: usize| s.router_adverts.iter().any(|r| usize::from(r.port) == i);
        // The kernel behind a control TAP autoconfigures the EUI-64 link-local of the MAC
        // and may source neighbour solicitations from it: it must be ours too.
        let needs_link_local = |i: usize| sends_ra(i) || s.ports[i].control_tap.is_some();
        let link_locals: Vec<Option<u128>> = s
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let configured = p.ipv6.iter().map(|a| u128::from(a.addr)).find(|&a| is_link_local6(a));
                configured.or_else(|| needs_link_local(i).then(|| eui64_link_local(macs[i])))
            })
            .collect();
        let mut own_v6: Vec<u128> = s.ports.iter().flat_map(|p| p.ipv6.iter().map(|a| u128::from(a.addr))).collect();
        own_v6.extend(link_locals.iter().flatten());
        own_v6.extend(endpoints.iter().map(|&e| sixtofour_addr(e)));
        own_v6.sort_unstable();
        own_v6.dedup();
        let is_global = |a: &u128| a >> 118 != 0xfe80 >> 6;
        let any_global = s
            .ports
            .iter()
            .flat_map(|p| p.ipv6.iter().map(|a| u128::from(a.addr)))
            .find(is_global)
            .or_else(|| endpoints.first().map(|&e| sixtofour_addr(e)));
        let mechanism_locals: Vec<u32> = s.automatic.locals().into_iter().map(u32::from).collect();
        let ports = s
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| PortView {
                configured: p.configured,
                mac: macs[i],
                vlan: p.vlan,
                mtu: p.mtu,
                ipv4: p.ipv4.map(|a| u32::from(a.addr)),
                mechanism_v4: match p.ipv4 {
                    Some(a) => {
                        let (own, mask) = (u32::from(a.addr), mask4(a.len));
                        mechanism_locals.iter().copied().filter(|&m| m != own && (m ^ own) & mask == 0).collect()
                    }
                    None => Vec::new(),
                },
                prefixes6: p.ipv6.iter().map(|a| (u128::from(a.addr) & mask6(a.len), mask6(a.len))).collect(),
                site_lan: p.site_lan,
                err_src: p.ipv6.iter().map(|a| u128::from(a.addr)).find(is_global).or(any_global),
                ipv6: {
                    let mut v: Vec<u128> = p.ipv6.iter().map(|a| u128::from(a.addr)).collect();
                    v.extend(link_locals[i].filter(|a| !v.contains(a)));
                    v
                },
                link_local: link_locals[i],
                sends_ra: sends_ra(i),
                kernel: p.control_tap.is_some(),
            })
            .collect();
        let own_v4: Vec<u32> = s.own_v4().into_iter().map(u32::from).collect();
        let relay_endpoints: Vec<u32> = s.relay_endpoints().into_iter().map(u32::from).collect();
        let broadcasts: Vec<u32> = s.ports.iter().filter_map(|p| p.ipv4?.broadcast()).map(u32::from).collect();
        let tunnel_v6: Vec<u128> = s.automatic.own_v6().into_iter().map(u128::from).collect();
        Host {
            ports,
            own_v4: own_v4.clone(),
            own_v4_set: V4Set::new(&own_v4),
            endpoint_set: V4Set::new(&endpoints),
            endpoints,
            relay_endpoint_set: V4Set::new(&relay_endpoints),
            relay_endpoints,
            native_outer_src: s.relay.map(|r| u32::from(if r.anycast { ANYCAST_V4 } else { r.unicast })),
            own_v6_filter: AddrFilter::new(own_v6.iter().copied().chain(tunnel_v6.iter().copied())),
            own_v6,
            tunnel_v6,
            site: s.router.as_ref().map(|r| sixtofour_addr(u32::from(r.v4))),
            martians: s.martians(),
            broadcast_set: V4Set::new(&broadcasts),
            broadcasts,
            outer_ttl: s.outer_ttl,
            peers4: sorted(s.control_plane.peers.iter().filter_map(|a| match a {
                std::net::IpAddr::V4(a) => Some(u32::from(*a)),
                std::net::IpAddr::V6(_) => None,
            })),
            peers6: sorted(s.control_plane.peers.iter().filter_map(|a| match a {
                std::net::IpAddr::V6(a) => Some(u128::from(*a)),
                std::net::IpAddr::V4(_) => None,
            })),
        }
    }

    /// A routing neighbour's address (its packets use the peer bucket to the kernel).
    #[inline]
    pub fn is_peer4(&self, a: u32) -> bool {
        self.peers4.binary_search(&a).is_ok()
    }

    #[inline]
    pub fn is_peer6(&self, a: u128) -> bool {
        self.peers6.binary_search(&a).is_ok()
    }

    /// The port, if configured.
    #[inline(always)]
    pub fn port(&self, port: u16) -> Option<&PortView> {
        self.ports.get(usize::from(port)).filter(|p| p.configured)
    }

    #[inline(always)]
    pub fn is_own_v4(&self, a: u32) -> bool {
        self.own_v4_set.contains(a)
    }

    #[inline(always)]
    pub fn is_endpoint(&self, a: u32) -> bool {
        self.endpoint_set.contains(a)
    }

    #[inline(always)]
    pub fn is_relay_endpoint(&self, a: u32) -> bool {
        self.relay_endpoint_set.contains(a)
    }

    #[inline(always)]
    pub fn is_own_v6(&self, a: u128) -> bool {
        self.own_v6_filter.may_hold(a) && (self.own_v6.contains(&a) || self.tunnel_v6.contains(&a))
    }

    /// One of our addresses that neighbour discovery on the ports answers for (not those
    /// on the automatic tunnels' links).
    #[inline]
    pub fn answers_nd(&self, a: u128) -> bool {
        self.own_v6.contains(&a)
    }

    /// An IPv4 address ARP answers for on `port`: its own; a 6to4 endpoint (on any port
    /// with IPv4); an automatic mechanism's local address in its subnet.
    #[inline]
    pub fn answers_arp(&self, port: &PortView, a: u32) -> bool {
        port.ipv4.is_some() && (port.ipv4 == Some(a) || self.is_endpoint(a) || port.mechanism_v4.contains(&a))
    }

    /// A directed broadcast of one of our subnets.
    #[inline(always)]
    pub fn is_broadcast_v4(&self, a: u32) -> bool {
        self.broadcast_set.contains(a)
    }

    /// The solicited-node group of one of our addresses on the ports.
    #[inline]
    pub fn is_our_solicited_node(&self, group: u128) -> bool {
        is_multicast6(group) && self.own_v6.iter().any(|&a| solicited_node(a) == group)
    }

    /// A group we listen to: all-nodes, all-routers, or one of our solicited-node groups.
    #[inline]
    pub fn is_our_group(&self, group: u128) -> bool {
        group == ALL_NODES || group == ALL_ROUTERS || self.is_our_solicited_node(group)
    }

    /// `a` is inside the router's 6to4 site.
    #[inline(always)]
    pub fn in_site(&self, a: u128) -> bool {
        self.site.is_some_and(|s| (a ^ s) & mask6(48) == 0)
    }

    /// A source that legitimately arrives on `port`: inside one of the port's prefixes,
    /// or inside the site when the port is a site LAN port.
    #[inline]
    pub fn src_on_link(&self, src: u128, port: u16) -> bool {
        let Some(p) = self.ports.get(usize::from(port)) else { return false };
        p.prefixes6.iter().any(|&(net, mask)| (src ^ net) & mask == 0) || (p.site_lan && self.in_site(src))
    }

    /// A destination that is ours or on one of our links (any port's prefix or the site).
    #[inline]
    pub fn dst_ours_or_on_link(&self, dst: u128) -> bool {
        self.is_own_v6(dst)
            || self.in_site(dst)
            || self.ports.iter().any(|p| p.prefixes6.iter().any(|&(net, mask)| (dst ^ net) & mask == 0))
    }

    /// `a` embeds one of our IPv4 addresses in an automatic-tunnel format (RFC 6324).
    #[inline(always)]
    pub fn embeds_own_v4(&self, a: u128) -> bool {
        let [sixtofour, isatap] = embedded_v4s(a);
        sixtofour.is_some_and(|v| self.is_own_v4(v)) || isatap.is_some_and(|v| self.is_own_v4(v))
    }
}

/// `fe80::` with the modified EUI-64 interface identifier of `mac` (RFC 4291 appendix A).
pub fn eui64_link_local(mac: [u8; 6]) -> u128 {
    let iid = [mac[0] ^ 0x02, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]];
    0xfe80 << 112 | u128::from(u64::from_be_bytes(iid))
}

#[cfg(test)]
mod filter_tests {
    use super::{AddrFilter, V4Set};

    #[test]
    fn v4_set_holds_exactly_its_members() {
        let mut x: u32 = 0x0a00_0001;
        for n in [0usize, 1, 2, 5, 16, 40, 100] {
            let members: Vec<u32> = (0..n)
                .map(|_| {
                    x = x.wrapping_mul(0x2c1b_3c6d).wrapping_add(0x297a_2d39);
                    x
                })
                .collect();
            let set = V4Set::new(&members);
            assert!(members.iter().all(|&a| set.contains(a)));
            for probe in [0u32, 1, u32::MAX, 0xc633_6407] {
                assert_eq!(set.contains(probe), members.contains(&probe));
            }
            let others = (0..10_000u32).map(|i| i.wrapping_mul(0x9e37_79b9)).filter(|a| !members.contains(a));
            assert!(others.clone().all(|a| !set.contains(a)));
        }
        // Zero is an address like any other (an empty slot holds no member).
        assert!(V4Set::new(&[0]).contains(0));
        assert!(!V4Set::new(&[1]).contains(0));
    }

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        // Addresses like a router's: port addresses, link-locals, 2002:V::, ISATAP forms.
        let mut x: u128 = 0x2001_0db8_0000_0000_0000_0000_0000_0001;
        let mut set = vec![0xfe80 << 112 | 1, 0x2002_c633_6407 << 80, 0xfe80 << 112 | 0x0200_5efe_c633_6407];
        for _ in 0..13 {
            x = x.wrapping_mul(0x2545_f491_4f6c_dd1d_9e37_79b9_7f4a_7c15).wrapping_add(0x1234_5678);
            set.push(x);
        }
        let f = AddrFilter::new(set.iter().copied());
        assert!(set.iter().all(|&a| f.may_hold(a)));
        // 16 addresses set at most 16 of the 256 bits: of the transit addresses 2001:db8:bbbb::n
        // at most a few in ten pass.
        let passing = (0..1000u128).filter(|n| f.may_hold(0x2001_0db8_bbbb << 80 | n)).count();
        assert!(passing <= 16 * 1000 / 256 * 2, "{passing} of 1000 passed");
    }
}

fn sorted<T: Ord>(it: impl Iterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = it.collect();
    v.sort_unstable();
    v.dedup();
    v
}
