//! The `[pipeline]` tables of the automatic mechanisms besides 6to4, and their validation.
//! Each mechanism is bound to its own local IPv4 address (RFC 3964 section 6.1), and their
//! prefixes do not overlap: the classifier can always tell which one a packet is for.
//!
//! ```toml
//! [pipeline.ipv4_compatible]   # ::V automatic tunnel (RFC 4213 history); absent: off
//! ipv4 = "198.51.100.21"       # a global address: ::/96 destinations are sent from it
//!
//! [[pipeline.isatap]]          # an ISATAP link (RFC 5214)
//! ipv4 = "10.1.0.1"            # the router's V: addresses prefix::0:5efe:V / ::200:5efe:V
//! prefixes = ["2001:db8:5e::/64"]
//! prl = ["10.1.0.2"]           # other potential routers (accepted from any inner source)
//!
//! [[pipeline.6rd]]             # a 6rd domain (RFC 5969); several may share a BR address
//! br = "10.0.0.1"
//! prefix = "2001:db8::/32"     # 6rdPrefix/6rdPrefixLen
//! ipv4_mask_len = 8            # IPv4MaskLen; the common bits are the BR address's ...
//! # ipv4_prefix = "10.0.0.0/8" # ... or given here (its length is IPv4MaskLen)
//!
//! [[pipeline.6over4]]          # a 6over4 link (RFC 2529) on a port, from its IPv4 address
//! port = 0
//! prefixes = ["2001:db8:64::/64"]
//! ```
use std::net::Ipv4Addr;

use serde::Deserialize;

use crate::pipeline::model::automatic::*;
use crate::pipeline::model::addr::{mask4, Ipv4Prefix};
use crate::pipeline::model::error::{at, err, ConfigError};
use crate::pipeline::model::settings::Settings;

/// `[pipeline.ipv4_compatible]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Ipv4CompatibleConfig {
    pub ipv4: String,
}

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

/// `[[pipeline.6rd]]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SixRdConfig {
    pub br: String,
    pub prefix: String,
    pub ipv4_mask_len: Option<u8>,
    pub ipv4_prefix: Option<String>,
}

/// `[[pipeline.6over4]]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SixOver4Config {
    pub port: u16,
    #[serde(default)]
    pub prefixes: Vec<String>,
}

/// The raw tables, as [`Config`](crate::pipeline::Config) holds them.
pub(crate) struct AutomaticConfig<'a> {
    pub ipv4_compatible: Option<&'a Ipv4CompatibleConfig>,
    pub isatap: &'a [IsatapConfig],
    pub sixrd: &'a [SixRdConfig],
    pub sixover4: &'a [SixOver4Config],
}

/// An IPv4 address that can be a tunnel end at all: not 0/8, loopback, multicast or
/// reserved (ISATAP and 6rd run over private space, so nothing more is asked).
pub(crate) fn unicast_v4(a: u32) -> bool {
    let first = a >> 24;
    first != 0 && first != 127 && first < 224
}

fn parse_v4(path: &str, text: &str) -> Result<Ipv4Addr, ConfigError> {
    at(path, text.parse::<Ipv4Addr>().map_err(|_| format!("{text:?}: not an IPv4 address")))
}

fn unicast(path: &str, text: &str) -> Result<Ipv4Addr, ConfigError> {
    let a = parse_v4(path, text)?;
    if !unicast_v4(u32::from(a)) {
        return err(path, format!("{a} is not a unicast IPv4 address"));
    }
    Ok(a)
}

/// A link's prefixes: /64 each (the interface identifier embeds the IPv4 address), at
/// least one.
fn link_prefixes(path: &str, texts: &[String]) -> Result<Vec<Ipv6Prefix>, ConfigError> {
    if texts.is_empty() {
        return err(path, "the link needs at least one /64 prefix");
    }
    let mut v = Vec::new();
    for (k, t) in texts.iter().enumerate() {
        let p = format!("{path}[{k}]");
        let prefix: Ipv6Prefix = at(&p, t.parse())?;
        if prefix.len != 64 {
            return err(p, format!("{prefix}: a link prefix is a /64 (the interface identifier embeds the IPv4 address)"));
        }
        v.push(prefix);
    }
    Ok(v)
}

/// Which mechanism holds each local IPv4 address, and which prefixes are taken: the
/// one-mechanism-per-address rule and the no-overlap rule, with the field that claimed
/// each.
struct Claims {
    addresses: Vec<(Ipv4Addr, &'static str, String)>,
    prefixes: Vec<(Ipv6Prefix, String)>,
}

impl Claims {
    /// Claims `a` for `mechanism`. Only 6rd domains (told apart by the inner prefix) and
    /// the 6to4 router and relay roles may share an address.
    fn address(&mut self, a: Ipv4Addr, mechanism: &'static str, path: &str) -> Result<(), ConfigError> {
        let shared = mechanism == "6rd" || mechanism == "6to4";
        if let Some((_, m, p)) = self.addresses.iter().find(|(b, m, _)| *b == a && (*m != mechanism || !shared)) {
            return err(path, format!("{a} already terminates {m} ({p}): one automatic mechanism per IPv4 address (RFC 3964 6.1)"));
        }
        self.addresses.push((a, mechanism, path.to_owned()));
        Ok(())
    }

