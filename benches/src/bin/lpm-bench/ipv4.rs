//! lpm-bench's IPv4 mode (`--ipv4`): relay's `Lpm4` (poptrie) and `Dir24` (DIR-24-8, 16-bit entries) against DPDK's `rte_lpm` (DIR-24-8) on
//! DFZ-shaped tables (`relay_benches::tablegen4`), in the same process and run.

use relay::lpm::V4;
use relay_benches::tablegen4;

use crate::measure::{self, Latency};
use crate::tables::{BenchPass, Route};
use crate::tables4::{Kind4, Pass4};
use crate::{command_and_setup, dpdk, eal_init, run_sizes, Args, Mode, Row, Workload};

pub fn run(args: &Args) -> Result<(), String> {
    let tables: Vec<Vec<Route<V4>>> = args
        .routes
        .iter()
        .map(|&n| tablegen4::generate(n, args.seed))
        .collect();
    let tbl8s: Vec<usize> = tables
        .iter()
        .map(|t| dpdk::lpm_tbl8s(t) * 11 / 10 + 1024)
        .collect();
    if !args.no_dpdk {
        // One rte_lpm at a time: its 64 MiB tbl24, 1 KiB per tbl8 group, 8 bytes per rule.
        let need =
            |(routes, tbl8s): (&Vec<_>, &usize)| (64 << 20) + tbl8s * 1024 + routes.len() * 8;
        let peak = tables.iter().zip(&tbl8s).map(need).max().unwrap_or(0);
        eal_init(args.mem_mb.unwrap_or(peak * 3 / 2 / (1 << 20) + 512), args.hugepages)?;
    }
    let mut kinds = vec![Kind4::Relay, Kind4::Dir24];
    if !args.no_dpdk {
        kinds.push(Kind4::Lpm);
    }
    let all = [
        Pass4::RelayPrefetch,
        Pass4::RelayBulk,
        Pass4::RelaySingle,
        Pass4::Dir24Prefetch,
        Pass4::Dir24Single,
        Pass4::LpmBulk,
        Pass4::LpmX4,
    ];
    let mode = Mode {
        kinds,
        passes: all.to_vec(),
        inserted: Pass4::RelayBulk,
        random: tablegen4::random_destinations,
        in_table: tablegen4::table_destinations,
        section,
    };
    run_sizes(
        args,
        header(args),
        tables.into_iter().zip(tbl8s).collect(),
        &mode,
    )
}

fn header(args: &Args) -> String {
    let (command, setup) = command_and_setup(args);
    let method = format!(
        "Tables come from `relay_benches::tablegen4` (the IPv4 DFZ's prefix-length mix after \
         the public BGP table reports: about 60 % /24, then /22 and /23; more-specifics nested \
         under announced prefixes; {} next hops). *Random*: uniform over all of IPv4. \
         *In-table*: a random prefix of the table with random host bits. Lookups go in bursts \
         of {} (relayd's worker burst); `rte_lpm` gets its addresses in host byte order, \
         converted before the clock starts, and its bulk lookup with the burst size a \
         compile-time constant (`dpdk-sys/shim.c`), as `rte_lpm.h` asks for its best code. A \
         timed pass goes over its set again until {} ms have passed; runs are interleaved \
         across the tables. Memory: Rust heap bytes counted by the allocator (lookup \
         structure and the prefix set behind updates), DPDK heap bytes from \
         `rte_malloc_get_socket_stats` (tbl24, tbl8 groups and rules). Insert/delete: {} \
         routes of the full table deleted one at a time, then re-inserted. *Mismatches*: \
         answers that differ from `Lpm4`'s (itself checked against the reference \
         implementation on 2000 destinations per set). The `lookup_bulk` row's build and \
         memory are for the table built by single inserts instead of `from_routes`.",
        relay_benches::tablegen::NEXT_HOPS,
        measure::BURST,
        args.min_pass_ms,
        args.updates,
    );
    format!("## IPv4 LPM: relay `Lpm4` and `Dir24` vs `rte_lpm`\n\n{command}\n\n{setup}\n\n{method}\n")
}

fn section(work: &Workload<V4>, rows: &[Row], tbl8s: usize) -> String {
    let n = work.routes.len();
    let share =
        |len: u8| work.routes.iter().filter(|r| r.1 == len).count() as f64 * 100.0 / n as f64;
    let mut s = format!(
        "\n### {n} IPv4 prefixes ({:.0} % /24, {:.0} % /22–/23, {:.1} % shorter than /16; \
         tbl8 groups configured for `rte_lpm`: {tbl8s})\n\n\
         | table | memory | full build, ms | Mlookups/s, random | Mlookups/s, in-table \
         | insert | delete | mismatches |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
        share(24),
        share(22) + share(23),
        (0..16).map(share).sum::<f64>(),
    );
    for row in rows {
        s.push_str(&row.markdown());
        s.push('\n');
    }
    s.push_str(&goals(rows));
    s
}

/// The targets: at least `rte_lpm`'s lookup rate (its faster entry point, on each
/// destination set), less memory; for each of relay's tables.
fn goals(rows: &[Row]) -> String {
    let find = |pass: Pass4| rows.iter().find(|r| r.name == pass.name());
    let (Some(bulk), Some(x4)) = (find(Pass4::LpmBulk), find(Pass4::LpmX4)) else {
        return String::new();
    };
    let rate = |row: &Row, set: usize| measure::median(&row.mlps[set]);
    let verdict = |met: bool| if met { "met" } else { "not met" };
    let mut s = String::new();
    let tables = [
        ("`Lpm4`", [Pass4::RelayPrefetch, Pass4::RelayBulk, Pass4::RelaySingle].as_slice()),
        ("`Dir24`", [Pass4::Dir24Prefetch, Pass4::Dir24Single].as_slice()),
    ];
    for (name, passes) in tables {
        // The table's row with memory and updates is its first; its rate, its fastest entry
        // point on each set, as `rte_lpm`'s is.
        let Some(ours) = find(passes[0]) else { continue };
        let best = |set: usize| passes.iter().filter_map(|&p| find(p)).map(|r| rate(r, set)).fold(0.0, f64::max);
        let over = |set: usize| best(set) / rate(bulk, set).max(rate(x4, set));
        let (table, random) = (over(1), over(0));
        let mem = ours.memory.unwrap_or(0) as f64 / bulk.memory.unwrap_or(1) as f64;
        let update = ours.insert.as_ref().map_or(0.0, Latency::mean_us).max(ours.delete.as_ref().map_or(0.0, Latency::mean_us));
        s.push_str(&format!(
            "\n{name} against the targets: its faster entry point does {table:.2}× in-table, {random:.2}× random of \
             the faster `rte_lpm` one (goal ≥ 1: {}); memory {mem:.3} of `rte_lpm`'s (goal < 1: {}); \
             mean single update {update:.2} µs.\n",
            verdict(table >= 1.0 && random >= 1.0),
            verdict(mem < 1.0),
        ));
    }
    s
}
