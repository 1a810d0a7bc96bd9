//! lpm-bench: relay's IPv6 LPM (`relay::lpm::Lpm6`) against DPDK 22.11's `rte_lpm6` and
//! `rte_fib6` (trie) and the `prefix-trie` crate, on synthetic full IPv6 tables
//! (`relay_benches::tablegen`), all in one process and one run.
//!
//! For each table size: full-table build time, memory, bulk lookups/s on random (2000::/3)
//! and table-derived destinations, and single-route delete/insert latency. Every table's
//! answers are checked against `Lpm6`'s, which is itself checked against the reference
//! implementation on a sample. Prints a markdown section for benches/RESULTS.md.

#[path = "lpm-bench/dpdk.rs"]
mod dpdk;
#[path = "lpm-bench/ipv4.rs"]
mod ipv4;
#[path = "lpm-bench/measure.rs"]
mod measure;
#[path = "lpm-bench/tables.rs"]
mod tables;
#[path = "lpm-bench/tables4.rs"]
mod tables4;

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use clap::Parser;
use relay::lpm::reference::ReferenceLpm;
use relay::lpm::{Family, Lpm, V6};
use relay_benches::rte_tables::max_simd_bitwidth;
use relay_benches::tablegen::{self, Rng};

use measure::{mib, spread, Latency};
use tables::{BenchKind, BenchPass, BenchTable, Kind, Pass, Route, Scratch, Tbl8s};

#[global_allocator]
static GLOBAL: measure::Counting = measure::Counting;

#[derive(Parser, Clone)]
#[command(about = "IPv6 LPM: relay Lpm6 vs rte_lpm6, rte_fib6 and prefix-trie")]
struct Args {
    /// Table sizes, in prefixes.
    #[arg(long, value_delimiter = ',', default_value = "250000,1000000")]
    routes: Vec<usize>,
    /// Timed passes over each destination set.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Timed full-table builds.
    #[arg(long, default_value_t = 3)]
    build_runs: usize,
    /// Destinations per set.
    #[arg(long, default_value_t = 1 << 20)]
    lookups: usize,
    /// Routes deleted, then re-inserted, one at a time, for the update latencies.
    #[arg(long, default_value_t = 10_000)]
    updates: usize,
    /// A timed pass repeats its destination set until this many milliseconds have passed.
    #[arg(long, default_value_t = 200)]
    min_pass_ms: u64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// EAL memory in MiB (4 KiB pages, --no-huge); default: sized from the largest table.
    #[arg(long)]
    mem_mb: Option<usize>,
    /// Skip the DPDK tables (no EAL).
    #[arg(long)]
    no_dpdk: bool,
    /// IPv4 instead: relay `Lpm4` against `rte_lpm` (DIR-24-8) on DFZ-shaped tables.
    #[arg(long)]
    ipv4: bool,
}

/// One line of a results table.
struct Row {
    name: &'static str,
    memory: Option<usize>,
    build_ms: Vec<f64>,
    /// Million lookups/s per pass: random, table-derived.
    mlps: [Vec<f64>; 2],
    insert: Option<Latency>,
    delete: Option<Latency>,
    /// Answers that differ from Lpm6's.
    mismatches: usize,
}

impl Row {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            memory: None,
            build_ms: vec![],
            mlps: [vec![], vec![]],
            insert: None,
            delete: None,
            mismatches: 0,
        }
    }

    fn markdown(&self) -> String {
        let or_dash = |s: Option<String>| s.unwrap_or_else(|| "—".into());
        format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            self.name,
            or_dash(self.memory.map(mib)),
            or_dash((!self.build_ms.is_empty()).then(|| spread(&self.build_ms, 0))),
            spread(&self.mlps[0], 1),
            spread(&self.mlps[1], 1),
            or_dash(self.insert.as_ref().map(Latency::summary)),
            or_dash(self.delete.as_ref().map(Latency::summary)),
            self.mismatches,
        )
    }
}

