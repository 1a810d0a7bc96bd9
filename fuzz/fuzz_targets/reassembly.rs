#![no_main]
//! The `reassembly` property (tools/fuzz-checks/src/check/reassembly.rs) on every generated input.
libfuzzer_sys::fuzz_target!(|data: &[u8]| relay_fuzz_checks::check::reassembly::check(data));
