//! The automatic IPv6-in-IPv4 mechanisms besides 6to4: IPv4-compatible (RFC 4213
//! history), ISATAP (RFC 5214), 6rd border relay (RFC 5969) and 6over4 (RFC 2529).
//!
//! They are rows of the same tables as 6to4 and configured tunnels, not code paths of
//! their own: each is bound to a local IPv4 address, so the classifier picks the mechanism
//! of a protocol-41 packet by its outer destination and then checks the inner addresses
//! against that mechanism's prefixes (RFC 3964 section 6.1); each has a [`RouteTarget`]
//! whose next hop derives the outer destination from the inner one; and every format
//! that embeds an IPv4 address takes part in the RFC 6324 loop checks.
//!
//! [`RouteTarget`]: super::RouteTarget
mod config;
mod decap;
mod encap;

// One file per mechanism (6to4 is router and relay in one: RFC 3056's address format
// serves both roles).
mod configured;
mod ipv4_compatible;
mod isatap;
mod sixover4;
mod sixrd;
pub(crate) mod sixtofour;

pub use configured::TunnelConfig;
pub use ipv4_compatible::Ipv4CompatibleConfig;
pub use isatap::IsatapConfig;
pub use sixover4::SixOver4Config;
pub use sixrd::SixRdConfig;
pub use sixtofour::{RelayConfig, RouterConfig};
pub(crate) use config::{unicast_v4, AutomaticConfig};

use isatap::IsatapLink;
use sixover4::SixOver4Link;
use sixrd::SixRd;
pub(crate) use decap::check_with;
pub(crate) use encap::{check_loop, tunnel_ends};
pub(crate) use sixover4::AWAITING_V4;

use crate::pipeline::model::addr::mask6;
use crate::pipeline::model::automatic::{is_sixover4_group, AutomaticSettings, Ipv6Prefix};
use crate::pipeline::model::counters::Event;
use crate::pipeline::model::host::Host;
use crate::pipeline::model::tables::TunnelId;

/// Which kind of tunnel a protocol-41 packet arrived on: a row of the decapsulation
/// table, chosen by the outer addresses (RFC 3964 section 6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TunnelKind {
    SixToFour,
    /// Configured tunnel `id` (RFC 4213), matched by both ends.
    Configured(TunnelId),
    Ipv4Compatible,
    /// ISATAP link i.
    Isatap(u8),
    /// The 6rd domains of the BR address (the inner source picks the domain).
    SixRd,
    /// 6over4 link i, unicast to our address.
    SixOver4(u8),
    /// 6over4 link i, IPv6 multicast in IPv4 group 239.192.x.y.
    SixOver4Group(u8),
}

impl TunnelKind {
    /// The per-mechanism counter of packets taken out.
    pub(crate) fn event(self) -> Event {
        match self {
            TunnelKind::SixToFour => Event::Decap6to4,
            TunnelKind::Configured(_) => Event::DecapConfigured,
            TunnelKind::Ipv4Compatible => Event::DecapIpv4Compatible,
            TunnelKind::Isatap(_) => Event::DecapIsatap,
            TunnelKind::SixRd => Event::Decap6rd,
            TunnelKind::SixOver4(_) | TunnelKind::SixOver4Group(_) => Event::Decap6over4,
        }
    }
}

/// What to do with an inner packet that passed the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inner {
    /// Addressed to us: the slow path answers (echo, ND). To a group (6over4, ISATAP):
    /// delivered as any multicast to us.
    Local,
    Forward,
}
/// fe80::/64, the link-local prefix of every ISATAP and 6over4 link.
pub(crate) const LINK_LOCAL: u128 = 0xfe80 << 112;

/// `(network, mask)` pairs: a prefix test is one xor and one and.
type Prefixes = Vec<(u128, u128)>;

fn compile(prefixes: &[Ipv6Prefix]) -> Prefixes {
    prefixes.iter().map(|p| (p.net(), mask6(p.len))).collect()
}

#[inline(always)]
fn within(prefixes: &Prefixes, a: u128) -> bool {
    prefixes.iter().any(|&(net, mask)| (a ^ net) & mask == 0)
}