/// A table and its destination sets: random (IPv6: uniform over 2000::/3), and inside the
/// table's prefixes.
struct Workload<F: Family> {
    routes: Vec<Route<F>>,
    sets: [Vec<F::Addr>; 2],
    /// relay's answers for each set, the yardstick for everyone else.
    expected: [Vec<u32>; 2],
    updates: Vec<Route<F>>,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("lpm-bench: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    if args.ipv4 {
        return ipv4::run(args);
    }
    let tables: Vec<Vec<(Ipv6Addr, u8, u32)>> = args
        .routes
        .iter()
        .map(|&n| tablegen::generate(n, args.seed))
        .collect();
    let tbl8s: Vec<Tbl8s> = tables
        .iter()
        .map(|t| Tbl8s {
            lpm6: dpdk::lpm6_tbl8s(t) * 11 / 10 + 1024,
            fib6: dpdk::fib6_tbl8s(t) + 1024,
        })
        .collect();
    if !args.no_dpdk {
        // Both DPDK tables live at once: two tbl24s (64 MiB each), 1 KiB per tbl8 group,
        // rules and RIB nodes.
        let need = |(routes, tbl8s): (&Vec<_>, &Tbl8s)| {
            (128 << 20) + (tbl8s.lpm6 + tbl8s.fib6) * 1024 + routes.len() * 512
        };
        let peak = tables.iter().zip(&tbl8s).map(need).max().unwrap_or(0);
        eal_init(args.mem_mb.unwrap_or(peak * 3 / 2 / (1 << 20) + 512))?;
    }
    let mut out = String::new();
    out.push_str(&header(args));
    for (routes, &tbl8s) in tables.into_iter().zip(&tbl8s) {
        let sets = [
            tablegen::random_destinations(args.lookups, args.seed ^ 1),
            tablegen::table_destinations(&routes, args.lookups, args.seed ^ 2),
        ];
        let work = workload(args, routes, sets)?;
        let mut kinds = vec![Kind::Relay];
        if !args.no_dpdk {
            kinds.extend([Kind::Lpm6, Kind::Fib6]);
        }
        kinds.push(Kind::PrefixTrie);
        let all = [
            Pass::RelayPrefetch,
            Pass::RelayBulk,
            Pass::RelaySingle,
            Pass::Lpm6Bulk,
            Pass::Fib6Default,
            Pass::Fib6Avx512,
            Pass::PrefixTrie,
        ];
        let rows = bench_size(args, &work, &kinds, &all, Pass::RelayBulk, tbl8s)?;
        out.push_str(&section(&work, &rows, tbl8s));
        eprintln!("done: {} prefixes", work.routes.len());
    }
    print!("{out}");
    Ok(())
}

/// The workload for `routes`, with relay's answers for `sets` checked against the
/// reference on a sample.
fn workload<F: Family>(
    args: &Args,
    routes: Vec<Route<F>>,
    sets: [Vec<F::Addr>; 2],
) -> Result<Workload<F>, String> {
    let table = Lpm::<F>::from_routes(routes.iter().copied()).map_err(|e| e.to_string())?;
    let expected = sets.each_ref().map(|keys| {
        let mut out = vec![0; keys.len()];
        table.lookup_bulk(keys, &mut out);
        out
    });
    let mut reference = ReferenceLpm::<F>::new();
    for &(prefix, len, hop) in &routes {
        reference
            .insert(prefix, len, hop)
            .map_err(|e| e.to_string())?;
    }
    for (keys, answers) in sets.iter().zip(&expected) {
        for (key, &got) in keys.iter().zip(answers).take(2000) {
            if reference.lookup(key) != got {
                let addr = F::key_prefix(F::addr_key(key));
                return Err(format!("relay disagrees with the reference on {addr:?}"));
            }
        }
    }
    let mut updates = routes.clone();
    tablegen::shuffle(&mut Rng::new(args.seed ^ 3), &mut updates);
    updates.truncate(args.updates);
    Ok(Workload {
        routes,
        sets,
        expected,
        updates,
    })
}

