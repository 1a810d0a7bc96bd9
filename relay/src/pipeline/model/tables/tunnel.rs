//! A configured tunnel (RFC 4213 section 3) as a row of the tables: its two ends, and the
//! name, MTU, TTL and DSCP policy that override the pipeline's for it.
use super::TableError;
use std::fmt;
use std::net::Ipv4Addr;

use crate::pipeline::model::settings::DscpPolicy;

/// An operator's name for a tunnel: 1 to 15 of `A-Z a-z 0-9 - _ .` (Linux's IFNAMSIZ).
/// Inline, so that tunnels stay `Copy` and workers never allocate for them.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TunnelName {
    len: u8,
    bytes: [u8; TunnelName::MAX],
}

impl TunnelName {
    pub const MAX: usize = 15;

    pub fn new(s: &str) -> Result<TunnelName, TableError> {
        if s.is_empty() || s.len() > Self::MAX {
            return Err(TableError::TunnelNameLength(s.to_string()));
        }
        if !s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
            return Err(TableError::TunnelNameChars(s.to_string()));
        }
        let mut bytes = [0u8; Self::MAX];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Ok(TunnelName { len: s.len() as u8, bytes })
    }

    pub fn as_str(&self) -> &str {
        self.bytes.get(..usize::from(self.len)).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or_default()
    }
}

impl fmt::Display for TunnelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TunnelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// A configured tunnel's number: `tunnel set <id>`, `route add … tunnel <id>`. Below the
/// pipeline's `max_tunnels`, so that per-tunnel counters are an array indexed by it.
pub type TunnelId = u32;

/// `[pipeline] max_tunnels` unless set: every id a 16-bit number can name.
pub const DEFAULT_MAX_TUNNELS: u32 = 1 << 16;
/// The largest `max_tunnels`: each worker keeps 32 bytes of counters per possible tunnel
/// (512 MiB a worker at this limit).
pub const MAX_MAX_TUNNELS: u32 = 1 << 24;

/// IPv6 in IPv4 between two fixed addresses. `None` fields take the pipeline's setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfiguredTunnel {
    pub local: Ipv4Addr,
    pub remote: Ipv4Addr,
    pub name: Option<TunnelName>,
    /// Largest IPv6 packet sent into it, 1280..=1480 (DF is set above 1280).
    pub mtu: Option<u16>,
    /// Outer TTL, 1..=255.
    pub ttl: Option<u8>,
    pub dscp: Option<DscpPolicy>,
}

impl ConfiguredTunnel {
    /// A tunnel with the pipeline's MTU, TTL and DSCP policy, and no name.
    pub fn new(local: Ipv4Addr, remote: Ipv4Addr) -> ConfiguredTunnel {
        ConfiguredTunnel { local, remote, name: None, mtu: None, ttl: None, dscp: None }
    }

    /// The ranges of MTU, TTL and DSCP (RFC 4213 section 3.2: 1280..=1480).
    pub fn check(&self) -> Result<(), TableError> {
        if let Some(m) = self.mtu.filter(|m| !(1280..=1480).contains(m)) {
            return Err(TableError::TunnelMtu(m));
        }
        if self.ttl == Some(0) {
            return Err(TableError::TunnelTtlZero);
        }
        if let Some(DscpPolicy::Fixed(d)) = self.dscp.filter(|d| matches!(d, DscpPolicy::Fixed(v) if *v > 63)) {
            return Err(TableError::TunnelDscp(d));
        }
        Ok(())
    }
}

impl fmt::Display for ConfiguredTunnel {
    /// The words after `tunnel set N` (see [`parse_tunnel`](crate::pipeline::parse_tunnel)).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "local {} remote {}", self.local, self.remote)?;
        if let Some(n) = self.name {
            write!(f, " name {n}")?;
        }
        if let Some(m) = self.mtu {
            write!(f, " mtu {m}")?;
        }
        if let Some(t) = self.ttl {
            write!(f, " ttl {t}")?;
        }
        match self.dscp {
            Some(DscpPolicy::Copy) => f.write_str(" dscp copy"),
            Some(DscpPolicy::Fixed(d)) => write!(f, " dscp {d}"),
            None => Ok(()),
        }
    }
}
