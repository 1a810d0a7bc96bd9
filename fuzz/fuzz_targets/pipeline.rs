#![no_main]
//! The `pipeline` property (tools/fuzz-checks/src/check/pipeline.rs) on every generated input.
libfuzzer_sys::fuzz_target!(|data: &[u8]| relay_fuzz_checks::check::pipeline::check(data));
