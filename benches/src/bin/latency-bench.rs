//! Latency through one forwarder between two memif ports: relay-gen → memif → forwarder →
//! memif → relay-gen, for relayd pass-through, relayd 6to4 encap and dpdk-testpmd io on the
//! same wiring. First the maximum rate each one sustains (relay-gen unpaced), then p50/p99/
//! p99.9/max at 10 %, 50 % and 90 % of the lowest of those maxima, so every forwarder gets the
//! same offered load.
//!
//! `cargo run --release -p relay-benches --bin latency-bench -- [--seconds 3] [--runs 3]`
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use clap::Parser;
use relay_benches::harness::Forwarder;
use relay_benches::relayd::{relay_gen, Config, Control};
use relay_benches::results::{machine, median_spread, now_utc, write_section};
use serde_json::Value;

#[derive(Parser, Debug)]
struct Args {
    /// Sending time of each latency point.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// Sending time of each maximum-rate run.
    #[arg(long, default_value_t = 2)]
    max_seconds: u64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// CPU of the forwarder's polling lcore; its main lcore and relay-gen take the other one.
    #[arg(long, default_value_t = 1)]
    cpu: usize,
    /// Only forwarders whose name contains this.
    #[arg(long)]
    only: Option<String>,
    #[arg(long, default_value = "benches/RESULTS.md")]
    results: PathBuf,
    #[arg(long, default_value = "/tmp/relay-latency")]
    work: PathBuf,
}

const LOADS: [f64; 3] = [0.10, 0.50, 0.90];
const ROUTER: &str = include_str!("fwd-router.toml");

struct Variant {
    name: &'static str,
    prefix: &'static str,
    /// relay-gen's ports, traffic and measured side.
    gen: Vec<String>,
}

fn sock(a: &Args, n: &str) -> String {
    a.work.join(format!("{n}.sock")).display().to_string()
}

fn variants(a: &Args) -> Vec<Variant> {
    let pair = |x: &str, y: &str| {
        vec![
            "--port".into(), format!("{x}=net_memif0,role=client,socket={}", sock(a, "m0")),
            "--port".into(), format!("{y}=net_memif1,role=client,socket={}", sock(a, "m1")),
        ]
    };
    let mut pass = pair("a", "b");
    pass.extend(["--tx", "a:transit", "--rx", "b"].map(String::from));
    let mut encap = pair("wan", "lan");
    // Native traffic from the router's own 6to4 site to other sites, addressed to its LAN MAC.
    encap.extend(
        ["--tx", "lan:encap", "--rx", "wan", "--dst-mac", "lan=02:00:00:00:00:a1", "--native-src", "2002:c633:6407:1::"]
            .map(String::from),
    );
    vec![
        Variant { name: "dpdk-testpmd io", prefix: "lat-testpmd", gen: pass.clone() },
        Variant { name: "relayd pass-through", prefix: "lat-pass", gen: pass },
        Variant { name: "relayd 6to4 encap", prefix: "lat-encap", gen: encap },
    ]
}

/// Starts the forwarder of `v` with both memif servers and waits until it serves them.
fn start(a: &Args, v: &Variant, tag: &str) -> Result<Forwarder, String> {
    let main_cpu = 1 - a.cpu.min(1);
    let log = a.work.join(format!("{}-{tag}.log", v.prefix));
    let m0 = format!("net_memif0,role=server,socket={}", sock(a, "m0"));
    let m1 = format!("net_memif1,role=server,socket={}", sock(a, "m1"));
    let relayd = |names: [&str; 2], tail: &str| {
        let ports = [(names[0], m0.clone()), (names[1], m1.clone())];
        let workers = [(a.cpu, vec![format!("{}:0", names[0]), format!("{}:0", names[1])])];
        Config { prefix: v.prefix, control_cpu: main_cpu, ports: &ports, workers: &workers, tail, hugepages: false }.command(&a.work)
    };
    let (cmd, control) = match v.prefix {
        "lat-testpmd" => {
            let mut c = Command::new("dpdk-testpmd");
            c.args([
                &format!("--lcores=0@{main_cpu},1@{}", a.cpu),
                "--no-huge", "-m", "1024", "--no-pci", "--file-prefix=lat-testpmd", "--log-level=warning",
                &format!("--vdev={m0}"), &format!("--vdev={m1}"),
                "--", "--forward-mode=io", "--nb-cores=1", "--stats-period=1", "--burst=32",
                "--rxd=1024", "--txd=1024", "--no-mlockall", "--total-num-mbufs=16384",
            ]);
            (c, None)
        }
        "lat-pass" => {
            let (c, s) = relayd(["a", "b"], "[runtime]\nmode = \"passthrough\"\nforward = [[\"a\", \"b\"], [\"b\", \"a\"]]\n");
            (c, Some(s))
        }
        _ => {
            let (c, s) = relayd(["wan", "lan"], ROUTER);
            (c, Some(s))
        }
    };
    let mut f = Forwarder::start(v.name, cmd, v.prefix, &log).map_err(|e| e.to_string())?;
    f.ready()?;
    match control {
        // relayd binds its control socket once its ports (the memif servers) are up.
        Some(s) => drop(Control::wait(&s, Duration::from_secs(60))?),
        None => std::thread::sleep(Duration::from_secs(2)),
    }
    Ok(f)
}