/// The IPv4 addresses that can be the other end of an ISATAP, 6rd or 6over4 tunnel:
/// unicast ([`unicast_v4`]) and no directed broadcast of our subnets. Private space is
/// fine: these mechanisms run inside a site or an ISP. A bitmap of the first octets that
/// are not unicast or start one of the broadcasts answers almost every address alone (as
/// `Martians` does).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ends {
    suspect_octets: [u64; 4],
    broadcasts: Vec<u32>,
}

impl Ends {
    pub fn new(broadcasts: &[u32]) -> Ends {
        let mut suspect_octets = [0u64; 4];
        let octets = (0..=255u32).filter(|&o| !unicast_v4(o << 24)).chain(broadcasts.iter().map(|&b| b >> 24));
        for o in octets {
            suspect_octets[(o >> 6) as usize & 3] |= 1 << (o & 63);
        }
        Ends { suspect_octets, broadcasts: broadcasts.to_vec() }
    }

    #[inline(always)]
    pub fn ok(&self, a: u32) -> bool {
        let suspect = self.suspect_octets[(a >> 30) as usize & 3] & (1 << ((a >> 24) & 63)) != 0;
        !suspect || (unicast_v4(a) && !self.broadcasts.contains(&a))
    }
}

/// [`AutomaticSettings`] compiled for the fast path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Automatic {
    ends: Ends,
    /// Each local address and the mechanism bound to it (RFC 3964 section 6.1).
    bound: Vec<(u32, TunnelKind)>,
    isatap: Vec<IsatapLink>,
    sixrd: Vec<SixRd>,
    /// The domains with one of our IPv4 addresses among their CE addresses: only their
    /// IPv6 addresses can embed one (RFC 6324), and usually there are none.
    sixrd_over_own: Vec<SixRd>,
    sixover4: Vec<SixOver4Link>,
    /// Our addresses on ISATAP and 6over4 links, and `::V` of the IPv4-compatible tunnel.
    own_v6: Vec<u128>,
    /// The MTU of the automatic tunnels, advertised on ISATAP links.
    mtu: u16,
}

impl Automatic {
    /// `broadcasts`: the directed broadcasts of our subnets; `own_v4`: our IPv4 addresses;
    /// `mtu`: the tunnels' MTU.
    pub fn new(s: &AutomaticSettings, broadcasts: &[u32], own_v4: &[u32], mtu: u16) -> Automatic {
        let mut bound: Vec<(u32, TunnelKind)> = s.ipv4_compatible.map(|a| (u32::from(a), TunnelKind::Ipv4Compatible)).into_iter().collect();
        bound.extend(s.isatap.iter().enumerate().map(|(i, l)| (u32::from(l.ipv4), TunnelKind::Isatap(i as u8))));
        bound.extend(s.sixrd.iter().map(|d| (u32::from(d.br), TunnelKind::SixRd)));
        bound.extend(s.sixover4.iter().enumerate().map(|(i, l)| (u32::from(l.ipv4), TunnelKind::SixOver4(i as u8))));
        bound.dedup();
        let sixrd: Vec<SixRd> = s.sixrd.iter().map(SixRd::new).collect();
        Automatic {
            sixrd_over_own: sixrd.iter().copied().filter(|d| own_v4.iter().any(|&v| d.ce_can_be(v))).collect(),
            sixrd,
            ends: Ends::new(broadcasts),
            bound,
            isatap: s.isatap.iter().map(IsatapLink::new).collect(),
            sixover4: s.sixover4.iter().map(SixOver4Link::new).collect(),
            own_v6: s.own_v6().into_iter().map(u128::from).collect(),
            mtu,
        }
    }

    /// The mechanism bound to our IPv4 address `local` (RFC 3964 section 6.1).
    #[inline]
    pub fn bound(&self, local: u32) -> Option<TunnelKind> {
        self.bound.iter().find(|&&(a, _)| a == local).map(|&(_, kind)| kind)
    }

    /// IPv4 multicast `group` on `port`: 6over4's IPv6 multicast, if the port has a 6over4
    /// link and the group is in 239.192.0.0/16 (RFC 2529 section 6).
    #[inline]
    pub fn sixover4_group(&self, port: u16, group: u32) -> Option<TunnelKind> {
        if !is_sixover4_group(group) {
            return None;
        }
        let i = self.sixover4.iter().position(|l| l.port == port)?;
        Some(TunnelKind::SixOver4Group(i as u8))
    }

