//! lpm-bench's IPv6 mode (the default): relay's `Lpm6` against `rte_lpm6`, `rte_fib6` and
//! `prefix-trie` on synthetic full IPv6 tables (`relay_benches::tablegen`).

use std::net::Ipv6Addr;

use std::sync::atomic::{AtomicU64, Ordering};

use relay::lpm::{Lpm6, V6};
use relay_benches::rte_tables::max_simd_bitwidth;
use relay_benches::tablegen;

use crate::measure::{self, Latency};
use crate::probe::Probe;
use crate::tables::{BenchPass, Kind, Pass, Tbl8s};
use crate::{command_and_setup, dpdk, eal_init, run_sizes, Args, Mode, Row, Workload};

pub fn run(args: &Args) -> Result<(), String> {
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
        eal_init(args.mem_mb.unwrap_or(peak * 3 / 2 / (1 << 20) + 512), args.hugepages)?;
    }
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
    let mode = Mode {
        kinds,
        passes: all.to_vec(),
        inserted: Pass::RelayBulk,
        random: tablegen::random_destinations,
        in_table: tablegen::table_destinations,
        section,
    };
    let probe = Probe::run(args.seed);
    run_sizes(
        args,
        header(args, &probe),
        tables.into_iter().zip(tbl8s).collect(),
        &mode,
    )
}

fn header(args: &Args, probe: &Probe) -> String {
    let (command, setup) = command_and_setup(args);
    let method = format!(
        "Tables come from `relay_benches::tablegen` (prefix-length mix after the public BGP \
         table reports, nested under RIR blocks). *Random*: uniform over 2000::/3. *In-table*: \
         a random prefix of the table with random host bits. Lookups go in bursts of {} (relayd's \
         worker burst, for every table); relay's `lookup_bulk` walks a burst level by level, \
         prefetching each lane's next node a level ahead; a timed \
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
    MAX_MISS_RATE.store(probe.max_miss_rate().to_bits(), Ordering::Relaxed);
    format!(
        "## IPv6 LPM: relay `Lpm6` vs `rte_lpm6`, `rte_fib6`, `prefix-trie`{}\n\n{command}\n\n\
         {setup}\n\n{method}\n\n\
         ### This machine's memory, as a lookup meets it\n\n\
         A pointer chase over random 64-byte lines of a working set (same pages as the tables \
         here): per cell, the time of one dependent load of one chain, and the loads per \
         second of all chains together. One chain is latency; many are the misses one core \
         keeps in flight, the ceiling of any lookup that reads lines outside the caches.\n\n{}",
        if args.hugepages { ", every table on 2 MiB pages" } else { "" },
        probe.markdown()
    )
}

/// The probe's best miss rate (M/s, as f64 bits), for each section's ceiling.
static MAX_MISS_RATE: AtomicU64 = AtomicU64::new(0);

/// Mean lines read below the direct table per in-table lookup, over `keys`.
fn mean_lines(work: &Workload<V6>) -> f64 {
    let Ok(table) = Lpm6::from_routes(work.routes.iter().copied()) else {
        return 0.0;
    };
    let keys = &work.sets[1];
    let lines: usize = keys.iter().map(|k| table.lines_read(k)).sum();
    lines as f64 / keys.len().max(1) as f64
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
    s.push_str(&goals(rows, n));
    let lines = mean_lines(work);
    s.push_str(&format!(
        "\nThis process's anonymous memory on transparent huge pages after this size's runs: {}.\n",
        measure::mib(measure::anon_huge_bytes())
    ));
    let rate = f64::from_bits(MAX_MISS_RATE.load(Ordering::Relaxed));
    s.push_str(&format!(
        "\nAn in-table lookup here reads {lines:.2} node or leaf lines below the direct table \
         (mean over the in-table set). The first is one of the few thousand nodes right under \
         the direct table, which stay in the L2 cache; where the table is far larger than L2 \
         (250k prefixes and up) the other {:.2} are mostly misses, and at the probe's best \
         {rate:.0} M independent misses/s per core (its 256 MiB row) they come to {:.0} M \
         lookups/s per core before any instruction is counted: the ceiling of this walk on \
         this machine, give or take the part of the upper levels that stays cached.\n",
        (lines - 1.0).max(0.0),
        rate / (lines - 1.0).max(f64::MIN_POSITIVE)
    ));
    s
}

/// Issue 20's targets, computed from this run's rows: in-table lookups/s ≥ 2× `rte_fib6`'s
/// AVX-512 walk and ≥ 8× `rte_lpm6`, ≥ 150 M/s at 1M prefixes, memory ≤ 0.11 of
/// `rte_lpm6`'s, a full build < 1 s, single updates ≤ 10 µs.
fn goals(rows: &[Row], prefixes: usize) -> String {
    let find = |name: &str| rows.iter().find(|r| r.name == name);
    let (Some(ours), Some(lpm6)) = (find(Pass::RelayPrefetch.name()), find(Pass::Lpm6Bulk.name()))
    else {
        return String::new();
    };
    let over = |peer: &Row, set: usize| {
        measure::median(&ours.mlps[set]) / measure::median(&peer.mlps[set])
    };
    let verdict = |met: bool| if met { "met" } else { "not met" };
    let mem = ours.memory.unwrap_or(0) as f64 / lpm6.memory.unwrap_or(1) as f64;
    let update = ours
        .insert
        .as_ref()
        .map_or(0.0, Latency::mean_us)
        .max(ours.delete.as_ref().map_or(0.0, Latency::mean_us));
    let build = measure::median(&ours.build_ms);
    let in_table = measure::median(&ours.mlps[1]);
    let fib6 = find(Pass::Fib6Avx512.name())
        .or_else(|| find(Pass::Fib6Default.name()))
        .map_or(String::new(), |peer| {
            format!(
                "{:.2}× in-table, {:.2}× random of `rte_fib6` ({}; goal ≥ 2× in-table: {}); ",
                over(peer, 1),
                over(peer, 0),
                if peer.name == Pass::Fib6Avx512.name() { "its AVX-512 walk" } else { "its default walk" },
                verdict(over(peer, 1) >= 2.0),
            )
        });
    let rate = if prefixes >= 1_000_000 {
        format!("{in_table:.1} M in-table lookups/s (goal ≥ 150 at 1M prefixes: {}); ", verdict(in_table >= 150.0))
    } else {
        format!("{in_table:.1} M in-table lookups/s; ")
    };
    format!(
        "\nAgainst issue 20's targets: {rate}{fib6}{:.2}× in-table, {:.2}× random of `rte_lpm6` \
         (goal ≥ 8× in-table: {}); memory {mem:.3} of `rte_lpm6`'s (goal ≤ 0.11: {}); build \
         {build:.0} ms (goal < 1000: {}); mean single update {update:.2} µs (goal ≤ 10: {}).\n",
        over(lpm6, 1),
        over(lpm6, 0),
        verdict(over(lpm6, 1) >= 8.0),
        verdict(mem <= 0.11),
        verdict(build < 1000.0),
        verdict(update <= 10.0),
    )
}
