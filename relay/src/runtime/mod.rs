//! The DPDK room: EAL, ports and queues, mempools and mbufs, lcores, control rings, stats,
//! and the kernel TAPs the control core exchanges control-plane frames with.
//!
//! Every `unsafe` call into DPDK lives in this module's thin wrappers (and in `dpdk-sys`), each
//! with the reason it is sound. Above it, workers and the control core speak in owned [`Mbuf`]s,
//! [`Port`]s and plain Rust messages.

mod eal;
mod kernel_tap;
mod mbuf;
mod mempool;
mod port;
mod rxburst;
mod txbuf;
pub mod control;
pub mod stats;
pub mod telemetry;
pub mod worker;

pub use eal::{launch_on_lcore, wait_lcore, Eal, EalError};
pub use kernel_tap::{KernelTap, TapError};
pub use mbuf::Mbuf;
pub use mempool::Mempool;
pub use port::{LinkStatus, Port, PortSpec, PortStats};
pub use rxburst::RxBurst;
pub use txbuf::TxBuffer;

/// Reads the TSC: the workers' clock (cycles since boot, `tsc_hz` per second).
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: reads the CPU's time-stamp counter; no memory is touched.
    unsafe { dpdk_sys::relay_rdtsc() }
}

/// Hints the CPU to pull the cache line at `p` into L1 (`rte_prefetch0`), inline.
#[inline(always)]
pub fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults, whatever the address; SSE is part of the
    // x86_64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Cycles per second of [`rdtsc`], as measured by the EAL at init.
pub fn tsc_hz() -> u64 {
    // SAFETY: a plain getter of a value the EAL computed at init.
    unsafe { dpdk_sys::relay_tsc_hz() }
}
