//! Timing, heap accounting and formatting for lpm-bench.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use relay_benches::results::median_spread;

/// The system allocator, counting live bytes: the Rust tables' memory is measured, not
/// taken from their own accounting. With [`use_huge_pages`], blocks of 2 MiB and more are
/// 2 MiB-aligned and advised to the kernel as transparent huge pages (`MADV_HUGEPAGE`), the
/// Rust side of `--hugepages`: the DPDK tables then live on hugetlbfs pages.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static HUGE: AtomicBool = AtomicBool::new(false);
const HUGE_PAGE: usize = 2 << 20;

/// From now on, big blocks go on transparent huge pages: call at start-up, before any block
/// of 2 MiB or more is allocated.
pub fn use_huge_pages() {
    HUGE.store(true, Ordering::Relaxed);
}

fn on_huge_pages(layout: Layout) -> Option<Layout> {
    (HUGE.load(Ordering::Relaxed) && layout.size() >= HUGE_PAGE)
        .then(|| Layout::from_size_align(layout.size(), HUGE_PAGE).ok())
        .flatten()
}

// SAFETY: every call forwards to System with the caller's layout, or, for blocks of 2 MiB
// and more once huge pages are asked for, with the same size at 2 MiB alignment (which
// satisfies any smaller alignment). `use_huge_pages` runs at start-up, before any block that
// big exists, so `on_huge_pages` gives the same layout when a block is freed as when it was
// allocated. The counter is only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        match on_huge_pages(layout) {
            Some(huge) => {
                // SAFETY: forwarded contract, at a larger alignment.
                let p = unsafe { System.alloc(huge) };
                if !p.is_null() {
                    // SAFETY: `p..p + size` is the block just allocated; the advice only
                    // changes which pages back it.
                    unsafe { libc::madvise(p.cast(), huge.size(), libc::MADV_HUGEPAGE) };
                }
                p
            }
            // SAFETY: forwarded contract.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        let layout = on_huge_pages(layout).unwrap_or(layout);
        // SAFETY: forwarded contract, with the layout the block was allocated with.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new) = Layout::from_size_align(new_size, layout.align()) else {
            return core::ptr::null_mut();
        };
        if on_huge_pages(layout).is_none() && on_huge_pages(new).is_none() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            // SAFETY: forwarded contract.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: `new` has the caller's alignment and a non-zero size (it is at least 2 MiB
        // or replaces a block that was).
        let to = unsafe { self.alloc(new) };
        if !to.is_null() {
            // SAFETY: both blocks are live and distinct; the copy is the smaller size.
            unsafe { core::ptr::copy_nonoverlapping(ptr, to, layout.size().min(new_size)) };
            // SAFETY: `ptr` was allocated by this allocator with `layout`.
            unsafe { self.dealloc(ptr, layout) };
        }
        to
    }
}

/// Bytes of this process's anonymous memory on transparent huge pages.
pub fn anon_huge_bytes() -> usize {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    rollup
        .lines()
        .find_map(|l| l.strip_prefix("AnonHugePages:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb << 10)
}

/// Live bytes on the Rust heap.
pub fn heap_live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Destinations per lookup call: relayd's burst (`relay::pipeline::MAX_BURST`), what its
/// workers hand the route table.
pub const BURST: usize = relay::pipeline::MAX_BURST;

/// Runs `burst` over `keys` [`BURST`] at a time, as a worker would, and again until `min` of
/// this thread's CPU time has passed (a single pass of a fast table takes a few
/// milliseconds, which timer and frequency noise would decide); returns million lookups per
/// CPU-second. CPU time, not wall time: on a shared machine the scheduler gives this core
/// to others now and then, which is no lookup's cost.
pub fn time_bursts<K, T>(
    keys: &[K],
    min: Duration,
    out: &mut [T],
    mut burst: impl FnMut(&[K], &mut [T]),
) -> f64 {
    let start = thread_cpu_time();
    let mut passes = 0u32;
    let elapsed = loop {
        for (keys, out) in keys.chunks(BURST).zip(out.chunks_mut(BURST)) {
            burst(keys, out);
        }
        passes += 1;
        let elapsed = thread_cpu_time().saturating_sub(start);
        if elapsed >= min {
            break elapsed;
        }
    };
    black_box(out);
    f64::from(passes) * keys.len() as f64 / elapsed.as_secs_f64() / 1e6
}

/// CPU time this thread has run.
pub fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to fill; the clock id is a constant
    // every Linux has.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// The prefetch handed to `Dir24`/`Lpm4::lookup_bulk_with_prefetch`, as the runtime would.
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
