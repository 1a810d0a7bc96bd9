//! The core pinning checks through relayd's command line: `--check` on this machine's own
//! sysfs (whatever its topology: the asserts are on the report's form), and on a fake tree
//! given with `--sysfs`, where the findings are known exactly — at `--check` and at start.
mod common;
use common::*;

/// Two vdev ports, control core on CPU 0, one worker on `cpu`.
fn config(dir: &Scratch, prefix: &str, cpu: usize) -> std::path::PathBuf {
    dir.write(
        "relayd.toml",
        &format!(
            r#"
[eal]
file_prefix = "{prefix}"
memory_mb = 128
[cores]
control = 0
[[port]]
name = "a"
device = "net_null0"
[[port]]
name = "b"
device = "net_null1"
[[worker]]
cpu = {cpu}
rx = ["a:0", "b:0"]
[runtime]
mode = "passthrough"
forward = [["a", "b"], ["b", "a"]]
idle_sleep_us = 20
[control]
socket = "{d}/ctl.sock"
"#,
            d = dir.0.display()
        ),
    )
}

/// A 2-CPU machine whose CPUs are SMT siblings of one core, on one node, nothing isolated.
fn fake_smt_pair(dir: &Scratch) -> std::path::PathBuf {
    let root = dir.path("sys");
    let put = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    put("devices/system/cpu/online", "0-1\n");
    put("devices/system/cpu/isolated", "\n");
    for cpu in 0..2 {
        put(&format!("devices/system/cpu/cpu{cpu}/topology/thread_siblings_list"), "0-1\n");
        put(&format!("devices/system/cpu/cpu{cpu}/topology/core_id"), "0\n");
    }
    put("devices/system/node/node0/cpulist", "0-1\n");
    root
}

#[test]
fn check_reports_this_machines_topology() {
    let run = run_relayd(&["--check"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let section: Vec<&str> = run.stdout.lines().skip_while(|l| !l.starts_with("pinning (sysfs /sys):")).collect();
    assert!(!section.is_empty(), "no pinning section in:\n{}", run.stdout);
    let facts: Vec<&str> = section[1..].iter().copied().take_while(|l| l.starts_with("  ")).collect();
    for prefix in [
        "  cpus: online ",
        "  numa: ",
        "  control core: CPU 0, ",
        "  worker 0: CPU ",
        "  port a: net_null0 is a vdev: no NUMA node",
        "  hugepages: off",
    ] {
        assert!(facts.iter().any(|f| f.starts_with(prefix)), "no {prefix:?} fact in:\n{}", section.join("\n"));
    }
    // Then the warnings, each about a named CPU, node or file and with a fix after the
    // colon, and a count that matches them.
    let warnings: Vec<&str> = section.iter().copied().filter(|l| l.starts_with("warning: ")).collect();
    for w in &warnings {
        let about = ["warning: worker ", "warning: the control core ", "warning: node ", "warning: cannot read "];
        assert!(about.iter().any(|a| w.starts_with(a)), "{w}");
        // A finding is followed by its fix after "; "; an unreadable file by what was skipped.
        assert!(
            w.contains("; ") || (w.starts_with("warning: cannot read ") && w.ends_with(" skipped")),
            "no fix in {w}"
        );
    }
    let last = section.last().unwrap();
    let s = if warnings.len() == 1 { "" } else { "s" };
    assert_eq!(*last, format!("pinning: {} warning{s}", warnings.len()));
}

#[test]
fn fake_sysfs_smt_siblings_warned_at_check_and_at_start() {
    let dir = Scratch::new("pin-smt");
    let cfg = config(&dir, "pin-smt", 1);
    let root = fake_smt_pair(&dir);
    let smt = "worker 0 on CPU 1 shares physical core 0 (CPUs 0-1) with the control core (CPU 0): SMT siblings share \
               the core's execution units and L1/L2 caches, so each runs slower than on a core of its own; move \
               worker[0].cpu to a CPU of another core, none is free: run fewer workers, each polling more rx queues";
    let isolation =
        "worker 0 on CPU 1 is not isolated (neither isolcpus nor nohz_full lists it): the scheduler may run \
                     other tasks and the timer tick on it, which shows as drops and latency spikes; boot with \
                     isolcpus=1 nohz_full=1 rcu_nocbs=1 irqaffinity=0";

    let check = run_relayd(&["-c", cfg.to_str().unwrap(), "--sysfs", root.to_str().unwrap(), "--check"]);
    assert_eq!(check.code(), Some(0), "{}", check.stderr);
    let expected = format!(
        "pinning (sysfs {}):\n\
         \x20 cpus: online 0-1; isolated (isolcpus) none; nohz_full none (not in this kernel)\n\
         \x20 numa: node0 0-1\n\
         \x20 control core: CPU 0, physical core 0 (CPUs 0-1), node 0\n\
         \x20 worker 0: CPU 1, physical core 0 (CPUs 0-1), node 0, not isolated\n\
         \x20 port a: net_null0 is a vdev: no NUMA node\n\
         \x20 port b: net_null1 is a vdev: no NUMA node\n\
         \x20 hugepages: off ([eal] hugepages = false, --no-huge): not checked\n\
         warning: {smt}\n\
         warning: {isolation}\n\
         pinning: 2 warnings\n",
        root.display()
    );
    assert!(check.stdout.ends_with(&expected), "expected the report\n{expected}\nat the end of\n{}", check.stdout);

    // At start the same warnings go to stderr, and relayd runs all the same.
    let run = run_relayd(&["-c", cfg.to_str().unwrap(), "--sysfs", root.to_str().unwrap(), "--duration", "1"]);
    run.assert_clean();
    assert!(run.stderr.contains(&format!("relayd: warning: {smt}\n")), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("relayd: warning: {isolation}\n")), "{}", run.stderr);
}

#[test]
fn offline_cpu_and_bad_sysfs_argument_are_errors_naming_them() {
    let dir = Scratch::new("pin-offline");
    let cfg = config(&dir, "pin-offline", 1);
    let root = fake_smt_pair(&dir);
    std::fs::write(root.join("devices/system/cpu/online"), "0\n").unwrap();
    for args in [vec!["--check"], vec!["--duration", "1"]] {
        let mut a = vec!["-c", cfg.to_str().unwrap(), "--sysfs", root.to_str().unwrap()];
        a.extend(args);
        let run = run_relayd(&a);
        assert_eq!(run.code(), Some(2), "{}", run.stdout);
        assert!(
            run.stderr.contains("relayd: config error: worker[0].cpu: CPU 1 is not online (online CPUs: 0)"),
            "{}",
            run.stderr
        );
        assert!(!run.stdout.contains("relayd: EAL"), "nothing starts: {}", run.stdout);
    }
    let missing = dir.path("no-such-dir");
    let run = run_relayd(&["-c", cfg.to_str().unwrap(), "--sysfs", missing.to_str().unwrap(), "--check"]);
    assert_eq!(run.code(), Some(2));
    assert!(
        run.stderr.contains(&format!("invalid value '{}' for '--sysfs <DIR>': not a directory", missing.display())),
        "{}",
        run.stderr
    );
}
