//! **kernel** — relayd's side of the host's network stack, where the routing daemon (BIRD,
//! FRR) runs: the control TAPs that carry its sessions through relayd's ports ([`tap`]) and
//! the FIB mirror that feeds the kernel's routes into relayd's tables ([`fib`]), both over
//! rtnetlink ([`netlink`]) with maintained crates.
//!
//! Owns: control TAP setup and traffic, the FIB mirror and its counters.
//! May import: `relay::pipeline` (settings, tables, the kernel-egress rules),
//! `relay::runtime` (the TAP device, mbufs, the control plane), the netlink crates.
//! Imported by: the daemon (`daemon.rs`, `slowpath.rs`).
pub mod fib;
pub mod netlink;
pub mod tap;
