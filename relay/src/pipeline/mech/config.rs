//! The automatic mechanisms' configuration, validated together: each mechanism's section
//! lives in its own file (`isatap.rs`, `sixrd.rs`, …); this file holds what they share —
//! address parsing, link prefixes, and the [`Claims`] that keep each local IPv4 address
//! bound to one mechanism (RFC 3964 section 6.1) and their prefixes apart, so the
//! classifier can always tell which one a packet is for.
use std::net::Ipv4Addr;

use crate::pipeline::model::automatic::{AutomaticSettings, Ipv6Prefix};
use crate::pipeline::model::error::{at, err, ConfigError};
use crate::pipeline::model::settings::Settings;

use super::{Ipv4CompatibleConfig, IsatapConfig, SixOver4Config, SixRdConfig};

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

pub(super) fn parse_v4(path: &str, text: &str) -> Result<Ipv4Addr, ConfigError> {
    at(path, text.parse::<Ipv4Addr>().map_err(|_| format!("{text:?}: not an IPv4 address")))
}

pub(super) fn unicast(path: &str, text: &str) -> Result<Ipv4Addr, ConfigError> {
    let a = parse_v4(path, text)?;
    if !unicast_v4(u32::from(a)) {
        return err(path, format!("{a} is not a unicast IPv4 address"));
    }
    Ok(a)
}

/// A link's prefixes: /64 each (the interface identifier embeds the IPv4 address), at
/// least one.
pub(super) fn link_prefixes(path: &str, texts: &[String]) -> Result<Vec<Ipv6Prefix>, ConfigError> {
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
pub(super) struct Claims {
    addresses: Vec<(Ipv4Addr, &'static str, String)>,
    prefixes: Vec<(Ipv6Prefix, String)>,
}

impl Claims {
    /// Claims `a` for `mechanism`. Only 6rd domains (told apart by the inner prefix) and
    /// the 6to4 router and relay roles may share an address.
    pub(super) fn address(&mut self, a: Ipv4Addr, mechanism: &'static str, path: &str) -> Result<(), ConfigError> {
        let shared = mechanism == "6rd" || mechanism == "6to4";
        if let Some((_, m, p)) = self.addresses.iter().find(|(b, m, _)| *b == a && (*m != mechanism || !shared)) {
            return err(path, format!("{a} already terminates {m} ({p}): one automatic mechanism per IPv4 address (RFC 3964 6.1)"));
        }
        self.addresses.push((a, mechanism, path.to_owned()));
        Ok(())
    }

    pub(super) fn prefix(&mut self, prefix: Ipv6Prefix, path: &str) -> Result<(), ConfigError> {
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
            auto.ipv4_compatible = Some(c.validate(s, &mut claims)?);
        }
        for (i, c) in self.isatap.iter().enumerate() {
            auto.isatap.push(c.validate(i, &mut claims)?);
        }
        for (i, c) in self.sixrd.iter().enumerate() {
            auto.sixrd.push(c.validate(i, &mut claims)?);
        }
        for i in 0..self.sixover4.len() {
            auto.sixover4.push(SixOver4Config::validate(self.sixover4, i, s, &mut claims)?);
        }
        if auto.isatap.len() > usize::from(u8::MAX) || auto.sixover4.len() > usize::from(u8::MAX) {
            return err("pipeline", "at most 255 ISATAP and 255 6over4 links");
        }
        s.automatic = auto;
        Ok(())
    }
}
