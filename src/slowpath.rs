//! The control core's slow path on DPDK: pops what the workers punted, runs the pure
//! [`SlowPath`] on those mbufs and on its timers, and lends it the runtime: the control
//! tables (neighbour changes reach every worker like route changes), fresh mbufs from the
//! pool, and the workers' inject rings. It also moves the control TAPs' traffic: what the
//! workers queued for the kernel, and what the kernel sends out of the ports.
use std::sync::Arc;
use std::time::Instant;

use crossbeam::queue::ArrayQueue;
use relay::pipeline::neigh::State;
use relay::pipeline::{Counters, Settings, SlowIo, SlowPath, TableError, TableUpdate, Tables};
use relay::runtime::control::{ApplyError, ControlPlane};
use relay::runtime::{Mbuf, Mempool};

use crate::kernel::tap::ControlTaps;

/// Frames taken from each punt ring per poll, so the control socket is never starved.
const BATCH: usize = 64;

pub struct SlowCore {
    path: SlowPath<Mbuf>,
    pool: Arc<Mempool>,
    punt: Vec<Arc<ArrayQueue<Mbuf>>>,
    inject: Vec<Arc<ArrayQueue<(u16, Mbuf)>>>,
    /// The workers' rings of frames for the kernel.
    kernel: Vec<Arc<ArrayQueue<Mbuf>>>,
    taps: ControlTaps,
    start: Instant,
}

/// What [`SlowPath`] may touch while it runs.
struct Io<'a> {
    control: &'a mut ControlPlane,
    pool: &'a Mempool,
    inject: &'a [Arc<ArrayQueue<(u16, Mbuf)>>],
    taps: &'a mut ControlTaps,
}

/// Queues `buf` on the inject ring of `port`'s worker.
fn inject(rings: &[Arc<ArrayQueue<(u16, Mbuf)>>], port: u16, buf: Mbuf) -> bool {
    // One worker per port: what the slow path sends on a port leaves in order.
    let n = rings.len().max(1);
    match rings.get(usize::from(port) % n) {
        Some(ring) => ring.push((port, buf)).is_ok(),
        None => false,
    }
}

impl SlowIo<Mbuf> for Io<'_> {
    fn tables(&self) -> &Tables {
        self.control.tables()
    }

    fn update(&mut self, update: TableUpdate) -> Result<(), TableError> {
        self.control.apply(vec![update]).map(|_| ()).map_err(ApplyError::reason)
    }

    fn frame(&mut self, frame: &[u8]) -> Option<Mbuf> {
        let mut m = self.pool.alloc()?;
        m.extend_from_slice(frame).then_some(m)
    }

    fn send(&mut self, port: u16, buf: Mbuf) -> bool {
        inject(self.inject, port, buf)
    }

    fn to_kernel(&mut self, port: u16, frame: &[u8]) {
        self.taps.to_kernel(port, frame);
    }
}

impl SlowCore {
    /// `spontaneous`: announce our addresses and send periodic router advertisements
    /// (off for offline runs, whose output must be the input's).
    pub fn new(
        settings: &Settings,
        macs: &[[u8; 6]],
        pool: Arc<Mempool>,
        punt: &[Arc<ArrayQueue<Mbuf>>],
        inject: &[Arc<ArrayQueue<(u16, Mbuf)>>],
        kernel: &[Arc<ArrayQueue<Mbuf>>],
        taps: ControlTaps,
        spontaneous: bool,
    ) -> SlowCore {
        let mut path = SlowPath::new(settings, macs);
        path.set_spontaneous(spontaneous);
        SlowCore {
            path,
            pool,
            punt: punt.to_vec(),
            inject: inject.to_vec(),
            kernel: kernel.to_vec(),
            taps,
            start: Instant::now(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Handles what the workers punted and runs the timers; true if anything was punted.
    pub fn poll(&mut self, control: &mut ControlPlane) -> bool {
        let now = self.now();
        let mut io = Io { control, pool: &self.pool, inject: &self.inject, taps: &mut self.taps };
        let mut busy = false;
        for ring in &self.punt {
            for _ in 0..BATCH {
                let Some(m) = ring.pop() else { break };
                busy = true;
                self.path.handle(now, m, &mut io);
            }
        }
        self.path.tick(now, &mut io);
        if !self.taps.is_empty() {
            busy |= self.taps.drain(&self.kernel);
            let rings = &self.inject;
            busy |= self.taps.pump(&self.pool, |port, m| inject(rings, port, m));
        }
        busy
    }

    pub fn taps(&self) -> &ControlTaps {
        &self.taps
    }

    pub fn counters(&self) -> &Counters {
        self.path.counters()
    }

    /// Punted frames that will not go back out (dropped, or learned from).
    pub fn dropped(&self) -> u64 {
        self.path.dropped()
    }

    /// The `neigh` answer: static and learned neighbours with their state.
    pub fn neighbours_text(&self, tables: &Tables) -> String {
        self.path.neighbours_text(tables, self.now())
    }

    /// Neighbour entries by state (static ones first, then every learned state, zeros
    /// included so each series always exists) and the packets waiting for resolution.
    pub fn neighbour_states(&self, tables: &Tables) -> (Vec<(&'static str, u64)>, usize) {
        let neigh = self.path.neighbours();
        let statics = tables.neighbours().into_iter().filter(|&(a, _)| neigh.is_static(a)).count() as u64;
        let learned = [State::Incomplete, State::Reachable, State::Stale, State::Probe];
        let mut out = vec![("static", statics)];
        out.extend(learned.iter().map(|s| (s.name(), 0)));
        for e in neigh.entries(self.now()) {
            if let Some(slot) = out.iter_mut().skip(1).find(|(n, _)| *n == e.state.name()) {
                slot.1 += 1;
            }
        }
        (out, neigh.waiting())
    }

    /// After a reload swapped the tables in: the learned neighbours go to the workers again.
    pub fn reloaded(&mut self, settings: &Settings, control: &mut ControlPlane) {
        let mut io = Io { control, pool: &self.pool, inject: &self.inject, taps: &mut self.taps };
        self.path.reloaded(settings, &mut io);
    }

    /// Frees the packets waiting for resolution (shutdown, before the pool check).
    pub fn shutdown(&mut self) {
        self.path.clear();
        for q in &self.kernel {
            while q.pop().is_some() {}
        }
    }
}
