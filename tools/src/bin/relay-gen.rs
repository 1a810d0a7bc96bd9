//! relay-gen: DPDK traffic generator for relayd. See docs/relay-gen.md.
//!
//! Exit status: 0 the run completed (loss is in the report, not the status), 1 the run failed
//! (EAL, ports, links), 2 bad command line.
use std::process::ExitCode;

use clap::Parser;
use relay_tools::gen::build::Source;
use relay_tools::gen::cli::{self, Cli, Traffic};
use relay_tools::gen::mix::Kind;
use relay_tools::gen::{pcap, report, run};

fn main() -> ExitCode {
    if let Some(code) = relay_tools::clidocs::serve::<Cli>("1") {
        return code;
    }
    let cli = Cli::parse();
    match cli::write_pcap_args(&cli) {
        Err(e) => return usage(e),
        Ok(Some((path, n))) => return write_pcap(&cli, &path, n),
        Ok(None) => {}
    }
    let plan = match cli::plan(&cli) {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    let json_path = plan.json.clone();
    let summary = match run::run(plan) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("relay-gen: {e}");
            return ExitCode::from(1);
        }
    };
    eprint!("{}", report::render(&summary));
    let json = match serde_json::to_string_pretty(&summary) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("relay-gen: cannot encode the summary: {e}");
            return ExitCode::from(1);
        }
    };
    println!("{json}");
    if let Some(path) = json_path {
        if let Err(e) = std::fs::write(&path, format!("{json}\n")) {
            eprintln!("relay-gen: --json {}: {e}", path.display());
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}

fn usage(e: String) -> ExitCode {
    eprintln!("relay-gen: {e}");
    ExitCode::from(2)
}

fn write_pcap(cli: &Cli, path: &std::path::Path, n: u64) -> ExitCode {
    let (mix, sizes, flows, addrs) = match cli::traffic(cli) {
        Ok(Traffic::Generated { mix, sizes, flows, addrs, .. }) => (mix, sizes, flows, addrs),
        Ok(Traffic::Replay { .. }) => return usage("--write-pcap: writes generated traffic; it does not go with --pcap".into()),
        Err(e) => return usage(e),
    };
    let Some(mut source) = Source::new(addrs, &mix.restricted(&Kind::ALL), sizes, flows, 0) else {
        return usage("--mix: no kind to send".into());
    };
    // Timestamps follow --rate-pps when given (Pktgen ignores them; tcpreplay does not).
    let interval_ns = cli.rate_pps.filter(|r| *r > 0).map_or(1000, |r| (1_000_000_000 / r).max(1));
    match pcap::write_traffic(path, &mut source, n, interval_ns) {
        Ok(w) => {
            eprintln!(
                "relay-gen: wrote {} packets ({} bytes without FCS) to {}: encap {} decap {} transit {} invalid {}",
                w.packets,
                w.bytes,
                path.display(),
                w.count(Kind::Encap),
                w.count(Kind::Decap),
                w.count(Kind::Transit),
                w.count(Kind::Invalid)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("relay-gen: --write-pcap: {e}");
            ExitCode::from(1)
        }
    }
}
