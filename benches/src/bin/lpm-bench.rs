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
#[path = "lpm-bench/measure.rs"]
mod measure;

use std::net::Ipv6Addr;
use std::time::Instant;

use clap::Parser;
use prefix_trie::PrefixMap;
use relay::lpm::reference::ReferenceLpm6;
use relay::lpm::Lpm6;
use relay_benches::tablegen::{self, Rng};

use measure::{heap_live, mib, spread, time_bursts, Latency};

#[global_allocator]
static GLOBAL: measure::Counting = measure::Counting;

const MISS: u32 = Lpm6::MISS;

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
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// EAL memory in MiB (4 KiB pages, --no-huge); default: sized from the largest table.
    #[arg(long)]
    mem_mb: Option<usize>,
    /// Skip the DPDK tables (no EAL).
    #[arg(long)]
    no_dpdk: bool,
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

/// tbl8 groups each DPDK table is created with.
#[derive(Clone, Copy)]
struct Tbl8s {
    lpm6: usize,
    fib6: usize,
}

/// Destination sets: uniform over 2000::/3, and inside the table's prefixes.
struct Workload {
    routes: Vec<(Ipv6Addr, u8, u32)>,
    sets: [Vec<[u8; 16]>; 2],
    /// Lpm6's answers for each set, the yardstick for everyone else.
    expected: [Vec<u32>; 2],
    updates: Vec<(Ipv6Addr, u8, u32)>,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("lpm-bench: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
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
        // One DPDK table lives at a time: tbl24 (64 MiB) + 1 KiB per tbl8 group + rules/RIB.
        let need = |(routes, tbl8s): (&Vec<_>, &Tbl8s)| {
            (64 << 20) + tbl8s.lpm6.max(tbl8s.fib6) * 1024 + routes.len() * 256
        };
        let peak = tables.iter().zip(&tbl8s).map(need).max().unwrap_or(0);
        dpdk::eal_init(args.mem_mb.unwrap_or(peak * 3 / 2 / (1 << 20) + 512))?;
    }
    let mut out = String::new();
    out.push_str(&header(args));
    for (routes, &tbl8s) in tables.into_iter().zip(&tbl8s) {
        let work = workload(args, routes)?;
        let mut rows = vec![];
        rows.extend(bench_relay(args, &work)?);
        if !args.no_dpdk {
            rows.push(bench_lpm6(args, &work, tbl8s.lpm6)?);
            rows.extend(bench_fib6(args, &work, tbl8s.fib6)?);
        }
        rows.push(bench_prefix_trie(args, &work));
        out.push_str(&section(&work, &rows, tbl8s));
        eprintln!("done: {} prefixes", work.routes.len());
    }
    print!("{out}");
    Ok(())
}

