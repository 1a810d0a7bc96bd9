//! relayd: the 6to4 router / relay daemon. Parses its configuration, brings up DPDK, runs the
//! workers and serves the control core until Ctrl-C / SIGTERM.
mod config;
mod ctl;
mod daemon;
mod drain;
mod health;
mod kernel;
mod pcap;
mod pinning;
mod prom;
mod slowpath;
mod tunnel_stats;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// The embedded default: two virtual ports and a pass-through worker, so `relayd` runs with no
/// NIC and no files. The full lab is `scripts/lab.sh`.
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

#[derive(Parser, Debug)]
#[command(name = "relayd", version = concat!(env!("CARGO_PKG_VERSION"), " (DPDK ", env!("RELAY_DPDK_VERSION"), ")"))]
#[command(about = "DPDK 6to4 router and relay (RFC 3056/3068/7526, hardened per RFC 3964/6324/4213)")]
struct Cli {
    /// TOML configuration file (default: the embedded demo; see --print-default-config).
    #[arg(short, long)]
    config: Option<PathBuf>,
    /// Run the rx_pcap files of the net_pcap ports through the pipeline, stop when they are
    /// done and print every counter.
    #[arg(long)]
    offline: bool,
    /// Print a live stats line every N seconds (overrides runtime.stats_interval_s).
    #[arg(long)]
    stats_interval: Option<u64>,
    /// Validate the configuration, print the plan and what the core pinning checks found
    /// (SMT siblings, NUMA nodes, isolated CPUs, hugepages; docs/tuning.md), and exit.
    #[arg(long)]
    check: bool,
    /// Read the CPU, NUMA and hugepage topology for the pinning checks from this sysfs tree
    /// instead of /sys (a copy of another machine's, or a test's fake tree).
    #[arg(long, value_name = "DIR", default_value = pinning::DEFAULT_ROOT, value_parser = sysfs_dir)]
    sysfs: PathBuf,
    #[arg(long)]
    print_default_config: bool,
    /// Stop after this many seconds (0: run until Ctrl-C / SIGTERM).
    #[arg(long, default_value_t = 0)]
    duration: u64,
    /// Testing aid: leak one mbuf on purpose, to prove the exit check reports it.
    #[arg(long, hide = true)]
    debug_leak_mbuf: bool,
    /// Extra EAL arguments, after `--`.
    #[arg(last = true)]
    eal: Vec<String>,
}

fn main() -> ExitCode {
    if let Some(code) = relay_tools::clidocs::serve::<Cli>("8") {
        return code;
    }
    let cli = Cli::parse();
    if cli.print_default_config {
        print!("{DEFAULT_CONFIG}");
        return ExitCode::SUCCESS;
    }
    let config = match &cli.config {
        Some(path) => config::Config::from_file(path),
        None => config::Config::from_toml(DEFAULT_CONFIG),
    };
    let plan = match config.and_then(config::Config::plan) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("relayd: config error: {e}");
            return ExitCode::from(2);
        }
    };
    // Pinning problems are warnings (relayd runs, only slower); a CPU that is not online is
    // an error, found here before the EAL would refuse it less clearly.
    let pinning = match pinning::check(&pinning::Sysfs::new(&cli.sysfs), &pinning::Layout::of(&plan)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("relayd: {e}");
            return ExitCode::from(2);
        }
    };
    let options = daemon::Options {
        config_path: cli.config.clone(),
        offline: cli.offline,
        stats_interval: cli.stats_interval.unwrap_or(plan.config.runtime.stats_interval_s),
        duration: cli.duration,
        leak_one_mbuf: cli.debug_leak_mbuf,
        eal_extra: cli.eal.clone(),
    };
    if cli.check {
        match daemon::check(&plan, &options) {
            Ok(text) => {
                print!("{text}{}", pinning.to_text());
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("relayd: {e}");
                return ExitCode::from(2);
            }
        }
    }
    for w in &pinning.warnings {
        eprintln!("relayd: warning: {}", w.text);
    }
    match daemon::run(plan, options) {
        Ok(daemon::Exit::Clean) => ExitCode::SUCCESS,
        Ok(daemon::Exit::Leaked(n)) => {
            eprintln!("relayd: LEAK: {n} mbuf(s) did not return to the pool");
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("relayd: {e}");
            ExitCode::from(1)
        }
    }
}

/// `--sysfs`: must be a directory (clap names the option in the error).
fn sysfs_dir(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if p.is_dir() {
        Ok(p)
    } else {
        Err("not a directory".into())
    }
}
