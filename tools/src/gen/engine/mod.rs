//! The lcore side: the transmit loop (pacing, building, stamping, accounting what the driver
//! took) and the receive loop (stamps → per-stream counts and latency), run on separate
//! lcores or interleaved on one, and the state they share with the main lcore.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use serde::Serialize;

use super::mix::Kind;
use super::stats::LiveStream;

pub mod rx;
pub mod tx;

/// One measured stream: a (TX port, kind) pair, or a stream id found in a replayed pcap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamInfo {
    pub id: u16,
    pub name: String,
    /// None: frames of a replayed pcap without a stamp (sent, never matched).
    pub kind: Option<Kind>,
}

/// Stream id → dense index, for the per-packet lookup on the receive side.
pub struct StreamTable {
    pub streams: Vec<StreamInfo>,
    index: Vec<u32>,
}

pub const NO_STREAM: u32 = u32::MAX;

impl StreamTable {
    pub fn new(streams: Vec<StreamInfo>) -> StreamTable {
        let mut index = vec![NO_STREAM; usize::from(u16::MAX) + 1];
        // Unstamped pseudo-streams are never looked up: their ids may repeat real ones.
        for (i, s) in streams.iter().enumerate().filter(|(_, s)| s.kind.is_some()) {
            if let Some(slot) = index.get_mut(usize::from(s.id)) {
                *slot = i as u32;
            }
        }
        StreamTable { streams, index }
    }

    /// The dense index of stream `id` (unstamped pseudo-streams are never found).
    #[inline]
    pub fn lookup(&self, id: u16) -> Option<usize> {
        match self.index.get(usize::from(id)) {
            Some(&i) if i != NO_STREAM => Some(i as usize),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.streams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }
}

/// What the lcores and the main lcore share.
pub struct Shared {
    pub live: Vec<LiveStream>,
    /// Ctrl-C: stop sending now.
    pub stop_tx: AtomicBool,
    /// Set once the RX loop has polled every port: sending waits for it, because a memif
    /// client hands its receive buffers to the peer only when it first polls (until then
    /// the peer drops what it sends).
    pub rx_ready: AtomicBool,
    /// Set by the TX loop once every port has finished and flushed.
    pub tx_done: AtomicBool,
    /// Set by the main lcore after the drain wait.
    pub stop_rx: AtomicBool,
    /// Received frames without a known stamp (ARP, ICMPv6 errors, other traffic).
    pub rx_foreign: AtomicU64,
}

impl Shared {
    pub fn new(streams: usize) -> Shared {
        Shared {
            live: (0..streams).map(|_| LiveStream::default()).collect(),
            stop_tx: AtomicBool::new(false),
            rx_ready: AtomicBool::new(false),
            tx_done: AtomicBool::new(false),
            stop_rx: AtomicBool::new(false),
            rx_foreign: AtomicU64::new(0),
        }
    }

    pub fn rx_foreign(&self) -> u64 {
        self.rx_foreign.load(Relaxed)
    }
}

/// Sleep after a run of empty polls (lcores sharing a core with others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Idle {
    pub after_polls: u32,
    pub sleep: Duration,
}

impl Idle {
    pub fn from_us(us: u64) -> Option<Idle> {
        (us > 0).then(|| Idle { after_polls: 100, sleep: Duration::from_micros(us) })
    }
}

/// Runs the TX and/or RX loops on the calling lcore until both are finished: TX when every
/// port is done, RX when the main lcore sets `stop_rx`.
pub fn run_loops(
    mut tx: Option<tx::TxEngine>,
    mut rx: Option<rx::RxEngine>,
    shared: &Shared,
    idle: Option<Idle>,
) -> (Option<tx::TxOutcome>, Option<rx::RxOutcome>) {
    let mut empty = 0u32;
    let mut tx_out = None;
    loop {
        let now = relay::runtime::rdtsc();
        let mut work = 0;
        if let Some(t) = tx.as_mut() {
            work += t.poll(now, shared);
            if t.finished() {
                tx_out = tx.take().map(|t| t.finish(shared));
                shared.tx_done.store(true, std::sync::atomic::Ordering::Release);
            }
        }
        if let Some(r) = rx.as_mut() {
            work += r.poll(shared);
            if shared.stop_rx.load(std::sync::atomic::Ordering::Acquire) {
                break;
            }
        } else if tx.is_none() {
            break;
        }
        if work == 0 {
            empty += 1;
            if let Some(i) = idle {
                if empty >= i.after_polls {
                    std::thread::sleep(i.sleep);
                }
            }
        } else {
            empty = 0;
        }
    }
    (tx_out, rx.map(|r| r.finish(shared)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_table_maps_ids_and_skips_unstamped() {
        let t = StreamTable::new(vec![
            StreamInfo { id: 4, name: "p1/encap".into(), kind: Some(Kind::Encap) },
            StreamInfo { id: 65535, name: "last".into(), kind: Some(Kind::Decap) },
            StreamInfo { id: 4, name: "p1/unstamped".into(), kind: None },
            StreamInfo { id: 9, name: "p2/unstamped".into(), kind: None },
        ]);
        assert_eq!(t.lookup(4), Some(0));
        assert_eq!(t.lookup(65535), Some(1));
        assert_eq!(t.lookup(9), None);
        assert_eq!(t.lookup(0), None);
        assert_eq!(t.len(), 4);
    }
}
