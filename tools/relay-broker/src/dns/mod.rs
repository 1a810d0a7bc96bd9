//! DNS registration (RFC 3053 §3): each tunnel's client address and its routed /48 get a name
//! (AAAA) and a reverse name (PTR), put in the configured primary by RFC 2136 update with TSIG.
//!
//! Names: `t<id>.<zone>` is the client's tunnel address (::2 of the link /64), `p<id>.<zone>`
//! the routed /48's ::1 (the address the client's router takes on its LAN by convention); the
//! PTR of each address names it back. The database is the truth: every record sent is first
//! listed in `dns_records`, so reconcile removes exactly the broker's stale records and puts
//! back missing ones, and records it did not send are never touched.

pub mod settings;
mod wire;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv6Addr, SocketAddr};

use crate::clientconf;
use crate::db::{Db, DbError, DnsRecord, RType, State, Tunnel};
use settings::DnsConfig;
use wire::Conn;

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// Down, not answering in time, or an answer that failed TSIG verification.
    #[error("dns server {server}: {reason}")]
    Server { server: SocketAddr, reason: String },
    /// The server answered the update with an error (nothing of it was applied).
    #[error("dns server {server}: update of zone {zone} refused: {reason}")]
    Refused { server: SocketAddr, zone: String, reason: String },
    #[error("dns server {server}: query for {name} answered {reason}")]
    Query { server: SocketAddr, name: String, reason: String },
    #[error("dns TSIG key: {0}")]
    Tsig(String),
    #[error("dns: {0}")]
    Malformed(String),
    #[error("{0}")]
    Db(#[from] DbError),
}

/// What one DNS reconcile pass did; records as `name TYPE data`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DnsReconciled {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// What could not be done, with why (retried at the next pass).
    pub failed: Vec<String>,
}

/// `addr`'s name under ip6.arpa: 32 nibbles, least significant first.
pub fn reverse_name(addr: Ipv6Addr) -> String {
    let v = u128::from(addr);
    let mut s = String::with_capacity(73);
    for i in 0..32 {
        let nibble = (v >> (4 * i)) & 0xf;
        s.push(char::from_digit(nibble as u32, 16).unwrap_or('0'));
        s.push('.');
    }
    s.push_str("ip6.arpa.");
    s
}

fn routed_one(t: &Tunnel) -> Result<Option<Ipv6Addr>, DnsError> {
    let Some(p) = &t.routed48 else { return Ok(None) };
    let base: Ipv6Addr = p.split_once('/').and_then(|(a, _)| a.parse().ok()).ok_or_else(|| DnsError::Malformed(format!("stored routed prefix `{p}`")))?;
    Ok(Some(Ipv6Addr::from(u128::from(base) | 1)))
}

/// The records tunnel `t` should have.
pub fn records(cfg: &DnsConfig, t: &Tunnel) -> Result<Vec<DnsRecord>, DnsError> {
    let (_, client) = clientconf::link_addrs(t).map_err(|e| DnsError::Malformed(e.to_string()))?;
    let mut named = vec![(format!("t{}", t.id), client)];
    if let Some(a) = routed_one(t)? {
        named.push((format!("p{}", t.id), a));
    }
    let zone = cfg.zone.to_ascii();
    let mut out = Vec::new();
    for (label, addr) in named {
        let fwd = format!("{label}.{zone}");
        let rz = cfg
            .reverse_zones
            .iter()
            .filter(|z| z.covers(u128::from(addr), 128))
            .max_by_key(|z| z.len)
            .ok_or_else(|| DnsError::Malformed(format!("no reverse zone covers {addr}")))?;
        out.push(DnsRecord { zone: zone.clone(), name: fwd.clone(), rtype: RType::Aaaa, data: addr.to_string() });
        out.push(DnsRecord { zone: rz.name.to_ascii(), name: reverse_name(addr), rtype: RType::Ptr, data: fwd });
    }
    Ok(out)
}

