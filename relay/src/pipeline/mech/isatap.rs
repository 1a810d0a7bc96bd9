//! ISATAP (RFC 5214): an IPv6 link over an IPv4 site whose interface identifiers embed the
//! IPv4 address (`::0:5efe:V`, `::200:5efe:V`), so a destination on the link names its own
//! tunnel end. The router accepts from clients whose address embeds the outer source and
//! from the other potential routers of its PRL (RFC 5214 section 7.3).
//!
//! ```toml
//! [[pipeline.isatap]]          # an ISATAP link
//! ipv4 = "10.1.0.1"            # the router's V: addresses prefix::0:5efe:V / ::200:5efe:V
//! prefixes = ["2001:db8:5e::/64"]
//! prl = ["10.1.0.2"]           # other potential routers (accepted from any inner source)
//! ```
use serde::Deserialize;

use crate::pipeline::model::addr::v4_of_isatap;
use crate::pipeline::model::automatic::{Ipv6Prefix, IsatapSettings};
use crate::pipeline::model::error::{err, ConfigError};
use crate::pipeline::model::verdict::DropReason::{self, *};

use super::{compile, link_local_64, within, Prefixes};
use super::config::{link_prefixes, unicast, Claims};

/// `[[pipeline.isatap]]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IsatapConfig {
    pub ipv4: String,
    #[serde(default)]
    pub prefixes: Vec<String>,
    #[serde(default)]
    pub prl: Vec<String>,
}

impl IsatapConfig {
    /// Link `i`: our unicast V, its /64s, and a PRL without ourselves.
    pub(super) fn validate(&self, i: usize, claims: &mut Claims) -> Result<IsatapSettings, ConfigError> {
        let p = format!("pipeline.isatap[{i}]");
        let ipv4 = unicast(&format!("{p}.ipv4"), &self.ipv4)?;
        claims.address(ipv4, "ISATAP", &format!("{p}.ipv4"))?;
        let prefixes = link_prefixes(&format!("{p}.prefixes"), &self.prefixes)?;
        for (k, &prefix) in prefixes.iter().enumerate() {
            claims.prefix(prefix, &format!("{p}.prefixes[{k}]"))?;
        }
        let mut prl = Vec::new();
        for (k, t) in self.prl.iter().enumerate() {
            let path = format!("{p}.prl[{k}]");
            let a = unicast(&path, t)?;
            if a == ipv4 {
                return err(path, format!("{a} is this router's own ISATAP address"));
            }
            prl.push(a);
        }
        Ok(IsatapSettings { ipv4, prefixes, prl })
    }
}

/// One ISATAP link, compiled for the fast path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct IsatapLink {
    pub ipv4: u32,
    /// The /64s, for router advertisements.
    pub prefixes64: Vec<u128>,
    pub prefixes: Prefixes,
    pub prl: Vec<u32>,
}

impl IsatapLink {
    pub fn new(l: &IsatapSettings) -> IsatapLink {
        IsatapLink {
            ipv4: u32::from(l.ipv4),
            prefixes64: l.prefixes.iter().map(Ipv6Prefix::net).collect(),
            prefixes: compile(&l.prefixes),
            prl: l.prl.iter().map(|&a| u32::from(a)).collect(),
        }
    }

    /// `a` is on the link: one of its prefixes, or link-local.
    #[inline(always)]
    pub fn on_link(&self, a: u128) -> bool {
        within(&self.prefixes, a) || link_local_64(a)
    }

    /// Out of the tunnel (RFC 5214 section 7.3): from a potential router of the PRL, or
    /// from a client whose ISATAP address on the link embeds the outer source.
    #[inline]
    pub fn check_decap(&self, src4: u32, src: u128) -> Result<(), DropReason> {
        // The common case first: a client whose address embeds the outer source.
        let on_link = self.on_link(src);
        let client = on_link && isatap_iid_of(src, src4);
        if !(client || self.prl.contains(&src4)) {
            return Err(if on_link { DecapIsatapSrcMismatch } else { DecapNoMechanism });
        }
        Ok(())
    }
}

/// Whether `a`'s interface identifier is ISATAP's for IPv4 address `v4` (RFC 5214 section
/// 6.1, either value of the universal/local bit): [`v4_of_isatap`] in one compare.
#[inline(always)]
fn isatap_iid_of(a: u128, v4: u32) -> bool {
    a as u64 & 0xfcff_ffff_ffff_ffff == 0x5efe << 32 | u64::from(v4)
}

/// Into the tunnel: the V of the destination's interface identifier (RFC 5214 section 6.1).
#[inline]
pub(super) fn remote(dst: u128) -> Result<u32, DropReason> {
    v4_of_isatap(dst).ok_or(EncapNotIsatap)
}
