//! IPv4-compatible automatic tunnels (RFC 4213's history, RFC 2893 section 5.3): the IPv6
//! address `::V` embeds the IPv4 address V, so the tunnel's far end is the destination's
//! last 32 bits. Bound to one global IPv4 address of ours.
//!
//! ```toml
//! [pipeline.ipv4_compatible]   # absent: off
//! ipv4 = "198.51.100.21"       # a global address: ::/96 destinations are sent from it
//! ```
use std::net::Ipv4Addr;

use serde::Deserialize;

use crate::pipeline::model::error::{err, ConfigError};
use crate::pipeline::model::host::Host;
use crate::pipeline::model::settings::Settings;
use crate::pipeline::model::verdict::DropReason::{self, *};

use super::config::{parse_v4, Claims};

/// `[pipeline.ipv4_compatible]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Ipv4CompatibleConfig {
    pub ipv4: String,
}

impl Ipv4CompatibleConfig {
    /// Our address for the mechanism: global unicast, since `::V` is a global address.
    pub(super) fn validate(&self, s: &Settings, claims: &mut Claims) -> Result<Ipv4Addr, ConfigError> {
        let path = "pipeline.ipv4_compatible.ipv4";
        let a = parse_v4(path, &self.ipv4)?;
        if !s.martians().v4_addr_ok(a) {
            return err(path, format!("{a} is not a global unicast IPv4 address (an IPv4-compatible address embeds one)"));
        }
        claims.address(a, "ipv4-compatible", path)?;
        Ok(a)
    }
}

/// Out of the tunnel: a global outer source, and the inner source `::V` with V that source.
#[inline]
pub(super) fn check_decap(host: &Host, src4: u32, src: u128) -> Result<(), DropReason> {
    if !host.martians.v4_ok(src4) {
        return Err(Ipv4SrcMartian);
    }
    if src >> 32 != 0 {
        return Err(DecapNoMechanism);
    }
    if src as u32 != src4 {
        return Err(DecapV4CompatSrcMismatch);
    }
    Ok(())
}

/// Into the tunnel: `::V` goes to V, a global address.
#[inline]
pub(super) fn remote(host: &Host, dst: u128) -> Result<u32, DropReason> {
    if dst >> 32 != 0 || !host.martians.v4_ok(dst as u32) {
        return Err(Ipv4DstMartian);
    }
    Ok(dst as u32)
}
