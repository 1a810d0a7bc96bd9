//! Route churn under full load: relayd forwards native IPv6 at the full rate of its vdevs
//! while a client pushes route updates through the control socket (`batch` requests, half
//! adds of new /56s, half deletes of the oldest), against the same relayd, same table size,
//! without churn. Reports the throughput dip from per-100 ms egress samples and the packet
//! loss from relayd's own counters.
//!
//! `cargo run --release -p relay-benches --bin churn-bench -- [--seconds 5] [--runs 3] [--rate 100000]`
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use relay_benches::frames;
use relay_benches::harness::{pcap_input, Forwarder};
use relay_benches::relayd::{Config, Control};
use relay_benches::results::{machine, median_spread, now_utc, write_section};
use relay_tools::telemetry::{json_u64, Telemetry};

#[derive(Parser, Debug)]
struct Args {
    /// Length of each phase (no churn, then churn).
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Route changes per second asked for.
    #[arg(long, default_value_t = 100_000)]
    rate: u64,
    /// Changes per `batch` request (half adds, half deletes).
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Routes in the table besides the config's (kept constant through the churn).
    #[arg(long, default_value_t = 50_000)]
    routes: usize,
    #[arg(long, default_value = "benches/RESULTS.md")]
    results: PathBuf,
    #[arg(long, default_value = "/tmp/relay-churn")]
    work: PathBuf,
    /// EAL memory on 2 MiB hugepages (`scripts/hugepages.sh`), as in production.
    #[arg(long)]
    hugepages: bool,
}

const ROUTER: &str = include_str!("fwd-router.toml");
const SAMPLE: Duration = Duration::from_millis(100);
/// The relayd counters the loss accounting reads (`stats`, summed over workers).
const COUNTERS: [&str; 5] = ["rx_packets", "tx_packets", "tx_dropped", "pipeline_dropped", "punted"];

/// The churned /56s: 2001:db8:0000..7fff::/56 by index, clear of the traffic's 2001:db8:bbbb::/48.
fn prefix(i: usize) -> String {
    let a = std::net::Ipv6Addr::new(0x2001, 0xdb8, ((i >> 8) & 0x7fff) as u16, ((i & 0xff) << 8) as u16, 0, 0, 0, 0);
    format!("{a}/56")
}

/// The batch that adds routes `add` and deletes routes `del` (index ranges).
fn batch(add: std::ops::Range<usize>, del: std::ops::Range<usize>) -> String {
    let mut b = String::from("batch\n");
    for i in add {
        b.push_str(&format!("route add {} via 2002:c058:6301::\n", prefix(i)));
    }
    for i in del {
        b.push_str(&format!("route del {}\n", prefix(i)));
    }
    b.push_str("end\n");
    b
}

/// Per-`SAMPLE` egress rates of port 0 over `len`.
fn sample(t: &mut Telemetry, len: Duration) -> Result<Vec<f64>, String> {
    let mut read = || -> Result<(u64, Instant), String> {
        let r = t.query("/ethdev/stats,0").map_err(|e| e.to_string())?;
        Ok((json_u64(&r, "opackets").ok_or_else(|| format!("no opackets in {r}"))?, Instant::now()))
    };
    let end = Instant::now() + len;
    let mut last = read()?;
    let mut rates = Vec::new();
    while Instant::now() < end {
        std::thread::sleep(SAMPLE);
        let now = read()?;
        rates.push((now.0 - last.0) as f64 / (now.1 - last.1).as_secs_f64());
        last = now;
    }
    Ok(rates)
}

fn missed(t: &mut Telemetry) -> Result<u64, String> {
    let r = t.query("/ethdev/stats,1").map_err(|e| e.to_string())?;
    Ok(["imissed", "ierrors", "rx_nombuf"].iter().map(|k| json_u64(&r, k).unwrap_or(0)).sum())
}

fn counters(c: &mut Control) -> Result<[u64; 5], String> {
    let s = c.request("stats")?;
    Ok(COUNTERS.map(|n| Control::stat(&s, n)))
}

