//! The `[dns]` section: read as text, then checked into `DnsConfig` by `Config::parse`, so a bad
//! secret, an unknown algorithm or a zone that is not a domain name stops the broker at start,
//! naming the field.

use std::fmt;
use std::net::SocketAddr;

use base64::Engine;
use hickory_client::proto::dnssec::rdata::tsig::TsigAlgorithm;
use hickory_client::proto::rr::Name;
use serde::Deserialize;

use crate::config::Pool;

fn default_algorithm() -> String {
    "hmac-sha256".into()
}
fn default_ttl() -> u32 {
    3600
}

/// `[dns]` as written in the file.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsSection {
    /// The primary server that takes the updates (RFC 2136), `ADDR:PORT`.
    pub server: SocketAddr,
    /// The forward zone, e.g. `tunnels.example.net`.
    pub zone: String,
    /// The ip6.arpa zones covering the link /64 pool and the routed /48 pool.
    pub reverse_zones: Vec<String>,
    /// The TSIG key's name, as the server knows it.
    pub tsig_key: String,
    #[serde(default = "default_algorithm")]
    pub tsig_algorithm: String,
    /// The key, base64 (as `tsig-keygen` prints it).
    pub tsig_secret: String,
    #[serde(default = "default_ttl")]
    pub ttl: u32,
}

/// The secret is left out: the configuration is printed in errors and logs.
impl fmt::Debug for DnsSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DnsSection")
            .field("server", &self.server)
            .field("zone", &self.zone)
            .field("reverse_zones", &self.reverse_zones)
            .field("tsig_key", &self.tsig_key)
            .field("tsig_algorithm", &self.tsig_algorithm)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// A reverse zone and the prefix it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReverseZone {
    pub name: Name,
    pub prefix: u128,
    pub len: u8,
}

impl ReverseZone {
    pub fn covers(&self, addr: u128, len: u8) -> bool {
        len >= self.len && (self.len == 0 || (addr ^ self.prefix) >> (128 - u32::from(self.len)) == 0)
    }
}

/// The key bytes; never printed (the configuration is `Debug`).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// `[dns]`, checked.
#[derive(Debug, Clone)]
pub struct DnsConfig {
    pub server: SocketAddr,
    /// Fully qualified, lower case.
    pub zone: Name,
    pub reverse_zones: Vec<ReverseZone>,
    pub key_name: Name,
    pub algorithm: TsigAlgorithm,
    pub secret: Secret,
    pub ttl: u32,
}

/// Why the section was refused: (field, reason).
pub type Refusal = (&'static str, String);

/// Letters, digits and hyphens (underscores too when `underscore`: key names often have them),
/// labels of 1 to 63, at most 253 in all: what a zone or key name can be without quoting.
fn domain(text: &str, field: &'static str, underscore: bool, max: usize) -> Result<Name, Refusal> {
    let bare = text.strip_suffix('.').unwrap_or(text);
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || (underscore && c == '_'))
    };
    if bare.is_empty() || bare.len() > max || !bare.split('.').all(label_ok) {
        return Err((field, format!("`{text}` is not a domain name")));
    }
    let mut name = Name::from_ascii(bare).map_err(|e| (field, format!("`{text}`: {e}")))?.to_lowercase();
    name.set_fqdn(true);
    Ok(name)
}

/// `…8.b.d.0.1.0.0.2.ip6.arpa`: one hex digit per label, most significant last.
fn reverse_zone(text: &str) -> Result<ReverseZone, Refusal> {
    const FIELD: &str = "dns.reverse_zones";
    let bad = || (FIELD, format!("`{text}` is not an ip6.arpa zone (hex nibbles, then ip6.arpa)"));
    let lower = text.to_ascii_lowercase();
    let bare = lower.strip_suffix('.').unwrap_or(&lower);
    let nibbles = bare.strip_suffix("ip6.arpa").ok_or_else(bad)?;
    let nibbles: Vec<&str> = if nibbles.is_empty() { Vec::new() } else { nibbles.strip_suffix('.').ok_or_else(bad)?.split('.').collect() };
    if nibbles.len() > 32 {
        return Err(bad());
    }
    let mut prefix = 0u128;
    for (i, n) in nibbles.iter().rev().enumerate() {
        let digit = match n.as_bytes() {
            [c] => (*c as char).to_digit(16).ok_or_else(bad)?,
            _ => return Err(bad()),
        };
        prefix |= u128::from(digit) << (124 - 4 * i);
    }
    let len = u8::try_from(nibbles.len() * 4).map_err(|_| bad())?;
    Ok(ReverseZone { name: domain(bare, FIELD, false, 253)?, prefix, len })
}

impl DnsSection {
    /// Checks the section; `pools` are the link and routed pools, which some reverse zone must cover.
    pub fn check(&self, pools: &[(&str, Pool)]) -> Result<DnsConfig, Refusal> {
        // Room for the longest name put in it: `p<19 digits>.`.
        let zone = domain(&self.zone, "dns.zone", false, 253 - 21)?;
        if zone.to_ascii().ends_with(".ip6.arpa.") {
            return Err(("dns.zone", format!("`{}` is a reverse zone; the forward zone goes here", self.zone)));
        }
        let reverse_zones = self.reverse_zones.iter().map(|z| reverse_zone(z)).collect::<Result<Vec<_>, _>>()?;
        for (what, pool) in pools {
            if !reverse_zones.iter().any(|z| z.covers(pool.base, pool.len)) {
                let p = std::net::Ipv6Addr::from(pool.base);
                return Err(("dns.reverse_zones", format!("no zone covers the {what} pool {p}/{}", pool.len)));
            }
        }
        let key_name = domain(&self.tsig_key, "dns.tsig_key", true, 253)?;
        let algorithm = match self.tsig_algorithm.to_ascii_lowercase().trim_end_matches('.') {
            "hmac-sha256" => TsigAlgorithm::HmacSha256,
            "hmac-sha384" => TsigAlgorithm::HmacSha384,
            "hmac-sha512" => TsigAlgorithm::HmacSha512,
            _ => {
                let why = format!("`{}` is not supported: hmac-sha256, hmac-sha384 or hmac-sha512", self.tsig_algorithm);
                return Err(("dns.tsig_algorithm", why));
            }
        };
        let secret = base64::engine::general_purpose::STANDARD
            .decode(self.tsig_secret.trim())
            .map_err(|e| ("dns.tsig_secret", format!("not base64: {e}")))?;
        if secret.is_empty() {
            return Err(("dns.tsig_secret", "is empty".into()));
        }
        // RFC 2181 §8: a TTL is 0..=2^31-1; 0 would keep the names out of every cache.
        if self.ttl == 0 || self.ttl > i32::MAX as u32 {
            return Err(("dns.ttl", format!("{} is not in 1..=2147483647", self.ttl)));
        }
        Ok(DnsConfig { server: self.server, zone, reverse_zones, key_name, algorithm, secret: Secret(secret), ttl: self.ttl })
    }
}
