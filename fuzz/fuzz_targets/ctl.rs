#![no_main]
//! The `ctl` property (tools/fuzz-checks/src/check/ctl.rs) on every generated input.
libfuzzer_sys::fuzz_target!(|data: &[u8]| relay_fuzz_checks::check::ctl::check(data));