struct Run {
    quiet: Vec<f64>,
    churn: Vec<f64>,
    /// Route changes per second achieved.
    updates: f64,
    /// Counter deltas over the churn phase, in `COUNTERS` order.
    delta: [u64; 5],
    /// The input port's `imissed + ierrors + rx_nombuf` over the churn phase.
    missed: u64,
    consistent: bool,
}

fn run_once(a: &Args, run: usize, lan: &str) -> Result<Run, String> {
    let prefix = "churn";
    let ports = [("wan", "net_null0,no-rx=1".to_string()), ("lan", lan.to_string())];
    let workers = [(1, vec!["wan:0".to_string(), "lan:0".to_string()])];
    let (cmd, sock) = Config { prefix, control_cpu: 0, ports: &ports, workers: &workers, tail: ROUTER, hugepages: a.hugepages }.command(&a.work);
    let mut f = Forwarder::start("relayd", cmd, prefix, &a.work.join(format!("relayd-{run}.log"))).map_err(|e| e.to_string())?;
    let result = (|| {
        let mut t = f.ready()?;
        let mut c = Control::wait(&sock, Duration::from_secs(60))?;
        let half = a.batch / 2;
        // Fill the table to its steady size first; both phases run with it.
        for b in (0..a.routes).step_by(half.max(1)) {
            c.request(&batch(b..(b + half).min(a.routes), 0..0)).map_err(|e| format!("fill: {e}"))?;
        }
        std::thread::sleep(Duration::from_secs(1));
        let quiet = sample(&mut t, Duration::from_secs(a.seconds))?;

        let (before, missed_before) = (counters(&mut c)?, missed(&mut t)?);
        let stop = Arc::new(AtomicBool::new(false));
        let (routes, rate, stop2, sock2) = (a.routes, a.rate, stop.clone(), sock.clone());
        let pusher = std::thread::spawn(move || -> Result<(usize, Duration), String> {
            let mut c = Control::wait(&sock2, Duration::from_secs(5))?;
            let period = Duration::from_secs_f64((2 * half) as f64 / rate as f64);
            let (start, mut next, mut changes) = (Instant::now(), routes, 0);
            while !stop2.load(Ordering::Relaxed) {
                // Batch k is due at start + k·period; a late batch is sent at once, never skipped.
                let due = start + period * (changes / (2 * half).max(1)) as u32;
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                c.request(&batch(next..next + half, next - routes..next - routes + half)).map_err(|e| format!("churn: {e}"))?;
                next += half;
                changes += 2 * half;
            }
            Ok((changes, start.elapsed()))
        });
        let churn = sample(&mut t, Duration::from_secs(a.seconds));
        stop.store(true, Ordering::Relaxed);
        let pushed = pusher.join().map_err(|_| "churn thread panicked".to_string())?;
        let (after, missed_after) = (counters(&mut c)?, missed(&mut t)?);
        let (changes, took) = pushed?;
        let churn = churn?;
        let consistent = c.request("audit").is_ok();
        let delta = std::array::from_fn(|i| after[i] - before[i]);
        let missed = missed_after - missed_before;
        Ok(Run { quiet, churn, updates: changes as f64 / took.as_secs_f64(), delta, missed, consistent })
    })();
    f.stop();
    result
}

fn main() {
    let a = Args::parse();
    std::fs::create_dir_all(&a.work).expect("work dir");
    let lan = pcap_input(&a.work, "native", &frames::native(64, "2001:db8:bbbb::".parse().expect("addr"))).expect("pcap");
    let mut runs = Vec::new();
    for run in 0..a.runs {
        match run_once(&a, run, &lan) {
            Ok(r) => {
                let (q, c) = (median_spread(&r.quiet).0, median_spread(&r.churn));
                eprintln!(
                    "run {run}: no churn {:.3} Mpps, churn {:.3} Mpps (min 100 ms {:.3}), {:.0} updates/s, rx−tx {}, drops {}+{}, missed {}",
                    q / 1e6, c.0 / 1e6, c.1 / 1e6, r.updates, r.delta[0] as i64 - r.delta[1] as i64, r.delta[2], r.delta[3], r.missed
                );
                runs.push(r);
            }
            Err(e) => {
                eprintln!("churn-bench: run {run}: {e}");
                std::process::exit(1);
            }
        }
    }
    write_report(&a, &runs);
}