/// Builds every table of `kinds`, then measures them with their runs interleaved (run 1 of
/// each, then run 2 of each, …) so that a noisy neighbour hits all of them alike. `all`: the
/// passes in row order; `inserted`: the pass whose row gets relay's table built by single
/// inserts.
fn bench_size<K: BenchKind>(
    args: &Args,
    work: &Workload<K::Family>,
    kinds: &[K],
    all: &[K::Pass],
    inserted: K::Pass,
    sizing: K::Sizing,
) -> Result<Vec<Row>, String> {
    let mut built: Vec<Option<K::Table>> = kinds.iter().map(|_| None).collect();
    let mut build_ms = vec![vec![]; kinds.len()];
    let mut memory = vec![0; kinds.len()];
    for _ in 0..args.build_runs.max(1) {
        for (k, &kind) in kinds.iter().enumerate() {
            drop(built[k].take());
            let before = kind.heap();
            let start = Instant::now();
            let table = kind.build(&work.routes, sizing)?;
            build_ms[k].push(start.elapsed().as_secs_f64() * 1e3);
            memory[k] = kind.heap().saturating_sub(before);
            built[k] = Some(table);
        }
    }
    let mut tables: Vec<K::Table> = built.into_iter().flatten().collect();

    let mut passes: Vec<(K::Pass, usize)> = vec![];
    for &pass in all {
        if let Some(k) = kinds.iter().position(|&kind| kind == pass.kind()) {
            if tables[k].supports(pass) {
                passes.push((pass, k));
            }
        }
    }
    let mut rows: Vec<Row> = passes
        .iter()
        .map(|(pass, _)| Row::new(pass.name()))
        .collect();
    let mut scratch = Scratch::new(args.lookups, Duration::from_millis(args.min_pass_ms));
    // One untimed pass each over each set first: page faults (a DPDK table's pages that
    // only random destinations reach) and cold caches are not what is measured.
    for &(pass, k) in &passes {
        for (keys, expected) in work.sets.iter().zip(&work.expected) {
            tables[k].lookup_pass(pass, keys, expected, &mut scratch);
        }
    }
    for _ in 0..args.runs {
        for set in 0..2 {
            for (row, &(pass, k)) in rows.iter_mut().zip(&passes) {
                let (keys, expected) = (&work.sets[set], &work.expected[set]);
                let (mlps, wrong) = tables[k].lookup_pass(pass, keys, expected, &mut scratch);
                row.mlps[set].push(mlps);
                row.mismatches += wrong;
            }
        }
    }

    // Build, memory and updates go on the first row of each table.
    for (k, table) in tables.iter_mut().enumerate() {
        let (mut delete, mut insert) = (Latency::new(), Latency::new());
        for &(prefix, len, _) in &work.updates {
            delete.time(|| table.delete(prefix, len))?;
        }
        for &(prefix, len, hop) in &work.updates {
            insert.time(|| table.insert(prefix, len, hop))?;
        }
        if let Some(row) = passes
            .iter()
            .position(|&(_, kk)| kk == k)
            .and_then(|r| rows.get_mut(r))
        {
            row.delete = Some(delete);
            row.insert = Some(insert);
            row.build_ms = std::mem::take(&mut build_ms[k]);
            row.memory = Some(memory[k]);
        }
    }

    // relay's table built by single inserts, as the control core would from an empty start.
    let start = Instant::now();
    let mut table = Lpm::<K::Family>::new();
    for &(prefix, len, hop) in &work.routes {
        table.insert(prefix, len, hop).map_err(|e| e.to_string())?;
    }
    if let Some(row) = passes
        .iter()
        .position(|&(p, _)| p == inserted)
        .and_then(|r| rows.get_mut(r))
    {
        row.build_ms.push(start.elapsed().as_secs_f64() * 1e3);
        row.memory = Some(table.memory_bytes());
    }
    Ok(rows)
}

/// The command that reproduces this run, and the machine it ran on.
fn command_and_setup(args: &Args) -> (String, String) {
    let rustflags = if cfg!(target_feature = "popcnt") {
        "RUSTFLAGS='-C target-cpu=x86-64-v2' "
    } else {
        ""
    };
    let sizes: Vec<String> = args.routes.iter().map(|n| n.to_string()).collect();
    let command = format!(
        "`{rustflags}cargo run --release -p relay-benches --bin lpm-bench -- {}--routes {} \
         --runs {} --build-runs {} --lookups {} --min-pass-ms {} --updates {} --seed {}`",
        if args.ipv4 { "--ipv4 " } else { "" },
        sizes.join(","),
        args.runs,
        args.build_runs,
        args.lookups,
        args.min_pass_ms,
        args.updates,
        args.seed,
    );
    let setup = format!(
        "{} · {} · one core, one thread (CPUs allowed: {}; load average at the start {}) · \
         DPDK with `--no-huge` (4 KiB pages, like the Rust heap here) · {} · figures are \
         median (min–max) of the runs.",
        relay_benches::results::machine(),
        relay_benches::results::now_utc(),
        cpus_allowed(),
        load_average(),
        measure::rust_isa(),
    );
    (command, setup)
}

/// The CPUs this process may run on (`taskset` pins it), as the kernel lists them.
fn cpus_allowed() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map_or_else(|| "unknown".into(), |cpus| cpus.trim().to_string())
}

/// The 1-minute load average: other work on a shared machine moves every figure.
fn load_average() -> String {
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    loadavg.split_whitespace().next().unwrap_or("unknown").to_string()
}

