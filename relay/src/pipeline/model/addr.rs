//! Address policy as data and pure functions: RFC 3964 section 5.3 sanity checks, the
//! addresses automatic tunnels embed (RFC 3056, RFC 5214, RFC 6324) and the RFC 4213
//! decapsulation source filter.
//!
//! The fast path keeps addresses as integers in network order (`u32`, `u128`): a prefix
//! test is one xor and one mask.
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IPv4 prefix with no host bits set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Prefix {
    addr: Ipv4Addr,
    len: u8,
}

impl Ipv4Prefix {
    /// Rejects lengths over 32 and host bits past `len`.
    pub fn new(addr: Ipv4Addr, len: u8) -> Result<Ipv4Prefix, String> {
        if len > 32 {
            return Err(format!("prefix length {len} is over 32"));
        }
        if u32::from(addr) & !mask4(len) != 0 {
            return Err(format!("{addr}/{len} has host bits set (the network is {}/{len})",
                Ipv4Addr::from(u32::from(addr) & mask4(len))));
        }
        Ok(Ipv4Prefix { addr, len })
    }

    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    #[inline(always)]
    pub fn contains(&self, a: u32) -> bool {
        (a ^ u32::from(self.addr)) & mask4(self.len) == 0
    }
}

impl FromStr for Ipv4Prefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, l) = s.split_once('/').ok_or_else(|| format!("{s:?}: expected a.b.c.d/len"))?;
        let addr = a.parse::<Ipv4Addr>().map_err(|_| format!("{a:?}: not an IPv4 address"))?;
        let len = l.parse::<u8>().map_err(|_| format!("{l:?}: not a prefix length"))?;
        Ipv4Prefix::new(addr, len)
    }
}

impl fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// The network mask of an IPv4 prefix length (0..=32).
#[inline(always)]
pub fn mask4(len: u8) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len.min(32))) }
}

/// The network mask of an IPv6 prefix length (0..=128).
#[inline(always)]
pub fn mask6(len: u8) -> u128 {
    if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len.min(128))) }
}

/// IPv4 space never valid as a 6to4 endpoint (RFC 3964 section 5.3.1), plus the shared
/// CGN space (RFC 6598), which postdates it.
pub const MARTIANS_V4: [(Ipv4Addr, u8); 9] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(224, 0, 0, 0), 4),
    (Ipv4Addr::new(240, 0, 0, 0), 4),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
];

/// IPv6 space never valid inside a 6to4 tunnel (RFC 3964 section 5.3.2): unspecified,
/// loopback, IPv4-compatible and -mapped (::/16), link-local, site-local, multicast.
pub const MARTIANS_V6: [(Ipv6Addr, u8); 4] = [
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 16),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),
];

/// In [`MARTIANS_V6`], as one compare of the top 16 bits: `fe80::/10`, `fec0::/10` and
/// `ff00::/8` together are everything from `fe80` up, and `::/16` (zero) wraps to the top
/// when one is taken off.
#[inline(always)]
pub fn is_martian6(a: u128) -> bool {
    ((a >> 112) as u16).wrapping_sub(1) >= 0xfe80 - 1
}

/// The 6to4 prefix 2002::/16 (RFC 3056).
pub const SIXTOFOUR: u128 = 0x2002 << 112;

#[inline(always)]
pub fn is_6to4(a: u128) -> bool {
    a >> 112 == 0x2002
}

/// The V of `2002:V::/48` (meaningful when [`is_6to4`]).
#[inline(always)]
pub fn v4_of_6to4(a: u128) -> u32 {
    (a >> 80) as u32
}

/// `2002:V::` — a router's 6to4 prefix base and its own 6to4 address (subnet 0, id 0).
#[inline(always)]
pub fn sixtofour_addr(v4: u32) -> u128 {
    SIXTOFOUR | u128::from(v4) << 80
}

#[inline(always)]
pub fn is_multicast6(a: u128) -> bool {
    a >> 120 == 0xff
}

#[inline(always)]
pub fn is_link_local6(a: u128) -> bool {
    a >> 118 == 0xfe80 >> 6
}

/// All-nodes and all-routers, link-local scope (RFC 4291 section 2.7.1).
pub const ALL_NODES: u128 = 0xff02 << 112 | 1;
pub const ALL_ROUTERS: u128 = 0xff02 << 112 | 2;

/// `ff02::1:ffXX:XXXX` of `a` (RFC 4291 section 2.7.1).
#[inline(always)]
pub fn solicited_node(a: u128) -> u128 {
    0xff02_0000_0000_0000_0000_0001_ff00_0000 | (a & 0xff_ffff)
}

/// The IPv4 address an ISATAP interface identifier (RFC 5214 section 6.1) embeds: IID
/// `0000:5efe:V` or `0200:5efe:V`, with the u and g bits ignored.
#[inline(always)]
pub fn v4_of_isatap(a: u128) -> Option<u32> {
    let iid_high = (a >> 32) as u32;
    (iid_high & 0xfcff_ffff == 0x0000_5efe).then_some(a as u32)
}

