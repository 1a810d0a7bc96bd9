//! The transmit loop: per TX port a pacer, a packet source and a tx buffer. Packets are
//! stamped with the TSC as they are built, right before they are queued; a stream counts a
//! packet as sent only once the driver took it (the tx buffer keeps order, so a FIFO of
//! stream indices beside it says whose packets a flush sent).
use std::collections::VecDeque;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::Arc;

use relay::pipeline::PacketBuf;
use relay::runtime::worker::RX_BURST;
use relay::runtime::{rdtsc, Mempool, TxBuffer};

use super::super::build::{Source, MAX_LEN};
use super::super::rate::{secs_to_tsc, Pacer, Rate, FCS_LEN};
use super::super::stamp;
use super::{Shared, StreamTable};

/// Where a port's packets come from.
pub enum Packets {
    Generated(Source),
    /// Replayed frames; stamps in them get this port's sequence numbers and the TX TSC.
    Replay { frames: Arc<Vec<Vec<u8>>>, next: usize, seq: Vec<u64>, unstamped: usize, run: u8 },
}

/// `--rate-percent` on a port with no known line rate: run unpaced first and take what the
/// port accepted as 100 %.
#[derive(Debug, Clone, Copy)]
pub struct Calibration {
    pub percent: f64,
    pub secs: f64,
    /// Pause after calibrating, so its backlog drains before measured traffic starts.
    pub settle_secs: f64,
}

pub struct TxPort {
    pub name: String,
    pub port: u16,
    pub packets: Packets,
    pub rate: Rate,
    pub calibration: Option<Calibration>,
}

#[derive(Debug, Clone, Default)]
pub struct PortResult {
    pub name: String,
    pub sent: u64,
    pub dropped: u64,
    pub alloc_failed: u64,
    pub skipped_deadlines: u64,
    pub pps: Option<u64>,
    pub calibrated_max_pps: Option<f64>,
    pub calibration_sent: u64,
}

#[derive(Debug, Clone, Default)]
pub struct TxOutcome {
    pub ports: Vec<PortResult>,
    /// Per dense stream: packets, bytes (FCS included), smallest and largest frame.
    pub sent: Vec<(u64, u64, u16, u16)>,
    /// When measured traffic started and when its last packet was sent.
    pub start_tsc: u64,
    pub end_tsc: u64,
}

enum Phase {
    /// Until the receive side has polled once (see `Shared::rx_ready`).
    Waiting,
    Calibrating { until: u64, started: u64 },
    Settling { until: u64 },
    Running,
    Flushing { until: u64 },
    Done,
}

struct PortState {
    cfg: TxPort,
    buf: TxBuffer,
    pacer: Pacer,
    phase: Phase,
    end: Option<u64>,
    inflight: VecDeque<(u32, u32)>,
    res: PortResult,
}

pub struct TxEngine {
    ports: Vec<PortState>,
    pool: Arc<Mempool>,
    table: Arc<StreamTable>,
    sent: Vec<(u64, u64, u16, u16)>,
    scratch: Vec<u8>,
    hz: u64,
    duration_tsc: Option<u64>,
    count: Option<u64>,
    start: Option<u64>,
    /// First deadline of measured traffic (after any calibration) and the last time the
    /// driver took measured packets: the interval the throughput is computed over.
    run_start: Option<u64>,
    last_tx: u64,
    last_publish: u64,
}

impl TxEngine {
    pub fn new(ports: Vec<TxPort>, pool: Arc<Mempool>, table: Arc<StreamTable>, hz: u64, duration: Option<f64>, count: Option<u64>) -> TxEngine {
        let ports = ports
            .into_iter()
            .map(|cfg| {
                let res = PortResult { name: cfg.name.clone(), pps: rate_pps(cfg.rate), ..Default::default() };
                PortState {
                    buf: TxBuffer::new(cfg.port, 0),
                    cfg,
                    pacer: Pacer::new(Rate::Unlimited, hz, 0, Some(0)),
                    phase: Phase::Waiting,
                    end: None,
                    inflight: VecDeque::new(),
                    res,
                }
            })
            .collect();
        TxEngine {
            ports,
            pool,
            sent: vec![(0, 0, u16::MAX, 0); table.len()],
            table,
            scratch: vec![0; MAX_LEN],
            hz,
            duration_tsc: duration.map(|d| secs_to_tsc(d, hz)),
            count,
            start: None,
            run_start: None,
            last_tx: 0,
            last_publish: 0,
        }
    }

