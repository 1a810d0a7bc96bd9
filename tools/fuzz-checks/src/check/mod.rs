//! One module per fuzz target. Each `check` panics (an `assert!`) when its property fails, so
//! libFuzzer records the input as a crasher and the replay test fails on it.

pub mod config;
pub mod ctl;
pub mod pcap;
pub mod pipeline;
pub mod reassembly;
pub mod wire;

mod configs;