/// Every IPv4 address `a` embeds in an automatic-tunnel format (RFC 6324 section 3.2.3):
/// 6to4 prefix, ISATAP interface identifier. 6rd's depends on the configured domains:
/// `auto::Automatic::embeds_own_v4` adds it.
#[inline(always)]
pub fn embedded_v4s(a: u128) -> [Option<u32>; 2] {
    [is_6to4(a).then(|| v4_of_6to4(a)), v4_of_isatap(a)]
}

/// RFC 4213 section 3.6: inner sources a decapsulator drops — multicast, loopback,
/// IPv4-compatible (::/96 except ::), IPv4-mapped.
#[inline(always)]
pub fn rfc4213_src_ok(a: u128) -> bool {
    let compatible = a >> 32 == 0 && a != 0; // includes ::1
    let mapped = a >> 32 == 0xffff;
    !is_multicast6(a) && !compatible && !mapped
}

/// RFC 3964 section 5.3 sanity, compiled: the IPv4 deny list (built in, operator's extra
/// prefixes, broadcast addresses of our own subnets) and the IPv6 one derived from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Martians {
    /// `(network, mask)` entries grouped by the first octets they cover; broadcasts are /32
    /// entries. `by_octet[o]` is the range of `rules` overlapping o.0.0.0/8, so a check scans
    /// only the one or two entries that can match (usually none) instead of the whole list.
    rules: Vec<(u32, u32)>,
    by_octet: Box<[(u16, u16); 256]>,
}

impl Martians {
    pub fn new(extra: &[Ipv4Prefix], broadcasts: &[Ipv4Addr]) -> Martians {
        let builtin = MARTIANS_V4.iter().map(|&(a, l)| (u32::from(a), mask4(l)));
        let extra = extra.iter().map(|p| (u32::from(p.addr), mask4(p.len)));
        let bcast = broadcasts.iter().map(|&b| (u32::from(b), u32::MAX));
        let all: Vec<(u32, u32)> = builtin.chain(extra).chain(bcast).collect();
        let mut rules = Vec::new();
        let mut by_octet = Box::new([(0u16, 0u16); 256]);
        for octet in 0u32..256 {
            let start = rules.len();
            for &(net, mask) in &all {
                if (net & mask) >> 24 <= octet && octet <= (net | !mask) >> 24 {
                    // A rule covering the whole /8 (or more) decides alone.
                    let whole = mask & 0x00ff_ffff == 0;
                    rules.push(if whole { (octet << 24, 0xff00_0000) } else { (net, mask) });
                }
            }
            by_octet[octet as usize] = (start as u16, (rules.len() - start) as u16);
        }
        Martians { rules, by_octet }
    }

    /// The IPv4 address may be a tunnel endpoint.
    #[inline(always)]
    pub fn v4_ok(&self, a: u32) -> bool {
        let (start, len) = self.by_octet[(a >> 24) as usize];
        // Most first octets have no rule: no range to make, no loop to enter.
        if len == 0 {
            return true;
        }
        let (start, len) = (usize::from(start), usize::from(len));
        self.rules.get(start..start + len).is_none_or(|r| r.iter().all(|&(net, mask)| (a ^ net) & mask != 0))
    }

    /// The IPv6 address may appear inside a 6to4 tunnel: outside [`MARTIANS_V6`], and if
    /// 6to4, its V passes [`v4_ok`](Self::v4_ok).
    #[inline]
    pub fn v6_ok(&self, a: u128) -> bool {
        !is_martian6(a) && (!is_6to4(a) || self.v4_ok(v4_of_6to4(a)))
    }

    pub fn v4_addr_ok(&self, a: Ipv4Addr) -> bool {
        self.v4_ok(u32::from(a))
    }

    pub fn v6_addr_ok(&self, a: Ipv6Addr) -> bool {
        self.v6_ok(u128::from(a))
    }
}

/// Only the built-in deny list, for checks made without a configuration (route text).
pub fn builtin_v4_ok(a: Ipv4Addr) -> bool {
    let a = u32::from(a);
    MARTIANS_V4.iter().all(|&(net, l)| (a ^ u32::from(net)) & mask4(l) != 0)
}

#[cfg(test)]
mod martian_tests {
    use super::*;

    #[test]
    fn is_martian6_is_the_list() {
        let listed = |a: u128| MARTIANS_V6.iter().any(|&(p, l)| (a ^ u128::from(p)) & mask6(l) == 0);
        // Every top-16-bit value, with low bits set and clear: the list's prefixes are all
        // at most 16 bits long.
        for top in 0..=u16::MAX {
            for low in [0, 1, u128::MAX >> 16] {
                let a = u128::from(top) << 112 | low;
                assert_eq!(is_martian6(a), listed(a), "{a:#x}");
            }
        }
    }
}
