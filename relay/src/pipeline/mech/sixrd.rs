//! 6rd border relay (RFC 5969): a domain `6rdPrefix/len` whose CE prefixes embed the CEs'
//! IPv4 addresses (less the common `IPv4MaskLen` bits), so a destination in the domain
//! names its CE. Several domains may share one BR address; the inner source picks the
//! domain.
//!
//! ```toml
//! [[pipeline.6rd]]             # a 6rd domain; several may share a BR address
//! br = "10.0.0.1"
//! prefix = "2001:db8::/32"     # 6rdPrefix/6rdPrefixLen
//! ipv4_mask_len = 8            # IPv4MaskLen; the common bits are the BR address's ...
//! # ipv4_prefix = "10.0.0.0/8" # ... or given here (its length is IPv4MaskLen)
//! ```
use std::net::Ipv4Addr;

use serde::Deserialize;

use crate::pipeline::model::addr::{mask4, mask6, Ipv4Prefix};
use crate::pipeline::model::automatic::{ce_v4, low_bits, Ipv6Prefix, SixRdDomain};
use crate::pipeline::model::error::{at, err, ConfigError};
use crate::pipeline::model::tables::NextHop;
use crate::pipeline::model::verdict::DropReason::{self, *};

use super::config::{unicast, Claims};

/// `[[pipeline.6rd]]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SixRdConfig {
    pub br: String,
    pub prefix: String,
    pub ipv4_mask_len: Option<u8>,
    pub ipv4_prefix: Option<String>,
}

impl SixRdConfig {
    /// Domain `i`: a unicast BR address, a global 6rdPrefix, and the common IPv4 bits given
    /// as a length (taken from the BR address) or as a prefix, not both.
    pub(super) fn validate(&self, i: usize, claims: &mut Claims) -> Result<SixRdDomain, ConfigError> {
        let p = format!("pipeline.6rd[{i}]");
        let br = unicast(&format!("{p}.br"), &self.br)?;
        claims.address(br, "6rd", &format!("{p}.br"))?;
        let prefix: Ipv6Prefix = at(&format!("{p}.prefix"), self.prefix.parse())?;
        if prefix.len == 0 || prefix.addr.is_multicast() || prefix.addr.is_unicast_link_local() {
            return err(format!("{p}.prefix"), format!("{prefix} is not a global unicast prefix"));
        }
        let ipv4_prefix = match (self.ipv4_mask_len, &self.ipv4_prefix) {
            (Some(_), Some(_)) => return err(format!("{p}.ipv4_prefix"), "give ipv4_mask_len or ipv4_prefix, not both"),
            (None, None) => return err(p, "give ipv4_mask_len (RFC 5969 IPv4MaskLen) or ipv4_prefix"),
            (Some(m), None) if m > 32 => return err(format!("{p}.ipv4_mask_len"), format!("{m}: IPv4MaskLen is 0..=32")),
            (Some(m), None) => at(&format!("{p}.ipv4_mask_len"), Ipv4Prefix::new(Ipv4Addr::from(u32::from(br) & mask4(m)), m))?,
            (None, Some(t)) => at(&format!("{p}.ipv4_prefix"), t.parse::<Ipv4Prefix>())?,
        };
        let domain = at(&format!("{p}.prefix"), SixRdDomain::new(br, prefix, ipv4_prefix))?;
        claims.prefix(prefix, &format!("{p}.prefix"))?;
        Ok(domain)
    }
}

/// One 6rd domain, compiled for the fast path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SixRd {
    pub br: u32,
    net: u128,
    mask: u128,
    common: u32,
    /// The CE bits of an address: `(top >> shift) & low`, where `top` is its upper 64 bits
    /// (RFC 5969 section 7 keeps a delegated prefix within them, which `SixRdDomain::new`
    /// checks).
    shift: u32,
    low: u32,
}

impl SixRd {
    pub fn new(d: &SixRdDomain) -> SixRd {
        SixRd {
            br: u32::from(d.br),
            net: d.prefix.net(),
            mask: mask6(d.prefix.len),
            common: u32::from(d.ipv4_prefix.addr()),
            // A domain embedding no bits has `low == 0`, whatever the shift.
            shift: u32::from(d.shift()).saturating_sub(64).min(63),
            low: low_bits(d.embedded_bits()),
        }
    }

    #[inline(always)]
    pub fn contains(&self, a: u128) -> bool {
        (a ^ self.net) & self.mask == 0
    }

    /// The CE address `a` embeds (RFC 5969 section 7).
    #[inline(always)]
    pub fn ce_v4(&self, a: u128) -> u32 {
        self.common | (((a >> 64) as u64 >> self.shift) as u32 & self.low)
    }

    /// IPv4 address `v` can be a CE address of the domain (so its IPv6 addresses can embed
    /// it, RFC 6324).
    pub fn ce_can_be(&self, v: u32) -> bool {
        v & self.common == self.common && v & !(self.common | self.low) == 0
    }
}

/// Out of the tunnel (RFC 5969 section 8): the inner source lies in a domain of this BR
/// and embeds the outer source as its CE address.
#[inline]
pub(super) fn check_decap(domains: &[SixRd], dst4: u32, src4: u32, src: u128) -> Result<(), DropReason> {
    let d = domains.iter().find(|d| d.br == dst4 && d.contains(src)).ok_or(DecapNoMechanism)?;
    if d.ce_v4(src) != src4 {
        return Err(Decap6rdSrcMismatch);
    }
    Ok(())
}

/// Into the tunnel: the common bits, then the CE bits after 6rdPrefix (RFC 5969 section
/// 7), as the route's next hop holds them.
#[inline(always)]
pub(super) fn remote(hop: &NextHop, dst: u128) -> u32 {
    ce_v4(hop.remote, hop.shift, hop.bits, dst)
}