fn header(args: &Args) -> String {
    let (command, setup) = command_and_setup(args);
    let method = format!(
        "Tables come from `relay_benches::tablegen` (prefix-length mix after the public BGP \
         table reports, nested under RIR blocks). *Random*: uniform over 2000::/3. *In-table*: \
         a random prefix of the table with random host bits. Lookups go in bursts of {} (relayd's \
         worker burst, for every table); a timed \
         pass goes over its set again until {} ms have passed (one pass of a fast table is a \
         few ms, too short to time). After one untimed pass each, runs are interleaved across \
         the tables (one pass of each, then the next round). Memory: Rust heap bytes counted by the allocator, DPDK heap bytes \
         from `rte_malloc_get_socket_stats`. Insert/delete: {} routes of the full table \
         deleted one at a time, then re-inserted. *Mismatches*: answers that differ from \
         `Lpm6`'s (itself checked against the reference implementation on 2000 destinations \
         per set). The `lookup_bulk` row's build and memory are for the table built by single \
         inserts instead of `from_routes`. `rte_fib6` runs twice: with the lookup DPDK \
         picks for an application (`RTE_FIB6_LOOKUP_DEFAULT`; at the EAL's SIMD limit of {} \
         bits here, DPDK's default, 22.11's `trie.c` takes its scalar walk, the AVX-512 one \
         only at 512), and with the AVX-512 walk an application can opt into \
         (`--force-max-simd-bitwidth=512`).",
        measure::BURST,
        args.min_pass_ms,
        args.updates,
        max_simd_bitwidth(),
    );
    format!(
        "## IPv6 LPM: relay `Lpm6` vs `rte_lpm6`, `rte_fib6`, `prefix-trie`\n\n{command}\n\n\
         {setup}\n\n{method}\n"
    )
}

fn section(work: &Workload<V6>, rows: &[Row], tbl8s: Tbl8s) -> String {
    let n = work.routes.len();
    let slash48 = work.routes.iter().filter(|r| r.1 == 48).count();
    let mut s = format!(
        "\n### {n} prefixes (mean length {:.1}, {:.0} % /48; tbl8 groups configured: {} for \
         `rte_lpm6`, {} for `rte_fib6`)\n\n\
         | table | memory | full build, ms | Mlookups/s, random | Mlookups/s, in-table \
         | insert | delete | mismatches |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
        tablegen::mean_length(&work.routes),
        slash48 as f64 * 100.0 / n as f64,
        tbl8s.lpm6,
        tbl8s.fib6,
    );
    for row in rows {
        s.push_str(&row.markdown());
        s.push('\n');
    }
    s.push_str(&goals(rows));
    s
}

/// The targets, computed from this run's rows: ≥ 3× `rte_lpm6` and ≥ 2× `rte_fib6`
/// lookups/s on both destination sets, memory ≤ ¼ of `rte_lpm6`'s, a full build < 1 s (the
/// issue asks it of the 1M-prefix table), single updates < 10 µs.
fn goals(rows: &[Row]) -> String {
    let find = |name: &str| rows.iter().find(|r| r.name == name);
    let (Some(ours), Some(lpm6), Some(fib6)) = (
        find(Pass::RelayPrefetch.name()),
        find(Pass::Lpm6Bulk.name()),
        find(Pass::Fib6Default.name()),
    ) else {
        return String::new();
    };
    let over = |peer: &Row, set: usize| {
        measure::median(&ours.mlps[set]) / measure::median(&peer.mlps[set])
    };
    let verdict = |met: bool| if met { "met" } else { "not met" };
    let times = |peer: &Row, goal: f64| {
        let (table, random) = (over(peer, 1), over(peer, 0));
        format!(
            "{table:.1}× in-table, {random:.1}× random (goal {goal}×: {})",
            verdict(table >= goal && random >= goal)
        )
    };
    let mem = ours.memory.unwrap_or(0) as f64 / lpm6.memory.unwrap_or(1) as f64;
    let update = ours
        .insert
        .as_ref()
        .map_or(0.0, Latency::mean_us)
        .max(ours.delete.as_ref().map_or(0.0, Latency::mean_us));
    let build = measure::median(&ours.build_ms);
    let avx512 = find(Pass::Fib6Avx512.name()).map_or(String::new(), |peer| {
        format!(
            " Against `rte_fib6`'s opt-in AVX-512 walk: {:.1}× in-table, {:.1}× random.",
            over(peer, 1),
            over(peer, 0)
        )
    });
    format!(
        "\nAgainst the targets: `rte_lpm6` {}; `rte_fib6` as DPDK runs it by default {}; \
         memory {mem:.3} of `rte_lpm6`'s (goal ≤ 0.25: {}); build {build:.0} ms (goal < 1000: \
         {}); mean single update {update:.2} µs (goal < 10: {}).{avx512}\n",
        times(lpm6, 3.0),
        times(fib6, 2.0),
        verdict(mem <= 0.25),
        verdict(build < 1000.0),
        verdict(update < 10.0),
    )
}

/// Starts the EAL without hugepages or devices: `mem_mb` of ordinary 4 KiB pages, like the
/// Rust tables' heap.
fn eal_init(mem_mb: usize) -> Result<(), String> {
    let mem = mem_mb.to_string();
    let args = [
        "lpm-bench", "--no-huge", "-m", &mem, "--no-pci", "--file-prefix", "lpm-bench", "--log-level", "warning",
    ];
    relay::runtime::Eal::init(&args).map(|_| ()).map_err(|e| format!("{e}: is -m {mem_mb} available?"))
}
