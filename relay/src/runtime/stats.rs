//! Counters the workers publish and the control core reads.
//!
//! Each worker counts in plain `u64`s it alone owns (no atomics, no locks per packet) and
//! copies them every millisecond into its own cache-aligned [`WorkerStats`]: single-writer
//! relaxed stores, which are plain moves on x86. Readers (control core, telemetry thread,
//! Prometheus) load the snapshots and add them up.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use super::{Port, PortStats};

/// The runtime's own per-worker counters, in the worker's local (non-atomic) form.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerCounters {
    pub rx_packets: u64,
    pub tx_packets: u64,
    /// Packets the NIC would not take and that were freed (counted, never leaked).
    pub tx_dropped: u64,
    /// Packets dropped by the pipeline (per reason in the pipeline counters).
    pub pipeline_dropped: u64,
    pub punted: u64,
    /// Exception-ring overflow: punted packets dropped because the slow path was behind.
    pub punt_dropped: u64,
    /// Packets for the kernel (control TAPs) queued on the worker's kernel ring.
    pub to_kernel: u64,
    /// Kernel ring overflow: the control core was behind writing to the TAPs.
    pub kernel_dropped: u64,
    /// Outer IPv4 fragments the pipeline copied into a datagram being reassembled; their
    /// mbufs were freed at once.
    pub frag_held: u64,
    pub injected: u64,
    pub control_applied: u64,
    pub idle_sleeps: u64,
    pub polls: u64,
    pub empty_polls: u64,
}

macro_rules! worker_counter_names {
    ($($f:ident => $help:literal),* $(,)?) => {
        impl WorkerCounters {
            pub const NAMES: &'static [&'static str] = &[$(stringify!($f)),*];
            /// One line per counter, for Prometheus' `# HELP`.
            pub const HELP: &'static [&'static str] = &[$($help),*];
            pub const COUNT: usize = Self::NAMES.len();
            pub fn values(&self) -> [u64; Self::COUNT] { [$(self.$f),*] }
        }
    };
}
worker_counter_names!(
    rx_packets => "Packets the workers received from their rx queues.",
    tx_packets => "Packets the workers handed to a NIC tx queue.",
    tx_dropped => "Packets a NIC tx queue would not take (freed and counted).",
    pipeline_dropped => "Packets the pipeline dropped; per reason in relay_pipeline_total{counter=~\"drop_.+\"}.",
    punted => "Packets handed to the control core's slow path (ARP, ND, echo, unresolved next hops).",
    punt_dropped => "Punted packets dropped because the worker's exception ring was full.",
    to_kernel => "Packets for the kernel's control-plane TAPs the workers queued (BGP, BFD, SSH, other ICMP).",
    kernel_dropped => "Packets for the kernel dropped because the worker's kernel ring was full.",
    frag_held => "Outer IPv4 fragments copied into a datagram being reassembled (their mbufs freed at once).",
    injected => "Frames of the slow path the workers sent (replies, solicitations, released packets).",
    control_applied => "Control messages (table swaps, generation markers, audits) the workers applied.",
    idle_sleeps => "Times a worker slept after idle_after_polls empty polls.",
    polls => "Rx polls of the workers.",
    empty_polls => "Rx polls that returned no packet.",
);

/// One worker's published counters, on cache lines of its own.
#[repr(align(64))]
pub struct WorkerStats {
    pub lcore: u32,
    pub cpu: i32,
    runtime: Box<[AtomicU64]>,
    pipeline: Box<[AtomicU64]>,
    /// The last control generation this worker has applied.
    pub generation: AtomicU64,
    /// The fingerprint of this worker's tables at its last audit.
    pub audit: AtomicU64,
    pub running: AtomicBool,
}

impl WorkerStats {
    pub fn new(lcore: u32, cpu: i32, pipeline_counters: usize) -> WorkerStats {
        WorkerStats {
            lcore,
            cpu,
            runtime: (0..WorkerCounters::NAMES.len()).map(|_| AtomicU64::new(0)).collect(),
            pipeline: (0..pipeline_counters).map(|_| AtomicU64::new(0)).collect(),
            generation: AtomicU64::new(0),
            audit: AtomicU64::new(0),
            running: AtomicBool::new(false),
        }
    }

