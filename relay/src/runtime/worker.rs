//! The per-lcore poll loop: rx burst → pipeline (or pass-through) → tx buffers, control changes
//! between bursts, drain timer, idle back-off, stats publishing.
use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crossbeam::queue::ArrayQueue;

use super::control::{ControlMsg, WorkerLink};
use super::stats::WorkerCounters;
use super::txbuf::TxBuffer;
use super::{rdtsc, tsc_hz, Mbuf, Port};
use crate::pipeline::{Pipeline, Tables, Verdict};

/// Packets per rx burst.
pub const RX_BURST: usize = 32;
/// Control messages a worker applies per loop at most, so forwarding never stalls on a flood
/// of changes.
pub const CONTROL_BUDGET: usize = 64;

/// What a worker does with the packets it receives.
pub enum Forwarding {
    /// Sends every packet from port `p` out of port `map[p]` unchanged (the benchmark baseline,
    /// and a wiring check).
    PassThrough { map: Vec<u16> },
    Pipeline(Box<Pipeline>),
}

/// Sleep after a run of empty polls, for lcores that share a core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleBackoff {
    pub after_empty_polls: u32,
    pub sleep: Duration,
}

pub struct WorkerSpec {
    pub index: usize,
    /// (port id, rx queue) pairs this worker polls; it owns them alone.
    pub rx: Vec<(u16, u16)>,
    /// Port ids this worker may send on, each through tx queue `index`.
    pub tx_ports: Vec<u16>,
    pub forwarding: Forwarding,
    /// The tables every worker reads; replaced, never changed, by the control core.
    pub tables: Arc<Tables>,
    pub idle: Option<IdleBackoff>,
    pub drain: Duration,
    pub link: WorkerLink,
    /// Exception path to the control core (ARP, ND, echo, …) and the replies coming back.
    pub punt: Arc<ArrayQueue<Mbuf>>,
    pub inject: Arc<ArrayQueue<(u16, Mbuf)>>,
    /// Frames for the kernel's control TAPs, apart from `punt`: a flood of them (policed
    /// already) never takes the room ARP and ND need.
    pub kernel: Arc<ArrayQueue<Mbuf>>,
    pub stop: Arc<AtomicBool>,
    /// Packets per rx burst, 1..=RX_BURST.
    pub burst: usize,
}

/// Runs the poll loop until `stop` is set; returns after every packet it held is sent or freed.
pub fn run(w: WorkerSpec) -> i32 {
    // One copy of the loop per mode: the pass-through loop stays small, and its speed does not
    // move with the layout of the pipeline's code.
    if matches!(w.forwarding, Forwarding::PassThrough { .. }) {
        poll::<true>(w)
    } else {
        poll::<false>(w)
    }
}