    /// `a` can be the other end of an ISATAP, 6rd or 6over4 tunnel ([`Ends`]).
    #[inline(always)]
    pub fn is_end(&self, a: u32) -> bool {
        self.ends.ok(a)
    }

    #[inline(always)]
    pub fn is_own_v6(&self, a: u128) -> bool {
        self.own_v6.contains(&a)
    }

    /// The destination is on one of our ISATAP or 6over4 links.
    #[inline]
    pub fn on_link(&self, a: u128) -> bool {
        self.isatap.iter().any(|l| within(&l.prefixes, a)) || self.sixover4.iter().any(|l| l.in_prefix(a))
    }

    /// RFC 6324 section 3.2.3: `a` embeds one of our IPv4 addresses in an automatic
    /// format — 6to4 or ISATAP ([`Host::embeds_own_v4`]) or one of our 6rd domains.
    #[inline(always)]
    pub fn embeds_own_v4(&self, host: &Host, a: u128) -> bool {
        host.embeds_own_v4(a) || self.sixrd_over_own.iter().any(|d| d.contains(a) && host.is_own_v4(d.ce_v4(a)))
    }
}

/// In fe80::/64, the link-local prefix of ISATAP and 6over4 links.
#[inline(always)]
fn link_local_64(a: u128) -> bool {
    (a ^ LINK_LOCAL) & mask6(64) == 0
}

impl Automatic {
    /// ISATAP link `i`: our IPv4 address on it and its /64s, for router advertisements.
    pub(crate) fn isatap_link(&self, i: u8) -> Option<(u32, &[u128])> {
        self.isatap.get(usize::from(i)).map(|l| (l.ipv4, l.prefixes64.as_slice()))
    }

    /// The MTU of the automatic tunnels (advertised on ISATAP links).
    pub(crate) fn tunnel_mtu(&self) -> u16 {
        self.mtu
    }

    /// The IPv4 TTL on 6over4 link `i` (RFC 2529 section 3).
    pub(crate) fn sixover4_ttl(&self, i: u8) -> Option<u8> {
        self.sixover4.get(usize::from(i)).map(|l| l.ttl)
    }

    /// Our IPv4 address on 6over4 link `i` (the port's).
    pub(crate) fn sixover4_v4(&self, i: u8) -> Option<u32> {
        self.sixover4.get(usize::from(i)).map(|l| l.ipv4)
    }

    /// The port of the 6over4 link of our address `local`.
    pub(crate) fn sixover4_port(&self, local: u32) -> Option<u16> {
        self.sixover4.iter().find(|l| l.ipv4 == local).map(|l| l.port)
    }

    /// The 6over4 link on `port`.
    pub(crate) fn sixover4_link(&self, port: u16) -> Option<u8> {
        self.sixover4.iter().position(|l| l.port == port).and_then(|i| u8::try_from(i).ok())
    }

    /// `a` lies on 6over4 link `i`: one of its prefixes, or link-local.
    pub(crate) fn on_sixover4(&self, i: u8, a: u128) -> bool {
        self.sixover4.get(usize::from(i)).is_some_and(|l| l.on_link(a))
    }

    /// `a` is in one of the prefixes of 6over4 link `i` (where the fast path forwards).
    pub(crate) fn in_sixover4_prefix(&self, i: u8, a: u128) -> bool {
        self.sixover4.get(usize::from(i)).is_some_and(|l| l.in_prefix(a))
    }

    /// `a` is one of our addresses on 6over4 link `i`: `fe80::V` or `prefix::V`.
    pub(crate) fn sixover4_owns(&self, i: u8, a: u128) -> bool {
        self.sixover4.get(usize::from(i)).is_some_and(|l| a as u32 == l.ipv4 && self.is_own_v6(a) && self.on_sixover4(i, a))
    }

    /// `a` is one of our addresses on ISATAP link `i` (link-local or in its prefixes).
    pub(crate) fn isatap_owns(&self, i: u8, a: u128) -> bool {
        self.isatap
            .get(usize::from(i))
            .is_some_and(|l| a as u32 == l.ipv4 && self.is_own_v6(a) && l.on_link(a))
    }
}