    /// Called by the owning worker only.
    pub fn publish(&self, c: &WorkerCounters, pipeline: impl Iterator<Item = u64>) {
        for (slot, v) in self.runtime.iter().zip(c.values()) {
            slot.store(v, Relaxed);
        }
        for (slot, v) in self.pipeline.iter().zip(pipeline) {
            slot.store(v, Relaxed);
        }
    }

    pub fn runtime_values(&self) -> Vec<u64> {
        self.runtime.iter().map(|a| a.load(Relaxed)).collect()
    }

    pub fn pipeline_values(&self) -> Vec<u64> {
        self.pipeline.iter().map(|a| a.load(Relaxed)).collect()
    }

    pub fn get(&self, name: &str) -> Option<u64> {
        let i = WorkerCounters::NAMES.iter().position(|n| *n == name)?;
        Some(self.runtime[i].load(Relaxed))
    }
}

/// Every figure relayd reports, gathered for the control core, telemetry and Prometheus.
pub struct StatsHub {
    workers: Vec<Arc<WorkerStats>>,
    pipeline_names: Vec<&'static str>,
    /// (port id, configured name).
    ports: Vec<(u16, String)>,
    /// What each port's counters read before, so that a device that resets its own (memif
    /// on every reconnect) never makes a reported counter go down.
    port_counters: Mutex<Vec<MonotonicPort>>,
}

/// A port's counters as reported: each the sum of what the device counted before each of
/// its resets and what it counts now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonotonicPort {
    last: [u64; 8],
    base: [u64; 8],
}

impl MonotonicPort {
    /// Folds in a new reading; a counter below its last reading was reset by the device.
    pub fn advance(&mut self, raw: &PortStats) -> PortStats {
        let now = port_fields(raw).map(|(_, v)| v);
        let mut out = [0u64; 8];
        for i in 0..8 {
            if now[i] < self.last[i] {
                self.base[i] = self.base[i].saturating_add(self.last[i]);
            }
            self.last[i] = now[i];
            out[i] = self.base[i].saturating_add(now[i]);
        }
        let [ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rx_nombuf] = out;
        PortStats { ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rx_nombuf }
    }
}