#[inline(never)]
fn poll<const PASS_THROUGH: bool>(mut w: WorkerSpec) -> i32 {
    let hz = tsc_hz().max(1);
    let drain_tsc = (w.drain.as_nanos() as u64).saturating_mul(hz) / 1_000_000_000;
    let publish_tsc = hz / 1000;
    let mut tx: Vec<TxBuffer> = Vec::new();
    let max_port = w.tx_ports.iter().copied().max().map_or(0, |p| p as usize + 1);
    let mut tx_slot = vec![usize::MAX; max_port];
    for &p in &w.tx_ports {
        tx_slot[p as usize] = tx.len();
        tx.push(TxBuffer::new(p, w.index as u16));
    }
    let mut c = WorkerCounters::default();
    let mut burst: [MaybeUninit<Mbuf>; RX_BURST] = [const { MaybeUninit::uninit() }; RX_BURST];
    let mut verdicts = [Verdict::Punt; RX_BURST];
    let mut now = rdtsc();
    let mut now_ns = tsc_to_ns(now, hz);
    let mut last_drain = now;
    let mut last_publish = now;
    let mut empty_run = 0u32;
    let burst_len = w.burst.clamp(1, RX_BURST);
    let exits = Exits { punt: w.punt.clone(), kernel: w.kernel.clone() };
    w.link.stats.running.store(true, Release);

    while !w.stop.load(Relaxed) {
        apply_control(&mut w, &mut c);
        let mut got = 0usize;
        for &(port, queue) in &w.rx {
            let n = Port::rx_burst(port, queue, &mut burst[..burst_len]);
            if n == 0 {
                continue;
            }
            got += n;
            c.rx_packets += n as u64;
            if PASS_THROUGH {
                if let Forwarding::PassThrough { map } = &w.forwarding {
                    let out = map.get(port as usize).copied().unwrap_or(port);
                    // SAFETY: rx_burst initialised the first n slots; send_burst moves them all.
                    let (sent, dropped) = match tx_slot.get(out as usize).and_then(|&i| tx.get_mut(i)) {
                        Some(b) => unsafe { b.send_burst(&mut burst[..n]) },
                        None => (0, free_all(&mut burst[..n])),
                    };
                    c.tx_packets += sent as u64;
                    c.tx_dropped += dropped as u64;
                }
            } else if let Forwarding::Pipeline(p) = &mut w.forwarding {
                // SAFETY: rx_burst initialised the first n slots with owned mbufs.
                let pkts: &mut [Mbuf] =
                    unsafe { &mut *(&mut burst[..n] as *mut [MaybeUninit<Mbuf>] as *mut [Mbuf]) };
                p.process_burst(&w.tables, now_ns, pkts, &mut verdicts[..n]);
                let v = &verdicts[..n];
                match v[0] {
                    // One egress for the whole burst (the usual case): no per-packet
                    // dispatch, and usually no copy into the tx buffer.
                    Verdict::Tx(out) if v.iter().all(|x| *x == v[0]) => {
                        if let Some(b) = tx_slot.get(out as usize).and_then(|&i| tx.get_mut(i)) {
                            // SAFETY: as above; send_burst moves every slot out.
                            let (sent, dropped) = unsafe { b.send_burst(&mut burst[..n]) };
                            c.tx_packets += sent as u64;
                            c.tx_dropped += dropped as u64;
                            continue;
                        }
                        dispatch_all(&mut burst[..n], v, &mut tx, &tx_slot, &exits, &mut c);
                    }
                    _ => dispatch_all(&mut burst[..n], v, &mut tx, &tx_slot, &exits, &mut c),
                }
            }
        }
        // is_empty is two plain loads; pop on an empty crossbeam queue costs a full fence.
        if !w.inject.is_empty() {
            while let Some((port, m)) = w.inject.pop() {
                c.injected += 1;
                dispatch(m, Verdict::Tx(port), &mut tx, &tx_slot, &exits, &mut c);
            }
        }

        c.polls += 1;
        if got == 0 {
            c.empty_polls += 1;
            empty_run += 1;
        } else {
            empty_run = 0;
            // The TSC costs tens of cycles to read: at full rate read it every 8th loop (a few
            // µs, far inside the 100 µs drain period), and on every idle loop.
            if c.polls & 7 != 0 {
                continue;
            }
        }
        now = rdtsc();
        now_ns = tsc_to_ns(now, hz);
        if now.wrapping_sub(last_drain) >= drain_tsc {
            last_drain = now;
            for b in &mut tx {
                c.tx_packets += b.flush() as u64;
            }
        }
        if now.wrapping_sub(last_publish) >= publish_tsc {
            last_publish = now;
            if let Forwarding::Pipeline(p) = &mut w.forwarding {
                p.expire_fragments(now_ns);
            }
            publish(&w, &c);
        }
        if let Some(idle) = w.idle {
            // Packets a port will not take (no memif peer yet, link down) keep the buffer
            // non-empty, not the worker busy: it sleeps on a stalled buffer as on an empty one.
            if empty_run >= idle.after_empty_polls && tx.iter().all(TxBuffer::is_idle) {
                c.idle_sleeps += 1;
                std::thread::sleep(idle.sleep);
            }
        }
    }

    // Shutdown: one last try to send what is queued, then free (and count) the rest.
    for b in &mut tx {
        c.tx_packets += b.flush() as u64;
        c.tx_dropped += b.drop_all() as u64;
    }
    while let Some((_, m)) = w.inject.pop() {
        drop(m);
        c.tx_dropped += 1;
    }
    apply_control(&mut w, &mut c);
    publish(&w, &c);
    w.link.stats.running.store(false, Release);
    0
}

