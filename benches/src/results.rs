//! benches/RESULTS.md is one file with a section per benchmark, each between markers, so each
//! benchmark rewrites only its own figures.
use std::path::Path;
use std::process::Command;

/// Replaces (or appends) the section `name` of the results file.
pub fn write_section(path: &Path, name: &str, body: &str) -> std::io::Result<()> {
    let start = format!("<!-- {name}:start -->");
    let end = format!("<!-- {name}:end -->");
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| String::from("# Benchmark results\n\nEvery figure below was written by the command shown with it; nothing is typed in by hand.\n"));
    let block = format!("{start}\n{}\n{end}", body.trim_end());
    let new = match (old.find(&start), old.find(&end)) {
        (Some(a), Some(b)) if b > a => format!("{}{}{}", &old[..a], block, &old[b + end.len()..]),
        _ => format!("{}\n{}\n", old.trim_end(), block),
    };
    std::fs::write(path, new)
}

/// One line describing the machine the figures come from.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .map_or("unknown CPU", |l| l.split(':').nth(1).unwrap_or("").trim());
    // The machine's CPUs, not this thread's affinity: the EAL pins its main thread to one.
    let cores = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    let dpdk = Command::new("pkg-config").args(["--modversion", "libdpdk"]).output().ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cores} cores, Linux {}, DPDK {dpdk}", kernel.trim())
}

pub fn now_utc() -> String {
    Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]).output().ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
}

/// Median and spread (min, max) of a sample.
pub fn median_spread(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    if s.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let m = if s.len() % 2 == 1 { s[s.len() / 2] } else { (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0 };
    (m, s[0], s[s.len() - 1])
}
