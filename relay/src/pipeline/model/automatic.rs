//! Validated settings of the automatic mechanisms besides 6to4, and the address arithmetic
//! each one defines: IPv4-compatible (RFC 4213 history), ISATAP (RFC 5214), 6rd (RFC 5969),
//! 6over4 (RFC 2529).
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::addr::{mask4, mask6, Ipv4Prefix};
use super::tables::RouteTarget;

/// An IPv6 prefix with no host bits set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv6Prefix {
    pub addr: Ipv6Addr,
    pub len: u8,
}

impl Ipv6Prefix {
    /// Rejects lengths over 128 and host bits past `len`.
    pub fn new(addr: Ipv6Addr, len: u8) -> Result<Ipv6Prefix, String> {
        if len > 128 {
            return Err(format!("prefix length {len} is over 128"));
        }
        let a = u128::from(addr);
        if a & !mask6(len) != 0 {
            return Err(format!("{addr}/{len} has host bits set (the network is {}/{len})", Ipv6Addr::from(a & mask6(len))));
        }
        Ok(Ipv6Prefix { addr, len })
    }

    #[inline(always)]
    pub fn net(&self) -> u128 {
        u128::from(self.addr)
    }

    #[inline(always)]
    pub fn contains(&self, a: u128) -> bool {
        (a ^ self.net()) & mask6(self.len) == 0
    }

    /// `other` lies within this prefix.
    pub fn covers(&self, other: &Ipv6Prefix) -> bool {
        other.len >= self.len && self.contains(other.net())
    }

    pub fn overlaps(&self, other: &Ipv6Prefix) -> bool {
        self.covers(other) || other.covers(self)
    }
}

impl FromStr for Ipv6Prefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, l) = s.split_once('/').ok_or_else(|| format!("{s:?}: expected a prefix like 2001:db8::/32"))?;
        let addr = a.parse::<Ipv6Addr>().map_err(|_| format!("{a:?}: not an IPv6 address"))?;
        let len = l.parse::<u8>().map_err(|_| format!("{l:?}: not a prefix length"))?;
        Ipv6Prefix::new(addr, len)
    }
}

impl fmt::Display for Ipv6Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// The low `n` bits (0..=32).
#[inline(always)]
pub(crate) fn low_bits(n: u8) -> u32 {
    !mask4(32 - n.min(32))
}

/// An ISATAP interface identifier (RFC 5214 section 6.1): `0000:5efe:V`, with the u bit
/// set (`0200:5efe:V`) when V is a global address.
pub fn isatap_iid(v4: Ipv4Addr) -> u64 {
    let u = if is_global_v4(v4) { 0x0200 } else { 0 };
    (u << 48) | (0x5efe << 32) | u64::from(u32::from(v4))
}

/// Not private, shared, loopback, link-local, multicast or reserved: what RFC 5214 calls
/// globally unique, for the u bit.
fn is_global_v4(a: Ipv4Addr) -> bool {
    crate::pipeline::model::addr::builtin_v4_ok(a)
}

/// The router's ISATAP link (RFC 5214): its IPv4 address V on the link, the /64 prefixes
/// of the link, and the other routers whose packets it takes from any source (the PRL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsatapSettings {
    pub ipv4: Ipv4Addr,
    pub prefixes: Vec<Ipv6Prefix>,
    pub prl: Vec<Ipv4Addr>,
}

impl IsatapSettings {
    /// The router's own addresses on the link: link-local and one per prefix, each with
    /// both interface identifier forms (u bit clear and set).
    pub fn own_v6(&self) -> Vec<Ipv6Addr> {
        let v = u128::from(u32::from(self.ipv4));
        let link_local = Ipv6Prefix { addr: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), len: 64 };
        std::iter::once(&link_local)
            .chain(&self.prefixes)
            .flat_map(|p| [0u128, 0x0200].map(|u| Ipv6Addr::from(p.net() | u << 48 | 0x5efe << 32 | v)))
            .collect()
    }
}

/// A 6rd domain (RFC 5969) served by this border relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SixRdDomain {
    /// The BR's IPv4 address: the outer source on encapsulation, the outer destination CEs
    /// send to.
    pub br: Ipv4Addr,
    /// 6rdPrefix/6rdPrefixLen.
    pub prefix: Ipv6Prefix,
    /// The bits every CE's IPv4 address shares; its length is IPv4MaskLen.
    pub ipv4_prefix: Ipv4Prefix,
}

impl SixRdDomain {
    /// Checks RFC 5969 section 7: 6rdPrefixLen + (32 − IPv4MaskLen) ≤ 64.
    pub fn new(br: Ipv4Addr, prefix: Ipv6Prefix, ipv4_prefix: Ipv4Prefix) -> Result<SixRdDomain, String> {
        let (p, m) = (prefix.len, ipv4_prefix.prefix_len());
        if u32::from(p) + 32 - u32::from(m) > 64 {
            return Err(format!(
                "6rdPrefixLen {p} + (32 - IPv4MaskLen {m}) = {} is over 64 (RFC 5969 section 7)",
                u32::from(p) + 32 - u32::from(m)
            ));
        }
        Ok(SixRdDomain { br, prefix, ipv4_prefix })
    }

    /// How many bits of a CE's IPv4 address its delegated prefix embeds (32 − IPv4MaskLen).
    #[inline(always)]
    pub fn embedded_bits(&self) -> u8 {
        32 - self.ipv4_prefix.prefix_len()
    }

    /// Where the embedded bits end, counted from the low end of the IPv6 address.
    #[inline(always)]
    pub fn shift(&self) -> u8 {
        128 - self.prefix.len - self.embedded_bits()
    }

