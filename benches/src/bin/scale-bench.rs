//! Scaling: relayd with one worker polling two rx queues vs two workers with one queue each,
//! on the same input (`net_pcap` with two `rx_pcap=` queues, `infinite_rx=1`) and output
//! (`net_null`), then a cycles-per-packet model of how many cores a 100GbE port of 64-byte
//! frames needs.
//!
//! `cargo run --release -p relay-benches --bin scale-bench -- [--seconds 5] [--runs 3]`
//!
//! `--pinning`: instead, the same two workers on one CPU vs on two (docs/tuning.md), with the
//! pinning warnings relayd printed for each layout.
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use relay_benches::frames;
use relay_benches::harness::{write_pcap, Forwarder};
use relay_benches::relayd::Config;
use relay_benches::results::{machine, median_spread, now_utc, write_section};

#[derive(Parser, Debug)]
struct Args {
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    #[arg(long, default_value = "benches/RESULTS.md")]
    results: PathBuf,
    #[arg(long, default_value = "/tmp/relay-scale")]
    work: PathBuf,
    /// EAL memory on 2 MiB hugepages (`scripts/hugepages.sh`), as in production.
    #[arg(long)]
    hugepages: bool,
    /// Compare two workers on one CPU with two workers on two CPUs (section `pinning` of the
    /// results) instead of one worker with two.
    #[arg(long)]
    pinning: bool,
}

const ROUTER: &str = include_str!("fwd-router.toml");
/// 100 Gbit/s of 64-byte frames plus 20 bytes of preamble and inter-frame gap.
const LINE_100G_64B: f64 = 100e9 / (84.0 * 8.0);

struct Setup {
    name: &'static str,
    prefix: &'static str,
    /// (cpu, rx queues) per worker.
    workers: Vec<(usize, Vec<String>)>,
}

fn setups() -> Vec<Setup> {
    let q = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        Setup { name: "1 worker, 2 rx queues", prefix: "scale-1", workers: vec![(1, q(&["lan:0", "lan:1", "wan:0"]))] },
        Setup { name: "2 workers, 1 rx queue each", prefix: "scale-2", workers: vec![(1, q(&["lan:0", "wan:0"])), (0, q(&["lan:1"]))] },
    ]
}

/// The same two workers (one rx queue of lan each), sharing CPU 1 or on CPUs 1 and 0, and
/// for reference one worker polling both queues on CPU 1.
fn pinning_setups() -> Vec<Setup> {
    let q = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        Setup { name: "reference: 1 worker on cpu 1, both queues", prefix: "pin-ref", workers: vec![(1, q(&["lan:0", "lan:1", "wan:0"]))] },
        Setup { name: "2 workers on one CPU (cpu 1 twice)", prefix: "pin-one", workers: vec![(1, q(&["lan:0", "wan:0"])), (1, q(&["lan:1"]))] },
        Setup { name: "2 workers on two CPUs (cpus 1 and 0)", prefix: "pin-two", workers: vec![(1, q(&["lan:0", "wan:0"])), (0, q(&["lan:1"]))] },
    ]
}

/// The core clock as the kernel reports it (`cpu MHz`); on this invariant-TSC x86 machine
/// the TSC counts at the same nominal rate.
fn cpu_hz() -> Option<f64> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines().find(|l| l.starts_with("cpu MHz"))?.split(':').nth(1)?.trim().parse::<f64>().ok().map(|m| m * 1e6)
}