    /// Starts every port's schedule at `now`.
    fn begin(&mut self, now: u64) {
        self.start = Some(now);
        for p in &mut self.ports {
            match p.cfg.calibration {
                Some(c) => {
                    p.phase = Phase::Calibrating { until: now.saturating_add(secs_to_tsc(c.secs, self.hz)), started: now };
                    p.pacer = Pacer::new(Rate::Unlimited, self.hz, now, None);
                }
                None => {
                    self.run_start = Some(now);
                    p.phase = Phase::Running;
                    p.pacer = Pacer::new(p.cfg.rate, self.hz, now, self.count);
                    p.end = self.duration_tsc.map(|d| now.saturating_add(d));
                }
            }
        }
    }

    pub fn finished(&self) -> bool {
        self.ports.iter().all(|p| matches!(p.phase, Phase::Done))
    }

    /// One pass over the ports; returns the packets queued.
    pub fn poll(&mut self, now: u64, shared: &Shared) -> usize {
        let stop = shared.stop_tx.load(Relaxed);
        if self.start.is_none() {
            if !shared.rx_ready.load(Acquire) && !stop {
                return 0;
            }
            self.begin(now);
        }
        let mut work = 0;
        for i in 0..self.ports.len() {
            work += self.poll_port(i, now, stop);
        }
        if now.wrapping_sub(self.last_publish) >= self.hz / 1000 {
            self.last_publish = now;
            self.publish(shared);
        }
        work
    }

    fn poll_port(&mut self, i: usize, now: u64, stop: bool) -> usize {
        let Some(p) = self.ports.get_mut(i) else { return 0 };
        match p.phase {
            Phase::Calibrating { until, started } if now >= until || stop => {
                let secs = (now.saturating_sub(started)) as f64 / self.hz as f64;
                let max = p.res.calibration_sent as f64 / secs.max(1e-9);
                let c = p.cfg.calibration.map_or(100.0, |c| c.percent);
                let pps = super::super::rate::percent_of(max, c);
                p.res.calibrated_max_pps = Some(max);
                p.res.pps = Some(pps);
                p.cfg.rate = Rate::Pps(pps);
                let settle = secs_to_tsc(p.cfg.calibration.map_or(0.0, |c| c.settle_secs), self.hz);
                p.phase = Phase::Settling { until: now.saturating_add(settle) };
                if let Packets::Generated(s) = &mut p.cfg.packets {
                    s.set_calibration(false);
                }
                return 0;
            }
            Phase::Settling { until } if now >= until || stop => {
                self.run_start = Some(self.run_start.map_or(now, |r| r.min(now)));
                p.pacer = Pacer::new(p.cfg.rate, self.hz, now, self.count);
                p.end = self.duration_tsc.map(|d| now.saturating_add(d));
                p.phase = Phase::Running;
            }
            Phase::Settling { .. } => return 0,
            Phase::Running if stop || p.pacer.done() || p.end.is_some_and(|e| now >= e) => {
                p.res.skipped_deadlines = p.pacer.skipped();
                p.phase = Phase::Flushing { until: now.saturating_add(self.hz / 10) };
                return 0;
            }
            Phase::Flushing { until } => {
                let s = p.buf.flush();
                credit(p, &mut self.sent, s);
                if s > 0 {
                    self.last_tx = now;
                }
                if p.buf.is_empty() || now >= until {
                    p.res.dropped += p.buf.drop_all() as u64;
                    p.inflight.clear();
                    p.phase = Phase::Done;
                }
                return s;
            }
            Phase::Done | Phase::Waiting => return 0,
            _ => {}
        }
        if let (Phase::Calibrating { .. }, Packets::Generated(s)) = (&p.phase, &mut p.cfg.packets) {
            s.set_calibration(true);
        }
        let room = RX_BURST.saturating_sub(p.buf.len());
        let n = p.pacer.take(now, room);
        let mut built = 0;
        for _ in 0..n {
            let Some(mut m) = self.pool.alloc() else {
                p.res.alloc_failed += 1;
                break;
            };
            let tsc = rdtsc();
            let Some((stream, len)) = next_frame(&mut p.cfg.packets, &self.table, tsc, &mut self.scratch) else { break };
            let Some(frame) = self.scratch.get(..len) else { break };
            if !m.extend_from_slice(frame) {
                p.res.alloc_failed += 1;
                break;
            }
            debug_assert_eq!(m.data().len(), len);
            let calibrating = matches!(p.phase, Phase::Calibrating { .. });
            p.inflight.push_back((if calibrating { u32::MAX } else { stream }, (len + FCS_LEN) as u32));
            let (s, d) = p.buf.push(m);
            credit(p, &mut self.sent, s);
            for _ in 0..d {
                p.inflight.pop_back();
                p.res.dropped += 1;
            }
            built += 1;
        }
        if built < n {
            p.pacer.give_back((n - built) as u64);
        }
        let s = p.buf.flush();
        credit(p, &mut self.sent, s);
        if matches!(p.phase, Phase::Running) && built > 0 {
            self.last_tx = now;
        }
        built
    }

