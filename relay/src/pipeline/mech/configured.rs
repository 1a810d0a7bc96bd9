//! Configured tunnels (RFC 4213): point-to-point IPv6-in-IPv4 between two fixed IPv4
//! addresses. They are rows of the tables ([`ConfiguredTunnel`]), added by the
//! configuration or the control socket (`tunnel set`); the decapsulation table matches a
//! packet by both ends (RFC 4213 section 3.6: from the configured remote only), a route
//! enters one by id (`tunnel 0`), and on the way in RFC 6324's rule applies as for every
//! tunnel ([`tunnel_ends`](super::tunnel_ends)).
//!
//! ```toml
//! [[pipeline.tunnel]]
//! id = 0
//! local = "198.51.100.7"       # one of our IPv4 addresses
//! remote = "203.0.113.50"
//! name = "to-c"                # optional; mtu, ttl and dscp override the pipeline's
//! ```
use std::net::Ipv4Addr;

use serde::Deserialize;

use crate::pipeline::model::error::{at, ConfigError};
use crate::pipeline::model::settings::DscpConfig;
use crate::pipeline::model::tables::{ConfiguredTunnel, TableUpdate, TunnelId, TunnelName};

/// `[[pipeline.tunnel]] id = 0  local = "198.51.100.7"  remote = "203.0.113.50"`: a
/// configured tunnel (RFC 4213); routes enter it with `tunnel 0`. Optional: `name`, and
/// `mtu`, `ttl`, `dscp` overriding the pipeline's `tunnel_mtu`, `outer_ttl`, `dscp`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TunnelConfig {
    pub id: TunnelId,
    pub local: String,
    pub remote: String,
    pub name: Option<String>,
    pub mtu: Option<u16>,
    pub ttl: Option<u8>,
    pub dscp: Option<DscpConfig>,
}

impl TunnelConfig {
    /// `[[pipeline.tunnel]]` entry `k` as the table change it stands for (whether it
    /// applies — our local address, no second tunnel between the same ends — is the
    /// tables' to say).
    pub(crate) fn validate(&self, k: usize) -> Result<TableUpdate, ConfigError> {
        let p = format!("pipeline.tunnel[{k}]");
        let local = at(&format!("{p}.local"), parse_v4(&self.local))?;
        let remote = at(&format!("{p}.remote"), parse_v4(&self.remote))?;
        let mut tunnel = ConfiguredTunnel::new(local, remote);
        if let Some(n) = &self.name {
            tunnel.name = Some(at(&format!("{p}.name"), TunnelName::new(n))?);
        }
        tunnel.mtu = self.mtu;
        at(&format!("{p}.mtu"), tunnel.check())?;
        tunnel.ttl = self.ttl;
        at(&format!("{p}.ttl"), tunnel.check())?;
        tunnel.dscp = self.dscp.as_ref().map(|d| d.policy(&format!("{p}.dscp"))).transpose()?;
        Ok(TableUpdate::TunnelSet { id: self.id, tunnel })
    }
}

fn parse_v4(text: &str) -> Result<Ipv4Addr, String> {
    text.parse().map_err(|_| format!("{text:?}: not an IPv4 address"))
}