/// One relay-gen run against a started forwarder; `rate` None = unpaced.
fn gen(a: &Args, v: &Variant, rate: Option<f64>, seconds: u64, tag: &str) -> Result<Value, String> {
    let mut args = v.gen.clone();
    args.extend(
        ["--size", "64", "--flows", "16", "--link-wait-s", "30", "--drain-ms", "500", "--lcores"].map(String::from),
    );
    // relay-gen's main lcore and its one worker (TX and RX loops) share the CPU the
    // forwarder's polling lcore does not use.
    let main_cpu = 1 - a.cpu.min(1);
    args.push(format!("0@{main_cpu},1@{main_cpu}"));
    args.extend(["--file-prefix".into(), "lat-gen".into(), "--duration".into(), seconds.to_string()]);
    if let Some(r) = rate {
        args.extend(["--rate-pps".into(), format!("{}", r.round() as u64)]);
    }
    let json = a.work.join(format!("gen-{}-{tag}.json", v.prefix));
    let log = a.work.join(format!("gen-{}-{tag}.log", v.prefix));
    relay_gen(&args, &json, &log, Duration::from_secs(seconds + 90))
}

/// A fresh forwarder for every relay-gen run: a memif server does not always accept a new
/// client after the previous one left (connect refused until the port restarts).
fn measure(a: &Args, v: &Variant, rate: Option<f64>, seconds: u64, tag: &str) -> Result<Value, String> {
    let f = start(a, v, tag)?;
    let r = gen(a, v, rate, seconds, tag);
    f.stop();
    r
}

fn num(v: &Value, path: &[&str]) -> f64 {
    path.iter().fold(v, |v, k| &v[*k]).as_f64().unwrap_or(f64::NAN)
}

/// The measured stream: the one forwarded stream with latency samples.
fn stream(s: &Value) -> Value {
    s["streams"].as_array().and_then(|v| v.iter().find(|st| st["expect"] != "drop" && num(st, &["latency_us", "samples"]) > 0.0))
        .cloned().unwrap_or(Value::Null)
}

#[derive(Default, Clone)]
struct Point {
    p50: Vec<f64>,
    p99: Vec<f64>,
    p999: Vec<f64>,
    max: Vec<f64>,
    lost: Vec<f64>,
    sent: Vec<f64>,
}

fn main() {
    let a = Args::parse();
    std::fs::create_dir_all(&a.work).expect("work dir");
    let vs: Vec<Variant> = variants(&a).into_iter().filter(|v| a.only.as_deref().is_none_or(|o| v.name.contains(o))).collect();
    let fail = |e: String| -> ! {
        eprintln!("latency-bench: {e}");
        std::process::exit(1)
    };

    // Phase 1: each forwarder's maximum rate, relay-gen unpaced.
    let mut max: Vec<Vec<f64>> = vec![Vec::new(); vs.len()];
    for run in 0..a.runs {
        for (i, v) in vs.iter().enumerate() {
            let s = measure(&a, v, None, a.max_seconds, &format!("max{run}")).unwrap_or_else(|e| fail(e));
            let pps = num(&stream(&s), &["received"]) / a.max_seconds as f64;
            eprintln!("max run {run}: {:<22} {:>7.3} Mpps (lost {})", v.name, pps / 1e6, s["total"]["lost_forwarded"]);
            max[i].push(pps);
        }
    }
    let common = max.iter().map(|m| median_spread(m).0).fold(f64::INFINITY, f64::min);

    // Phase 2: latency at fractions of the common maximum, forwarders interleaved per run.
    let mut pts: Vec<Vec<Point>> = vec![vec![Point::default(); LOADS.len()]; vs.len()];
    for run in 0..a.runs {
        for (i, v) in vs.iter().enumerate() {
            for (j, load) in LOADS.iter().enumerate() {
                let s = measure(&a, v, Some(common * load), a.seconds, &format!("{run}-{j}")).unwrap_or_else(|e| fail(e));
                let st = stream(&s);
                let l = |k: &str| num(&st, &["latency_us", k]);
                let p = &mut pts[i][j];
                p.p50.push(l("p50_us"));
                p.p99.push(l("p99_us"));
                p.p999.push(l("p99_9_us"));
                p.max.push(l("max_us"));
                p.lost.push(num(&s, &["total", "lost_forwarded"]));
                p.sent.push(num(&st, &["sent"]));
                eprintln!(
                    "run {run}: {:<22} {:>3.0}%  p50 {:>7.1} µs  p99 {:>7.1}  p99.9 {:>7.1}  max {:>8.1}  lost {}",
                    v.name, load * 100.0, l("p50_us"), l("p99_us"), l("p99_9_us"), l("max_us"), s["total"]["lost_forwarded"]
                );
            }
        }
    }
    write_report(&a, &vs, &max, common, &pts);
}

