//! Rate control: TSC deadline pacing and line-rate arithmetic, free of DPDK so it is tested
//! exactly.
//!
//! Packet `k` (from 0) of a paced stream is due at `start + k · hz / pps` TSC cycles. The sender
//! asks [`Pacer::take`] how many packets are due now (at most one burst) and sends them. The
//! schedule is computed from the start every time (no accumulated rounding): after any number
//! of calls, `issued + skipped == floor((now − start) · pps / hz) + 1` whenever the sender
//! keeps up.
//!
//! A sender that falls behind (its lcore was preempted: the cores here are shared) catches up
//! at most [`Pacer::backlog`] packets at once; older missed slots are skipped and counted, so a
//! stall never turns into one huge burst. The achieved rate is what the report shows.

/// Ethernet preamble + start delimiter (8 bytes) and the inter-frame gap (12 bytes): the wire
/// time a frame costs beyond its own bytes (which include the 4-byte FCS).
pub const WIRE_OVERHEAD: u64 = 20;
/// The FCS the NIC appends: frame sizes on the command line include it, mbufs do not.
pub const FCS_LEN: usize = 4;
/// Packets per burst, as the rest of the runtime.
pub const BURST: usize = 32;

/// How fast one sender goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// As fast as the port accepts packets.
    Unlimited,
    /// Packets per second.
    Pps(u64),
}

#[derive(Debug, Clone)]
pub struct Pacer {
    hz: u64,
    pps: u64,
    start: u64,
    issued: u64,
    skipped: u64,
    limit: Option<u64>,
    backlog: u64,
}

impl Pacer {
    /// A pacer starting at TSC `start` with `hz` cycles per second. `limit` caps the packets
    /// it ever issues (`--count`).
    pub fn new(rate: Rate, hz: u64, start: u64, limit: Option<u64>) -> Pacer {
        let pps = match rate {
            Rate::Unlimited => 0,
            Rate::Pps(p) => p,
        };
        Pacer { hz: hz.max(1), pps, start, issued: 0, skipped: 0, limit, backlog: 4 * BURST as u64 }
    }

    /// How many missed packets a late sender may still catch up at once (default 4 bursts).
    pub fn with_backlog(mut self, packets: u64) -> Pacer {
        self.backlog = packets.max(1);
        self
    }

    pub fn backlog(&self) -> u64 {
        self.backlog
    }

    /// The packets due at `now` and not issued yet, at most `max`; they count as issued.
    pub fn take(&mut self, now: u64, max: usize) -> usize {
        let mut n = max as u64;
        if self.pps != 0 {
            let due = self.due_slots(now);
            let mut pending = due.saturating_sub(self.issued + self.skipped);
            if pending > self.backlog {
                self.skipped += pending - self.backlog;
                pending = self.backlog;
            }
            n = n.min(pending);
        }
        if let Some(limit) = self.limit {
            n = n.min(limit.saturating_sub(self.issued));
        }
        self.issued += n;
        n as usize
    }

    /// Slots (packets) whose deadline is at or before `now`.
    fn due_slots(&self, now: u64) -> u64 {
        let Some(elapsed) = now.checked_sub(self.start) else { return 0 };
        let slots = elapsed as u128 * self.pps as u128 / self.hz as u128 + 1;
        u64::try_from(slots).unwrap_or(u64::MAX)
    }

    /// The TSC at which the next packet is due (`None`: unlimited, or the count is done).
    pub fn next_due(&self) -> Option<u64> {
        if self.pps == 0 || self.done() {
            return None;
        }
        let k = (self.issued + self.skipped) as u128;
        // The smallest t with floor(t·pps/hz) ≥ k is ceil(k·hz/pps).
        let t = (k * self.hz as u128).div_ceil(self.pps as u128);
        Some(self.start.saturating_add(u64::try_from(t).unwrap_or(u64::MAX)))
    }

