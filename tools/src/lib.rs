//! Client-side helpers shared by relayctl, relay-gen, relay-lab, the benchmarks and the tests.
pub mod clidocs;
pub mod gen;
pub mod lab;
pub mod telemetry;