fn main() {
    let a = Args::parse();
    std::fs::create_dir_all(&a.work).expect("work dir");
    // Native IPv6 forwarding (lan → wan by a /48 route): the router's full path, one LPM lookup.
    let mut devs = Vec::new();
    for q in 0..2 {
        let p = a.work.join(format!("native{q}.pcap"));
        write_pcap(&p, &frames::native(64, format!("2001:db8:bbbb:{q}::").parse().expect("addr"))).expect("pcap");
        devs.push(format!("rx_pcap={}", p.display()));
    }
    // net_pcap has as many tx queues as tx_pcap= arguments; every worker needs one on lan.
    let lan = format!("net_pcap0,{},tx_pcap=/dev/null,tx_pcap=/dev/null,infinite_rx=1", devs.join(","));
    let wan = "net_null0,no-rx=1".to_string();
    let ports = [("wan", wan), ("lan", lan)];
    let set = if a.pinning { pinning_setups() } else { setups() };
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); set.len()];
    let load_before = load1();
    for run in 0..a.runs {
        for (i, s) in set.iter().enumerate() {
            let prefix = s.prefix;
            // With two workers the control core shares cpu 0 with the second one.
            let (cmd, _) = Config { prefix, control_cpu: 0, ports: &ports, workers: &s.workers, tail: ROUTER, hugepages: a.hugepages }.command(&a.work);
            let log = a.work.join(format!("{prefix}-{run}.log"));
            let mut f = Forwarder::start(s.name, cmd, prefix, &log).expect("start relayd");
            let r = f.egress_rate(0, Duration::from_secs(1), Duration::from_secs(a.seconds));
            f.stop();
            match r {
                Ok(pps) => {
                    eprintln!("run {run}: {:<28} {:>8.3} Mpps", s.name, pps / 1e6);
                    rates[i].push(pps);
                }
                Err(e) => {
                    eprintln!("scale-bench: {}: {e}", s.name);
                    std::process::exit(1);
                }
            }
        }
    }
    if a.pinning {
        write_pinning_report(&a, &set, &rates, (&load_before, &load1()));
    } else {
        write_report(&a, &set, &rates);
    }
}

/// This process's nice value (its children, relayd among them, inherit it), from
/// /proc/self/stat: field 19, the 17th after the command name's closing parenthesis.
fn niceness() -> i64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(16)?.parse().ok()).unwrap_or(0)
}

/// The 1-minute load average: on a shared machine, how busy the others were.
fn load1() -> String {
    std::fs::read_to_string("/proc/loadavg").ok().and_then(|l| l.split_whitespace().next().map(str::to_string)).unwrap_or_default()
}

/// relayd's own pinning warnings for a layout, from its first run's log.
fn warnings(a: &Args, s: &Setup) -> Vec<String> {
    let log = std::fs::read_to_string(a.work.join(format!("{}-0.log", s.prefix))).unwrap_or_default();
    log.lines().filter_map(|l| l.strip_prefix("relayd: warning: ")).map(str::to_string).collect()
}

fn write_pinning_report(a: &Args, set: &[Setup], rates: &[Vec<f64>], load: (&str, &str)) {
    let mut md = String::from("## Pinning: 2 workers on one CPU vs on two\n\n");
    md.push_str(&format!(
        "The scaling setup (native IPv6 forwarding lan → wan, input `net_pcap` with two rx queues of 64 \
         flows each, `infinite_rx=1`, output `net_null,no-rx=1`, 60-byte frames) with two workers polling \
         one lan queue each, both on cpu 1 (`cpu = 1` twice) vs on cpus 1 and 0, and for reference one \
         worker polling both queues on cpu 1; the control core on cpu 0 in all three (so with two CPUs it \
         shares cpu 0 with worker 1, as this 2-CPU machine leaves no third). \
         Memory on {}. {} runs × {} s after 1 s warm-up, interleaved; egress `opackets` through \
         telemetry. Machine: {} (2 CPUs, each its own core, one NUMA node); 1-minute load average {} \
         before, {} after (other processes' share of the 2 CPUs). Date: {}.\n\n",
        if a.hugepages { "2 MiB hugepages" } else { "`--no-huge` 4 KiB pages" },
        a.runs, a.seconds, machine(), load.0, load.1, now_utc()
    ));
    let nice = match niceness() {
        0 => String::new(),
        n => format!("nice -n {n} "),
    };
    md.push_str(&format!(
        "Command: `{nice}cargo run --release -p relay-benches --bin scale-bench -- --pinning --seconds {} --runs {}{}`\n\n",
        a.seconds, a.runs, if a.hugepages { " --hugepages" } else { "" }
    ));
    md.push_str("| layout | median Mpps | min | max |\n|---|---:|---:|---:|\n");
    for (s, r) in set.iter().zip(rates) {
        let (m, lo, hi) = median_spread(r);
        md.push_str(&format!("| {} | {:.3} | {:.3} | {:.3} |\n", s.name, m / 1e6, lo / 1e6, hi / 1e6));
    }
    let median = |i: usize| rates.get(i).map_or(0.0, |r| median_spread(r).0);
    let (reference, shared, split) = (median(0), median(1), median(2));
    md.push_str(&format!(
        "\nTwo workers sharing one CPU forward {:.2} × what one worker on it does; on two CPUs, {:.2} × \
         (and {:.2} × the shared layout).\n\nWhat relayd warned at start:\n\n",
        shared / reference,
        split / reference,
        split / shared
    ));
    for s in set {
        md.push_str(&format!("- {}:\n", s.name));
        for w in warnings(a, s) {
            md.push_str(&format!("  - `{w}`\n"));
        }
    }
    write_section(&a.results, "pinning", &md).expect("write results");
    print!("{md}");
}

