//! Timing, heap accounting and formatting for lpm-bench.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use relay_benches::results::median_spread;

/// The system allocator, counting live bytes: the Rust tables' memory is measured, not
/// taken from their own accounting.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to System with the caller's layout; the counter is only
// bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Live bytes on the Rust heap.
pub fn heap_live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Destinations per lookup call: relayd's burst (`relay::pipeline::MAX_BURST`), what its
/// workers hand the route table.
pub const BURST: usize = relay::pipeline::MAX_BURST;

/// Runs `burst` over `keys` [`BURST`] at a time, as a worker would, and again until `min` has
/// passed (a single pass of a fast table takes a few milliseconds, which timer and
/// frequency noise would decide); returns million lookups/s.
pub fn time_bursts<K, T>(
    keys: &[K],
    min: Duration,
    out: &mut [T],
    mut burst: impl FnMut(&[K], &mut [T]),
) -> f64 {
    let start = Instant::now();
    let mut passes = 0u32;
    let elapsed = loop {
        for (keys, out) in keys.chunks(BURST).zip(out.chunks_mut(BURST)) {
            burst(keys, out);
        }
        passes += 1;
        let elapsed = start.elapsed();
        if elapsed >= min {
            break elapsed;
        }
    };
    black_box(out);
    f64::from(passes) * keys.len() as f64 / elapsed.as_secs_f64() / 1e6
}

/// The prefetch handed to `Lpm::lookup_bulk_with_prefetch`, as the runtime would.
#[inline(always)]
pub fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults, whatever the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Which popcount the Rust code was compiled with (DPDK's Debian build uses
/// `-march=corei7`, which has POPCNT).
pub fn rust_isa() -> &'static str {
    if cfg!(target_feature = "popcnt") {
        "Rust built with POPCNT (`-C target-cpu=x86-64-v2`; DPDK's own build is `-march=corei7`)"
    } else {
        "Rust built for baseline x86-64 (software popcount; DPDK's own build is `-march=corei7`)"
    }
}

/// Per-operation latencies in nanoseconds.
pub struct Latency(Histogram<u64>);

impl Latency {
    pub fn new() -> Self {
        Self(Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("static histogram bounds"))
    }

    pub fn time<R>(&mut self, op: impl FnOnce() -> R) -> R {
        let start = Instant::now();
        let r = op();
        let ns = start.elapsed().as_nanos() as u64;
        let _ = self.0.record(ns.max(1));
        r
    }

    /// "mean µs (p50 / p99 / max)".
    pub fn summary(&self) -> String {
        let us = |ns: u64| ns as f64 / 1000.0;
        format!(
            "{:.2} µs (p50 {:.2}, p99 {:.1}, max {:.0})",
            self.0.mean() / 1000.0,
            us(self.0.value_at_quantile(0.5)),
            us(self.0.value_at_quantile(0.99)),
            us(self.0.max())
        )
    }

    pub fn mean_us(&self) -> f64 {
        self.0.mean() / 1000.0
    }
}

/// "median (min–max)" with `digits` decimals.
pub fn spread(sample: &[f64], digits: usize) -> String {
    let (median, min, max) = median_spread(sample);
    format!("{median:.digits$} ({min:.digits$}–{max:.digits$})")
}

pub fn median(sample: &[f64]) -> f64 {
    median_spread(sample).0
}

pub fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}
