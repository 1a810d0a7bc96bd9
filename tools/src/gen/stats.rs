//! Per-stream accounting: what the receive side counts, the latency histogram, loss and
//! reordering, and the counters the live line reads while the lcores run.
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use hdrhistogram::Histogram;
use serde::Serialize;

use super::rate::tsc_to_ns;

/// Latencies above this are recorded as this (a minute: anything near it is a stuck packet).
pub const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// What the receive side learned about one stream.
pub struct StreamRx {
    pub received: u64,
    pub bytes: u64,
    /// Packets that arrived with a lower sequence number than one already seen.
    pub reordered: u64,
    /// Packets whose RX TSC was before their TX TSC (lcores on unsynchronised TSCs).
    pub bad_clock: u64,
    max_seq: Option<u64>,
    hist: Histogram<u64>,
}

impl Default for StreamRx {
    fn default() -> Self {
        StreamRx::new()
    }
}

impl StreamRx {
    pub fn new() -> StreamRx {
        // 3 significant digits from 1 ns to a minute: constant bounds, which the library
        // accepts (it refuses only low < 1, high < 2·low or more than 5 digits).
        let hist = Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3).expect("constant histogram bounds");
        StreamRx { received: 0, bytes: 0, reordered: 0, bad_clock: 0, max_seq: None, hist }
    }

    /// Counts one packet (`bytes` with FCS) with sequence `seq` sent at `tx_tsc`, received
    /// at `rx_tsc`.
    #[inline]
    pub fn record(&mut self, seq: u64, tx_tsc: u64, rx_tsc: u64, hz: u64, bytes: u64) {
        self.received += 1;
        self.bytes += bytes;
        match self.max_seq {
            Some(m) if seq < m => self.reordered += 1,
            _ => self.max_seq = Some(seq),
        }
        match rx_tsc.checked_sub(tx_tsc) {
            Some(cycles) => self.hist.saturating_record(tsc_to_ns(cycles, hz).min(MAX_LATENCY_NS)),
            None => self.bad_clock += 1,
        }
    }

    pub fn latency(&self) -> LatencySummary {
        LatencySummary::of(&self.hist)
    }
}

/// Latency percentiles in microseconds. hdrhistogram reports the upper edge of the bucket a
/// quantile falls in: exact below 2048 ns, within 0.1 % above.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    pub samples: u64,
    pub min_us: Option<f64>,
    pub mean_us: Option<f64>,
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
    pub p99_9_us: Option<f64>,
    pub max_us: Option<f64>,
}

impl LatencySummary {
    pub fn of(h: &Histogram<u64>) -> LatencySummary {
        let n = h.len();
        let us = |ns: u64| (n > 0).then_some(ns as f64 / 1000.0);
        LatencySummary {
            samples: n,
            min_us: us(h.min()),
            mean_us: (n > 0).then_some(h.mean() / 1000.0),
            p50_us: us(h.value_at_quantile(0.5)),
            p99_us: us(h.value_at_quantile(0.99)),
            p99_9_us: us(h.value_at_quantile(0.999)),
            max_us: us(h.max()),
        }
    }
}

/// Sent minus received, never negative (a duplicate shows as `received > sent` instead).
pub fn lost(sent: u64, received: u64) -> u64 {
    sent.saturating_sub(received)
}

/// Counters one lcore writes (single writer: relaxed stores of its local totals) and the
/// main lcore reads for the live line and the drain check.
#[derive(Default)]
pub struct LiveStream {
    pub sent: AtomicU64,
    pub sent_bytes: AtomicU64,
    pub received: AtomicU64,
    pub received_bytes: AtomicU64,
}

impl LiveStream {
    pub fn publish_tx(&self, packets: u64, bytes: u64) {
        self.sent.store(packets, Relaxed);
        self.sent_bytes.store(bytes, Relaxed);
    }

    pub fn publish_rx(&self, packets: u64, bytes: u64) {
        self.received.store(packets, Relaxed);
        self.received_bytes.store(bytes, Relaxed);
    }
}

/// Totals over all streams: (sent, sent bytes, received, received bytes).
pub fn totals(streams: &[LiveStream]) -> (u64, u64, u64, u64) {
    streams.iter().fold((0, 0, 0, 0), |t, s| {
        (
            t.0 + s.sent.load(Relaxed),
            t.1 + s.sent_bytes.load(Relaxed),
            t.2 + s.received.load(Relaxed),
            t.3 + s.received_bytes.load(Relaxed),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HZ: u64 = 1_000_000_000; // 1 cycle = 1 ns

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut s = StreamRx::new();
        // 1..=1000 ns, once each, all exactly representable (below 2048).
        for (seq, ns) in (1..=1000u64).enumerate() {
            s.record(seq as u64, 5_000, 5_000 + ns, HZ, 64);
        }
        let l = s.latency();
        assert_eq!(l.samples, 1000);
        assert_eq!(l.min_us, Some(0.001));
        assert_eq!(l.p50_us, Some(0.5));
        assert_eq!(l.p99_us, Some(0.99));
        assert_eq!(l.p99_9_us, Some(0.999));
        assert_eq!(l.max_us, Some(1.0));
        assert_eq!(l.mean_us, Some(0.5005));
        assert_eq!((s.received, s.bytes, s.reordered, s.bad_clock), (1000, 64_000, 0, 0));
    }

    #[test]
    fn tsc_cycles_are_converted_to_ns() {
        let mut s = StreamRx::new();
        s.record(0, 0, 3_000, 3_000_000_000, 100); // 3000 cycles at 3 GHz = 1 µs
        assert_eq!(s.latency().max_us, Some(1.0));
    }

    #[test]
    fn empty_stream_has_no_percentiles() {
        let l = StreamRx::new().latency();
        assert_eq!(l.samples, 0);
        assert_eq!((l.min_us, l.p50_us, l.p99_9_us, l.max_us, l.mean_us), (None, None, None, None, None));
    }

    #[test]
    fn clock_going_backwards_is_counted_not_recorded() {
        let mut s = StreamRx::new();
        s.record(0, 10, 5, HZ, 64);
        assert_eq!((s.received, s.bad_clock, s.latency().samples), (1, 1, 0));
    }

    #[test]
    fn huge_latencies_saturate() {
        let mut s = StreamRx::new();
        s.record(0, 0, u64::MAX, HZ, 64);
        let max = s.latency().max_us.expect("one sample");
        assert!(max >= MAX_LATENCY_NS as f64 / 1000.0 * 0.999, "{max}");
    }

    #[test]
    fn reordering_counts_late_sequence_numbers() {
        let mut s = StreamRx::new();
        for seq in [0u64, 1, 3, 2, 4, 4] {
            s.record(seq, 0, 1, HZ, 64);
        }
        // 2 arrived after 3; the second 4 is not lower than 4.
        assert_eq!(s.reordered, 1);
    }

    #[test]
    fn loss_and_totals() {
        assert_eq!(lost(10, 7), 3);
        assert_eq!(lost(7, 10), 0);
        let live: Vec<LiveStream> = (0..2).map(|_| LiveStream::default()).collect();
        live[0].publish_tx(5, 500);
        live[1].publish_tx(3, 300);
        live[1].publish_rx(2, 200);
        assert_eq!(totals(&live), (8, 800, 2, 200));
    }
}
