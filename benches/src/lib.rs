//! Shared benchmark plumbing: DPDK processes under test, rate sampling through the telemetry
//! socket, pcap generation, and the RESULTS.md writer.
pub mod frames;
pub mod harness;
pub mod results;
pub mod rte_tables;
pub mod tablegen;
pub mod tablegen4;
pub mod relayd;
