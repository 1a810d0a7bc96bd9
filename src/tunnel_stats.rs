//! `relayctl tunnel stats`: every configured tunnel's packets and inner bytes each way,
//! summed over the workers' per-tunnel counters (`pipeline::TunnelCounters`).
//!
//! The workers count by tunnel id and never reset. A tunnel that takes over an id (a new
//! tunnel, or new ends under the same id) starts from zero: its baseline is what the id had
//! counted when it was set, and what is shown is the sum since then.
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use relay::pipeline::{ConfiguredTunnel, TableUpdate, Tables, TunnelCount, TunnelCounters, TunnelId};

/// A tunnel id a change touches: the tunnel it named before, and what it had counted.
pub struct Touched {
    id: TunnelId,
    old: Option<ConfiguredTunnel>,
    count: TunnelCount,
}

pub struct TunnelStats {
    workers: Vec<Arc<TunnelCounters>>,
    baselines: HashMap<TunnelId, TunnelCount>,
}

/// Tunnels of the same id with other ends are different tunnels to a user.
fn same_ends(a: &ConfiguredTunnel, b: &ConfiguredTunnel) -> bool {
    a.local == b.local && a.remote == b.remote
}

impl TunnelStats {
    pub fn new(workers: Vec<Arc<TunnelCounters>>) -> TunnelStats {
        TunnelStats { workers, baselines: HashMap::new() }
    }

    fn sum(&self, id: TunnelId) -> TunnelCount {
        self.workers.iter().fold(TunnelCount::default(), |acc, w| acc.plus(w.get(id)))
    }

    /// The tunnels a batch of `updates` touches, as they are in `tables` before it is
    /// applied, with what their ids have counted so far (taken before: a worker counts
    /// for the old tunnel until it takes the new tables).
    pub fn before(&self, updates: &[TableUpdate], tables: &Tables) -> Vec<Touched> {
        updates
            .iter()
            .filter_map(|u| match *u {
                TableUpdate::TunnelSet { id, .. } | TableUpdate::TunnelDel { id } => Some(Touched { id, old: tables.tunnel(id), count: self.sum(id) }),
                _ => None,
            })
            .collect()
    }

    /// Once those changes are applied (`after`): a new tunnel, or new ends under an old id,
    /// starts from zero; a deleted tunnel is forgotten.
    pub fn applied(&mut self, touched: &[Touched], after: &Tables) {
        for t in touched {
            match (t.old, after.tunnel(t.id)) {
                (_, None) => {
                    self.baselines.remove(&t.id);
                }
                (Some(o), Some(n)) if same_ends(&o, &n) => {}
                (_, Some(_)) => {
                    self.baselines.insert(t.id, t.count);
                }
            }
        }
    }

    /// Before a reload replaces `old` wholesale: every tunnel of either set.
    pub fn before_replace(&self, old: &Tables, new: &Tables) -> Vec<Touched> {
        let mut ids: Vec<TunnelId> = old.tunnel_ids().chain(new.tunnel_ids()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().map(|id| Touched { id, old: old.tunnel(id), count: self.sum(id) }).collect()
    }

    /// One line per configured tunnel:
    /// `<id> rx_packets N rx_bytes N tx_packets N tx_bytes N`.
    pub fn text(&self, tables: &Tables) -> String {
        let mut out = String::new();
        for id in tables.tunnel_ids() {
            let c = self.sum(id).since(self.baselines.get(&id).copied().unwrap_or_default());
            let _ = writeln!(out, "{id} rx_packets {} rx_bytes {} tx_packets {} tx_bytes {}", c.rx_packets, c.rx_bytes, c.tx_packets, c.tx_bytes);
        }
        out
    }
}
