//! Per configured tunnel: packets and inner IPv6 bytes each way, one set per worker, read
//! by the control core while the worker writes (`relayctl tunnel stats`, the broker's
//! traffic counters).
//!
//! Indexed by tunnel id in pages of [`PAGE`] tunnels, each allocated the first time one
//! of its tunnels carries a packet: memory follows the ids in use, not `max_tunnels`. One
//! writer per set, so a count is a relaxed load and store (no locked instruction); a reader
//! may see a count a packet late, never a torn one.
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;

use super::tables::TunnelId;

/// Tunnels per page: 32 KiB of counters.
const PAGE: usize = 1024;

/// One tunnel's counts as read: `rx` = taken out of the tunnel, `tx` = sent into it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TunnelCount {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
}

impl TunnelCount {
    /// The sum with `other` (another worker's).
    pub fn plus(self, other: TunnelCount) -> TunnelCount {
        TunnelCount {
            rx_packets: self.rx_packets + other.rx_packets,
            rx_bytes: self.rx_bytes + other.rx_bytes,
            tx_packets: self.tx_packets + other.tx_packets,
            tx_bytes: self.tx_bytes + other.tx_bytes,
        }
    }

    /// What was counted since `earlier` (a baseline taken when the id was given to a new
    /// tunnel), never below zero.
    pub fn since(self, earlier: TunnelCount) -> TunnelCount {
        TunnelCount {
            rx_packets: self.rx_packets.saturating_sub(earlier.rx_packets),
            rx_bytes: self.rx_bytes.saturating_sub(earlier.rx_bytes),
            tx_packets: self.tx_packets.saturating_sub(earlier.tx_packets),
            tx_bytes: self.tx_bytes.saturating_sub(earlier.tx_bytes),
        }
    }
}

#[derive(Default)]
struct Slot {
    rx_packets: AtomicU64,
    rx_bytes: AtomicU64,
    tx_packets: AtomicU64,
    tx_bytes: AtomicU64,
}

type Page = Box<[Slot]>;

/// One worker's per-tunnel counters (see the module documentation).
pub struct TunnelCounters {
    pages: Box<[OnceLock<Page>]>,
}

impl std::fmt::Debug for TunnelCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let used = self.pages.iter().filter(|p| p.get().is_some()).count();
        write!(f, "TunnelCounters {{ pages: {}, allocated: {used} }}", self.pages.len())
    }
}

/// Adds `n` with the one writer's relaxed load and store.
#[inline(always)]
fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

impl TunnelCounters {
    /// Room for tunnel ids `0..max_tunnels`.
    pub fn new(max_tunnels: u32) -> TunnelCounters {
        let pages = (max_tunnels as usize).div_ceil(PAGE);
        TunnelCounters { pages: (0..pages).map(|_| OnceLock::new()).collect() }
    }

    #[inline]
    fn slot(&self, id: TunnelId) -> Option<&Slot> {
        let (page, i) = (id as usize / PAGE, id as usize % PAGE);
        let page = self.pages.get(page)?.get_or_init(|| (0..PAGE).map(|_| Slot::default()).collect());
        page.get(i)
    }

    /// A packet of `bytes` inner bytes taken out of tunnel `id`. Only the worker that owns
    /// these counters calls it.
    #[inline]
    pub(crate) fn count_rx(&self, id: TunnelId, bytes: usize) {
        if let Some(s) = self.slot(id) {
            bump(&s.rx_packets, 1);
            bump(&s.rx_bytes, bytes as u64);
        }
    }

    /// A packet of `bytes` inner bytes sent into tunnel `id`.
    #[inline]
    pub(crate) fn count_tx(&self, id: TunnelId, bytes: usize) {
        if let Some(s) = self.slot(id) {
            bump(&s.tx_packets, 1);
            bump(&s.tx_bytes, bytes as u64);
        }
    }

    /// Tunnel `id`'s counts so far (zero for one that never carried a packet).
    pub fn get(&self, id: TunnelId) -> TunnelCount {
        let page = self.pages.get(id as usize / PAGE).and_then(OnceLock::get);
        match page.and_then(|p| p.get(id as usize % PAGE)) {
            Some(s) => TunnelCount {
                rx_packets: s.rx_packets.load(Relaxed),
                rx_bytes: s.rx_bytes.load(Relaxed),
                tx_packets: s.tx_packets.load(Relaxed),
                tx_bytes: s.tx_bytes.load(Relaxed),
            },
            None => TunnelCount::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_tunnel_and_allocates_only_the_pages_used() {
        let c = TunnelCounters::new(1 << 20);
        c.count_tx(5, 100);
        c.count_tx(5, 60);
        c.count_rx(5, 1280);
        c.count_rx(PAGE as u32 * 700 + 3, 80);
        assert_eq!(c.get(5), TunnelCount { rx_packets: 1, rx_bytes: 1280, tx_packets: 2, tx_bytes: 160 });
        assert_eq!(c.get(PAGE as u32 * 700 + 3), TunnelCount { rx_packets: 1, rx_bytes: 80, ..TunnelCount::default() });
        assert_eq!(c.get(6), TunnelCount::default());
        assert_eq!(c.pages.iter().filter(|p| p.get().is_some()).count(), 2);
    }

    #[test]
    fn ids_past_the_limit_are_not_counted() {
        let c = TunnelCounters::new(10);
        c.count_rx(PAGE as u32, 1);
        c.count_tx(u32::MAX, 1);
        assert_eq!(c.get(PAGE as u32), TunnelCount::default());
        assert_eq!(c.get(u32::MAX), TunnelCount::default());
    }

    #[test]
    fn a_baseline_hides_what_an_id_counted_for_an_earlier_tunnel() {
        let old = TunnelCount { rx_packets: 4, rx_bytes: 400, tx_packets: 2, tx_bytes: 200 };
        let now = old.plus(TunnelCount { rx_packets: 1, rx_bytes: 90, tx_packets: 0, tx_bytes: 0 });
        assert_eq!(now.since(old), TunnelCount { rx_packets: 1, rx_bytes: 90, tx_packets: 0, tx_bytes: 0 });
        assert_eq!(old.since(now), TunnelCount::default());
    }
}
