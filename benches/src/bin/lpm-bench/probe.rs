//! This machine's memory as the lookups meet it: the latency of a dependent load and how
//! many independent ones one core keeps in flight, by working-set size (a pointer chase over
//! random cache lines, 1 to 32 chains at once), timed by thread CPU time. At 1M prefixes
//! nearly every node an in-table lookup reads is outside the L2 cache, so the most misses a
//! core completes per second, divided by the lines a lookup reads, bounds its lookups/s.

use std::time::Duration;

use relay_benches::tablegen::Rng;

use crate::measure::thread_cpu_time;

/// Working sets probed, MiB: inside L2, then well past it.
const SIZES_MIB: [usize; 3] = [1, 16, 256];
const CHAINS: [usize; 4] = [1, 8, 16, 32];
/// Loads timed per (size, chains).
const LOADS: usize = 1 << 21;

/// One cache line; the chase reads its first word, the index of the next line.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Line([u32; 16]);

pub struct Probe {
    /// Per size: ns per load of one chain, and million loads/s, per chain count.
    pub rows: Vec<(usize, Vec<(f64, f64)>)>,
}

impl Probe {
    pub fn run(seed: u64) -> Self {
        let rows = SIZES_MIB
            .iter()
            .map(|&mib| (mib, chase(mib, seed)))
            .collect();
        Self { rows }
    }

    /// The most loads per second (millions) at the largest working set.
    pub fn max_miss_rate(&self) -> f64 {
        self.rows
            .last()
            .map_or(0.0, |(_, r)| r.iter().map(|&(_, rate)| rate).fold(0.0, f64::max))
    }

    pub fn markdown(&self) -> String {
        let mut s = String::from("| working set |");
        for c in CHAINS {
            s.push_str(&format!(" {c} chain{} |", if c == 1 { "" } else { "s" }));
        }
        s.push_str("\n|---|");
        s.push_str(&"---:|".repeat(CHAINS.len()));
        s.push('\n');
        for (mib, row) in &self.rows {
            s.push_str(&format!("| {mib} MiB |"));
            for &(ns, rate) in row {
                s.push_str(&format!(" {ns:.0} ns, {rate:.0} M/s |"));
            }
            s.push('\n');
        }
        s
    }
}

/// A random cycle through `mib` MiB of lines, walked by each chain count.
fn chase(mib: usize, seed: u64) -> Vec<(f64, f64)> {
    let n = (mib << 20) / core::mem::size_of::<Line>();
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut rng = Rng::new(seed);
    // Sattolo's shuffle: one cycle through every line.
    for i in (1..n).rev() {
        order.swap(i, rng.below(i));
    }
    let mut lines = vec![Line([0; 16]); n];
    for (i, &from) in order.iter().enumerate() {
        lines[from as usize].0[0] = order[(i + 1) % n];
    }
    CHAINS
        .iter()
        .map(|&chains| {
            let mut at: Vec<u32> = (0..chains).map(|c| order[c * n / chains]).collect();
            let steps = LOADS / chains;
            let start = thread_cpu_time();
            for _ in 0..steps {
                for a in at.iter_mut() {
                    *a = lines[*a as usize].0[0];
                }
            }
            let took = thread_cpu_time().saturating_sub(start).max(Duration::from_nanos(1));
            std::hint::black_box(&at);
            let ns = took.as_secs_f64() * 1e9;
            (ns / steps as f64, (steps * chains) as f64 / ns * 1e3)
        })
        .collect()
}
