//! End to end over memif, two processes: relayd forwards pass-through between two memif
//! servers, relay-gen is the client on both, sends on one and measures on the other at a low
//! rate. Every packet must come back and every stream must have latency samples; no timing
//! is asserted (the cores are shared).
//!
//! relayd is taken from the directory of this test's target profile (`target/release/relayd`):
//! build the workspace first (`cargo build --workspace --release --all-targets`).
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Child processes killed (and DPDK runtime files removed) however the test ends.
struct Children {
    procs: Vec<(&'static str, Child)>,
    prefixes: Vec<String>,
    dir: PathBuf,
}

impl Drop for Children {
    fn drop(&mut self) {
        for (_, c) in &mut self.procs {
            if let Ok(None) = c.try_wait() {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
        for p in &self.prefixes {
            let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{p}"));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn relayd_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/gen_e2e-<hash> → target/<profile>/relayd
    exe.parent().and_then(Path::parent).expect("target profile dir").join("relayd")
}

fn log_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("(no log: {e})"))
}

/// Waits for `child` to exit, at most `limit`.
fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn relay_gen_through_relayd_passthrough_over_memif() {
    let relayd = relayd_bin();
    assert!(relayd.exists(), "{} is missing: run `cargo build --workspace --release --all-targets` first", relayd.display());
    let id = std::process::id();
    let dir = std::env::temp_dir().join(format!("relay-gen-e2e-{id}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let (relayd_prefix, gen_prefix) = (format!("gen-e2e-relayd-{id}"), format!("gen-e2e-gen-{id}"));
    let mut kids = Children { procs: Vec::new(), prefixes: vec![relayd_prefix.clone(), gen_prefix.clone()], dir: dir.clone() };
    let sock = |n: &str| dir.join(format!("{n}.sock")).display().to_string();
    let control = dir.join("relayd.sock");
    let config = format!(
        r#"
[eal]
file_prefix = "{relayd_prefix}"
memory_mb = 256

[[port]]
name = "a"
device = "net_memif0,role=server,socket={a}"

[[port]]
name = "b"
device = "net_memif1,role=server,socket={b}"

[runtime]
mode = "passthrough"
forward = [["a", "b"], ["b", "a"]]
idle_sleep_us = 50

[control]
socket = "{control}"
telemetry = false
"#,
        a = sock("a"),
        b = sock("b"),
        control = control.display()
    );
    let cfg = dir.join("relayd.toml");
    std::fs::write(&cfg, config).expect("write relayd config");
    let relayd_log = dir.join("relayd.log");
    let out = std::fs::File::create(&relayd_log).expect("relayd log");
    let child = Command::new(&relayd)
        .args(["-c", cfg.to_str().expect("utf-8 path"), "--duration", "120"])
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log handle"))
        .stderr(out)
        .spawn()
        .expect("start relayd");
    kids.procs.push(("relayd", child));

    // relayd binds its control socket before DPDK starts and answers on it once its ports
    // (the memif servers) are up: wait for an answer, not for the file.
    let start = Instant::now();
    while !answers_ping(&control) {
        if let Ok(Some(status)) = kids.procs[0].1.try_wait() {
            panic!("relayd exited early ({status}):\n{}", log_of(&relayd_log));
        }
        assert!(start.elapsed() < Duration::from_secs(60), "relayd did not come up:\n{}", log_of(&relayd_log));
        std::thread::sleep(Duration::from_millis(50));
    }

    let json = dir.join("summary.json");
    let gen_log = dir.join("relay-gen.log");
    let out = std::fs::File::create(&gen_log).expect("relay-gen log");
    let child = Command::new(env!("CARGO_BIN_EXE_relay-gen"))
        .args([
            "--port",
            &format!("a=net_memif0,role=client,socket={}", sock("a")),
            "--port",
            &format!("b=net_memif1,role=client,socket={}", sock("b")),
            "--tx",
            "a",
            "--rx",
            "b",
            "--count",
            "2000",
            "--rate-pps",
            "1000",
            "--flows",
            "16",
            "--drain-ms",
            "2000",
            "--link-wait-s",
            "30",
            "--idle-sleep-us",
            "50",
            "--lcores",
            "0@0,1@0,2@1",
            "--file-prefix",
            &gen_prefix,
            "--json",
            json.to_str().expect("utf-8 path"),
            "--quiet",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(out)
        .spawn()
        .expect("start relay-gen");
    kids.procs.push(("relay-gen", child));
    let status = wait_exit(&mut kids.procs[1].1, Duration::from_secs(120));
    let gen_output = log_of(&gen_log);
    assert_eq!(status.and_then(|s| s.code()), Some(0), "relay-gen failed:\n{gen_output}\nrelayd:\n{}", log_of(&relayd_log));

    let text = std::fs::read_to_string(&json).expect("relay-gen wrote its JSON summary");
    let s: Value = serde_json::from_str(&text).expect("summary is JSON");
    let ctx = format!("{gen_output}\n{text}");
    assert_eq!(s["total"]["sent"], 2000, "{ctx}");
    assert_eq!(s["total"]["received"], 2000, "{ctx}");
    assert_eq!(s["total"]["lost_forwarded"], 0, "{ctx}");
    let streams = s["streams"].as_array().expect("streams");
    let by_name = |n: &str| streams.iter().find(|st| st["name"] == n).unwrap_or_else(|| panic!("no stream {n}: {ctx}"));
    // The default mix, 70/20/5/5 of 2000; pass-through forwards the invalid ones too.
    for (name, sent) in [("a/encap", 1400), ("a/decap", 400), ("a/transit", 100), ("a/invalid", 100)] {
        let st = by_name(name);
        assert_eq!(st["sent"], sent, "{name}: {ctx}");
        assert_eq!(st["received"], sent, "{name}: {ctx}");
        assert_eq!(st["lost"], 0, "{name}: {ctx}");
        assert_eq!(st["latency_us"]["samples"], sent, "{name}: every packet has a latency sample: {ctx}");
        assert!(st["latency_us"]["p99_us"].is_number(), "{name}: {ctx}");
    }
    assert_eq!(streams.len(), 4, "{ctx}");
    let port_b = s["ports"].as_array().and_then(|p| p.iter().find(|p| p["name"] == "b")).expect("port b");
    assert_eq!(port_b["ipackets"], 2000, "{ctx}");

    // relayd stops cleanly on SIGTERM and accounts for every mbuf.
    let pid = kids.procs[0].1.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let status = wait_exit(&mut kids.procs[0].1, Duration::from_secs(30));
    let log = log_of(&relayd_log);
    assert_eq!(status.and_then(|s| s.code()), Some(0), "relayd:\n{log}");
    assert!(log.contains("no leak"), "relayd:\n{log}");
}

/// True if a relayd answers `ping` on the control socket `path`.
fn answers_ping(path: &Path) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::os::unix::net::UnixStream::connect(path) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut answer = String::new();
    s.write_all(b"ping\n").is_ok() && s.shutdown(std::net::Shutdown::Write).is_ok() && s.read_to_string(&mut answer).is_ok() && answer == "pong\nok\n"
}
