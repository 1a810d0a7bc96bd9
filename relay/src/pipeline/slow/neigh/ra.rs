//! `[[pipeline.router_advert]]`: router advertisements on a LAN port (RFC 4861 section 6),
//! so the hosts of a 6to4 site autoconfigure `2002:V:subnet::/64` addresses (RFC 4862)
//! and take the router as their default, as a 6to4 router's site does (RFC 3056 section 2).
//!
//! ```toml
//! [[pipeline.router_advert]]
//! port = 1
//! prefix = "2002:c633:6407:1::/64"   # default: the port's first global prefix, as a /64
//! interval_s = 200                   # 4..=1800 (RFC 4861 MaxRtrAdvInterval)
//! router_lifetime_s = 600            # 0..=9000, default 3 × interval; 0: not a default router
//! ```
//!
//! Advertisements come from the port's link-local address: the one configured in
//! `pipeline.interface[].ipv6`, else the modified EUI-64 one of the port's MAC (RFC 4291
//! appendix A), which the router then answers for like any address of its own.
use std::net::Ipv6Addr;

use serde::Deserialize;

use crate::pipeline::model::addr::{is_link_local6, is_multicast6, mask6};
use crate::pipeline::model::error::ConfigError;
use crate::pipeline::model::route_text::parse_ipv6_prefix;
use crate::pipeline::model::settings::{RouterAdvertSettings, Settings};

pub const DEFAULT_INTERVAL_S: u32 = 200;
/// RFC 4861 section 6.2.1: MinRtrAdvInterval is at least 3 s, MaxRtrAdvInterval 4..=1800.
const INTERVAL_S: std::ops::RangeInclusive<u32> = 4..=1800;
const MAX_ROUTER_LIFETIME_S: u32 = 9000;

/// `[[pipeline.router_advert]]`, as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RouterAdvertConfig {
    pub port: u16,
    /// A /64 on the port; default: the port's first global prefix (/64 or shorter).
    pub prefix: Option<String>,
    pub interval_s: Option<u32>,
    pub router_lifetime_s: Option<u32>,
}

fn fail(path: String, reason: impl Into<String>) -> ConfigError {
    ConfigError { path, reason: reason.into() }
}

/// Checks every entry against the validated ports.
pub(crate) fn validate(cfgs: &[RouterAdvertConfig], s: &Settings) -> Result<Vec<RouterAdvertSettings>, ConfigError> {
    let mut out: Vec<RouterAdvertSettings> = Vec::new();
    for (k, c) in cfgs.iter().enumerate() {
        let p = format!("pipeline.router_advert[{k}]");
        let Some(port) = s.ports.get(usize::from(c.port)).filter(|ps| ps.configured) else {
            return Err(fail(format!("{p}.port"), format!("port {} has no [[pipeline.interface]]", c.port)));
        };
        if out.iter().any(|r| r.port == c.port) {
            return Err(fail(format!("{p}.port"), format!("port {} already has a router_advert", c.port)));
        }
        // Global prefixes of the port, as (network, length).
        let globals = port.ipv6.iter().filter(|a| a.len <= 64 && !is_link_local6(u128::from(a.addr)));
        let on_port = |net: u128| globals.clone().any(|a| (u128::from(a.addr) ^ net) & mask6(a.len) == 0);
        let prefix = match &c.prefix {
            Some(text) => {
                let path = format!("{p}.prefix");
                let (addr, len) = parse_ipv6_prefix(text).map_err(|e| fail(path.clone(), e.to_string()))?;
                let net = u128::from(addr);
                if len != 64 {
                    return Err(fail(path, format!("/{len}: address autoconfiguration needs a /64 (RFC 4862 5.5.3)")));
                }
                if is_link_local6(net) || is_multicast6(net) || net >> 112 == 0 {
                    return Err(fail(path, format!("{text} is not a global unicast prefix")));
                }
                if !on_port(net) {
                    return Err(fail(path, format!("{text} is not on port {}: give the port an address in it", c.port)));
                }
                addr
            }
            None => match globals.clone().next() {
                Some(a) => Ipv6Addr::from(u128::from(a.addr) & mask6(64)),
                None => {
                    let why = format!("port {} has no global IPv6 prefix of /64 or shorter to advertise", c.port);
                    return Err(fail(format!("{p}.prefix"), why));
                }
            },
        };
        let interval_s = c.interval_s.unwrap_or(DEFAULT_INTERVAL_S);
        if !INTERVAL_S.contains(&interval_s) {
            return Err(fail(format!("{p}.interval_s"), format!("{interval_s}: the interval must be 4..=1800 seconds")));
        }
        let lifetime = c.router_lifetime_s.unwrap_or((3 * interval_s).min(MAX_ROUTER_LIFETIME_S));
        let router_lifetime_s = u16::try_from(lifetime).ok().filter(|&l| u32::from(l) <= MAX_ROUTER_LIFETIME_S);
        let Some(router_lifetime_s) = router_lifetime_s else {
            return Err(fail(format!("{p}.router_lifetime_s"), format!("{lifetime}: the router lifetime must be 0..=9000 seconds")));
        };
        out.push(RouterAdvertSettings { port: c.port, prefix, interval_s, router_lifetime_s });
    }
    Ok(out)
}
