//! Forwarding rate on one core, `net_pcap,infinite_rx=1` → `net_null`: relayd pass-through,
//! 6to4 encap, 6to4 decap and native IPv6 forward, against dpdk-testpmd io and DPDK's l3fwd
//! (LPM, IPv6) on the same vdevs, same run, several rounds, median and spread.
//!
//! `cargo run --release -p relay-benches --bin fwd-bench -- [--seconds 5] [--runs 3]`
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::Parser;
use relay_benches::frames;
use relay_benches::harness::{pcap_input, Forwarder};
use relay_benches::relayd::Control;
use relay_benches::tablegen;
use relay_benches::results::{machine, median_spread, now_utc, write_section};

#[derive(Parser, Debug)]
struct Args {
    /// Measurement window per run.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// CPU of the forwarding lcore (the main lcore takes the other one).
    #[arg(long, default_value_t = 1)]
    cpu: usize,
    /// Only contestants whose name contains this.
    #[arg(long)]
    only: Option<String>,
    #[arg(long, default_value = "benches/RESULTS.md")]
    results: PathBuf,
    /// Where pcaps, configs and logs go.
    #[arg(long, default_value = "/tmp/relay-bench")]
    work: PathBuf,
    /// Run every contestant on 2 MiB hugepages (as in production; `scripts/hugepages.sh`
    /// reserves them) instead of `--no-huge` 4 KiB pages, where TLB misses on mbufs dominate.
    #[arg(long)]
    hugepages: bool,
    /// Prefixes loaded into relayd's route table (a synthetic full table from
    /// `relay_benches::tablegen`) before its encap, decap and native runs; 0 for none.
    #[arg(long, default_value_t = 250_000)]
    routes: usize,
}

impl Args {
    /// EAL memory arguments for the DPDK peers.
    fn eal_memory(&self) -> Vec<&'static str> {
        if self.hugepages {
            vec!["-m", "1024"]
        } else {
            vec!["--no-huge", "-m", "1024"]
        }
    }

    fn memory_words(&self) -> &'static str {
        if self.hugepages {
            "2 MiB hugepages"
        } else {
            "`--no-huge` 4 KiB pages"
        }
    }
}

struct Contestant {
    name: &'static str,
    prefix: &'static str,
    cmd: Command,
    egress_port: u16,
    /// relayd routing: gets the full table before it is measured.
    routing: bool,
}

fn relayd_bin() -> PathBuf {
    std::env::current_exe().expect("current exe").with_file_name("relayd")
}

/// The 6to4 router R of the spec's tests (V = 198.51.100.7), also with a native route.
const ROUTER: &str = include_str!("fwd-router.toml");

/// A relayd config: ports (name, device) in order, one worker on `cpu`, mode-specific tail.
fn relayd(a: &Args, prefix: &str, ports: &[(&str, &str)], tail: &str) -> Command {
    let mut cfg = format!(
        "[eal]\nfile_prefix = \"{prefix}\"\nmemory_mb = 512\nhugepages = {}\nlog_level = \"warning\"\n[cores]\ncontrol = {}\n",
        a.hugepages,
        1 - a.cpu.min(1)
    );
    for (name, dev) in ports {
        cfg.push_str(&format!("[[port]]\nname = \"{name}\"\ndevice = \"{dev}\"\n"));
    }
    let rx: Vec<String> = ports.iter().map(|(n, _)| format!("\"{n}:0\"")).collect();
    cfg.push_str(&format!("[[worker]]\ncpu = {}\nrx = [{}]\n", a.cpu, rx.join(", ")));
    cfg.push_str(&format!("[control]\nsocket = \"{}/{prefix}.sock\"\n", a.work.display()));
    cfg.push_str(tail);
    let path = a.work.join(format!("{prefix}.toml"));
    std::fs::write(&path, cfg).expect("write relayd config");
    let mut c = Command::new(relayd_bin());
    c.args(["-c", path.to_str().expect("utf-8")]);
    c
}

fn pcap(a: &Args, name: &str, f: Vec<Vec<u8>>) -> String {
    pcap_input(&a.work, name, &f).expect("pcap")
}

