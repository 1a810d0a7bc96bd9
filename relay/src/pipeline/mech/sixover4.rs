//! 6over4 (RFC 2529): an IPv6 link over an IPv4 multicast-capable site. Interface
//! identifiers `::V` embed the sender's IPv4 address; others are learned by neighbour
//! discovery over IPv4 multicast (group 239.192.x.y per IPv6 group, RFC 2529 section 6),
//! whose link-layer address option carries the IPv4 address (section 5). One link per
//! port, from the port's IPv4 address.
//!
//! ```toml
//! [[pipeline.6over4]]          # a 6over4 link on a port, from its IPv4 address
//! port = 0
//! prefixes = ["2001:db8:64::/64"]
//! ttl = 8                      # IPv4 TTL on the link, 1..=255 (RFC 2529 section 3: low, default 8)
//! ```
use serde::Deserialize;

use crate::pipeline::model::addr::is_multicast6;
use crate::pipeline::model::automatic::{SixOver4Settings, DEFAULT_SIXOVER4_TTL};
use crate::pipeline::model::error::{err, ConfigError};
use crate::pipeline::model::settings::Settings;
use crate::pipeline::model::tables::Tables;
use crate::pipeline::model::verdict::DropReason::{self, *};

use super::{compile, link_local_64, within, Prefixes};
use super::config::{link_prefixes, Claims};

/// Outer destination of a 6over4 packet waiting for its next hop's IPv4 address (which
/// the slow path learns by ND over the link): 0.0.0.0, never a tunnel end.
pub(crate) const AWAITING_V4: u32 = 0;

/// `[[pipeline.6over4]]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SixOver4Config {
    pub port: u16,
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// 1..=255, default [`DEFAULT_SIXOVER4_TTL`].
    pub ttl: Option<u8>,
}

impl SixOver4Config {
    /// Link `i` of `all`: on a configured port with an IPv4 address, one link per port.
    pub(super) fn validate(all: &[SixOver4Config], i: usize, s: &Settings, claims: &mut Claims) -> Result<SixOver4Settings, ConfigError> {
        let p = format!("pipeline.6over4[{i}]");
        let Some(c) = all.get(i) else { return err(p, "no such 6over4 link") };
        if let Some(j) = all[..i].iter().position(|o| o.port == c.port) {
            return err(format!("{p}.port"), format!("port {} already has a 6over4 link (pipeline.6over4[{j}])", c.port));
        }
        let ipv4 = match s.ports.get(usize::from(c.port)) {
            Some(ps) if ps.configured => match ps.ipv4 {
                Some(a) => a.addr,
                None => return err(format!("{p}.port"), format!("port {} has no IPv4 address for 6over4", c.port)),
            },
            _ => return err(format!("{p}.port"), format!("port {} has no [[pipeline.interface]]", c.port)),
        };
        claims.address(ipv4, "6over4", &format!("{p}.port"))?;
        let prefixes = link_prefixes(&format!("{p}.prefixes"), &c.prefixes)?;
        for (k, &prefix) in prefixes.iter().enumerate() {
            claims.prefix(prefix, &format!("{p}.prefixes[{k}]"))?;
        }
        let ttl = match c.ttl {
            Some(0) => return err(format!("{p}.ttl"), "0: the link's IPv4 TTL must be 1..=255"),
            Some(t) => t,
            None => DEFAULT_SIXOVER4_TTL,
        };
        Ok(SixOver4Settings { port: c.port, ipv4, prefixes, ttl })
    }
}

/// One 6over4 link, compiled for the fast path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct SixOver4Link {
    pub port: u16,
    pub ipv4: u32,
    pub prefixes: Prefixes,
    pub ttl: u8,
}

impl SixOver4Link {
    pub fn new(l: &SixOver4Settings) -> SixOver4Link {
        SixOver4Link { port: l.port, ipv4: u32::from(l.ipv4), prefixes: compile(&l.prefixes), ttl: l.ttl }
    }

    /// `a` is in one of the link's prefixes (where the fast path forwards).
    #[inline(always)]
    pub fn in_prefix(&self, a: u128) -> bool {
        within(&self.prefixes, a)
    }

    /// `a` lies on the link: one of its prefixes, or link-local.
    #[inline(always)]
    pub fn on_link(&self, a: u128) -> bool {
        self.in_prefix(a) || link_local_64(a)
    }

    /// A 6over4 source: on the link or link-local; with interface identifier `::V`, V must
    /// be the outer source (RFC 2529 section 4). Other identifiers are the ND's business.
    #[inline]
    pub fn check_src(&self, src4: u32, src: u128) -> Result<(), DropReason> {
        if !self.on_link(src) {
            return Err(DecapNoMechanism);
        }
        if (src >> 32) as u32 == 0 && src as u32 != src4 {
            return Err(Decap6over4SrcMismatch);
        }
        Ok(())
    }

    /// IPv6 multicast in IPv4 group `dst4` (RFC 2529 section 6): a source on the link
    /// (or `::`, for DAD), and an IPv6 group whose last 16 bits are the IPv4 group's.
    #[inline]
    pub fn check_group(&self, src4: u32, dst4: u32, src: u128, dst: u128) -> Result<(), DropReason> {
        if src != 0 {
            self.check_src(src4, src)?;
        }
        if !is_multicast6(dst) || dst as u16 != dst4 as u16 {
            return Err(Decap6over4GroupMismatch);
        }
        Ok(())
    }
}

/// Into the link: V of the interface identifier `::V` (RFC 2529 section 4); for other
/// identifiers the V the slow path learned by ND (link-layer address `0:0:V`), else
/// `NeighbourMissing`: the packet may wait for it.
#[inline]
pub(super) fn remote(tables: &Tables, dst: u128) -> Result<u32, DropReason> {
    if (dst >> 32) as u32 == 0 {
        return Ok(dst as u32);
    }
    match tables.neighbour6(dst) {
        Some([0, 0, a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(NeighbourMissing),
    }
}
