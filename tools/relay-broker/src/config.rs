//! The broker's configuration file (TOML). Unknown fields are refused, and every refusal names
//! the field, so a typo is caught at start rather than silently ignored.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::dns::settings::{DnsConfig, DnsSection};

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read { path: String, source: std::io::Error },
    /// toml's message names the field (`unknown field `x``, `missing field `y``, `invalid type … for key `z``).
    #[error("{path}: {source}")]
    Parse { path: String, source: toml::de::Error },
    #[error("{path}: field `{field}`: {reason}")]
    Invalid { path: String, field: String, reason: String },
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8053))
}
fn default_database() -> String {
    "sqlite://relay-broker.db".into()
}
fn default_lease() -> u64 {
    30 * 24 * 3600
}
fn default_quarantine() -> u64 {
    7 * 24 * 3600
}
fn default_session() -> u64 {
    8 * 3600
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the HTTP API and the web page listen; localhost by default (plain HTTP unless
    /// `[http]` has a certificate).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// `sqlite://FILE` (default) or `postgres://…`: the same code serves both.
    #[serde(default = "default_database")]
    pub database: String,
    /// Seconds a tunnel lives without use of the API or an endpoint update.
    #[serde(default = "default_lease")]
    pub lease_secs: u64,
    /// Seconds a freed prefix waits before it is handed to someone else.
    #[serde(default = "default_quarantine")]
    pub quarantine_secs: u64,
    pub pools: Pools,
    #[serde(default)]
    pub http: Http,
    #[serde(rename = "server", default)]
    pub servers: Vec<Server>,
    /// `[dns]` as written; absent = no DNS at all.
    #[serde(rename = "dns", default)]
    pub dns_section: Option<DnsSection>,
    /// `[dns]` checked by `parse`.
    #[serde(skip)]
    pub dns: Option<DnsConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pools {
    /// The pool the link /64s are carved from, e.g. "2001:db8:1000::/48".
    pub link64: String,
    /// The pool the routed /48s are carved from, e.g. "2001:db8:8000::/33".
    pub routed48: String,
}

/// `[http]`: the web page's sessions, and TLS when the broker terminates it itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Http {
    /// Seconds a web login lasts, from the login (not renewed by use).
    #[serde(default = "default_session")]
    pub session_secs: u64,
    /// PEM certificate chain and private key: both or neither. With them the broker speaks
    /// HTTPS itself (rustls) and its cookies are `Secure`; without, plain HTTP, meant for
    /// localhost or behind a TLS reverse proxy.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl Default for Http {
    fn default() -> Http {
        Http { session_secs: default_session(), tls_cert: None, tls_key: None }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub name: String,
    /// The relayd's IPv4 tunnel endpoint (`local` of its configured tunnels).
    pub ipv4: Ipv4Addr,
    /// The relayd's control socket.
    pub control: PathBuf,
    /// How many broker tunnels it may carry.
    pub capacity: u32,
}

/// A pool parsed: its base address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    pub base: u128,
    pub len: u8,
    /// The length of the prefixes handed out from it (64 or 48).
    pub child: u8,
}

impl Pool {
    pub fn parse(text: &str, child: u8) -> Result<Pool, String> {
        let (a, l) = text.split_once('/').ok_or_else(|| format!("`{text}` is not ADDR/LEN"))?;
        let addr: Ipv6Addr = a.parse().map_err(|_| format!("`{a}` is not an IPv6 address"))?;
        let len: u8 = l.parse().map_err(|_| format!("`{l}` is not a prefix length"))?;
        if len > child {
            return Err(format!("a /{len} pool cannot hold /{child} prefixes"));
        }
        if child - len > 32 {
            return Err(format!("a /{len} pool for /{child} prefixes is larger than 2^32 prefixes"));
        }
        let base = u128::from(addr);
        let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
        if base & !mask != 0 {
            return Err(format!("`{text}` has bits set past /{len}"));
        }
        Ok(Pool { base, len, child })
    }

    /// How many child prefixes the pool holds.
    pub fn size(&self) -> u64 {
        1u64 << (self.child - self.len)
    }

    /// The `index`th child prefix's base address (`index < size()`).
    pub fn nth(&self, index: u64) -> Ipv6Addr {
        Ipv6Addr::from(self.base | (u128::from(index) << (128 - self.child)))
    }

    /// The `index`th child prefix as text, `ADDR/LEN`.
    pub fn nth_text(&self, index: u64) -> String {
        format!("{}/{}", self.nth(index), self.child)
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: p.clone(), source })?;
        Config::parse(&p, &text)
    }

    pub fn parse(path: &str, text: &str) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|source| ConfigError::Parse { path: path.into(), source })?;
        let bad = |field: &str, reason: String| ConfigError::Invalid { path: path.into(), field: field.into(), reason };
        Pool::parse(&cfg.pools.link64, 64).map_err(|r| bad("pools.link64", r))?;
        Pool::parse(&cfg.pools.routed48, 48).map_err(|r| bad("pools.routed48", r))?;
        if cfg.lease_secs == 0 {
            return Err(bad("lease_secs", "must be more than 0".into()));
        }
        if cfg.http.session_secs == 0 {
            return Err(bad("http.session_secs", "must be more than 0".into()));
        }
        match (&cfg.http.tls_cert, &cfg.http.tls_key) {
            (Some(_), None) => return Err(bad("http.tls_key", "missing: tls_cert needs its key".into())),
            (None, Some(_)) => return Err(bad("http.tls_cert", "missing: tls_key needs its certificate".into())),
            _ => {}
        }
        if !(cfg.database.starts_with("sqlite:") || cfg.database.starts_with("postgres:") || cfg.database.starts_with("postgresql:")) {
            return Err(bad("database", format!("`{}` is neither sqlite:… nor postgres://…", cfg.database)));
        }
        for (i, s) in cfg.servers.iter().enumerate() {
            if s.name.is_empty() || !s.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(bad(&format!("server[{i}].name"), format!("`{}`: letters, digits, - and _ only", s.name)));
            }
            if cfg.servers[..i].iter().any(|o| o.name == s.name) {
                return Err(bad(&format!("server[{i}].name"), format!("`{}` is listed twice", s.name)));
            }
            if !relay::pipeline::model::addr::builtin_v4_ok(s.ipv4) {
                return Err(bad(&format!("server[{i}].ipv4"), format!("{} is not a global unicast address", s.ipv4)));
            }
            if s.capacity == 0 {
                return Err(bad(&format!("server[{i}].capacity"), "must be more than 0".into()));
            }
        }
        if let Some(section) = &cfg.dns_section {
            let pools = [("link64", cfg.link_pool()), ("routed48", cfg.routed_pool())];
            cfg.dns = Some(section.check(&pools).map_err(|(field, reason)| bad(field, reason))?);
        }
        Ok(cfg)
    }

    pub fn link_pool(&self) -> Pool {
        // Checked in parse().
        Pool::parse(&self.pools.link64, 64).unwrap_or(Pool { base: 0, len: 64, child: 64 })
    }

    pub fn routed_pool(&self) -> Pool {
        Pool::parse(&self.pools.routed48, 48).unwrap_or(Pool { base: 0, len: 48, child: 48 })
    }
}