    fn publish(&self, shared: &Shared) {
        for (live, &(pk, by, _, _)) in shared.live.iter().zip(&self.sent) {
            live.publish_tx(pk, by);
        }
    }

    pub fn finish(mut self, shared: &Shared) -> TxOutcome {
        let end = rdtsc();
        let run_start = self.run_start.unwrap_or(end);
        for p in &mut self.ports {
            p.res.dropped += p.buf.drop_all() as u64;
        }
        self.publish(shared);
        TxOutcome { ports: self.ports.into_iter().map(|p| p.res).collect(), sent: self.sent, start_tsc: run_start, end_tsc: self.last_tx.max(run_start) }
    }
}

fn rate_pps(r: Rate) -> Option<u64> {
    match r {
        Rate::Pps(p) => Some(p),
        Rate::Unlimited => None,
    }
}

/// Credits the first `n` packets of the port's FIFO to their streams.
fn credit(p: &mut PortState, sent: &mut [(u64, u64, u16, u16)], n: usize) {
    for _ in 0..n {
        let Some((stream, bytes)) = p.inflight.pop_front() else { return };
        p.res.sent += 1;
        if stream == u32::MAX {
            p.res.calibration_sent += 1;
        } else if let Some(s) = sent.get_mut(stream as usize) {
            s.0 += 1;
            s.1 += u64::from(bytes);
            let b = bytes as u16;
            s.2 = s.2.min(b);
            s.3 = s.3.max(b);
        }
    }
}

/// Builds the next frame into `scratch`: (dense stream index, length).
fn next_frame(packets: &mut Packets, table: &StreamTable, tsc: u64, scratch: &mut [u8]) -> Option<(u32, usize)> {
    match packets {
        Packets::Generated(src) => {
            let (kind, len) = src.next(tsc, scratch)?;
            let dense = table.lookup(src.stream_id(kind)).map_or(u32::MAX, |d| d as u32);
            Some((dense, len))
        }
        Packets::Replay { frames, next, seq, unstamped, run } => {
            let frame = frames.get(*next % frames.len().max(1))?;
            *next = (*next + 1) % frames.len().max(1);
            let out = scratch.get_mut(..frame.len())?;
            out.copy_from_slice(frame);
            let dense = stamp::read(out)
                .and_then(|st| table.lookup(st.stream))
                .and_then(|d| {
                    let s = seq.get_mut(d)?;
                    stamp::restamp(out, *run, *s, tsc)?;
                    *s += 1;
                    Some(d as u32)
                })
                .unwrap_or(*unstamped as u32);
            Some((dense, frame.len()))
        }
    }
}
