#![no_main]
//! The `pcap` property (tools/fuzz-checks/src/check/pcap.rs) on every generated input.
libfuzzer_sys::fuzz_target!(|data: &[u8]| relay_fuzz_checks::check::pcap::check(data));