fn by_zone<'a>(recs: impl IntoIterator<Item = &'a DnsRecord>) -> BTreeMap<String, Vec<DnsRecord>> {
    let mut m: BTreeMap<String, Vec<DnsRecord>> = BTreeMap::new();
    for r in recs {
        m.entry(r.zone.clone()).or_default().push(r.clone());
    }
    m
}

/// Puts `t`'s records in DNS, replacing the broker's own other records at the same names (a
/// tunnel id used again while the old records were still there): one update per zone.
pub async fn register(cfg: &DnsConfig, db: &Db, t: &Tunnel) -> Result<(), DnsError> {
    let want = records(cfg, t)?;
    let names: BTreeSet<(&str, RType)> = want.iter().map(|r| (r.name.as_str(), r.rtype)).collect();
    let old: Vec<DnsRecord> = db.dns_owned().await?.into_iter().filter(|r| names.contains(&(r.name.as_str(), r.rtype)) && !want.contains(r)).collect();
    // Listed before sent: a crash between the two leaves a record the broker knows is its own.
    db.dns_own(&want).await?;
    let mut c = Conn::open(cfg).await?;
    let (add, del) = (by_zone(&want), by_zone(&old));
    for (zone, recs) in &add {
        c.update(zone, recs, del.get(zone).map_or(&[], Vec::as_slice), cfg.ttl).await?;
    }
    db.dns_disown(&old).await?;
    Ok(())
}

/// Deletes `t`'s records, those the broker listed as its own.
pub async fn unregister(cfg: &DnsConfig, db: &Db, t: &Tunnel) -> Result<(), DnsError> {
    let want = records(cfg, t)?;
    let owned: Vec<DnsRecord> = db.dns_owned().await?.into_iter().filter(|r| want.contains(r)).collect();
    if owned.is_empty() {
        return Ok(());
    }
    let mut c = Conn::open(cfg).await?;
    for (zone, recs) in by_zone(&owned) {
        c.update(&zone, &[], &recs, cfg.ttl).await?;
        db.dns_disown(&recs).await?;
    }
    Ok(())
}

/// Makes DNS hold the records of every tunnel that is not expired: the broker's records no
/// tunnel wants are deleted, wanted ones missing from the zone are added back.
pub async fn reconcile(cfg: &DnsConfig, db: &Db) -> Result<DnsReconciled, DnsError> {
    let mut out = DnsReconciled::default();
    let mut want = BTreeSet::new();
    for t in db.tunnels(None).await?.iter().filter(|t| t.state != State::Expired) {
        match records(cfg, t) {
            Ok(r) => want.extend(r),
            Err(e) => out.failed.push(format!("tunnel {}: {e}", t.id)),
        }
    }
    let stale: Vec<DnsRecord> = db.dns_owned().await?.into_iter().filter(|r| !want.contains(r)).collect();
    let mut c = match Conn::open(cfg).await {
        Ok(c) => c,
        Err(e) => {
            out.failed.push(e.to_string());
            return Ok(out);
        }
    };
    for (zone, recs) in by_zone(&stale) {
        match c.update(&zone, &[], &recs, cfg.ttl).await {
            Ok(()) => {
                db.dns_disown(&recs).await?;
                out.removed.extend(recs.iter().map(ToString::to_string));
            }
            Err(e) => out.failed.push(e.to_string()),
        }
    }
    let mut missing = Vec::new();
    let mut have: BTreeMap<(String, RType), BTreeSet<String>> = BTreeMap::new();
    for r in &want {
        let key = (r.name.clone(), r.rtype);
        if !have.contains_key(&key) {
            match c.lookup(&r.name, r.rtype).await {
                Ok(data) => have.insert(key.clone(), data),
                Err(e) => {
                    out.failed.push(e.to_string());
                    continue;
                }
            };
        }
        if have.get(&key).is_some_and(|d| !d.contains(&r.data)) {
            missing.push(r.clone());
        }
    }
    db.dns_own(&missing).await?;
    for (zone, recs) in by_zone(&missing) {
        match c.update(&zone, &recs, &[], cfg.ttl).await {
            Ok(()) => out.added.extend(recs.iter().map(ToString::to_string)),
            Err(e) => out.failed.push(e.to_string()),
        }
    }
    Ok(out)
}
