//! The DPDK room: EAL, ports and queues, mempools and mbufs, lcores, control rings, stats.
//!
//! Every `unsafe` call into DPDK lives in this module's thin wrappers (and in `dpdk-sys`), each
//! with the reason it is sound. Above it, workers and the control core speak in owned [`Mbuf`]s,
//! [`Port`]s and plain Rust messages.

mod eal;
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

/// Cycles per second of [`rdtsc`], as measured by the EAL at init.
pub fn tsc_hz() -> u64 {
    // SAFETY: a plain getter of a value the EAL computed at init.
    unsafe { dpdk_sys::relay_tsc_hz() }
}