    fn prefix(&mut self, prefix: Ipv6Prefix, path: &str) -> Result<(), ConfigError> {
        if let Some((q, p)) = self.prefixes.iter().find(|(q, _)| q.overlaps(&prefix)) {
            return err(path, format!("{prefix} overlaps {q} ({p})"));
        }
        self.prefixes.push((prefix, path.to_owned()));
        Ok(())
    }
}

impl AutomaticConfig<'_> {
    /// Fills `s.automatic`; `s` already holds the ports and the 6to4 roles.
    pub(crate) fn validate(&self, s: &mut Settings) -> Result<(), ConfigError> {
        let mut claims = Claims { addresses: Vec::new(), prefixes: Vec::new() };
        if let Some(r) = &s.router {
            claims.address(r.v4, "6to4", "pipeline.router.ipv4")?;
        }
        for a in s.relay_endpoints() {
            claims.address(a, "6to4", "pipeline.relay")?;
        }
        if s.router.is_some() || s.relay.is_some() {
            claims.prefix(Ipv6Prefix { addr: crate::pipeline::model::addr::SIXTOFOUR.into(), len: 16 }, "6to4")?;
        }
        for (i, p) in s.ports.iter().enumerate() {
            for (k, a) in p.ipv6.iter().enumerate().filter(|(_, a)| !a.addr.is_unicast_link_local()) {
                let net = Ipv6Prefix { addr: (u128::from(a.addr) & crate::pipeline::model::addr::mask6(a.len)).into(), len: a.len };
                claims.prefixes.push((net, format!("pipeline.interface[{i}].ipv6[{k}]")));
            }
        }
        let mut auto = AutomaticSettings::default();
        if let Some(c) = self.ipv4_compatible {
            let path = "pipeline.ipv4_compatible.ipv4";
            let a = parse_v4(path, &c.ipv4)?;
            if !s.martians().v4_addr_ok(a) {
                return err(path, format!("{a} is not a global unicast IPv4 address (an IPv4-compatible address embeds one)"));
            }
            claims.address(a, "ipv4-compatible", path)?;
            auto.ipv4_compatible = Some(a);
        }
        for (i, c) in self.isatap.iter().enumerate() {
            let p = format!("pipeline.isatap[{i}]");
            let ipv4 = unicast(&format!("{p}.ipv4"), &c.ipv4)?;
            claims.address(ipv4, "ISATAP", &format!("{p}.ipv4"))?;
            let prefixes = link_prefixes(&format!("{p}.prefixes"), &c.prefixes)?;
            for (k, &prefix) in prefixes.iter().enumerate() {
                claims.prefix(prefix, &format!("{p}.prefixes[{k}]"))?;
            }
            let mut prl = Vec::new();
            for (k, t) in c.prl.iter().enumerate() {
                let path = format!("{p}.prl[{k}]");
                let a = unicast(&path, t)?;
                if a == ipv4 {
                    return err(path, format!("{a} is this router's own ISATAP address"));
                }
                prl.push(a);
            }
            auto.isatap.push(IsatapSettings { ipv4, prefixes, prl });
        }
        for (i, c) in self.sixrd.iter().enumerate() {
            let p = format!("pipeline.6rd[{i}]");
            let br = unicast(&format!("{p}.br"), &c.br)?;
            claims.address(br, "6rd", &format!("{p}.br"))?;
            let prefix: Ipv6Prefix = at(&format!("{p}.prefix"), c.prefix.parse())?;
            if prefix.len == 0 || prefix.addr.is_multicast() || prefix.addr.is_unicast_link_local() {
                return err(format!("{p}.prefix"), format!("{prefix} is not a global unicast prefix"));
            }
            let ipv4_prefix = match (c.ipv4_mask_len, &c.ipv4_prefix) {
                (Some(_), Some(_)) => return err(format!("{p}.ipv4_prefix"), "give ipv4_mask_len or ipv4_prefix, not both"),
                (None, None) => return err(p, "give ipv4_mask_len (RFC 5969 IPv4MaskLen) or ipv4_prefix"),
                (Some(m), None) if m > 32 => return err(format!("{p}.ipv4_mask_len"), format!("{m}: IPv4MaskLen is 0..=32")),
                (Some(m), None) => at(&format!("{p}.ipv4_mask_len"), Ipv4Prefix::new(Ipv4Addr::from(u32::from(br) & mask4(m)), m))?,
                (None, Some(t)) => at(&format!("{p}.ipv4_prefix"), t.parse::<Ipv4Prefix>())?,
            };
            let domain = at(&format!("{p}.prefix"), SixRdDomain::new(br, prefix, ipv4_prefix))?;
            claims.prefix(prefix, &format!("{p}.prefix"))?;
            auto.sixrd.push(domain);
        }
        for (i, c) in self.sixover4.iter().enumerate() {
            let p = format!("pipeline.6over4[{i}]");
            if let Some(j) = self.sixover4[..i].iter().position(|o| o.port == c.port) {
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
            auto.sixover4.push(SixOver4Settings { port: c.port, ipv4, prefixes });
        }
        if auto.isatap.len() > usize::from(u8::MAX) || auto.sixover4.len() > usize::from(u8::MAX) {
            return err("pipeline", "at most 255 ISATAP and 255 6over4 links");
        }
        s.automatic = auto;
        Ok(())
    }
}
