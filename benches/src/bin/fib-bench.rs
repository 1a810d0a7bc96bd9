//! A full IPv6 table through a real routing daemon (issue 16, "Scale"): BIRD 2 announces a
//! realistic table of N prefixes (the generator of lpm-bench) into kernel table 100, which
//! relayd mirrors through rtnetlink while its worker forwards native IPv6 at its maximum rate.
//!
//! Per table size, two runs in network namespaces of their own:
//! 1. **kernel alone**: BIRD and the kernel, no relayd: how long until the kernel holds the
//!    table (BIRD's kernel protocol counts a route exported once its netlink request returned,
//!    and the kernel installs a route inside that request);
//! 2. **with relayd**: the same, while relayd forwards (`net_pcap,infinite_rx=1` → `net_null`,
//!    worker on cpu 1) and mirrors the table (control core on cpu 0, with BIRD): the kernel's
//!    time again, relayd's time until its table holds every route, the egress rate during the
//!    load against the same relayd before it, its drops, its resident memory before and after.
//!
//! `cargo run --release -p relay-benches --bin fib-bench -- [--sizes 250000,1000000]`
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use relay_benches::frames;
use relay_benches::harness::{pcap_input, Forwarder};
use relay_benches::relayd::{sibling, Control};
use relay_benches::results::{machine, median_spread, now_utc, write_section};
use relay_benches::tablegen;
use relay_tools::telemetry::{json_u64, Telemetry};

#[derive(Parser, Debug)]
struct Args {
    /// Table sizes (prefixes), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [250_000usize, 1_000_000])]
    sizes: Vec<usize>,
    /// Egress sampling before the load (the rate without churn).
    #[arg(long, default_value_t = 3)]
    quiet_seconds: u64,
    #[arg(long, default_value = "benches/RESULTS.md")]
    results: PathBuf,
    #[arg(long, default_value = "/tmp/relay-fib")]
    work: PathBuf,
    /// EAL memory on 2 MiB hugepages (`scripts/hugepages.sh`), as in production.
    #[arg(long)]
    hugepages: bool,
}

const NETNS: &str = "relay-fib";
const SAMPLE: Duration = Duration::from_millis(100);
const LOAD_LIMIT: Duration = Duration::from_secs(600);
/// The next hop of every route: the far end of relayd's port 0 (its control TAP `cp0`).
const GATEWAY: &str = "2001:db8:ff::1";
const SEED: u64 = 0x6669_6221;