fn write_report(a: &Args, runs: &[Run]) {
    let mut md = String::from("## Route churn under load\n\n");
    md.push_str(&format!(
        "relayd (router config of fwd-bench) forwarding native IPv6 lan → wan by a /48 route, `net_pcap,infinite_rx=1` \
         → `net_null`, 60-byte frames, worker on cpu 1, control core on cpu 0 (with the client). {} extra /56 routes \
         in the table throughout. Per run: {} s without churn, then {} s while a client on the control socket sends \
         `batch` requests of {} changes ({} adds of new /56s, {} deletes of the oldest) paced at {} changes/s. \
         Egress `opackets` sampled every 100 ms through telemetry; loss from relayd's own `stats` counters over the \
         churn phase. Memory on {}. {} runs, each on a fresh relayd. Machine: {}. Date: {}.\n\n",
        a.routes, a.seconds, a.seconds, a.batch, a.batch / 2, a.batch / 2, a.rate,
        if a.hugepages { "2 MiB hugepages" } else { "`--no-huge` 4 KiB pages" }, a.runs, machine(), now_utc()
    ));
    md.push_str(&format!(
        "Command: `cargo run --release -p relay-benches --bin churn-bench -- --seconds {} --runs {} --rate {} --batch {}{}`\n\n",
        a.seconds, a.runs, a.rate, a.batch, if a.hugepages { " --hugepages" } else { "" }
    ));
    md.push_str(
        "| run | no churn Mpps (median) | churn Mpps (median) | churn / no churn | worst 100 ms / no churn | updates/s done | rx − tx | tx_dropped | pipeline_dropped | input missed | audit |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    let (mut ratios, mut worst, mut ups) = (Vec::new(), Vec::new(), Vec::new());
    for (i, r) in runs.iter().enumerate() {
        let q = median_spread(&r.quiet).0;
        let (c, lo, _) = median_spread(&r.churn);
        ratios.push(c / q);
        worst.push(lo / q);
        ups.push(r.updates);
        md.push_str(&format!(
            "| {i} | {:.3} | {:.3} | {:.3} | {:.3} | {:.0} | {} | {} | {} | {} | {} |\n",
            q / 1e6, c / 1e6, c / q, lo / q, r.updates, r.delta[0] as i64 - r.delta[1] as i64, r.delta[2], r.delta[3], r.missed,
            if r.consistent { "consistent" } else { "FAILED" }
        ));
    }
    let (rm, rlo, rhi) = median_spread(&ratios);
    let (wm, wlo, whi) = median_spread(&worst);
    let (um, _, _) = median_spread(&ups);
    let lost: u64 = runs.iter().map(|r| r.delta[2] + r.delta[3] + r.missed).sum();
    md.push_str(&format!(
        "\nRate under churn / without: median {rm:.3} ({rlo:.3}–{rhi:.3}); worst 100 ms / without: median {wm:.3} \
         ({wlo:.3}–{whi:.3}); {um:.0} updates/s achieved (median). Packets lost (tx_dropped + pipeline_dropped + the input \
         port's imissed/ierrors/rx_nombuf), all runs: {lost}. Goal: zero loss and ≥ 0.90 of the no-churn rate → {}.\n\n\
         `rx − tx` is taken from two `stats` snapshots, each a consistent per-worker copy published every \
         millisecond; it may differ from zero by the packets in the worker's tx buffer at each snapshot (at most \
         a burst or two), which is not loss.\n",
        if lost == 0 && rm >= 0.9 { "met" } else { "not met" }
    ));
    write_section(&a.results, "churn", &md).expect("write results");
    print!("{md}");
}
