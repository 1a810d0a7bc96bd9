//! The fuzzing properties: for every target, one function that decodes arbitrary bytes, runs
//! the code under test and asserts what must hold beside "no panic". The cargo-fuzz targets
//! (fuzz/, nightly) call them on every generated input; `tests/replay.rs` (stable, `cargo
//! test`) calls them on every committed corpus file and crasher, so a property is written once.
//!
//! relayd is a binary crate that links DPDK, so its pure parsers are compiled in here from
//! their own files (`#[path]`): the control protocol (`src/ctl/protocol.rs`) and the
//! offline-mode pcap reader (`src/pcap.rs`). The code fuzzed is the daemon's code, byte for
//! byte, with no DPDK.

#[path = "../../../src/ctl/protocol.rs"]
pub mod ctl;
#[path = "../../../src/pcap.rs"]
pub mod pcap;

pub mod check;

/// A target's property: panics on an input for which it fails.
pub type Check = fn(&[u8]);

/// Every fuzz target: its name (the `fuzz/fuzz_targets/<name>.rs` file and the
/// `fuzz/corpus/<name>/` directory) and its property.
pub const TARGETS: &[(&str, Check)] = &[
    ("wire", check::wire::check),
    ("pipeline", check::pipeline::check),
    ("ctl", check::ctl::check),
    ("config", check::config::check),
    ("pcap", check::pcap::check),
    ("reassembly", check::reassembly::check),
];