fn contestants(a: &Args) -> Vec<Contestant> {
    let null = "net_null0,no-rx=1";
    let main_cpu = 1 - a.cpu.min(1);
    let plain = pcap(a, "plain", frames::native(64, "2001:200:0:1::".parse().expect("addr")));
    let encap = pcap(a, "encap", frames::encap(64));
    let decap = pcap(a, "decap", frames::decap(64));
    let native = pcap(a, "native", frames::native(64, "2001:db8:bbbb::".parse().expect("addr")));

    let mut testpmd = Command::new("dpdk-testpmd");
    testpmd.args([
        &format!("--lcores=0@{main_cpu},1@{}", a.cpu),
    ]);
    testpmd.args(a.eal_memory());
    testpmd.args([
        "--no-pci", "--file-prefix=bench-testpmd", "--log-level=warning",
        &format!("--vdev={plain}"), &format!("--vdev={null}"),
        "--", "--forward-mode=io", "--nb-cores=1", "--stats-period=1", "--burst=32",
        "--rxd=1024", "--txd=1024", "--no-mlockall", "--total-num-mbufs=16384",
    ]);
    let l3fwd_bin = Command::new("benches/peers/build-l3fwd.sh").output().ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
    let mut l3fwd = Command::new(&l3fwd_bin);
    // l3fwd opens one tx queue per lcore and net_pcap has one: give it its forwarding lcore only
    // (the main lcore forwards in l3fwd).
    l3fwd.args([
        &format!("--lcores=1@{}", a.cpu),
    ]);
    l3fwd.args(a.eal_memory());
    l3fwd.args([
        "--no-pci", "--file-prefix=bench-l3fwd", "--log-level=warning",
        &format!("--vdev={plain}"), &format!("--vdev={null}"),
        "--", "-p", "0x3", "--config=(0,0,1),(1,0,1)", "--lookup=lpm", "--parse-ptype",
    ]);
    let pass_tail = "[runtime]\nmode = \"passthrough\"\nforward = [[\"in\", \"out\"], [\"out\", \"in\"]]\n";
    vec![
        Contestant { name: "dpdk-testpmd io", prefix: "bench-testpmd", cmd: testpmd, egress_port: 1, routing: false },
        Contestant { name: "dpdk l3fwd lpm (ipv6)", prefix: "bench-l3fwd", cmd: l3fwd, egress_port: 1, routing: false },
        Contestant {
            name: "relayd pass-through",
            prefix: "bench-pass",
            cmd: relayd(a, "bench-pass", &[("in", &plain), ("out", null)], pass_tail),
            egress_port: 1, routing: false,
        },
        Contestant {
            name: "relayd 6to4 encap",
            prefix: "bench-encap",
            cmd: relayd(a, "bench-encap", &[("wan", null), ("lan", &encap.replace("net_pcap0", "net_pcap1"))], ROUTER),
            egress_port: 0, routing: true,
        },
        Contestant {
            name: "relayd 6to4 decap",
            prefix: "bench-decap",
            cmd: relayd(a, "bench-decap", &[("wan", &decap), ("lan", &null.replace("null0", "null1"))], ROUTER),
            egress_port: 1, routing: true,
        },
        Contestant {
            name: "relayd native forward",
            prefix: "bench-native",
            cmd: relayd(a, "bench-native", &[("wan", null), ("lan", &native.replace("net_pcap0", "net_pcap1"))], ROUTER),
            egress_port: 0, routing: true,
        },
    ]
}

fn main() {
    let a = Args::parse();
    std::fs::create_dir_all(&a.work).expect("work dir");
    let keep = |name: &str| a.only.as_deref().is_none_or(|o| name.contains(o));
    let names: Vec<&str> = contestants(&a).iter().map(|c| c.name).filter(|n| keep(n)).collect();
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let table = full_table(a.routes);
    for run in 0..a.runs {
        // Interleave contestants within each round so drift on a shared machine hits all alike.
        for (i, c) in contestants(&a).into_iter().filter(|c| keep(c.name)).enumerate() {
            let log = a.work.join(format!("{}-{run}.log", c.prefix));
            let mut f = Forwarder::start(c.name, c.cmd, c.prefix, &log).expect("start");
            if c.routing && !table.is_empty() {
                if let Err(e) = load_table(&a, c.prefix, &mut f, &table) {
                    eprintln!("run {run}: {}: {e}", c.name);
                    f.stop();
                    std::process::exit(1);
                }
            }
            let r = f.egress_rate(c.egress_port, Duration::from_secs(1), Duration::from_secs(a.seconds));
            f.stop();
            match r {
                Ok(pps) => {
                    eprintln!("run {run}: {:<24} {:>8.3} Mpps", c.name, pps / 1e6);
                    rates[i].push(pps);
                }
                Err(e) => {
                    eprintln!("run {run}: {}: {e}", c.name);
                    std::process::exit(1);
                }
            }
        }
    }
    write_report(&a, &names, &rates, &a.results, table.len());
}

