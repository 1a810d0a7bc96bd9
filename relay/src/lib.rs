//! relay: an IPv6-in-IPv4 transition router (6to4 router and relay, RFC 3056/3068/7526,
//! hardened per RFC 3964/6324/4213).
//!
//! Three rooms:
//! - [`wire`]: zero-copy header views over byte buffers.
//! - [`pipeline`]: pure per-burst forwarding decisions, no DPDK types; [`lpm`] is its IPv6
//!   route table.
//! - [`runtime`]: DPDK (EAL, ports, mempools, mbufs, workers, rings, stats).
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod wire;
pub mod lpm;
pub mod pipeline;
#[cfg(feature = "dpdk")]
pub mod runtime;