    /// The CE IPv4 address an address of the domain embeds; `None` outside the domain.
    #[inline]
    pub fn ce_v4(&self, a: u128) -> Option<u32> {
        self.prefix.contains(a).then(|| ce_v4(u32::from(self.ipv4_prefix.addr()), self.shift(), self.embedded_bits(), a))
    }

    /// The delegated prefix of the CE with address `v4` (RFC 5969 section 4); `None` if
    /// `v4` lacks the domain's common bits.
    pub fn delegated_prefix(&self, v4: Ipv4Addr) -> Option<Ipv6Prefix> {
        let v = u32::from(v4);
        if !self.ipv4_prefix.contains(v) {
            return None;
        }
        let bits = u128::from(v & low_bits(self.embedded_bits())) << self.shift();
        Some(Ipv6Prefix { addr: Ipv6Addr::from(self.prefix.net() | bits), len: self.prefix.len + self.embedded_bits() })
    }
}

/// The IPv4 address `common | the `bits` bits of `a` above bit `shift``: the 6rd CE address
/// (and, with 2002::/16 and IPv4MaskLen 0, the 6to4 V).
#[inline(always)]
pub(crate) fn ce_v4(common: u32, shift: u8, bits: u8, a: u128) -> u32 {
    common | ((a >> shift.min(127)) as u32 & low_bits(bits))
}

/// A 6over4 link (RFC 2529) on a port: the port's IPv4 address is the router's link-layer
/// address, IPv4 multicast 239.192.0.0/16 carries IPv6 multicast.
/// The IPv4 TTL of 6over4 packets unless configured (RFC 2529 section 3: low, so that
/// the link's multicast stays inside the site; configurable, default 8).
pub const DEFAULT_SIXOVER4_TTL: u8 = 8;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SixOver4Settings {
    pub port: u16,
    pub ipv4: Ipv4Addr,
    pub prefixes: Vec<Ipv6Prefix>,
    /// The IPv4 TTL of everything sent on the link (RFC 2529 section 3).
    pub ttl: u8,
}

impl SixOver4Settings {
    /// The interface identifier is V padded with zeros (RFC 2529 section 4): `fe80::V` and
    /// `prefix::V`.
    pub fn own_v6(&self) -> Vec<Ipv6Addr> {
        let v = u128::from(u32::from(self.ipv4));
        std::iter::once(0xfe80u128 << 112)
            .chain(self.prefixes.iter().map(|p| p.net()))
            .map(|net| Ipv6Addr::from(net | v))
            .collect()
    }
}

/// The IPv4 multicast group carrying IPv6 multicast group `g` on 6over4 (RFC 2529 section
/// 6): 239.192 followed by the last two bytes of `g`.
#[inline(always)]
pub fn sixover4_group(g: u128) -> u32 {
    0xefc0_0000 | (g as u32 & 0xffff)
}

/// 239.192.0.0/16, the groups [`sixover4_group`] maps to.
#[inline(always)]
pub fn is_sixover4_group(a: u32) -> bool {
    a >> 16 == 0xefc0
}

/// Every automatic mechanism but 6to4, as configured. Empty by default: all off.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AutomaticSettings {
    /// Local address of the IPv4-compatible tunnel (`::V`, RFC 4213 history); `None`: off.
    pub ipv4_compatible: Option<Ipv4Addr>,
    pub isatap: Vec<IsatapSettings>,
    pub sixrd: Vec<SixRdDomain>,
    pub sixover4: Vec<SixOver4Settings>,
}

impl AutomaticSettings {
    /// Every IPv4 address an automatic mechanism terminates (one mechanism each).
    pub fn locals(&self) -> Vec<Ipv4Addr> {
        let mut v: Vec<Ipv4Addr> = self.ipv4_compatible.into_iter().collect();
        v.extend(self.isatap.iter().map(|l| l.ipv4));
        v.extend(self.sixrd.iter().map(|d| d.br));
        v.extend(self.sixover4.iter().map(|l| l.ipv4));
        v.sort();
        v.dedup();
        v
    }

    /// The router's own IPv6 addresses on its ISATAP and 6over4 links, and `::V` of the
    /// IPv4-compatible tunnel.
    pub fn own_v6(&self) -> Vec<Ipv6Addr> {
        let mut v: Vec<Ipv6Addr> = self.ipv4_compatible.map(|a| Ipv6Addr::from(u128::from(u32::from(a)))).into_iter().collect();
        v.extend(self.isatap.iter().flat_map(IsatapSettings::own_v6));
        v.extend(self.sixover4.iter().flat_map(SixOver4Settings::own_v6));
        v.sort();
        v.dedup();
        v
    }

    /// The routes each mechanism implies: its prefixes into it, and `::/96` into the
    /// IPv4-compatible tunnel when on.
    pub fn implicit_routes(&self) -> Vec<(Ipv6Addr, u8, RouteTarget)> {
        let mut v = Vec::new();
        if self.ipv4_compatible.is_some() {
            v.push((Ipv6Addr::UNSPECIFIED, 96, RouteTarget::Ipv4Compatible));
        }
        for l in &self.isatap {
            v.extend(l.prefixes.iter().map(|p| (p.addr, p.len, RouteTarget::Isatap { local: l.ipv4 })));
        }
        for d in &self.sixrd {
            v.push((d.prefix.addr, d.prefix.len, RouteTarget::SixRd { prefix: d.prefix.addr, len: d.prefix.len }));
        }
        for l in &self.sixover4 {
            v.extend(l.prefixes.iter().map(|p| (p.addr, p.len, RouteTarget::SixOver4 { local: l.ipv4 })));
        }
        v
    }
}