/// `count` generated prefixes, less those that would cover or split the benchmark's own
/// destinations and routes (2001:db8::/32, 2002::/16, the default route).
fn full_table(count: usize) -> Vec<(std::net::Ipv6Addr, u8)> {
    let overlaps = |a: u128, la: u8, b: u128, lb: u8| {
        let l = u32::from(la.min(lb));
        l == 0 || (a ^ b) >> (128 - l) == 0
    };
    let mut seen = std::collections::HashSet::new();
    tablegen::generate(count, 42)
        .into_iter()
        .map(|(p, len, _)| (p, len))
        .filter(|&(p, len)| {
            let p = u128::from(p);
            !overlaps(p, len, 0x2001_0db8 << 96, 32) && !overlaps(p, len, 0x2002 << 112, 16) && seen.insert((p, len))
        })
        .collect()
}

/// Loads `table` into relayd through its control socket, 1000 routes a batch, every route via
/// the WAN neighbour; returns once every worker runs the whole table (`audit`).
fn load_table(a: &Args, prefix: &str, f: &mut Forwarder, table: &[(std::net::Ipv6Addr, u8)]) -> Result<(), String> {
    f.ready()?;
    let mut c = Control::wait(&a.work.join(format!("{prefix}.sock")), Duration::from_secs(60))?;
    for chunk in table.chunks(1000) {
        let mut b = String::from("batch\n");
        for (p, len) in chunk {
            b.push_str(&format!("route add {p}/{len} via 2001:db8:ff::1 port 0\n"));
        }
        b.push_str("end\n");
        c.request(&b).map_err(|e| format!("loading routes: {e}"))?;
    }
    let audit = c.request("audit").map_err(|e| format!("audit: {e}"))?;
    if !audit.contains("consistent") {
        return Err(format!("audit: {audit}"));
    }
    let held = c.request("routes").map_err(|e| format!("routes: {e}"))?.lines().count();
    if held < table.len() {
        return Err(format!("relayd holds {held} routes, {} were loaded", table.len()));
    }
    Ok(())
}

fn write_report(a: &Args, names: &[&str], rates: &[Vec<f64>], results: &Path, table: usize) {
    let med = |n: &str| names.iter().position(|x| *x == n).map(|i| median_spread(&rates[i]).0);
    let testpmd = med("dpdk-testpmd io");
    let pass = med("relayd pass-through");
    let mut md = String::new();
    md.push_str("## Forwarding rate, one core\n\n");
    md.push_str(&format!(
        "`net_pcap,infinite_rx=1` → `net_null,no-rx=1`, 60-byte frames (64 with FCS; decap input 80), \
         64 flows, one forwarding lcore on cpu {}, memory on {} for every contestant, {} runs × {} s \
         windows after 1 s warm-up, contestants interleaved in each run; egress `opackets` read through \
         each process's DPDK telemetry socket. relayd encap, decap and native forward run with a \
         {table}-route IPv6 table (`relay_benches::tablegen`'s full-table mix, loaded through the control \
         socket before the warm-up; the traffic's own routes stay as in `fwd-router.toml`); l3fwd uses its \
         built-in table. Machine: {}. Date: {}.\n\n",
        a.cpu, a.memory_words(), a.runs, a.seconds, machine(), now_utc()
    ));
    md.push_str(&format!(
        "Command: `cargo run --release -p relay-benches --bin fwd-bench -- --seconds {} --runs {} --routes {}{}`\n\n",
        a.seconds, a.runs, a.routes, if a.hugepages { " --hugepages" } else { "" }
    ));
    md.push_str("| forwarder | median Mpps | min | max | × testpmd io | × relayd pass-through |\n|---|---:|---:|---:|---:|---:|\n");
    for (name, r) in names.iter().zip(rates) {
        let (m, lo, hi) = median_spread(r);
        let ratio = |b: Option<f64>| b.map_or("–".to_string(), |b| format!("{:.2}", m / b));
        md.push_str(&format!(
            "| {name} | {:.3} | {:.3} | {:.3} | {} | {} |\n",
            m / 1e6, lo / 1e6, hi / 1e6, ratio(testpmd), ratio(pass)
        ));
    }
    md.push_str(
        "\nThe input port's `infinite_rx` replay (an mbuf allocation and a 60-byte copy per packet inside \
         net_pcap) is part of every contestant's cost, so ratios understate differences in the forwarders \
         themselves; instruction counts per packet are in the callgrind section.\n",
    );
    write_section(results, "fwd", &md).expect("write results");
    print!("{md}");
}
