//! Outer IPv4 routes (issue 16 §3): where an encapsulated packet leaves when the relay has
//! more than one IPv4 uplink. With none (the common case) relayd reaches a tunnel endpoint
//! as it always has: on-link on one of its IPv4 subnets, else through the one gateway. With
//! routes, a destination on one of our subnets is still delivered on-link (the kernel's
//! connected routes are as specific as its subnets, and a route into one's own subnet
//! pointing elsewhere is a misconfiguration, not a design); any other destination takes its
//! longest matching route, and one that matches none the gateway, as if the gateway were
//! `0.0.0.0/0`.
//!
//! The table is [`Dir24`] (DIR-24-8 with 16-bit entries: one load for a /24 or shorter), which
//! `lpm-bench --ipv4` measured at or above DPDK's `rte_lpm` on a 1M-prefix table in 0.87 of its
//! memory, where the IPv4 poptrie (`Lpm4`) did half its rate. It exists only once a route
//! does: a relay without IPv4 routes pays neither its 48 MiB nor their copy.
use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;

use crate::lpm::dir24::Dir24;
use crate::pipeline::model::addr::mask4;
use crate::wire::EthernetAddress;

use super::{IntMap, TableError, Tables};

/// Where an outer IPv4 route sends packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route4Target {
    /// Through the IPv4 router `gateway` on `port` (its MAC from ARP or a static neighbour).
    Via { gateway: Ipv4Addr, port: u16 },
    /// Dropped, counted as `route_blackhole`.
    Blackhole,
}

impl fmt::Display for Route4Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route4Target::Via { gateway, port } => write!(f, "via {gateway} port {port}"),
            Route4Target::Blackhole => f.write_str("blackhole"),
        }
    }
}

/// What a lookup found: the next hop, and its MAC once known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hop4 {
    pub target: Route4Target,
    pub mac: Option<[u8; 6]>,
    routes: u32,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Routes4 {
    lpm: Option<Box<Dir24>>,
    hops: Vec<Hop4>,
    ids: HashMap<Route4Target, u32>,
    free: Vec<u32>,
}

/// `len` in range and no host bits past it.
pub(crate) fn check_prefix4(prefix: Ipv4Addr, len: u8) -> Result<(), TableError> {
    if len > 32 {
        return Err(TableError::Prefix4TooLong(len));
    }
    let a = u32::from(prefix);
    if a & !mask4(len) != 0 {
        return Err(TableError::Host4BitsSet { prefix, len, net: Ipv4Addr::from(a & mask4(len)) });
    }
    Ok(())
}

impl Routes4 {
    /// The longest route matching `dst`.
    #[inline]
    pub fn lookup(&self, dst: u32) -> Option<&Hop4> {
        match self.lpm.as_ref()?.lookup(&dst.to_be_bytes()) {
            Dir24::MISS => None,
            id => self.hops.get(id as usize),
        }
    }

    pub fn get(&self, prefix: Ipv4Addr, len: u8) -> Option<Route4Target> {
        self.lpm.as_ref()?.get(prefix, len).and_then(|id| self.hops.get(id as usize)).map(|h| h.target)
    }

    /// Every route, sorted by prefix then length.
    pub fn routes(&self) -> Vec<(Ipv4Addr, u8, Route4Target)> {
        let Some(lpm) = &self.lpm else { return Vec::new() };
        lpm.routes()
            .into_iter()
            .filter_map(|(p, l, id)| Some((p, l, self.hops.get(id as usize)?.target)))
            .collect()
    }

    /// Adds `prefix/len` or replaces its target; `neigh` resolves a new next hop's MAC.
    /// Checked (prefix, then the trie's own refusal) before anything changes.
    pub fn insert(&mut self, prefix: Ipv4Addr, len: u8, target: Route4Target, neigh: &IntMap<u32, EthernetAddress>) -> Result<(), TableError> {
        check_prefix4(prefix, len)?;
        let id = self.hop_for(target, neigh)?;
        match self.lpm.get_or_insert_with(Box::default).insert(prefix, len, id) {
            Ok(old) => {
                if let Some(old) = old {
                    self.release(old);
                }
                Ok(())
            }
            Err(e) => {
                self.release(id);
                Err(e.into())
            }
        }
    }

    pub fn remove(&mut self, prefix: Ipv4Addr, len: u8) -> Result<(), TableError> {
        check_prefix4(prefix, len)?;
        let removed = match self.lpm.as_mut() {
            Some(lpm) => lpm.remove(prefix, len)?,
            None => None,
        };
        match removed {
            Some(old) => {
                self.release(old);
                Ok(())
            }
            None => Err(TableError::NoRoute4 { prefix, len }),
        }
    }

    /// Re-reads every next hop's MAC after a neighbour change.
    pub fn resolve(&mut self, neigh: &IntMap<u32, EthernetAddress>) {
        for h in self.hops.iter_mut().filter(|h| h.routes > 0) {
            h.mac = mac_of(h.target, neigh);
        }
    }

    fn hop_for(&mut self, target: Route4Target, neigh: &IntMap<u32, EthernetAddress>) -> Result<u32, TableError> {
        if let Some(&id) = self.ids.get(&target) {
            if let Some(h) = self.hops.get_mut(id as usize) {
                h.routes += 1;
            }
            return Ok(id);
        }
        let hop = Hop4 { target, mac: mac_of(target, neigh), routes: 1 };
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(h) = self.hops.get_mut(id as usize) {
                    *h = hop;
                }
                id
            }
            None => {
                let id = u32::try_from(self.hops.len()).ok().filter(|&id| id <= Dir24::MAX_NEXT_HOP).ok_or(TableError::NextHopTableFull)?;
                self.hops.push(hop);
                id
            }
        };
        self.ids.insert(target, id);
        Ok(id)
    }

    fn release(&mut self, id: u32) {
        let Some(h) = self.hops.get_mut(id as usize) else { return };
        h.routes = h.routes.saturating_sub(1);
        if h.routes == 0 {
            self.ids.remove(&h.target);
            h.mac = None;
            self.free.push(id);
        }
    }
}

fn mac_of(target: Route4Target, neigh: &IntMap<u32, EthernetAddress>) -> Option<[u8; 6]> {
    match target {
        Route4Target::Via { gateway, .. } => neigh.get(&u32::from(gateway)).map(|m| m.0),
        Route4Target::Blackhole => None,
    }
}

impl Tables {
    /// Adds or replaces an outer IPv4 route. The next hop must be another host's unicast
    /// address on a configured port; the IPv6 next hops whose tunnel endpoint it now reaches
    /// are resolved again.
    pub(super) fn route4_add(&mut self, prefix: Ipv4Addr, len: u8, target: Route4Target) -> Result<(), TableError> {
        check_prefix4(prefix, len)?;
        if let Route4Target::Via { gateway, port } = target {
            let g = u32::from(gateway);
            if gateway.is_unspecified() || gateway.is_broadcast() || gateway.is_multicast() || gateway.is_loopback() || self.own_v4.contains(&g) {
                return Err(TableError::NextHop4NotUnicast(gateway));
            }
            self.port_ok(port)?;
        }
        self.routes4.insert(prefix, len, target, &self.neigh4)?;
        self.resolve_all();
        Ok(())
    }

    pub(super) fn route4_del(&mut self, prefix: Ipv4Addr, len: u8) -> Result<(), TableError> {
        self.routes4.remove(prefix, len)?;
        self.resolve_all();
        Ok(())
    }
}