fn workload(args: &Args, routes: Vec<(Ipv6Addr, u8, u32)>) -> Result<Workload, String> {
    let sets = [
        tablegen::random_destinations(args.lookups, args.seed ^ 1),
        tablegen::table_destinations(&routes, args.lookups, args.seed ^ 2),
    ];
    let table = Lpm6::from_routes(routes.iter().copied()).map_err(|e| e.to_string())?;
    let expected = sets.clone().map(|keys| {
        let mut out = vec![0; keys.len()];
        table.lookup_bulk(&keys, &mut out);
        out
    });
    let mut reference = ReferenceLpm6::new();
    for &(prefix, len, hop) in &routes {
        reference
            .insert(prefix, len, hop)
            .map_err(|e| e.to_string())?;
    }
    for (keys, answers) in sets.iter().zip(&expected) {
        for (key, &got) in keys.iter().zip(answers).take(2000) {
            if reference.lookup(key) != got {
                return Err(format!(
                    "Lpm6 disagrees with the reference on {}",
                    Ipv6Addr::from(*key)
                ));
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

fn mismatches<T: Copy>(got: &[T], expected: &[u32], normalise: impl Fn(T) -> u32) -> usize {
    got.iter()
        .zip(expected)
        .filter(|&(&g, &e)| normalise(g) != e)
        .count()
}

fn bench_relay(args: &Args, work: &Workload) -> Result<[Row; 3], String> {
    let mut prefetched = Row::new("relay `Lpm6::lookup_bulk_with_prefetch` (`_mm_prefetch`)");
    let mut bulk = Row::new("relay `Lpm6::lookup_bulk` (no prefetch)");
    let mut single = Row::new("relay `Lpm6::lookup` (one at a time)");
    let mut table = Lpm6::new();
    for _ in 0..args.build_runs.max(1) {
        drop(std::mem::take(&mut table));
        let before = heap_live();
        let start = Instant::now();
        table = Lpm6::from_routes(work.routes.iter().copied()).map_err(|e| e.to_string())?;
        prefetched
            .build_ms
            .push(start.elapsed().as_secs_f64() * 1e3);
        prefetched.memory = Some(heap_live() - before);
    }
    let mut out = vec![0u32; args.lookups];
    for set in 0..2 {
        for _ in 0..args.runs {
            let t = time_bursts(&work.sets[set], &mut out, |k, o| {
                table.lookup_bulk_with_prefetch(k, o, measure::prefetch)
            });
            prefetched.mlps[set].push(args.lookups as f64 / t.as_secs_f64() / 1e6);
            prefetched.mismatches += mismatches(&out, &work.expected[set], |v| v);
            let t = time_bursts(&work.sets[set], &mut out, |k, o| table.lookup_bulk(k, o));
            bulk.mlps[set].push(args.lookups as f64 / t.as_secs_f64() / 1e6);
            bulk.mismatches += mismatches(&out, &work.expected[set], |v| v);
            let t = time_bursts(&work.sets[set], &mut out, |k, o| {
                for (key, hop) in k.iter().zip(o) {
                    *hop = table.lookup(key);
                }
            });
            single.mlps[set].push(args.lookups as f64 / t.as_secs_f64() / 1e6);
            single.mismatches += mismatches(&out, &work.expected[set], |v| v);
        }
    }
    let (mut delete, mut insert) = (Latency::new(), Latency::new());
    for &(prefix, len, _) in &work.updates {
        delete
            .time(|| table.remove(prefix, len))
            .map_err(|e| e.to_string())?;
    }
    for &(prefix, len, hop) in &work.updates {
        insert
            .time(|| table.insert(prefix, len, hop))
            .map_err(|e| e.to_string())?;
    }
    if table.len() != work.routes.len() {
        return Err("Lpm6 lost routes during the update run".into());
    }
    prefetched.delete = Some(delete);
    prefetched.insert = Some(insert);

    // The same table built by single inserts, as the control core would from an empty start.
    let start = Instant::now();
    let mut inserted = Lpm6::new();
    for &(prefix, len, hop) in &work.routes {
        inserted
            .insert(prefix, len, hop)
            .map_err(|e| e.to_string())?;
    }
    bulk.build_ms.push(start.elapsed().as_secs_f64() * 1e3);
    bulk.memory = Some(inserted.memory_bytes());
    Ok([prefetched, bulk, single])
}

fn bench_lpm6(args: &Args, work: &Workload, tbl8s: usize) -> Result<Row, String> {
    let mut row = Row::new("DPDK `rte_lpm6_lookup_bulk_func`");
    let mut table = None;
    for _ in 0..args.build_runs.max(1) {
        drop(table.take());
        let before = dpdk::heap_allocated();
        let start = Instant::now();
        let mut lpm = dpdk::Lpm6::new(work.routes.len() + 1024, tbl8s)?;
        for &(prefix, len, hop) in &work.routes {
            lpm.add(prefix, len, hop)?;
        }
        row.build_ms.push(start.elapsed().as_secs_f64() * 1e3);
        row.memory = Some(dpdk::heap_allocated() - before);
        table = Some(lpm);
    }
    let mut lpm = table.ok_or("no rte_lpm6 built")?;
    let mut out = vec![0i32; args.lookups];
    for set in 0..2 {
        for _ in 0..args.runs {
            let t = time_bursts(&work.sets[set], &mut out, |k, o| lpm.lookup_bulk(k, o));
            row.mlps[set].push(args.lookups as f64 / t.as_secs_f64() / 1e6);
            row.mismatches += mismatches(&out, &work.expected[set], |v| {
                u32::try_from(v).unwrap_or(MISS)
            });
        }
    }
    let (mut delete, mut insert) = (Latency::new(), Latency::new());
    for &(prefix, len, _) in &work.updates {
        delete.time(|| lpm.delete(prefix, len));
    }
    for &(prefix, len, hop) in &work.updates {
        insert.time(|| lpm.add(prefix, len, hop))?;
    }
    row.delete = Some(delete);
    row.insert = Some(insert);
    Ok(row)
}

fn bench_fib6(args: &Args, work: &Workload, tbl8s: usize) -> Result<Vec<Row>, String> {
    let mut scalar = Row::new("DPDK `rte_fib6_lookup_bulk` (trie, scalar)");
    let vector = Row::new("DPDK `rte_fib6_lookup_bulk` (trie, AVX-512)");
    let mut table = None;
    for _ in 0..args.build_runs.max(1) {
        drop(table.take());
        let before = dpdk::heap_allocated();
        let start = Instant::now();
        let mut fib = dpdk::Fib6::new(work.routes.len() + 1024, tbl8s)?;
        for &(prefix, len, hop) in &work.routes {
            fib.add(prefix, len, hop)?;
        }
        scalar.build_ms.push(start.elapsed().as_secs_f64() * 1e3);
        scalar.memory = Some(dpdk::heap_allocated() - before);
        table = Some(fib);
    }
    let mut fib = table.ok_or("no rte_fib6 built")?;
    let normalise = |v: u64| if v == dpdk::FIB_MISS { MISS } else { v as u32 };
    let mut out = vec![0u64; args.lookups];
    let mut measured = vec![];
    for (mut row, avx512) in [(scalar, false), (vector, true)] {
        // DPDK refuses the AVX-512 walk on CPUs (or builds) without it: no row then.
        if !fib.select(avx512) {
            continue;
        }
        for set in 0..2 {
            for _ in 0..args.runs {
                let t = time_bursts(&work.sets[set], &mut out, |k, o| fib.lookup_bulk(k, o));
                row.mlps[set].push(args.lookups as f64 / t.as_secs_f64() / 1e6);
                row.mismatches += mismatches(&out, &work.expected[set], normalise);
            }
        }
        measured.push(row);
    }
    let (mut delete, mut insert) = (Latency::new(), Latency::new());
    for &(prefix, len, _) in &work.updates {
        delete.time(|| fib.delete(prefix, len));
    }
    for &(prefix, len, hop) in &work.updates {
        insert.time(|| fib.add(prefix, len, hop))?;
    }
    // Build, memory and updates belong to the one table both lookups ran on.
    if let Some(first) = measured.first_mut() {
        first.delete = Some(delete);
        first.insert = Some(insert);
    }
    Ok(measured)
}

fn bench_prefix_trie(args: &Args, work: &Workload) -> Row {
    let mut row = Row::new("`prefix-trie` 0.10 `PrefixMap::get_lpm`");
    let mut map = PrefixMap::<(u128, u8), u32>::new();
    for _ in 0..args.build_runs.max(1) {
        drop(std::mem::take(&mut map));
        let before = heap_live();
        let start = Instant::now();
        for &(prefix, len, hop) in &work.routes {
            map.insert((u128::from(prefix), len), hop);
        }
        row.build_ms.push(start.elapsed().as_secs_f64() * 1e3);
        row.memory = Some(heap_live() - before);
    }
    let mut out = vec![0u32; args.lookups];
    for set in 0..2 {
        for _ in 0..args.runs {
            let t = time_bursts(&work.sets[set], &mut out, |k, o| {
                for (key, hop) in k.iter().zip(o) {
                    *hop = map
                        .get_lpm(&(u128::from_be_bytes(*key), 128))
                        .map_or(MISS, |(_, &v)| v);
                }
            });
            row.mlps[set].push(args.lookups as f64 / t.as_secs_f64() / 1e6);
            row.mismatches += mismatches(&out, &work.expected[set], |v| v);
        }
    }
    let (mut delete, mut insert) = (Latency::new(), Latency::new());
    for &(prefix, len, _) in &work.updates {
        delete.time(|| map.remove(&(u128::from(prefix), len)));
    }
    for &(prefix, len, hop) in &work.updates {
        insert.time(|| map.insert((u128::from(prefix), len), hop));
    }
    row.delete = Some(delete);
    row.insert = Some(insert);
    row
}

fn header(args: &Args) -> String {
    format!(
        "## IPv6 LPM: relay `Lpm6` vs `rte_lpm6`, `rte_fib6`, `prefix-trie`\n\n\
         `{}cargo run --release -p relay-benches --bin lpm-bench -- --routes {} --runs {} --build-runs {} \
         --lookups {} --updates {} --seed {}`\n\n\
         {} · {} · one core, one thread · DPDK with `--no-huge` (4 KiB pages, like the Rust heap \
         here) · {} · figures are median (min–max) of the runs.\n\n\
         Tables come from `relay_benches::tablegen` (prefix-length mix after the public BGP table \
         reports, nested under RIR blocks). *Random*: uniform over 2000::/3. *In-table*: a random \
         prefix of the table with random host bits. Lookups go in bursts of 32. Memory: Rust heap \
         bytes counted by the allocator, DPDK heap bytes from `rte_malloc_get_socket_stats`. \
         Insert/delete: {} routes of the full table deleted one at a time, then re-inserted. \
         *Mismatches*: answers that differ from `Lpm6`'s (itself checked against the reference \
         implementation on 2000 destinations per set). The `lookup_bulk` row's build and memory \
         are for the table built by single inserts instead of `from_routes`.\n",
        if cfg!(target_feature = "popcnt") { "RUSTFLAGS='-C target-cpu=x86-64-v2' " } else { "" },
        args.routes.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(","),
        args.runs,
        args.build_runs,
        args.lookups,
        args.updates,
        args.seed,
        relay_benches::results::machine(),
        relay_benches::results::now_utc(),
        measure::rust_isa(),
        args.updates,
    )
}

fn section(work: &Workload, rows: &[Row], tbl8s: Tbl8s) -> String {
    let n = work.routes.len();
    let slash48 = work.routes.iter().filter(|r| r.1 == 48).count();
    let mut s = format!(
        "\n### {n} prefixes (mean length {:.1}, {:.0} % /48; tbl8 groups configured: {} for `rte_lpm6`, {} for `rte_fib6`)\n\n\
         | table | memory | full build, ms | Mlookups/s, random | Mlookups/s, in-table | insert | delete | mismatches |\n\
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

/// The targets, computed from this run's rows.
fn goals(rows: &[Row]) -> String {
    let find = |prefix: &str| rows.iter().find(|r| r.name.starts_with(prefix));
    let (Some(ours), Some(lpm6)) = (
        find("relay `Lpm6::lookup_bulk_with_prefetch`"),
        find("DPDK `rte_lpm6"),
    ) else {
        return String::new();
    };
    let fib6_best = |set: usize| {
        rows.iter()
            .filter(|r| r.name.starts_with("DPDK `rte_fib6"))
            .map(|r| measure::median(&r.mlps[set]))
            .fold(0.0, f64::max)
    };
    let ratio = |set: usize, other: f64| measure::median(&ours.mlps[set]) / other;
    let mem = ours.memory.unwrap_or(0) as f64 / lpm6.memory.unwrap_or(1) as f64;
    let update = ours
        .insert
        .as_ref()
        .map_or(0.0, Latency::mean_us)
        .max(ours.delete.as_ref().map_or(0.0, Latency::mean_us));
    format!(
        "\nAgainst the targets: lookups/s {:.1}× `rte_lpm6` in-table ({:.1}× random), \
         {:.1}× the best `rte_fib6` in-table ({:.1}× random); memory {:.3} of `rte_lpm6`'s; \
         build {:.0} ms; mean single update {:.2} µs.\n",
        ratio(1, measure::median(&lpm6.mlps[1])),
        ratio(0, measure::median(&lpm6.mlps[0])),
        ratio(1, fib6_best(1)),
        ratio(0, fib6_best(0)),
        mem,
        measure::median(&ours.build_ms),
        update,
    )
}
