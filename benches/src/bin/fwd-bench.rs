//! Forwarding rate on one core, `net_pcap,infinite_rx=1` → `net_null`: relayd against
//! dpdk-testpmd io on the same vdevs, same run, several rounds, median and spread.
//!
//! `cargo run --release -p relay-benches --bin fwd-bench -- [--seconds 5] [--runs 3]`
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::Parser;
use relay_benches::harness::{write_pcap, Forwarder};
use relay_benches::results::{machine, median_spread, now_utc, write_section};

#[derive(Parser, Debug)]
struct Args {
    /// Measurement window per run.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// CPU of the forwarding lcore (the control / main lcore takes the other one).
    #[arg(long, default_value_t = 1)]
    cpu: usize,
    #[arg(long, default_value = "benches/RESULTS.md")]
    results: PathBuf,
    /// Where pcaps, configs and logs go.
    #[arg(long, default_value = "/tmp/relay-bench")]
    work: PathBuf,
}

/// 64-byte frames (60 + FCS): the worst case for per-packet cost.
fn frames() -> Vec<Vec<u8>> {
    (0..64u8)
        .map(|i| {
            let mut f = vec![0u8; 60];
            f[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
            f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x10 + i]);
            f[12..14].copy_from_slice(&[0x88, 0xb5]);
            f[14] = i;
            f
        })
        .collect()
}

struct Contestant {
    name: &'static str,
    prefix: &'static str,
    cmd: Command,
    egress_port: u16,
}

fn relayd_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.with_file_name("relayd")
}

fn contestants(a: &Args, pcap: &Path) -> Vec<Contestant> {
    let rx = format!("net_pcap0,rx_pcap={},infinite_rx=1", pcap.display());
    let tx = "net_null0,no-rx=1";
    let mut testpmd = Command::new("dpdk-testpmd");
    testpmd.args([
        &format!("--lcores=0@{},1@{}", 1 - a.cpu.min(1), a.cpu),
        "--no-huge", "-m", "1024", "--no-pci", "--file-prefix=bench-testpmd", "--log-level=warning",
        &format!("--vdev={rx}"), &format!("--vdev={tx}"),
        "--", "--forward-mode=io", "--nb-cores=1", "--stats-period=1", "--burst=32",
        "--rxd=1024", "--txd=1024", "--no-mlockall", "--total-num-mbufs=16384",
    ]);

    let cfg = a.work.join("relayd-passthrough.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[eal]
file_prefix = "bench-relayd"
memory_mb = 512
log_level = "warning"
[cores]
control = {control}
[[port]]
name = "in"
device = "{rx}"
[[port]]
name = "out"
device = "{tx}"
[[worker]]
cpu = {cpu}
rx = ["in:0", "out:0"]
[runtime]
mode = "passthrough"
forward = [["in", "out"], ["out", "in"]]
[control]
socket = "{work}/bench-relayd.sock"
"#,
            control = 1 - a.cpu.min(1),
            cpu = a.cpu,
            work = a.work.display()
        ),
    )
    .expect("write relayd config");
    let mut relayd = Command::new(relayd_bin());
    relayd.args(["-c", cfg.to_str().expect("utf-8")]);
    vec![
        Contestant { name: "dpdk-testpmd io", prefix: "bench-testpmd", cmd: testpmd, egress_port: 1 },
        Contestant { name: "relayd pass-through", prefix: "bench-relayd", cmd: relayd, egress_port: 1 },
    ]
}

fn main() {
    let a = Args::parse();
    std::fs::create_dir_all(&a.work).expect("work dir");
    let pcap = a.work.join("fwd-64.pcap");
    write_pcap(&pcap, &frames()).expect("pcap");

    let names: Vec<&str> = contestants(&a, &pcap).iter().map(|c| c.name).collect();
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for run in 0..a.runs {
        // Interleave contestants within each round so drift on a shared machine hits all alike.
        for (i, c) in contestants(&a, &pcap).into_iter().enumerate() {
            let log = a.work.join(format!("{}-{run}.log", c.prefix));
            let mut f = Forwarder::start(c.name, c.cmd, c.prefix, &log).expect("start");
            let r = f.egress_rate(c.egress_port, Duration::from_secs(1), Duration::from_secs(a.seconds));
            f.stop();
            match r {
                Ok(pps) => {
                    eprintln!("run {run}: {:<22} {:>8.3} Mpps", c.name, pps / 1e6);
                    rates[i].push(pps);
                }
                Err(e) => {
                    eprintln!("run {run}: {}: {e}", c.name);
                    std::process::exit(1);
                }
            }
        }
    }

    let base = median_spread(&rates[0]).0;
    let mut md = String::new();
    md.push_str("## Pass-through forwarding, one core (issue: runtime)\n\n");
    md.push_str(&format!(
        "`net_pcap,infinite_rx=1` (64-byte frames) → `net_null,no-rx=1`, one forwarding lcore on cpu {}, \
         {} runs × {} s windows after 1 s warm-up, egress `opackets` read through each process's DPDK \
         telemetry socket. Machine: {}. Date: {}.\n\n",
        a.cpu, a.runs, a.seconds, machine(), now_utc()
    ));
    md.push_str("Command: `cargo run --release -p relay-benches --bin fwd-bench -- ");
    md.push_str(&format!("--seconds {} --runs {}`\n\n", a.seconds, a.runs));
    md.push_str("| forwarder | median Mpps | min | max | × testpmd io |\n|---|---:|---:|---:|---:|\n");
    for (name, r) in names.iter().zip(&rates) {
        let (m, lo, hi) = median_spread(r);
        md.push_str(&format!("| {name} | {:.3} | {:.3} | {:.3} | {:.2} |\n", m / 1e6, lo / 1e6, hi / 1e6, m / base));
    }
    write_section(&a.results, "fwd", &md).expect("write results");
    print!("{md}");
}
