#![no_main]
//! The `config` property (tools/fuzz-checks/src/check/config.rs) on every generated input.
libfuzzer_sys::fuzz_target!(|data: &[u8]| relay_fuzz_checks::check::config::check(data));
