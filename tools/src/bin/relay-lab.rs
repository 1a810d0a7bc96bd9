//! relay-lab: the seed's 6to4 testbed on one machine. R1 and R2 (6to4 routers), R3 (6to4
//! relay, configured-tunnel end and 6rd border relay), R4 (site behind a configured tunnel)
//! and R5 (6rd CE) are relayd instances on TAP ports; hosts A to E, the IPv4 Internet and a
//! rogue host are Linux network namespaces. See docs/lab.md.
//!
//! `relay-lab run` builds the lab, runs scenarios 1, 2, 7 and 8, shows each router's rates and
//! drops every second until Ctrl-C, then tears everything down. `up`, `scenarios`, `live`
//! and `down` do the parts separately; `down` also clears what a crashed run left.
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::{ArgAction, Parser, Subcommand};
use relay_tools::lab::scenario::{self, Scenario};
use relay_tools::lab::{self, anycast, live, Lab, LabOptions, DEFAULT_DIR};

#[derive(Parser, Debug)]
#[command(name = "relay-lab", version, about = "The seed's 6to4 testbed: five relayd instances, Linux hosts in namespaces")]
struct Cli {
    /// Configurations, logs, sockets and captures go here.
    #[arg(long, default_value = DEFAULT_DIR, global = true)]
    dir: PathBuf,
    /// The relayd binary (default: beside relay-lab; or RELAY_LAB_RELAYD).
    #[arg(long, global = true)]
    relayd: Option<PathBuf>,
    /// Give relayd and the hosts each other's MACs; `false` leaves it to ARP and ND.
    #[arg(long, default_value_t = true, action = ArgAction::Set, global = true)]
    static_neighbours: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Build the lab and leave it running.
    Up,
    /// Stop the relayds and remove namespaces, bridges and TAPs (also after a crash).
    Down,
    /// Run scenarios on the running lab (default 1, 2, 7, 8; 1-8 exist).
    Scenarios {
        numbers: Vec<u8>,
        /// All eight.
        #[arg(long)]
        all: bool,
    },
    /// Each router's rates and drops, every second, until Ctrl-C.
    Live,
    /// up, scenarios 1, 2, 7 and 8, live view until Ctrl-C, down.
    Run,
    /// The anycast lab (docs/deploy-bgp.md): two relays with BIRD behind ECMP upstreams;
    /// builds it, runs checks a-f, tears it down. Exit 0 only when every check held.
    Anycast,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let opts = LabOptions {
        dir: cli.dir.clone(),
        relayd: cli.relayd.clone().unwrap_or_else(lab::default_relayd),
        static_neighbours: cli.static_neighbours,
    };
    let result = match cli.command {
        Command::Up => up(&opts),
        Command::Down => down(&opts),
        Command::Scenarios { numbers, all } => scenarios(&opts, &numbers, all),
        Command::Live => Lab::attach(&opts.dir).and_then(|lab| {
            let stop = stop_flag()?;
            live::run(&lab, &stop);
            Ok(true)
        }),
        Command::Run => run(&opts),
        Command::Anycast => anycast(&anycast::Options::new(&opts.dir, opts.relayd.clone())),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("relay-lab: {e}");
            ExitCode::from(2)
        }
    }
}

/// Set by Ctrl-C or SIGTERM.
fn stop_flag() -> Result<Arc<AtomicBool>, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || s.store(true, Ordering::SeqCst)).map_err(|e| format!("signal handler: {e}"))?;
    Ok(stop)
}

/// A panic (the release profile aborts, so no destructor runs) still takes the lab down.
fn teardown_on_panic(dir: PathBuf) {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        eprintln!("relay-lab: tearing the lab down after the panic:\n{}", lab::down(&dir));
    }));
}

fn up(opts: &LabOptions) -> Result<bool, String> {
    teardown_on_panic(opts.dir.clone());
    let lab = Lab::up(opts)?;
    println!("relay-lab: lab up\n{lab}");
    lab.detach();
    Ok(true)
}

fn down(opts: &LabOptions) -> Result<bool, String> {
    // The anycast lab's processes first: removing its namespaces would not stop them.
    let any = anycast::down(&anycast::Options::new(&opts.dir, opts.relayd.clone()).dir);
    let report = lab::down(&opts.dir);
    print!("relay-lab: lab down\n{any}{report}");
    Ok(any.clean() && report.clean())
}

fn anycast(opts: &anycast::Options) -> Result<bool, String> {
    let dir = opts.dir.clone();
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        eprintln!("relay-lab: tearing the anycast lab down after the panic:\n{}", anycast::down(&dir));
    }));
    println!("relay-lab: building the anycast lab in {}", opts.dir.display());
    let mut lab = anycast::AnycastLab::up(opts)?;
    println!("relay-lab: anycast lab up (configurations, logs and wiring.sh in {})", opts.dir.display());
    let mut passed = true;
    for o in anycast::checks::run(&mut lab) {
        print!("{o}");
        passed &= o.passed();
    }
    println!("relay-lab: tearing down");
    let report = lab.down();
    print!("{report}");
    let clean = report.clean() && report.stopped.len() == 3;
    println!("relay-lab: {}", if clean { "every relayd stopped with its pools full; nothing left" } else { "teardown was not clean" });
    Ok(passed && clean)
}

fn scenarios(opts: &LabOptions, numbers: &[u8], all: bool) -> Result<bool, String> {
    let list: Vec<Scenario> = if all {
        Scenario::ALL.to_vec()
    } else if numbers.is_empty() {
        Scenario::PATHS.to_vec()
    } else {
        numbers.iter().map(|&n| Scenario::from_number(n).ok_or(format!("no scenario {n} (1-8)"))).collect::<Result<_, _>>()?
    };
    let mut lab = Lab::attach(&opts.dir)?;
    let mut passed = true;
    for s in list {
        let o = scenario::run(&mut lab, s);
        print!("{o}");
        passed &= o.passed();
    }
    Ok(passed)
}

fn run(opts: &LabOptions) -> Result<bool, String> {
    let stop = stop_flag()?;
    teardown_on_panic(opts.dir.clone());
    println!("relay-lab: building the lab in {}", opts.dir.display());
    let mut lab = Lab::up(opts)?;
    println!("relay-lab: lab up\n{lab}");
    let mut passed = true;
    for s in Scenario::PATHS {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let o = scenario::run(&mut lab, s);
        print!("{o}");
        passed &= o.passed();
    }
    if !stop.load(Ordering::SeqCst) {
        let (a, c) = (lab.topology.a(), lab.topology.c());
        println!("relay-lab: live view (rates over the last second, drops by reason); Ctrl-C tears the lab down");
        println!("relay-lab: traffic from a host, e.g.: ip netns exec {} ping -6 {}", a.netns, c.addr);
        live::run(&lab, &stop);
    }
    println!("relay-lab: tearing down");
    let report = lab.down();
    print!("{report}");
    let clean = report.clean();
    println!("relay-lab: {}", if clean { "every relayd stopped with its pools full; nothing left" } else { "teardown was not clean" });
    Ok(passed && clean)
}