    /// Returns `n` issued packets that could not be sent (no mbuf): they are due again.
    pub fn give_back(&mut self, n: u64) {
        self.issued -= n.min(self.issued);
    }

    pub fn issued(&self) -> u64 {
        self.issued
    }

    /// Deadlines missed while the sender was stalled (never sent).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// True once `limit` packets were issued.
    pub fn done(&self) -> bool {
        self.limit.is_some_and(|l| self.issued >= l)
    }
}

/// Converts seconds to TSC cycles (saturating).
pub fn secs_to_tsc(secs: f64, hz: u64) -> u64 {
    let t = secs.max(0.0) * hz as f64;
    if t >= u64::MAX as f64 {
        u64::MAX
    } else {
        t as u64
    }
}

/// Converts a TSC interval to nanoseconds without overflow.
pub fn tsc_to_ns(cycles: u64, hz: u64) -> u64 {
    u64::try_from(cycles as u128 * 1_000_000_000 / hz.max(1) as u128).unwrap_or(u64::MAX)
}

/// The packets per second that fill a `link_mbps` link with frames of `avg_frame` bytes on
/// average (FCS included): each frame also costs [`WIRE_OVERHEAD`] bytes of wire time.
/// 10 000 Mbit/s with 64-byte frames is the classic 14 880 952 pps.
pub fn line_rate_pps(link_mbps: u64, avg_frame: f64) -> f64 {
    if avg_frame <= 0.0 {
        return 0.0;
    }
    link_mbps as f64 * 1e6 / ((avg_frame + WIRE_OVERHEAD as f64) * 8.0)
}

/// `percent` of `max_pps`, rounded down, at least 1 packet per second.
pub fn percent_of(max_pps: f64, percent: f64) -> u64 {
    ((max_pps * percent / 100.0).floor() as u64).max(1)
}