/// One reading of all counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Runtime counters summed over workers, in [`WorkerCounters::NAMES`] order.
    pub runtime: Vec<(&'static str, u64)>,
    /// Pipeline counters (drop reasons among them) summed over workers.
    pub pipeline: Vec<(&'static str, u64)>,
    pub per_worker: Vec<WorkerSnapshot>,
    pub ports: Vec<(String, PortStats)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSnapshot {
    pub index: usize,
    pub lcore: u32,
    pub cpu: i32,
    pub generation: u64,
    pub runtime: Vec<u64>,
}

impl StatsHub {
    pub fn new(workers: Vec<Arc<WorkerStats>>, pipeline_names: Vec<&'static str>, ports: Vec<(u16, String)>) -> StatsHub {
        let port_counters = Mutex::new(vec![MonotonicPort::default(); ports.len()]);
        StatsHub { workers, pipeline_names, ports, port_counters }
    }

    pub fn workers(&self) -> &[Arc<WorkerStats>] {
        &self.workers
    }

    pub fn pipeline_names(&self) -> &[&'static str] {
        &self.pipeline_names
    }

    pub fn ports(&self) -> &[(u16, String)] {
        &self.ports
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut runtime = vec![0u64; WorkerCounters::COUNT];
        let mut pipeline = vec![0u64; self.pipeline_names.len()];
        let mut per_worker = Vec::with_capacity(self.workers.len());
        for (index, w) in self.workers.iter().enumerate() {
            let r = w.runtime_values();
            for (t, v) in runtime.iter_mut().zip(&r) {
                *t += v;
            }
            for (t, v) in pipeline.iter_mut().zip(w.pipeline_values()) {
                *t += v;
            }
            per_worker.push(WorkerSnapshot {
                index,
                lcore: w.lcore,
                cpu: w.cpu,
                generation: w.generation.load(Relaxed),
                runtime: r,
            });
        }
        Snapshot {
            runtime: WorkerCounters::NAMES.iter().copied().zip(runtime).collect(),
            pipeline: self.pipeline_names.iter().copied().zip(pipeline).collect(),
            per_worker,
            ports: self.port_readings(),
        }
    }
}

impl StatsHub {
    fn port_readings(&self) -> Vec<(String, PortStats)> {
        // A poisoned lock only means a reader panicked mid-update: the counters are still sums.
        let mut seen = self.port_counters.lock().unwrap_or_else(|p| p.into_inner());
        self.ports
            .iter()
            .zip(seen.iter_mut())
            .map(|((id, name), m)| (name.clone(), m.advance(&Port::stats_of(*id))))
            .collect()
    }
}

impl Snapshot {
    pub fn runtime(&self, name: &str) -> u64 {
        self.runtime.iter().find(|(n, _)| *n == name).map_or(0, |(_, v)| *v)
    }

    pub fn pipeline(&self, name: &str) -> u64 {
        self.pipeline.iter().find(|(n, _)| *n == name).map_or(0, |(_, v)| *v)
    }

    /// `name value` lines: the `relayctl stats` format, stable for scripts.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (n, v) in &self.runtime {
            out.push_str(&format!("{n} {v}\n"));
        }
        for (n, v) in &self.pipeline {
            out.push_str(&format!("pipeline.{n} {v}\n"));
        }
        for w in &self.per_worker {
            out.push_str(&format!("worker{}.generation {}\n", w.index, w.generation));
            for (n, v) in WorkerCounters::NAMES.iter().zip(&w.runtime) {
                out.push_str(&format!("worker{}.{n} {v}\n", w.index));
            }
        }
        for (name, p) in &self.ports {
            for (n, v) in port_fields(p) {
                out.push_str(&format!("port.{name}.{n} {v}\n"));
            }
        }
        out
    }

    /// Prometheus text exposition format (version 0.0.4).
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        for ((n, v), help) in self.runtime.iter().zip(WorkerCounters::HELP) {
            out.push_str(&format!("# HELP relay_{n}_total {help}\n# TYPE relay_{n}_total counter\nrelay_{n}_total {v}\n"));
        }
        out.push_str(
            "# HELP relay_pipeline_total Pipeline events and drop reasons (drop_*), summed over workers; \
             the counter label is the name relayctl stats shows after pipeline.\n",
        );
        out.push_str("# TYPE relay_pipeline_total counter\n");
        for (n, v) in &self.pipeline {
            out.push_str(&format!("relay_pipeline_total{{counter=\"{n}\"}} {v}\n"));
        }
        out.push_str("# HELP relay_worker_total The runtime counters of each worker (counter label as in relay_<counter>_total).\n");
        out.push_str("# TYPE relay_worker_total counter\n");
        for w in &self.per_worker {
            for (n, v) in WorkerCounters::NAMES.iter().zip(&w.runtime) {
                out.push_str(&format!(
                    "relay_worker_total{{worker=\"{}\",lcore=\"{}\",counter=\"{n}\"}} {v}\n",
                    w.index, w.lcore
                ));
            }
        }
        out.push_str("# HELP relay_port_total The ethdev counters of each port (rte_eth_stats: ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rx_nombuf).\n");
        out.push_str("# TYPE relay_port_total counter\n");
        for (name, p) in &self.ports {
            for (n, v) in port_fields(p) {
                out.push_str(&format!("relay_port_total{{port=\"{name}\",counter=\"{n}\"}} {v}\n"));
            }
        }
        out
    }
}

pub fn port_fields(p: &PortStats) -> [(&'static str, u64); 8] {
    [
        ("ipackets", p.ipackets),
        ("opackets", p.opackets),
        ("ibytes", p.ibytes),
        ("obytes", p.obytes),
        ("imissed", p.imissed),
        ("ierrors", p.ierrors),
        ("oerrors", p.oerrors),
        ("rx_nombuf", p.rx_nombuf),
    ]
}

#[cfg(test)]
mod monotonic_tests {
    use super::{MonotonicPort, PortStats};

    fn reading(ipackets: u64, opackets: u64) -> PortStats {
        PortStats { ipackets, opackets, ..PortStats::default() }
    }

    #[test]
    fn a_device_that_resets_its_counters_never_makes_them_go_down() {
        let mut m = MonotonicPort::default();
        assert_eq!(m.advance(&reading(10, 4)), reading(10, 4));
        assert_eq!(m.advance(&reading(25, 9)), reading(25, 9));
        // memif reconnected: the device counts from zero again.
        assert_eq!(m.advance(&reading(3, 0)), reading(28, 9));
        assert_eq!(m.advance(&reading(7, 2)), reading(32, 11));
        // A second reset adds what the device counted since the first.
        assert_eq!(m.advance(&reading(1, 1)), reading(33, 12));
        // Unchanged readings change nothing.
        assert_eq!(m.advance(&reading(1, 1)), reading(33, 12));
    }
}
