//! lpm-bench: relay's IPv6 LPM (`relay::lpm::Lpm6`) against DPDK 22.11's `rte_lpm6` and
//! `rte_fib6` (trie) and the `prefix-trie` crate, on synthetic full IPv6 tables
//! (`relay_benches::tablegen`), all in one process and one run; with `--ipv4`, relay's
//! `Lpm4` against `rte_lpm` on DFZ-shaped IPv4 tables (`relay_benches::tablegen4`).
//!
//! For each table size: full-table build time, memory, bulk lookups/s on random and
//! table-derived destinations, and single-route delete/insert latency. Every table's
//! answers are checked against relay's, which are themselves checked against the reference
//! implementation on a sample. Prints a markdown section for benches/RESULTS.md.

#[path = "lpm-bench/dpdk.rs"]
mod dpdk;
#[path = "lpm-bench/ipv4.rs"]
mod ipv4;
#[path = "lpm-bench/ipv6.rs"]
mod ipv6;
#[path = "lpm-bench/measure.rs"]
mod measure;
#[path = "lpm-bench/probe.rs"]
mod probe;
#[path = "lpm-bench/tables.rs"]
mod tables;
#[path = "lpm-bench/tables4.rs"]
mod tables4;

use std::time::Duration;

use clap::Parser;
use relay::lpm::reference::ReferenceLpm;
use relay::lpm::{Family, Lpm};
use relay_benches::tablegen::{self, Rng};

use measure::{mib, spread, Latency};
use tables::{BenchKind, BenchPass, BenchTable, Route, Scratch};

#[global_allocator]
static GLOBAL: measure::Counting = measure::Counting;

#[derive(Parser, Clone)]
#[command(about = "LPM: relay Lpm6 vs rte_lpm6, rte_fib6 and prefix-trie; --ipv4: Lpm4 vs rte_lpm")]
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
    /// Every table on 2 MiB pages: DPDK's on hugetlbfs (`scripts/hugepages.sh` first), the
    /// Rust heap's big blocks on transparent huge pages (`MADV_HUGEPAGE`).
    #[arg(long)]
    hugepages: bool,
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
    if args.hugepages {
        measure::use_huge_pages();
    }
    if let Err(e) = run(&args) {
        eprintln!("lpm-bench: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    if args.ipv4 {
        ipv4::run(args)
    } else {
        ipv6::run(args)
    }
}

/// The routes, destinations and report section of a kind's family.
type Routes<K> = [Route<<K as BenchKind>::Family>];
type RouteVec<K> = Vec<Route<<K as BenchKind>::Family>>;
type Addrs<K> = Vec<<<K as BenchKind>::Family as Family>::Addr>;
type Section<K> = fn(&Workload<<K as BenchKind>::Family>, &[Row], <K as BenchKind>::Sizing) -> String;

/// What a family's mode hands [`run_sizes`].
struct Mode<K: BenchKind> {
    kinds: Vec<K>,
    /// Every pass, in row order (those a table does not support are left out).
    passes: Vec<K::Pass>,
    /// The pass whose row gets relay's table built by single inserts.
    inserted: K::Pass,
    /// Destinations: `count` random ones, and `count` inside a table's prefixes.
    random: fn(usize, u64) -> Addrs<K>,
    in_table: fn(&Routes<K>, usize, u64) -> Addrs<K>,
    /// The report section of one table size.
    section: Section<K>,
}

/// Measures each of `tables`, with what its DPDK peers are created with for it, and prints
/// `header` and a report section per table.
fn run_sizes<K: BenchKind>(
    args: &Args,
    header: String,
    tables: Vec<(RouteVec<K>, K::Sizing)>,
    mode: &Mode<K>,
) -> Result<(), String> {
    let mut out = header;
    for (routes, sizing) in tables {
        let sets = [
            (mode.random)(args.lookups, args.seed ^ 1),
            (mode.in_table)(&routes, args.lookups, args.seed ^ 2),
        ];
        let work = workload(args, routes, sets)?;
        let rows = bench_size(args, &work, &mode.kinds, &mode.passes, mode.inserted, sizing)?;
        out.push_str(&(mode.section)(&work, &rows, sizing));
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
            let start = measure::thread_cpu_time();
            let table = kind.build(&work.routes, sizing)?;
            build_ms[k].push((measure::thread_cpu_time() - start).as_secs_f64() * 1e3);
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
    let start = measure::thread_cpu_time();
    let mut table = Lpm::<K::Family>::new();
    for &(prefix, len, hop) in &work.routes {
        table.insert(prefix, len, hop).map_err(|e| e.to_string())?;
    }
    if let Some(row) = passes
        .iter()
        .position(|&(p, _)| p == inserted)
        .and_then(|r| rows.get_mut(r))
    {
        row.build_ms.push((measure::thread_cpu_time() - start).as_secs_f64() * 1e3);
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
        "`{rustflags}cargo run --release -p relay-benches --bin lpm-bench -- {}{}--routes {} \
         --runs {} --build-runs {} --lookups {} --min-pass-ms {} --updates {} --seed {}`",
        if args.ipv4 { "--ipv4 " } else { "" },
        if args.hugepages { "--hugepages " } else { "" },
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
         {} · {} · lookups/s and build times are per CPU-second of the benchmark thread \
         (the machine is shared: time the scheduler gives others is not counted, their cache \
         and memory traffic is; single updates are wall-clock, so their maxima include \
         preemptions) · figures are median (min–max) of the runs.",
        relay_benches::results::machine(),
        relay_benches::results::now_utc(),
        cpus_allowed(),
        load_average(),
        if args.hugepages {
            "every table on 2 MiB pages (DPDK: hugetlbfs; Rust: transparent huge pages, \
             `MADV_HUGEPAGE` on blocks of 2 MiB and more)"
        } else {
            "every table on 4 KiB pages (DPDK with `--no-huge`, like the Rust heap)"
        },
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

/// Starts the EAL without devices: `mem_mb` of ordinary 4 KiB pages, like the Rust tables'
/// heap, or of 2 MiB hugepages.
fn eal_init(mem_mb: usize, hugepages: bool) -> Result<(), String> {
    let mem = mem_mb.to_string();
    let mut args = vec!["lpm-bench"];
    if !hugepages {
        args.push("--no-huge");
    }
    args.extend(["-m", &mem, "--no-pci", "--file-prefix", "lpm-bench", "--log-level", "warning"]);
    let pages = if hugepages { " on 2 MiB hugepages (scripts/hugepages.sh)" } else { "" };
    relay::runtime::Eal::init(&args)
        .map(|_| ())
        .map_err(|e| format!("{e}: is -m {mem_mb}{pages} available?"))
}
