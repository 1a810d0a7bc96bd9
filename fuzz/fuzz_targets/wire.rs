#![no_main]
//! The `wire` property (tools/fuzz-checks/src/check/wire.rs) on every generated input.
libfuzzer_sys::fuzz_target!(|data: &[u8]| relay_fuzz_checks::check::wire::check(data));