fn sh(args: &[&str]) -> Result<String, String> {
    let out = Command::new(args[0]).args(&args[1..]).output().map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!("`{}`: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn in_ns(args: &[&str]) -> Result<String, String> {
    let mut v = vec!["ip", "netns", "exec", NETNS];
    v.extend_from_slice(args);
    sh(&v)
}

/// A namespace of the run's own, removed on drop (which also removes its kernel tables).
struct Netns;

impl Netns {
    fn new() -> Result<Netns, String> {
        let _ = sh(&["ip", "netns", "del", NETNS]);
        sh(&["ip", "netns", "add", NETNS])?;
        in_ns(&["ip", "link", "set", "lo", "up"])?;
        in_ns(&["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"])?;
        Ok(Netns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = sh(&["ip", "netns", "del", NETNS]);
    }
}

/// BIRD, pinned to cpu 0 beside relayd's control core, killed on drop.
struct Bird {
    child: Child,
    socket: PathBuf,
}

impl Bird {
    fn start(work: &Path, config: &Path) -> Result<Bird, String> {
        let socket = work.join("bird.ctl");
        let log = std::fs::File::create(work.join("bird.log")).map_err(|e| e.to_string())?;
        let child = Command::new("ip")
            .args(["netns", "exec", NETNS, "taskset", "-c", "0", "bird", "-f", "-c"])
            .arg(config)
            .arg("-s")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("bird: {e}"))?;
        let b = Bird { child, socket };
        // A million static routes take BIRD a while to read.
        let start = Instant::now();
        while !b.birdc("show status").contains("Daemon is up") {
            if start.elapsed() > Duration::from_secs(300) {
                return Err("BIRD did not start (see bird.log)".into());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(b)
    }

    fn birdc(&self, cmd: &str) -> String {
        let mut args = vec!["birdc", "-s", self.socket.to_str().unwrap_or("")];
        args.extend(cmd.split_whitespace());
        in_ns(&args).unwrap_or_default()
    }

    /// Routes BIRD's kernel protocol has handed to the kernel.
    fn exported(&self) -> u64 {
        let text = self.birdc("show protocols all k6");
        text.lines()
            .find_map(|l| l.trim().strip_prefix("Routes:"))
            .and_then(|r| r.split(',').find(|p| p.contains("exported")))
            .and_then(|p| p.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// BIRD's configuration: the table as a static protocol, disabled until the clock starts.
fn bird_config(work: &Path, n: usize) -> Result<PathBuf, String> {
    let mut s = String::from(
        "router id 10.0.0.9;\nprotocol device {}\nprotocol kernel k6 { kernel table 100; ipv6 { import none; export all; }; }\nprotocol static table6 {\n  disabled;\n  ipv6;\n",
    );
    for (prefix, len, _) in tablegen::generate(n, SEED) {
        s.push_str(&format!("  route {prefix}/{len} via {GATEWAY};\n"));
    }
    s.push_str("}\n");
    let path = work.join(format!("bird-{n}.conf"));
    std::fs::write(&path, s).map_err(|e| e.to_string())?;
    Ok(path)
}

/// Time until BIRD has handed all `n` routes to the kernel, with no relayd.
fn kernel_alone(a: &Args, n: usize, config: &Path) -> Result<KernelAlone, String> {
    let _ns = Netns::new()?;
    // The next hop's link, as relayd's cp0 will be.
    in_ns(&["ip", "link", "add", "cp0", "type", "veth", "peer", "name", "cp0-peer"])?;
    in_ns(&["ip", "addr", "add", "2001:db8:ff::9/64", "dev", "cp0", "nodad"])?;
    in_ns(&["ip", "link", "set", "cp0", "up"])?;
    in_ns(&["ip", "link", "set", "cp0-peer", "up"])?;
    let bird = Bird::start(&a.work, config)?;
    let bird_cpu = cpu_time(&bird.child.id().to_string());
    let start = Instant::now();
    bird.birdc("enable table6");
    while bird.exported() < n as u64 {
        if start.elapsed() > LOAD_LIMIT {
            return Err(format!("the kernel did not get the table within {LOAD_LIMIT:?}"));
        }
        std::thread::sleep(SAMPLE);
    }
    let took = start.elapsed();
    let bird_cpu = cpu_time(&bird.child.id().to_string()).saturating_sub(bird_cpu);
    let installed = in_ns(&["ip", "-6", "route", "show", "table", "100"])?.lines().count() as u64;
    Ok(KernelAlone { took, installed, bird_cpu })
}

/// The kernel's installation with no relayd: its time, the routes in table 100, and the
/// CPU time of BIRD (the kernel's installation included) during it.
struct KernelAlone {
    took: Duration,
    installed: u64,
    bird_cpu: Duration,
}

struct WithRelayd {
    kernel: Duration,
    relayd: Duration,
    quiet: Vec<f64>,
    load: Vec<f64>,
    rss_before_kib: u64,
    rss_after_kib: u64,
    /// fib counters after the load: added, shadowed, refused, overruns, resyncs.
    fib: [u64; 5],
    /// tx_dropped + pipeline_dropped over the load.
    dropped: u64,
    /// CPU time during the load: BIRD's (the kernel's installation in it) and relayd's
    /// control core (its main thread: the mirror, the control socket, the slow path).
    bird_cpu: Duration,
    control_cpu: Duration,
}

const FIB: [&str; 5] = ["fib.added", "fib.shadowed", "fib.refused", "fib.overruns", "fib.resyncs"];

/// CPU time (user + system) of `/proc/<path>/stat`: a process, or one of its threads
/// (`<pid>/task/<tid>`). The kernel installs a route inside BIRD's netlink request, so
/// BIRD's system time is the kernel's work.
fn cpu_time(path: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{path}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): state is the 3rd field,
    // utime the 14th, stime the 15th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let f: Vec<u64> = after.split_whitespace().skip(11).take(2).filter_map(|v| v.parse().ok()).collect();
    // In USER_HZ ticks: 100 per second in the Linux ABI whatever the kernel's own HZ.
    Duration::from_millis(f.iter().sum::<u64>() * 10)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap_or(0)
}

fn opackets(t: &mut Telemetry) -> Result<u64, String> {
    let r = t.query("/ethdev/stats,0").map_err(|e| e.to_string())?;
    json_u64(&r, "opackets").ok_or_else(|| format!("no opackets in {r}"))
}

fn with_relayd(a: &Args, n: usize, config: &Path, lan: &str) -> Result<WithRelayd, String> {
    let _ns = Netns::new()?;
    let prefix = "fibb";
    let sock = a.work.join("relayd.sock");
    let toml = format!(
        "[eal]\nfile_prefix = \"{prefix}\"\nmemory_mb = 512\nhugepages = {}\nlog_level = \"warning\"\n[cores]\ncontrol = 0\n\
         [[port]]\nname = \"wan\"\ndevice = \"net_null0,no-rx=1\"\n[[port]]\nname = \"lan\"\ndevice = \"{lan}\"\n\
         [[worker]]\ncpu = 1\nrx = [\"wan:0\", \"lan:0\"]\n[control]\nsocket = \"{}\"\n[routing]\nkernel_table = 100\n{}",
        a.hugepages,
        sock.display(),
        include_str!("fwd-router.toml").replacen("ipv6 = [\"2001:db8:ff::9/64\"]", "ipv6 = [\"2001:db8:ff::9/64\"]\ncontrol_tap = \"cp0\"", 1)
    );
    let path = a.work.join("relayd.toml");
    std::fs::write(&path, toml).map_err(|e| e.to_string())?;
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", NETNS]).arg(sibling("relayd")).arg("-c").arg(&path);
    let mut f = Forwarder::start("relayd", cmd, prefix, &a.work.join(format!("relayd-{n}.log"))).map_err(|e| e.to_string())?;
    let pid = f.pid();
    let result = (|| {
        let mut t = f.ready()?;
        let mut c = Control::wait(&sock, Duration::from_secs(60))?;
        let bird = Bird::start(&a.work, config)?;
        std::thread::sleep(Duration::from_secs(1));
        let mut quiet = Vec::new();
        let mut last = (opackets(&mut t)?, Instant::now());
        let quiet_end = Instant::now() + Duration::from_secs(a.quiet_seconds);
        while Instant::now() < quiet_end {
            std::thread::sleep(SAMPLE);
            let now = (opackets(&mut t)?, Instant::now());
            quiet.push((now.0 - last.0) as f64 / (now.1 - last.1).as_secs_f64());
            last = now;
        }
        let rss_before_kib = rss_kib(pid);
        let drops = |c: &mut Control| -> Result<u64, String> {
            let s = c.request("stats")?;
            Ok(Control::stat(&s, "tx_dropped") + Control::stat(&s, "pipeline_dropped"))
        };
        let dropped_before = drops(&mut c)?;
        // Egress sampled on a thread of its own: birdc answers only once BIRD is through
        // with the load, which would stretch a sample over all of it.
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let sampler = std::thread::spawn(move || -> Result<Vec<f64>, String> {
            let mut load = Vec::new();
            let mut last = (opackets(&mut t)?, Instant::now());
            while !stop2.load(Ordering::Relaxed) {
                std::thread::sleep(SAMPLE);
                let now = (opackets(&mut t)?, Instant::now());
                load.push((now.0 - last.0) as f64 / (now.1 - last.1).as_secs_f64());
                last = now;
            }
            Ok(load)
        });
        let (bird_path, control_path) = (bird.child.id().to_string(), format!("{pid}/task/{pid}"));
        let cpu_before = (cpu_time(&bird_path), cpu_time(&control_path));
        let start = Instant::now();
        bird.birdc("enable table6");
        let (mut kernel, mut relayd) = (None, None);
        while relayd.is_none() || kernel.is_none() {
            if start.elapsed() > LOAD_LIMIT {
                stop.store(true, Ordering::Relaxed);
                return Err(format!("the table did not load within {LOAD_LIMIT:?}"));
            }
            std::thread::sleep(SAMPLE / 2);
            if kernel.is_none() && bird.exported() >= n as u64 {
                kernel = Some(start.elapsed());
            }
            let s = c.request("stats")?;
            let have = Control::stat(&s, "fib.added") + Control::stat(&s, "fib.shadowed") + Control::stat(&s, "fib.refused");
            if relayd.is_none() && have >= n as u64 {
                relayd = Some(start.elapsed());
            }
        }
        stop.store(true, Ordering::Relaxed);
        let bird_cpu = cpu_time(&bird_path).saturating_sub(cpu_before.0);
        let control_cpu = cpu_time(&control_path).saturating_sub(cpu_before.1);
        let load = sampler.join().map_err(|_| "the sampler panicked".to_string())??;
        let s = c.request("stats")?;
        let fib = FIB.map(|k| Control::stat(&s, k));
        Ok(WithRelayd {
            kernel: kernel.unwrap_or_default(),
            relayd: relayd.unwrap_or_default(),
            quiet,
            load,
            rss_before_kib,
            rss_after_kib: rss_kib(pid),
            fib,
            dropped: drops(&mut c)? - dropped_before,
            bird_cpu,
            control_cpu,
        })
    })();
    f.stop();
    result
}

fn main() {
    let a = Args::parse();
    std::fs::create_dir_all(&a.work).expect("work dir");
    let lan = pcap_input(&a.work, "native", &frames::native(64, "2001:db8:bbbb::".parse().expect("addr"))).expect("pcap");
    let mut rows = Vec::new();
    for &n in &a.sizes {
        let run = (|| -> Result<_, String> {
            let config = bird_config(&a.work, n)?;
            let alone = kernel_alone(&a, n, &config)?;
            eprintln!("{n}: kernel alone {:.2} s ({} routes in table 100)", alone.took.as_secs_f64(), alone.installed);
            let w = with_relayd(&a, n, &config, &lan)?;
            eprintln!("{n}: with relayd: kernel {:.2} s, relayd {:.2} s", w.kernel.as_secs_f64(), w.relayd.as_secs_f64());
            Ok((n, alone, w))
        })();
        match run {
            Ok(r) => rows.push(r),
            Err(e) => {
                eprintln!("fib-bench: {n} prefixes: {e}");
                std::process::exit(1);
            }
        }
    }
    write_report(&a, &rows);
}

fn write_report(a: &Args, rows: &[(usize, KernelAlone, WithRelayd)]) {
    let sizes: Vec<String> = a.sizes.iter().map(usize::to_string).collect();
    let mut md = String::from("## A full table through BIRD, the kernel and relayd\n\n");
    md.push_str(&format!(
        "BIRD 2 announces a generated table (lpm-bench's generator, seed {SEED:#x}: RIR blocks, realistic length mix) as \
         static routes via {GATEWAY} into kernel table 100, enabled at t = 0. *Kernel alone*: BIRD and the kernel in a \
         namespace, no relayd; the time until BIRD's kernel protocol has exported every route (the kernel installs each \
         inside its netlink request). *With relayd*: the same while relayd mirrors table 100 and forwards native IPv6 \
         (`net_pcap,infinite_rx=1` → `net_null`, 60-byte frames, worker on cpu 1; control core and BIRD on cpu 0); \
         relayd's time until `fib.added + shadowed + refused` reaches the table; the egress rate sampled every 100 ms \
         through telemetry during the load against {} s before it; relayd's VmRSS. Memory on {}. 2 cores: BIRD, the \
         kernel's route installation and relayd's control core share cpu 0. Machine: {}. Date: {}.\n\n",
        a.quiet_seconds,
        if a.hugepages { "2 MiB hugepages" } else { "`--no-huge` 4 KiB pages" },
        machine(),
        now_utc()
    ));
    md.push_str(&format!(
        "Command: `cargo run --release -p relay-benches --bin fib-bench -- --sizes {}{}`\n\n",
        sizes.join(","),
        if a.hugepages { " --hugepages" } else { "" }
    ));
    md.push_str(
        "| prefixes | kernel alone s | kernel (with relayd) s | relayd s | relayd past its kernel | relayd / kernel alone | egress Mpps before | during load (median, worst 100 ms) | dropped | fib added / shadowed / refused | overruns / resyncs | relayd RSS before → after | CPU s: BIRD + kernel alone, with relayd; relayd's control core |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|\n",
    );
    for (n, alone, w) in rows {
        let q = median_spread(&w.quiet).0;
        let (l, lo, _) = median_spread(&w.load);
        let adds = (w.relayd.as_secs_f64() - w.kernel.as_secs_f64()) / w.kernel.as_secs_f64().max(1e-9);
        md.push_str(&format!(
            "| {n} | {:.2} | {:.2} | {:.2} | {:+.1} % | {:.2} | {:.3} | {:.3}, {:.3} | {} | {} / {} / {} | {} / {} | {} → {} MiB | {:.2}, {:.2}; {:.2} |\n",
            alone.took.as_secs_f64(),
            w.kernel.as_secs_f64(),
            w.relayd.as_secs_f64(),
            adds * 100.0,
            w.relayd.as_secs_f64() / alone.took.as_secs_f64().max(1e-9),
            q / 1e6,
            l / 1e6,
            lo / 1e6,
            w.dropped,
            w.fib[0],
            w.fib[1],
            w.fib[2],
            w.fib[3],
            w.fib[4],
            w.rss_before_kib / 1024,
            w.rss_after_kib / 1024,
            alone.bird_cpu.as_secs_f64(),
            w.bird_cpu.as_secs_f64(),
            w.control_cpu.as_secs_f64(),
        ));
    }
    md.push_str(
        "\n*relayd past its kernel*: relayd's time past the kernel's in the same run, sampled every 100 ms (goal ≤ \
         +10 %). *relayd / kernel alone*: the same time against the kernel's with no relayd: on this machine BIRD, the \
         kernel's installation and relayd's control core share one CPU, so the mirror's work slows the kernel's own; \
         with a control core of its own that share goes. *dropped*: relayd's `tx_dropped + pipeline_dropped` over the \
         load (goal: none; the `net_pcap` input cannot overflow, so the rate during the load against before it is the \
         cost of the churn to forwarding at full rate). *CPU s*: user + system time during the load of BIRD (the kernel \
         installs each route inside BIRD's netlink request, so this is the kernel's work too) and of relayd's control \
         core thread (the mirror's netlink reading and its table changes, applied to both table copies): what a control \
         core of its own would take off cpu 0.\n",
    );
    write_section(&a.results, "fib-scale", &md).expect("write results");
    print!("{md}");
}