/// Mpps and Gbit/s (frame bytes with FCS, without preamble and gap) over `secs`.
pub fn throughput(packets: u64, frame_bytes: u64, secs: f64) -> (f64, f64) {
    if secs <= 0.0 {
        return (0.0, 0.0);
    }
    (packets as f64 / secs / 1e6, frame_bytes as f64 * 8.0 / secs / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paces_one_packet_per_interval() {
        // 1000 cycles per second, 100 pps: one packet every 10 cycles, the first at start.
        let mut p = Pacer::new(Rate::Pps(100), 1000, 500, None);
        assert_eq!(p.take(499, 32), 0);
        assert_eq!(p.take(500, 32), 1);
        assert_eq!(p.take(509, 32), 0);
        assert_eq!(p.next_due(), Some(510));
        assert_eq!(p.take(510, 32), 1);
        assert_eq!(p.take(545, 32), 3); // slots at 520, 530, 540
        assert_eq!(p.issued(), 5);
        assert_eq!(p.skipped(), 0);
    }

    #[test]
    fn a_burst_is_capped_and_the_rest_stays_due() {
        let mut p = Pacer::new(Rate::Pps(1000), 1000, 0, None); // one per cycle
        assert_eq!(p.take(40, 32), 32); // 41 due
        assert_eq!(p.take(40, 32), 9);
        assert_eq!(p.take(40, 32), 0);
        assert_eq!(p.skipped(), 0);
    }

    #[test]
    fn fractional_intervals_do_not_drift() {
        // 3 pps on a 10 Hz clock: deadlines at 0, 10/3, 20/3, 10, ... → cycles 0, 4, 7, 10.
        let mut p = Pacer::new(Rate::Pps(3), 10, 0, None);
        let mut sent_at = Vec::new();
        for now in 0..=30u64 {
            for _ in 0..p.take(now, 32) {
                sent_at.push(now);
            }
        }
        assert_eq!(sent_at, vec![0, 4, 7, 10, 14, 17, 20, 24, 27, 30]);
    }

    #[test]
    fn long_runs_at_real_clock_rates_stay_exact() {
        let hz = 2_900_000_000u64;
        let pps = 14_880_952u64;
        let mut p = Pacer::new(Rate::Pps(pps), hz, 7, None).with_backlog(u64::MAX);
        let now = 7 + hz * 3600; // one hour later, in one call
        let n = p.take(now, usize::MAX);
        assert_eq!(n as u64, pps * 3600 + 1);
        assert_eq!(p.next_due(), Some(7 + (((pps * 3600 + 1) as u128 * hz as u128).div_ceil(pps as u128)) as u64));
    }

    #[test]
    fn a_stalled_sender_catches_up_only_the_backlog() {
        let mut p = Pacer::new(Rate::Pps(1000), 1000, 0, None).with_backlog(64);
        assert_eq!(p.take(0, 32), 1);
        // 1000 slots pass unserved: 64 may still go, 936 are skipped.
        let mut caught_up = 0;
        loop {
            let n = p.take(1000, 32);
            if n == 0 {
                break;
            }
            caught_up += n;
        }
        assert_eq!(caught_up, 64);
        assert_eq!(p.skipped(), 1001 - 1 - 64);
        assert_eq!(p.issued() + p.skipped(), 1001);
        assert_eq!(p.take(1001, 32), 1);
    }

    #[test]
    fn count_limit_is_never_exceeded() {
        let mut p = Pacer::new(Rate::Unlimited, 1000, 0, Some(70));
        assert_eq!(p.take(0, 32), 32);
        assert_eq!(p.take(0, 32), 32);
        assert!(!p.done());
        assert_eq!(p.take(0, 32), 6);
        assert!(p.done());
        p.give_back(2);
        assert!(!p.done());
        assert_eq!(p.take(0, 32), 2);
        assert_eq!(p.take(1_000_000, 32), 0);
        assert_eq!(p.next_due(), None);
        let mut paced = Pacer::new(Rate::Pps(10), 10, 0, Some(3));
        assert_eq!(paced.take(100, 32), 3);
        assert_eq!(paced.issued(), 3);
    }

    #[test]
    fn unlimited_gives_whole_bursts() {
        let mut p = Pacer::new(Rate::Unlimited, 1000, 0, None);
        assert_eq!(p.take(0, 32), 32);
        assert_eq!(p.take(0, 7), 7);
        assert_eq!(p.next_due(), None);
    }

    #[test]
    fn clock_before_start_issues_nothing() {
        let mut p = Pacer::new(Rate::Pps(1), 1, 1000, None);
        assert_eq!(p.take(10, 32), 0);
        assert_eq!(p.next_due(), Some(1000));
    }

    #[test]
    fn line_rate_matches_the_textbook_numbers() {
        assert_eq!(line_rate_pps(10_000, 64.0).floor(), 14_880_952.0);
        assert_eq!(line_rate_pps(10_000, 1518.0).floor(), 812_743.0);
        assert_eq!(line_rate_pps(100_000, 64.0).floor(), 148_809_523.0);
        assert_eq!(line_rate_pps(10_000, 0.0), 0.0);
        assert_eq!(percent_of(14_880_952.0, 50.0), 7_440_476);
        assert_eq!(percent_of(10.0, 1.0), 1);
    }

    #[test]
    fn conversions() {
        assert_eq!(secs_to_tsc(1.5, 2_000_000_000), 3_000_000_000);
        assert_eq!(secs_to_tsc(-1.0, 1000), 0);
        assert_eq!(secs_to_tsc(f64::INFINITY, 1000), u64::MAX);
        assert_eq!(tsc_to_ns(3_000, 3_000_000_000), 1_000);
        assert_eq!(tsc_to_ns(u64::MAX, 1), u64::MAX);
        let (mpps, gbps) = throughput(2_000_000, 2_000_000 * 125, 2.0);
        assert_eq!((mpps, gbps), (1.0, 1.0));
        assert_eq!(throughput(5, 5, 0.0), (0.0, 0.0));
    }
}
