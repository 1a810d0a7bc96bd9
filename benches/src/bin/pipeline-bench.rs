//! pipeline-bench: what the pure pipeline (`Pipeline::process_burst` on `TestBuf`s, no
//! DPDK, no NIC) spends per packet to encapsulate and decapsulate by each tunnel mechanism:
//! 6to4, configured (RFC 4213), ISATAP (RFC 5214) and 6rd (RFC 5969), all on one box with
//! every mechanism on, every remote end behind the same IPv4 gateway.
//!
//! Method, the same for every mechanism: bursts of 64 frames of 100-byte IPv6 packets (64
//! different destinations or sources); before each burst its buffers are reset from the
//! pristine frames, a copy timed alone and subtracted. Every run times each scenario in turn
//! (interleaved, so drift on a shared machine hits all alike); the table gives the median
//! and spread over the runs. Each scenario's verdicts and counters are checked first.
//!
//! `cargo run --release -p relay-benches --bin pipeline-bench -- [--runs 9] [--bursts 20000]`
use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use relay::pipeline::{Config, Pipeline, Tables, TestBuf, Verdict, MAX_BURST};
use relay::wire::EthernetAddress;
use relay_benches::results::{machine, median_spread, now_utc, write_section};

#[derive(Parser, Debug)]
#[command(about = "Per-packet pipeline cost of encap/decap by tunnel mechanism")]
struct Args {
    #[arg(long, default_value_t = 9)]
    runs: usize,
    /// Bursts of 64 per scenario and run.
    #[arg(long, default_value_t = 20_000)]
    bursts: usize,
    #[arg(long, default_value = "benches/RESULTS.md")]
    results: PathBuf,
}

const PORT0: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa0];
const PORT1: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa1];
const GW4: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x01];
const HOST: [u8; 6] = [0x02, 0, 0, 0, 0x02, 0x05];

