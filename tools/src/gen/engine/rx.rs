//! The receive loop: one TSC read per burst, the stamp of each packet looked up, latency into
//! the stream's histogram. Owns its histograms; hands them back when stopped.
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use relay::pipeline::PacketBuf;
use relay::runtime::{rdtsc, RxBurst};

use super::super::rate::FCS_LEN;
use super::super::stamp::{self, CALIBRATION_STREAM};
use super::super::stats::StreamRx;
use super::{Shared, StreamTable};

pub struct RxEngine {
    ports: Vec<u16>,
    burst: RxBurst,
    table: Arc<StreamTable>,
    streams: Vec<StreamRx>,
    hz: u64,
    /// Only stamps of this run count.
    run: u8,
    foreign: u64,
    calibration: u64,
    last_publish: u64,
}

pub struct RxOutcome {
    pub streams: Vec<StreamRx>,
    pub foreign: u64,
    pub calibration: u64,
}

impl RxEngine {
    pub fn new(ports: Vec<u16>, table: Arc<StreamTable>, hz: u64, run: u8) -> RxEngine {
        let streams = (0..table.len()).map(|_| StreamRx::new()).collect();
        // last_publish 0: the first poll publishes, and so signals rx_ready.
        RxEngine { ports, burst: RxBurst::new(), table, streams, hz, run, foreign: 0, calibration: 0, last_publish: 0 }
    }

    /// One rx burst per port; returns the packets received.
    pub fn poll(&mut self, shared: &Shared) -> usize {
        let mut got = 0;
        for &port in &self.ports {
            let n = self.burst.recv(port, 0);
            if n == 0 {
                continue;
            }
            got += n;
            let now = rdtsc();
            for m in self.burst.as_slice() {
                let frame = m.data();
                match stamp::read(frame) {
                    Some(st) if st.run != self.run => self.foreign += 1,
                    Some(st) if st.stream == CALIBRATION_STREAM => self.calibration += 1,
                    Some(st) => match self.table.lookup(st.stream).and_then(|i| self.streams.get_mut(i)) {
                        Some(s) => s.record(st.seq, st.tsc, now, self.hz, (frame.len() + FCS_LEN) as u64),
                        None => self.foreign += 1,
                    },
                    None => self.foreign += 1,
                }
            }
            self.burst.clear();
        }
        let now = rdtsc();
        if now.wrapping_sub(self.last_publish) >= self.hz / 1000 {
            self.last_publish = now;
            self.publish(shared);
            shared.rx_ready.store(true, std::sync::atomic::Ordering::Release);
        }
        got
    }

    fn publish(&self, shared: &Shared) {
        for (live, s) in shared.live.iter().zip(&self.streams) {
            live.publish_rx(s.received, s.bytes);
        }
        shared.rx_foreign.store(self.foreign, Relaxed);
    }

    pub fn finish(mut self, shared: &Shared) -> RxOutcome {
        self.burst.clear();
        self.publish(shared);
        RxOutcome { streams: self.streams, foreign: self.foreign, calibration: self.calibration }
    }
}
