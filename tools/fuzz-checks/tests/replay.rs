//! Replays every committed fuzz input (fuzz/corpus/<target>/ and fuzz/crashers/<target>/)
//! through its target's property, on stable: what the fuzzers found stays found, and the
//! minimised corpora keep the properties' coverage in `cargo test` (docs/fuzzing.md).
use std::path::{Path, PathBuf};

use relay_fuzz_checks::TARGETS;

fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut files = Vec::new();
    for dir in ["corpus", "crashers"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) else { continue };
        files.extend(entries.map(|e| e.expect("readable fuzz directory").path()).filter(|p| p.is_file()));
    }
    files.sort();
    files
}

fn replay(target: &str) -> usize {
    let (_, check) = TARGETS.iter().find(|(name, _)| *name == target).expect("a known target");
    let files = inputs(target);
    for file in &files {
        let data = std::fs::read(file).expect("readable fuzz input");
        // A failing property panics: name the input in the test's output first.
        eprintln!("{target}: {}", file.display());
        check(&data);
    }
    files.len()
}

#[test]
fn every_target_has_a_test_and_a_corpus() {
    let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["wire", "pipeline", "ctl", "config", "pcap", "reassembly"]);
    for name in names {
        let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/fuzz_targets").join(format!("{name}.rs"));
        assert!(target.is_file(), "{} is missing", target.display());
    }
}

macro_rules! replay_tests {
    ($($test:ident => $target:literal, $at_least:literal;)*) => {$(
        #[test]
        fn $test() {
            let n = replay($target);
            assert!(n >= $at_least, "{} inputs replayed for {}, expected at least {}", n, $target, $at_least);
        }
    )*};
}

replay_tests! {
    replays_wire => "wire", 20;
    replays_pipeline => "pipeline", 20;
    replays_ctl => "ctl", 20;
    replays_config => "config", 20;
    replays_pcap => "pcap", 5;
    replays_reassembly => "reassembly", 5;
}