fn write_report(a: &Args, set: &[Setup], rates: &[Vec<f64>]) {
    let mut md = String::from("## Scaling: 1 vs 2 workers\n\n");
    md.push_str(&format!(
        "relayd native IPv6 forwarding (lan → wan, /48 route), input `net_pcap` with two rx queues (two \
         `rx_pcap=` files of 64 flows each, `infinite_rx=1`), output `net_null,no-rx=1`; 60-byte frames. \
         One worker on cpu 1 polling both queues vs a worker per queue on cpus 1 and 0 (the control core \
         shares cpu 0 with the second worker). Memory on {}. {} runs × {} s after 1 s warm-up, \
         interleaved; egress `opackets` through telemetry. Machine: {}. Date: {}.\n\n",
        if a.hugepages { "2 MiB hugepages" } else { "`--no-huge` 4 KiB pages" },
        a.runs, a.seconds, machine(), now_utc()
    ));
    md.push_str(&format!(
        "Command: `cargo run --release -p relay-benches --bin scale-bench -- --seconds {} --runs {}{}`\n\n",
        a.seconds, a.runs, if a.hugepages { " --hugepages" } else { "" }
    ));
    md.push_str("| setup | median Mpps | min | max | Mpps per worker |\n|---|---:|---:|---:|---:|\n");
    for (s, r) in set.iter().zip(rates) {
        let (m, lo, hi) = median_spread(r);
        md.push_str(&format!(
            "| {} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
            s.name, m / 1e6, lo / 1e6, hi / 1e6, m / 1e6 / s.workers.len() as f64
        ));
    }
    let one = median_spread(&rates[0]).0;
    let two = rates.get(1).map_or(0.0, |r| median_spread(r).0);
    md.push_str(&format!("\nSpeed-up with the second worker: {:.2} ×.\n\n", two / one));
    md.push_str("### Cores for 100GbE at 64 B: the model\n\n");
    match cpu_hz() {
        Some(hz) => {
            let cpp = hz / one;
            md.push_str(&format!(
                "cycles per packet = TSC rate / packets per second per core = {:.0} MHz / {:.3} Mpps = **{cpp:.0} \
                 cycles**, measured with one worker above (the input vdev's replay copy included, so this \
                 over-states the router's own cost; the callgrind section gives its instructions per packet). \
                 A 100GbE port of 64-byte frames carries 100 Gbit/s / ((64 + 20) B × 8) = {:.1} Mpps, so it needs \
                 cores = {:.1} Mpps × {cpp:.0} cycles / {:.0} MHz = {:.1}, so **{:.0} worker cores** at this clock, assuming \
                 linear scaling over RSS queues (each worker owns its queues; the route tables are shared read-only, \
                 so nothing is written by two workers per packet) — the measured speed-up above is the check of that assumption on this machine, where \
                 the second worker shares its CPU with the control core and everyone's compilers.\n",
                hz / 1e6, one / 1e6, LINE_100G_64B / 1e6, LINE_100G_64B / 1e6, hz / 1e6, LINE_100G_64B * cpp / hz, (LINE_100G_64B * cpp / hz).ceil()
            ));
        }
        None => md.push_str("The TSC rate is unknown here (no kernel log, no `cpu MHz`), so no model is computed.\n"),
    }
    write_section(&a.results, "scale", &md).expect("write results");
    print!("{md}");
}