fn cell(v: &[f64], digits: usize) -> String {
    let (m, lo, hi) = median_spread(v);
    format!("{m:.digits$} ({lo:.digits$}–{hi:.digits$})")
}

fn write_report(a: &Args, vs: &[Variant], max: &[Vec<f64>], common: f64, pts: &[Vec<Point>]) {
    let main_cpu = 1 - a.cpu.min(1);
    let mut md = String::from("## Latency over memif\n\n");
    md.push_str(&format!(
        "relay-gen → `net_memif` → forwarder → `net_memif` → relay-gen, forwarder as memif server on both \
         ports, relay-gen as client. Frames of 90 bytes with FCS (relay-gen's smallest stamped IPv6 frame; \
         encap: 90 in, 110 out), 16 flows. CPUs: the forwarder's polling lcore alone on cpu {}; its main \
         lcore and relay-gen (main lcore and one worker lcore running both TX and RX loops) on cpu {main_cpu}; \
         no idle sleeping anywhere. Maximum: relay-gen unpaced for {} s, received packets / time, {} runs. \
         Latency points: relay-gen TSC-paced at 10/50/90 % of the lowest median maximum ({:.3} Mpps), \
         the same offered load for every forwarder, {} s each, {} runs with the forwarders interleaved; \
         latency is relay-gen's TX-TSC to RX-TSC per packet (it includes relay-gen's own queueing and polling). \
         Each relay-gen run gets a freshly started forwarder. Cells: median (min–max over runs). Machine: {}. Date: {}.\n\n",
        a.cpu, a.max_seconds, a.runs, common / 1e6, a.seconds, a.runs, machine(), now_utc()
    ));
    md.push_str(&format!(
        "Command: `cargo run --release -p relay-benches --bin latency-bench -- --seconds {} --max-seconds {} --runs {}`\n\n",
        a.seconds, a.max_seconds, a.runs
    ));
    md.push_str("| forwarder | max Mpps |\n|---|---:|\n");
    for (v, m) in vs.iter().zip(max) {
        let m: Vec<f64> = m.iter().map(|x| x / 1e6).collect();
        md.push_str(&format!("| {} | {} |\n", v.name, cell(&m, 3)));
    }
    md.push_str("\n| forwarder | load | Mpps | p50 µs | p99 µs | p99.9 µs | max µs | lost / sent |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (v, ps) in vs.iter().zip(pts) {
        for (p, load) in ps.iter().zip(LOADS) {
            let lost: f64 = p.lost.iter().sum();
            let sent: f64 = p.sent.iter().sum();
            md.push_str(&format!(
                "| {} | {:.0} % | {:.3} | {} | {} | {} | {} | {lost:.0} / {sent:.0} |\n",
                v.name, load * 100.0, common * load / 1e6, cell(&p.p50, 1), cell(&p.p99, 1), cell(&p.p999, 1), cell(&p.max, 1)
            ));
        }
    }
    let p999_at_half = |name: &str| {
        vs.iter().position(|v| v.name == name).map(|i| median_spread(&pts[i][1].p999).0)
    };
    if let (Some(t), Some(r)) = (p999_at_half("dpdk-testpmd io"), p999_at_half("relayd pass-through")) {
        let ratio = r / t;
        md.push_str(&format!(
            "\nGoal: relayd p99.9 ≤ 1.5 × testpmd's at 50 %. Measured (medians): pass-through {r:.1} µs vs \
             testpmd {t:.1} µs = {ratio:.2} × → {}.\n",
            if ratio <= 1.5 { "met" } else { "not met" }
        ));
    }
    write_section(&a.results, "latency", &md).expect("write results");
    print!("{md}");
}

