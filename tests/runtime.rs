//! relayd's runtime end to end on virtual ports: pass-through on net_pcap, several workers on
//! shared cores, shutdown and the pool check, bad configurations.
mod common;
use common::*;

fn frames(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let len = 60 + (i * 37) % 1455;
            let mut f: Vec<u8> = (0..len).map(|b| (b * 7 + i) as u8).collect();
            f[12] = 0x88; // a local-experimental EtherType: pass-through must not care
            f[13] = 0xb5;
            f
        })
        .collect()
}

#[test]
fn passthrough_pcap_n_in_n_out_identical() {
    let dir = Scratch::new("passthrough");
    let input = frames(1000);
    write_pcap(&dir.path("in.pcap"), &input);
    write_pcap(&dir.path("empty.pcap"), &[]);
    let cfg = dir.write(
        "relayd.toml",
        &format!(
            r#"
[eal]
file_prefix = "rt-passthrough"
memory_mb = 256
[[port]]
name = "in"
device = "net_pcap0,rx_pcap={d}/in.pcap,tx_pcap={d}/back.pcap"
[[port]]
name = "out"
device = "net_pcap1,rx_pcap={d}/empty.pcap,tx_pcap={d}/out.pcap"
[runtime]
mode = "passthrough"
forward = [["in", "out"], ["out", "in"]]
[control]
socket = "{d}/ctl.sock"
"#,
            d = dir.0.display()
        ),
    );
    let run = run_relayd(&["-c", cfg.to_str().unwrap(), "--offline"]);
    run.assert_clean();
    let out = read_pcap(&dir.path("out.pcap"));
    assert_eq!(out.len(), input.len(), "N in, N out");
    assert!(out == input, "bytes identical, in order");
    assert!(read_pcap(&dir.path("back.pcap")).is_empty());
    assert_eq!(run.counter("rx_packets"), 1000);
    assert_eq!(run.counter("tx_packets"), 1000);
    assert_eq!(run.counter("tx_dropped"), 0);
}

#[test]
fn several_workers_on_shared_cores_account_for_every_packet() {
    let dir = Scratch::new("multiworker");
    let cfg = dir.write(
        "relayd.toml",
        &format!(
            r#"
[eal]
file_prefix = "rt-multiworker"
memory_mb = 256
[cores]
control = 0
[[port]]
name = "a"
device = "net_null0"
[[port]]
name = "b"
device = "net_null1"
[[worker]]
cpu = 0
rx = ["a:0", "b:1"]
[[worker]]
cpu = 0
rx = ["a:1", "b:0"]
[runtime]
mode = "passthrough"
forward = [["a", "b"], ["b", "a"]]
idle_sleep_us = 10
[control]
socket = "{d}/ctl.sock"
"#,
            d = dir.0.display()
        ),
    );
    let run = run_relayd(&["-c", cfg.to_str().unwrap(), "--duration", "2"]);
    run.assert_clean();
    assert!(run.stdout.contains("worker 0 = lcore 1 on cpu 0 polling a:0 b:1"), "{}", run.stdout);
    assert!(run.stdout.contains("worker 1 = lcore 2 on cpu 0 polling a:1 b:0"), "{}", run.stdout);
    assert!(run.stdout.contains("EAL --lcores=0@0,1@0,2@0"), "{}", run.stdout);
    let rx = run.counter("rx_packets");
    assert!(rx > 0);
    assert_eq!(rx, run.counter("tx_packets") + run.counter("tx_dropped"), "in = out + counted drops");
    let port_out = run.counter("port.a.opackets") + run.counter("port.b.opackets");
    assert_eq!(port_out, run.counter("tx_packets"), "what we count as sent is what the ports sent");
    let port_in = run.counter("port.a.ipackets") + run.counter("port.b.ipackets");
    assert_eq!(port_in, rx);
}

#[test]
fn leaked_mbuf_is_reported_at_exit() {
    let dir = Scratch::new("leak");
    let cfg = dir.write(
        "relayd.toml",
        &format!(
            r#"
[eal]
file_prefix = "rt-leak"
memory_mb = 256
[[port]]
name = "a"
device = "net_null0"
[runtime]
mode = "passthrough"
forward = [["a", "a"]]
idle_sleep_us = 10
[control]
socket = "{d}/ctl.sock"
"#,
            d = dir.0.display()
        ),
    );
    let clean = run_relayd(&["-c", cfg.to_str().unwrap(), "--duration", "1"]);
    clean.assert_clean();
    let leaky = run_relayd(&["-c", cfg.to_str().unwrap(), "--duration", "1", "--debug-leak-mbuf"]);
    assert_eq!(leaky.code(), Some(3), "{}\n{}", leaky.stdout, leaky.stderr);
    assert!(leaky.stderr.contains("LEAK: 1 mbuf(s) did not return to the pool"), "{}", leaky.stderr);
}

