//! Client-side helpers shared by relayctl, relay-gen, the benchmarks and the tests.
pub mod gen;
pub mod telemetry;