/// WAN port 0, LAN port 1; 6to4 relay, a configured tunnel, an ISATAP link and a 6rd
/// domain, each on its own IPv4 address.
const BOX: &str = r#"
[[interface]]
port = 0
ipv4 = "198.51.100.20/24"
gateway = "198.51.100.1"
[[interface]]
port = 1
ipv6 = ["2001:db8:20::1/64"]
[relay]
ipv4 = "198.51.100.9"
[[isatap]]
ipv4 = "198.51.100.22"
prefixes = ["2001:db8:5e::/64"]
[[6rd]]
br = "198.51.100.23"
prefix = "2001:db8:6400::/48"
ipv4_prefix = "203.0.113.0/24"
[[tunnel]]
id = 0
local = "198.51.100.20"
remote = "203.0.113.50"
[[route]]
add = "2001:db8:50::/48 tunnel 0"
[[neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"
[[neighbour]]
ip = "2001:db8:20::5"
mac = "02:00:00:00:02:05"
"#;

/// The same box with only the 6to4 relay: what the other mechanisms cost 6to4.
const SIXTOFOUR_ONLY: &str = r#"
[[interface]]
port = 0
ipv4 = "198.51.100.20/24"
gateway = "198.51.100.1"
[[interface]]
port = 1
ipv6 = ["2001:db8:20::1/64"]
[relay]
ipv4 = "198.51.100.9"
[[neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"
[[neighbour]]
ip = "2001:db8:20::5"
mac = "02:00:00:00:02:05"
"#;

const SAME: &str = r#"
[[interface]]
port = 0
ipv4 = "198.51.100.20/24"
gateway = "198.51.100.1"
[[interface]]
port = 1
ipv6 = ["2001:db8:20::1/64"]
[relay]
ipv4 = "198.51.100.9"
[[route]]
add = "2001:db8:50::/48 blackhole"
[[route]]
add = "2001:db8:5e::/64 blackhole"
[[route]]
add = "2001:db8:6400::/48 blackhole"
[[neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"
[[neighbour]]
ip = "2001:db8:20::5"
mac = "02:00:00:00:02:05"
"#;
const DEEP: &str = r#"
[[interface]]
port = 0
ipv4 = "198.51.100.20/24"
gateway = "198.51.100.1"
[[interface]]
port = 1
ipv6 = ["2001:db8:20::1/64"]
[relay]
ipv4 = "198.51.100.9"
[[route]]
add = "2002:cb00:7140::/64 6to4"
[[neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"
[[neighbour]]
ip = "2001:db8:20::5"
mac = "02:00:00:00:02:05"
"#;

fn v6(s: &str) -> [u8; 16] {
    s.parse::<Ipv6Addr>().expect("IPv6").octets()
}

/// A 100-byte IPv6 packet (no next header) in an Ethernet frame.
fn ipv6_frame(dst_mac: [u8; 6], src_mac: [u8; 6], src: &str, dst: &str) -> Vec<u8> {
    let mut f = Vec::with_capacity(114);
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&0x86ddu16.to_be_bytes());
    f.extend_from_slice(&[0x60, 0, 0, 0, 0, 60, 59, 64]);
    f.extend_from_slice(&v6(src));
    f.extend_from_slice(&v6(dst));
    f.extend((0..60u8).map(|i| i.wrapping_mul(7)));
    f
}

/// The same packet inside IPv4 protocol 41 from `src4` to `dst4`.
fn p41_frame(src4: Ipv4Addr, dst4: &str, src: &str, dst: &str) -> Vec<u8> {
    let inner = &ipv6_frame(PORT0, GW4, src, dst)[14..];
    let mut h = [0u8; 20];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&((20 + inner.len()) as u16).to_be_bytes());
    h[6] = 0x40;
    h[8] = 64;
    h[9] = 41;
    h[12..16].copy_from_slice(&src4.octets());
    h[16..20].copy_from_slice(&dst4.parse::<Ipv4Addr>().expect("IPv4").octets());
    let sum: u32 = h.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum();
    let csum = !(((sum & 0xffff) + (sum >> 16)) as u16);
    h[10..12].copy_from_slice(&csum.to_be_bytes());
    let mut f = Vec::with_capacity(134);
    f.extend_from_slice(&PORT0);
    f.extend_from_slice(&GW4);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    f.extend_from_slice(&h);
    f.extend_from_slice(inner);
    f
}

struct Scenario {
    name: &'static str,
    /// The row whose cost this one is compared with.
    baseline: &'static str,
    config: &'static str,
    port: u16,
    /// The counter every packet must add to.
    counter: &'static str,
    egress: u16,
    frames: Vec<Vec<u8>>,
}

/// Frame `i` of a burst: 64 different remote ends (203.0.113.x) or destinations.
fn scenarios() -> Vec<Scenario> {
    let lan = |f: &dyn Fn(u8) -> String| (0..MAX_BURST as u8).map(|i| ipv6_frame(PORT1, HOST, "2001:db8:20::5", &f(i))).collect::<Vec<_>>();
    let wan = |dst4: &'static str, src4: &dyn Fn(u8) -> Ipv4Addr, src: &dyn Fn(u8) -> String| {
        (0..MAX_BURST as u8).map(|i| p41_frame(src4(i), dst4, &src(i), "2001:db8:20::5")).collect::<Vec<_>>()
    };
    let remote = |i: u8| Ipv4Addr::new(203, 0, 113, 64 + i);
    let s = |name, baseline, config, port, counter, egress, frames| Scenario { name, baseline, config, port, counter, egress, frames };
    vec![
        s("6to4 encap", "6to4 encap", BOX, 1, "encap_6to4", 0, lan(&|i| format!("2002:cb00:71{:02x}::5", 64 + i))),
        s("configured encap", "6to4 encap", BOX, 1, "encap_configured", 0, lan(&|i| format!("2001:db8:50:{i:x}::1"))),
        s("ISATAP encap", "6to4 encap", BOX, 1, "encap_isatap", 0, lan(&|i| format!("2001:db8:5e::200:5efe:cb00:71{:02x}", 64 + i))),
        s("6rd encap", "6to4 encap", BOX, 1, "encap_6rd", 0, lan(&|i| format!("2001:db8:6400:{:02x}00::1", 64 + i))),
        s("6to4 encap, 6to4-only box", "6to4 encap", SIXTOFOUR_ONLY, 1, "encap_6to4", 0, lan(&|i| format!("2002:cb00:71{:02x}::5", 64 + i))),
        s("6to4 decap", "6to4 decap", BOX, 0, "decap_6to4", 1, wan("198.51.100.9", &remote, &|i| format!("2002:cb00:71{:02x}::5", 64 + i))),
        s("configured decap", "6to4 decap", BOX, 0, "decap_configured", 1, wan("198.51.100.20", &|_| Ipv4Addr::new(203, 0, 113, 50), &|i| format!("2001:db8:50:{i:x}::1"))),
        s("ISATAP decap", "6to4 decap", BOX, 0, "decap_isatap", 1, wan("198.51.100.22", &remote, &|i| format!("2001:db8:5e::200:5efe:cb00:71{:02x}", 64 + i))),
        s("6rd decap", "6to4 decap", BOX, 0, "decap_6rd", 1, wan("198.51.100.23", &remote, &|i| format!("2001:db8:6400:{:02x}00::1", 64 + i))),
        s("6to4 decap, 6to4-only box", "6to4 decap", SIXTOFOUR_ONLY, 0, "decap_6to4", 1, wan("198.51.100.9", &remote, &|i| format!("2002:cb00:71{:02x}::5", 64 + i))),
        s("X 6to4 decap, 6to4-only box + same routes", "6to4 decap", SAME, 0, "decap_6to4", 1, wan("198.51.100.9", &remote, &|i| format!("2002:cb00:71{:02x}::5", 64 + i))),
        s("X 6to4 encap, 6to4-only box + same routes", "6to4 encap", SAME, 1, "encap_6to4", 0, lan(&|i| format!("2002:cb00:71{:02x}::5", 64 + i))),
        s("X 6to4 encap /64 deep", "6to4 encap", DEEP, 1, "encap_6to4", 0, lan(&|i| format!("2002:cb00:7140::{:x}", 64 + i))),
    ]
}

struct Dut {
    pipe: Pipeline,
    tables: Tables,
    bufs: Vec<TestBuf>,
    verdicts: Vec<Verdict>,
}

impl Dut {
    fn new(s: &Scenario) -> Dut {
        let settings = Config::from_toml(s.config).expect("config parses").validate(2).expect("config validates");
        let tables = Tables::new(&settings).expect("tables");
        let pipe = Pipeline::new(settings, &[EthernetAddress(PORT0), EthernetAddress(PORT1)]);
        let bufs = s.frames.iter().map(|f| TestBuf::new(s.port, f)).collect();
        Dut { pipe, tables, bufs, verdicts: vec![Verdict::Punt; s.frames.len()] }
    }

    #[inline(never)]
    fn reset(&mut self, frames: &[Vec<u8>]) {
        for (b, f) in self.bufs.iter_mut().zip(frames) {
            b.reset(f);
        }
    }

    #[inline(never)]
    fn burst(&mut self) {
        self.pipe.process_burst(&self.tables, 0, &mut self.bufs, &mut self.verdicts);
    }

    fn count(&self, name: &str) -> u64 {
        self.pipe.counters().iter().find(|&(n, _)| n == name).map_or(0, |(_, v)| v)
    }
}

/// One burst, checked: every packet leaves by the expected port and counter.
fn check(s: &Scenario) {
    let mut d = Dut::new(s);
    d.burst();
    let wrong: Vec<_> = d.verdicts.iter().enumerate().filter(|(_, v)| **v != Verdict::Tx(s.egress)).collect();
    assert!(wrong.is_empty(), "{}: {wrong:?} ({:?})", s.name, d.pipe.counters().nonzero());
    assert_eq!(d.count(s.counter), s.frames.len() as u64, "{}: {:?}", s.name, d.pipe.counters().nonzero());
}

/// Nanoseconds per packet: (reset + burst) − reset, over `bursts` bursts.
fn measure(s: &Scenario, bursts: usize) -> f64 {
    let mut d = Dut::new(s);
    for _ in 0..bursts / 10 {
        d.reset(&s.frames);
        d.burst();
    }
    let t = Instant::now();
    for _ in 0..bursts {
        d.reset(&s.frames);
        d.burst();
        black_box(&d.verdicts);
    }
    let total = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..bursts {
        d.reset(&s.frames);
        black_box(&mut d.bufs);
    }
    let reset = t.elapsed().as_secs_f64();
    (total - reset) * 1e9 / (bursts * s.frames.len()) as f64
}

fn main() {
    let a = Args::parse();
    let scenarios = scenarios();
    for s in &scenarios {
        check(s);
    }
    let mut ns: Vec<Vec<f64>> = vec![Vec::new(); scenarios.len()];
    for run in 0..a.runs {
        for (s, r) in scenarios.iter().zip(ns.iter_mut()) {
            r.push(measure(s, a.bursts));
        }
        eprintln!("run {}/{} done", run + 1, a.runs);
    }
    let median = |name: &str| scenarios.iter().position(|s| s.name == name).map(|i| median_spread(&ns[i]).0);
    let mut md = String::new();
    md.push_str("## Pipeline cost per packet by tunnel mechanism\n\n");
    md.push_str(&format!(
        "`Pipeline::process_burst` alone (no DPDK, no NIC) on bursts of 64 `TestBuf`s, 100-byte IPv6 \
         packets, 64 different remote ends or destinations per burst, one box with the 6to4 relay, a \
         configured tunnel, an ISATAP link and a 6rd domain on (each on its own IPv4 address), every \
         remote end behind the same IPv4 gateway. Buffers are reset from pristine frames before each \
         burst; the reset is timed alone and subtracted. {} runs × {} bursts per scenario, scenarios \
         interleaved within each run; median and spread over runs. Single thread. Machine: {} (shared \
         with other builds: absolute figures are noisy, compare rows of one run). Date: {}.\n\n",
        a.runs,
        a.bursts,
        machine(),
        now_utc()
    ));
    md.push_str(&format!(
        "Command: `cargo run --release -p relay-benches --bin pipeline-bench -- --runs {} --bursts {}`\n\n",
        a.runs, a.bursts
    ));
    md.push_str("| scenario | median ns/packet | min | max | × 6to4 same direction |\n|---|---:|---:|---:|---:|\n");
    for (s, r) in scenarios.iter().zip(&ns) {
        let (m, lo, hi) = median_spread(r);
        let ratio = median(s.baseline).map_or("–".to_string(), |b| format!("{:.2}", m / b));
        md.push_str(&format!("| {} | {m:.1} | {lo:.1} | {hi:.1} | {ratio} |\n", s.name));
    }
    write_section(&a.results, "pipeline", &md).expect("write results");
    print!("{md}");
}