/// The rings to the control core: the slow path's, and the kernel's.
struct Exits {
    punt: Arc<ArrayQueue<Mbuf>>,
    kernel: Arc<ArrayQueue<Mbuf>>,
}

/// Moves every packet of the burst to its verdict's destination.
#[inline(always)]
fn dispatch_all(
    burst: &mut [MaybeUninit<Mbuf>],
    verdicts: &[Verdict],
    tx: &mut [TxBuffer],
    tx_slot: &[usize],
    exits: &Exits,
    c: &mut WorkerCounters,
) {
    for (slot, verdict) in burst.iter_mut().zip(verdicts) {
        // SAFETY: each initialised slot is read exactly once; the array is not read again
        // until the next rx_burst overwrites it.
        let m = unsafe { slot.assume_init_read() };
        dispatch(m, *verdict, tx, tx_slot, exits, c);
    }
}

/// Frees a burst (its destination does not exist); returns how many.
fn free_all(burst: &mut [MaybeUninit<Mbuf>]) -> usize {
    for slot in burst.iter_mut() {
        // SAFETY: initialised and owned; read once and dropped (freed).
        drop(unsafe { slot.assume_init_read() });
    }
    burst.len()
}

#[inline(always)]
fn dispatch(
    m: Mbuf,
    verdict: Verdict,
    tx: &mut [TxBuffer],
    tx_slot: &[usize],
    exits: &Exits,
    c: &mut WorkerCounters,
) {
    match verdict {
        Verdict::Tx(port) => match tx_slot.get(port as usize).and_then(|&i| tx.get_mut(i)) {
            Some(b) => {
                let (sent, dropped) = b.push(m);
                c.tx_packets += sent as u64;
                c.tx_dropped += dropped as u64;
            }
            None => {
                drop(m);
                c.tx_dropped += 1;
            }
        },
        Verdict::Punt => {
            c.punted += 1;
            if let Err(m) = exits.punt.push(m) {
                drop(m);
                c.punt_dropped += 1;
            }
        }
        Verdict::Kernel => {
            c.to_kernel += 1;
            if let Err(m) = exits.kernel.push(m) {
                drop(m);
                c.kernel_dropped += 1;
            }
        }
        Verdict::Held => {
            // The pipeline copied the fragment; the mbuf is free.
            drop(m);
            c.frag_held += 1;
        }
        Verdict::Drop(_) => {
            // The pipeline counted the reason.
            drop(m);
            c.pipeline_dropped += 1;
        }
    }
}

#[inline(always)]
fn tsc_to_ns(tsc: u64, hz: u64) -> u64 {
    (tsc as u128 * 1_000_000_000 / hz as u128) as u64
}

#[inline(always)]
fn apply_control(w: &mut WorkerSpec, c: &mut WorkerCounters) {
    if w.link.to_worker.is_empty() {
        return;
    }
    apply_control_slow(w, c);
}

#[inline(never)]
fn apply_control_slow(w: &mut WorkerSpec, c: &mut WorkerCounters) {
    for _ in 0..CONTROL_BUDGET {
        let Some(msg) = w.link.to_worker.pop() else { break };
        c.control_applied += 1;
        match msg {
            ControlMsg::Tables(new) => {
                let old = std::mem::replace(&mut w.tables, new);
                // The control core reuses the old set once every worker has given it back; if
                // this ring is full the reference just drops here (the control core holds one
                // too, so nothing is freed on the worker).
                let _ = w.link.retired.push(old);
            }
            ControlMsg::Generation(g) => w.link.stats.generation.store(g, Release),
            ControlMsg::Audit => w.link.stats.audit.store(super::control::fingerprint(&w.tables), Release),
        }
    }
}

fn publish(w: &WorkerSpec, c: &WorkerCounters) {
    match &w.forwarding {
        Forwarding::Pipeline(p) => w.link.stats.publish(c, p.counters().iter().map(|(_, v)| v)),
        Forwarding::PassThrough { .. } => w.link.stats.publish(c, std::iter::empty()),
    }
}

/// True once the worker has published its final counters and stopped.
pub fn stopped(link: &WorkerLink) -> bool {
    !link.stats.running.load(Acquire)
}
