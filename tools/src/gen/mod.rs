//! relay-gen: a DPDK traffic generator for relayd, on the same runtime (`relay::runtime`).
//!
//! The pure parts (rate control, traffic mix, packet builders, timestamps, statistics, pcap)
//! are tested without DPDK; `engine` and `run` drive ports and lcores. Usage:
//! docs/relay-gen.md.
pub mod build;
pub mod cli;
pub mod engine;
pub mod mix;
pub mod pcap;
pub mod rate;
pub mod report;
pub mod run;
pub mod stamp;
pub mod stats;
pub mod traffic;

#[cfg(test)]
mod build_tests;
#[cfg(test)]
mod cli_tests;