/// Each bad configuration is refused before anything starts, naming the field and the reason.
#[test]
fn bad_configs_are_rejected_with_field_and_reason() {
    let dir = Scratch::new("badcfg");
    let base = r#"
[[port]]
name = "a"
device = "net_null0"
"#;
    let cases: &[(&str, &str)] = &[
        ("[[port]]\nname = \"a\"\ndevice = \"net_null0\"\ncolour = \"red\"\n", "unknown field `colour`"),
        ("", "port: at least one [[port]] is needed"),
        ("[[port]]\nname = \"a\"\ndevice = \"eth0\"\n", "port[0].device: \"eth0\" is neither a PCI address"),
        ("[[port]]\nname = \"a\"\ndevice = \"net_null0\"\nmac = \"02:00:00\"\n", "port[0].mac: \"02:00:00\" is not a MAC address"),
        (&format!("{base}[[port]]\nname = \"a\"\ndevice = \"net_null1\"\n"), "port[1].name: \"a\" is empty or used twice"),
        (&format!("{base}[[worker]]\ncpu = 0\nrx = [\"x:0\"]\n"), "worker[0].rx[0]: no port named \"x\""),
        (&format!("{base}[[worker]]\ncpu = 0\nrx = [\"a:0\"]\n[[worker]]\ncpu = 0\nrx = [\"a:0\"]\n"), "worker[1].rx[0]: a:0 is polled by another worker already"),
        (&format!("{base}[[worker]]\ncpu = 4096\nrx = [\"a:0\"]\n"), "worker[0].cpu: CPU 4096 does not exist"),
        (&format!("{base}[[worker]]\ncpu = 0\nrx = [\"a:1\"]\n"), "port[0]: rx queues of \"a\" must be 0..1 with none missing"),
        (&format!("{base}[runtime]\nmempool_size = 100\n"), "runtime.mempool_size: 100 mbufs is too small"),
        (&format!("{base}[runtime]\nburst = 0\n"), "runtime.burst: must be 1..=32"),
        (&format!("{base}[runtime]\nmode = \"passthrough\"\n"), "runtime.forward: pass-through mode needs [from, to] port pairs"),
        (&format!("{base}[runtime]\nmode = \"bridge\"\n"), "unknown variant `bridge`"),
        (&format!("{base}[control]\nprometheus = \"localhost\"\n"), "control.prometheus: \"localhost\" is neither a port nor addr:port"),
        (&format!("{base}[eal]\nfile_prefix = \"a/b\"\n"), "eal.file_prefix: must be a non-empty name without '/'"),
    ];
    for (i, (toml, expected)) in cases.iter().enumerate() {
        let path = dir.write(&format!("bad{i}.toml"), toml);
        let run = run_relayd(&["-c", path.to_str().unwrap(), "--check"]);
        assert_eq!(run.code(), Some(2), "case {i} should fail: {toml}\n{}", run.stdout);
        assert!(run.stderr.contains("config error:"), "case {i}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "case {i}: expected {expected:?} in {:?}", run.stderr);
    }
    let missing = run_relayd(&["-c", dir.path("nope.toml").to_str().unwrap(), "--check"]);
    assert_eq!(missing.code(), Some(2));
    assert!(missing.stderr.contains("nope.toml: cannot read"), "{}", missing.stderr);
}

#[test]
fn check_prints_the_plan() {
    let run = run_relayd(&["--check"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("config ok"));
    assert!(run.stdout.contains("--vdev=net_null0"));
    assert!(run.stdout.contains("--no-huge -m 256"));
}

/// A port that takes nothing (memif with no peer yet) holds the gratuitous ARP relayd sends at
/// start in its tx buffer for good: the worker must still sleep when idle, not poll at 100 %
/// waiting on it (issue 21 §3).
#[test]
fn a_port_that_takes_nothing_does_not_keep_an_idle_worker_polling() {
    let dir = Scratch::new("stalled-tx");
    let cfg = dir.write(
        "relayd.toml",
        &format!(
            r#"
[eal]
file_prefix = "rt-stalled-tx"
memory_mb = 256
[cores]
control = 0
[[port]]
name = "wan"
device = "net_memif0,role=server,socket={d}/memif.sock"
[[port]]
name = "lan"
device = "net_null0,no-rx=1"
[[worker]]
cpu = 0
rx = ["wan:0", "lan:0"]
[runtime]
idle_sleep_us = 100
[control]
socket = "{d}/ctl.sock"
[pipeline]
[[pipeline.interface]]
port = 0
ipv4 = "198.51.100.7/24"
[[pipeline.interface]]
port = 1
ipv6 = ["2001:db8:1::1/64"]
"#,
            d = dir.0.display()
        ),
    );
    let run = run_relayd(&["-c", cfg.to_str().unwrap(), "--duration", "2"]);
    run.assert_clean();
    assert!(run.counter("slowpath.arp_announcements") >= 1, "{}", run.stdout);
    assert_eq!(run.counter("port.wan.opackets"), 0, "no memif peer took anything");
    // Every idle loop sleeps once its run of empty polls is long enough: nearly all of them.
    // Waiting on the stalled buffer, the worker slept twice in 3·10⁷ polls.
    let (sleeps, polls) = (run.counter("idle_sleeps"), run.counter("polls"));
    assert!(sleeps * 2 > polls, "the idle worker sleeps: {sleeps} sleeps in {polls} polls\n{}", run.stdout);
}
