//! Instructions per packet under valgrind's callgrind: stable on a noisy machine, where
//! packets-per-second are not. Each path runs relayd offline on a finite pcap twice (N and 2N
//! packets) with only the worker's poll loop collected; (I(2N) − I(N)) / N cancels start-up,
//! shutdown and the few idle polls.
//!
//! `cargo run --release -p relay-benches --bin ipp-bench -- [--packets 20000]`
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use relay_benches::frames;
use relay_benches::harness::write_pcap;
use relay_benches::results::{machine, now_utc, write_section};

#[derive(Parser, Debug)]
struct Args {
    /// N: packets in the short run (the long run has 2N).
    #[arg(long, default_value_t = 20000)]
    packets: usize,
    #[arg(long, default_value = "benches/RESULTS.md")]
    results: PathBuf,
    #[arg(long, default_value = "/tmp/relay-ipp")]
    work: PathBuf,
}

struct Path_ {
    name: &'static str,
    /// (frames, index of the input port: 0 = wan, 1 = lan)
    make: fn(usize) -> Vec<Vec<u8>>,
    input_port: usize,
    passthrough: bool,
}

const ROUTER: &str = include_str!("fwd-router.toml");

fn config(work: &Path, name: &str, input_port: usize, passthrough: bool, pcap: &Path) -> PathBuf {
    let empty = work.join("empty.pcap");
    write_pcap(&empty, &[]).expect("pcap");
    let rx = |i: usize| if i == input_port { pcap.display().to_string() } else { empty.display().to_string() };
    let mut cfg = format!(
        "[eal]\nfile_prefix = \"ipp-{name}\"\nmemory_mb = 256\nlog_level = \"warning\"\n\
         [[port]]\nname = \"wan\"\ndevice = \"net_pcap0,rx_pcap={},tx_pcap=/dev/null\"\n\
         [[port]]\nname = \"lan\"\ndevice = \"net_pcap1,rx_pcap={},tx_pcap=/dev/null\"\n\
         [runtime]\nidle_sleep_us = 2000\nidle_after_polls = 1\n",
        rx(0),
        rx(1)
    );
    if passthrough {
        cfg.push_str("mode = \"passthrough\"\nforward = [[\"wan\", \"lan\"], [\"lan\", \"wan\"]]\n");
    }
    cfg.push_str(&format!("[control]\nsocket = \"{}/ipp-{name}.sock\"\ntelemetry = false\n", work.display()));
    if !passthrough {
        cfg.push_str(ROUTER);
    }
    let path = work.join(format!("ipp-{name}.toml"));
    std::fs::write(&path, cfg).expect("config");
    path
}

/// Total instructions collected in the worker loop for one offline run.
fn instructions(work: &Path, cfg: &Path, tag: &str) -> Result<u64, String> {
    let relayd = std::env::current_exe().map_err(|e| e.to_string())?.with_file_name("relayd");
    let out = work.join(format!("callgrind-{tag}.out"));
    let run = Command::new("valgrind")
        .args(["--tool=callgrind", "--toggle-collect=relay::runtime::worker::poll*"])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&relayd)
        .args(["-c", cfg.to_str().unwrap_or_default(), "--offline"])
        .output()
        .map_err(|e| format!("valgrind: {e} (apt-get install valgrind)"))?;
    if !run.status.success() {
        return Err(format!("relayd under callgrind failed: {}", String::from_utf8_lossy(&run.stderr)));
    }
    let text = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
    text.lines()
        .find_map(|l| l.strip_prefix("totals: ").or_else(|| l.strip_prefix("summary: ")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no totals in {}", out.display()))
}

fn main() {
    let a = Args::parse();
    std::fs::create_dir_all(&a.work).expect("work dir");
    let paths = [
        Path_ { name: "pass-through", make: |n| frames::encap(n), input_port: 1, passthrough: true },
        Path_ { name: "6to4 encap", make: |n| frames::encap(n), input_port: 1, passthrough: false },
        Path_ { name: "6to4 decap", make: |n| frames::decap(n), input_port: 0, passthrough: false },
        Path_ {
            name: "native forward",
            make: |n| frames::native(n, "2001:db8:bbbb::".parse().expect("addr")),
            input_port: 1,
            passthrough: false,
        },
    ];
    let mut rows = Vec::new();
    for p in &paths {
        let tag = p.name.replace(' ', "-");
        let mut ir = Vec::new();
        for n in [a.packets, 2 * a.packets] {
            // 64 flows repeated: the same packets each time, like the rate benchmark.
            let base = (p.make)(64);
            let frames: Vec<Vec<u8>> = (0..n).map(|i| base[i % base.len()].clone()).collect();
            let pcap = a.work.join(format!("{tag}-{n}.pcap"));
            write_pcap(&pcap, &frames).expect("pcap");
            let cfg = config(&a.work, &tag, p.input_port, p.passthrough, &pcap);
            match instructions(&a.work, &cfg, &format!("{tag}-{n}")) {
                Ok(i) => ir.push(i),
                Err(e) => {
                    eprintln!("{}: {e}", p.name);
                    std::process::exit(1);
                }
            }
        }
        let per_packet = (ir[1] as f64 - ir[0] as f64) / a.packets as f64;
        eprintln!("{:<16} {per_packet:>8.1} instructions/packet", p.name);
        rows.push((p.name, per_packet));
    }
    let pass = rows[0].1;
    let mut md = String::from("## Instructions per packet (callgrind)\n\n");
    md.push_str(&format!(
        "relayd offline on net_pcap ports (rx from a pcap, tx to /dev/null), worker poll loop only \
         (`--toggle-collect=relay::runtime::worker::poll*`, so the driver's rx/tx work inside the loop \
         counts too), (I(2N) − I(N)) / N with N = {}. Machine: {}. Date: {}.\n\n\
         Command: `cargo run --release -p relay-benches --bin ipp-bench -- --packets {}`\n\n\
         | path | instructions / packet | ÷ pass-through |\n|---|---:|---:|\n",
        a.packets,
        machine(),
        now_utc(),
        a.packets
    ));
    for (name, v) in &rows {
        md.push_str(&format!("| {name} | {v:.1} | {:.2} |\n", v / pass));
    }
    write_section(&a.results, "ipp", &md).expect("results");
    print!("{md}");
}
