//! The anycast lab (issue 16; docs/deploy-bgp.md): two 6to4 relays, R3a and R3b, each relayd
//! with BIRD and the health agent, announce 192.88.99.0/24 to an IPv4 upstream (U4) and
//! 2002::/16 to an IPv6 upstream (U6) over eBGP with BFD; both upstreams are Linux routers
//! with BIRD that spread flows over the relays (ECMP). A 6to4 site (relayd router R1, host A)
//! sits behind U4, a native host C behind U6, a rogue host behind U4. [`checks::run`] kills,
//! restarts and drains relays under traffic and floods one; `relay-lab anycast` and
//! tools/tests/anycast.rs run the same code.
//!
//! Owns the lab's processes and namespaces (`rlab-any-*`); uses the main lab's relayd
//! handle, shell helpers and probes. [`AnycastLab::up`] returns a guard that tears everything
//! down when dropped; [`down`] also clears what a crashed run left.
pub mod checks;
pub mod plan;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use super::relayd::Relayd;
use super::sh::{self, Result};
use super::wiring::{self, Batch};
use super::Teardown;
use plan::{Cores, Relay, NS_R1, NS_U4, NS_U6, RELAYS};

const START_LIMIT: Duration = Duration::from_secs(30);
const STOP_LIMIT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Configurations, logs, sockets.
    pub dir: PathBuf,
    pub relayd: PathBuf,
    /// The health agent (tools/src/bin/relay-health.rs).
    pub health: PathBuf,
}

impl Options {
    /// `dir/anycast`, relayd and relay-health beside the running program.
    pub fn new(dir: &Path, relayd: PathBuf) -> Options {
        Options { dir: dir.join("anycast"), relayd, health: super::sibling_bin("relay-health") }
    }
}

/// A process of the lab other than relayd (BIRD, an agent), killed when dropped.
pub struct Process {
    pub name: String,
    child: Child,
    pub log: PathBuf,
}

impl Process {
    fn spawn(dir: &Path, name: &str, netns: Option<&str>, prog: &str, args: &[&str]) -> Result<Process> {
        let log = dir.join(format!("{name}.log"));
        let out = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| format!("{}: {e}", log.display()))?;
        let mut cmd = sh::in_ns(netns, prog);
        cmd.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd.spawn().map_err(|e| format!("cannot start `{}`: {e}", sh::line(&cmd)))?;
        std::fs::write(dir.join(format!("{name}.pid")), format!("{}\n", child.id())).map_err(|e| format!("pid file: {e}"))?;
        Ok(Process { name: name.to_string(), child, log })
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// BIRD in a namespace, asked through `birdc`.
pub struct Bird {
    pub netns: &'static str,
    pub socket: PathBuf,
    pub process: Process,
}

impl Bird {
    fn start(dir: &Path, name: &str, netns: &'static str, config: &str) -> Result<Bird> {
        let conf = dir.join(format!("{name}.conf"));
        std::fs::write(&conf, config).map_err(|e| format!("{}: {e}", conf.display()))?;
        let socket = dir.join(format!("{name}.ctl"));
        let args = ["-f", "-c", &conf.to_string_lossy(), "-s", &socket.to_string_lossy()].map(str::to_string);
        let process = Process::spawn(dir, name, Some(netns), "bird", &args.iter().map(String::as_str).collect::<Vec<_>>())?;
        let bird = Bird { netns, socket, process };
        sh::poll(START_LIMIT, || bird.birdc("show status").contains("Daemon is up").then_some(()))
            .ok_or_else(|| format!("BIRD {name} did not start:\n{}", bird.process.log_text()))?;
        Ok(bird)
    }

    /// `birdc cmd`'s output (its error text is output too).
    pub fn birdc(&self, cmd: &str) -> String {
        let mut c = sh::in_ns(Some(self.netns), "birdc");
        c.arg("-s").arg(&self.socket).args(cmd.split_whitespace());
        sh::output(&mut c).map(|o| String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)).unwrap_or_else(|e| e)
    }

    /// A protocol's line of `show protocols`: state (`up`, `down`, `start`), since, info
    /// (`Established`, `Active`, …; empty for a static protocol); None if BIRD has no such
    /// protocol. The since column is one or two words (`19:40:01.123`, `2026-12-04 19:40:01`).
    pub fn protocol(&self, name: &str) -> Option<ProtocolLine> {
        ProtocolLine::parse(&self.birdc(&format!("show protocols {name}")), name)
    }

    /// A BGP session's info column (`Established` when up), `absent` without the protocol.
    pub fn session(&self, protocol: &str) -> String {
        self.protocol(protocol).map_or_else(|| "absent".to_string(), |p| p.info)
    }

    /// When a protocol last changed state: a session that went down and up has a new one.
    pub fn since(&self, protocol: &str) -> String {
        self.protocol(protocol).map(|p| p.since).unwrap_or_default()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolLine {
    pub state: String,
    pub since: String,
    pub info: String,
}

impl ProtocolLine {
    /// `name`'s line in `show protocols` output.
    pub fn parse(text: &str, name: &str) -> Option<ProtocolLine> {
        let line = text.lines().find(|l| l.split_whitespace().next() == Some(name))?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let state = words.get(3)?.to_string();
        let is_time = |w: &&str| w.chars().all(|c| c.is_ascii_digit() || ":-.".contains(c));
        let since: Vec<&str> = words.iter().skip(4).copied().take_while(is_time).collect();
        let info = words.iter().skip(4 + since.len()).copied().collect::<Vec<_>>().join(" ");
        Some(ProtocolLine { state, since: since.join(" "), info })
    }
}

#[cfg(test)]
mod tests {
    use super::ProtocolLine;

    const SHOW: &str = "BIRD 2.0.12 ready.\nName       Proto      Table      State  Since         Info\nup4        BGP        ---        up     19:32:39.916  Established   \nanycast4   Static     master4    down   19:32:42.413  \nold        BGP        ---        start  2026-12-03 10:00:00  Active        Socket: Connection refused\n";

    #[test]
    fn protocol_lines_of_show_protocols() {
        let line = |state: &str, since: &str, info: &str| Some(ProtocolLine { state: state.into(), since: since.into(), info: info.into() });
        assert_eq!(ProtocolLine::parse(SHOW, "up4"), line("up", "19:32:39.916", "Established"));
        assert_eq!(ProtocolLine::parse(SHOW, "anycast4"), line("down", "19:32:42.413", ""));
        assert_eq!(ProtocolLine::parse(SHOW, "old"), line("start", "2026-12-03 10:00:00", "Active Socket: Connection refused"));
        assert_eq!(ProtocolLine::parse(SHOW, "up6"), None);
    }
}

pub struct AnycastLab {
    pub dir: PathBuf,
    relayd_bin: PathBuf,
    health_bin: PathBuf,
    pub r1: Option<Relayd>,
    /// R3a, R3b (None while killed).
    pub relays: [Option<Relayd>; 2],
    pub u4: Option<Bird>,
    pub u6: Option<Bird>,
    pub relay_birds: Vec<Bird>,
    pub agents: Vec<Process>,
    /// Relayds that ended during the checks by themselves (a drain), reported at teardown.
    pub stopped: Vec<super::relayd::Stopped>,
    owned: bool,
}

impl AnycastLab {
    /// Clears an earlier run, writes the configurations, builds the namespaces and starts
    /// R1, both relays, the four BIRDs and the agents. The anycast routes are announced once
    /// each agent finds its relayd healthy ([`checks::run`] waits for that).
    pub fn up(opts: &Options) -> Result<AnycastLab> {
        for bin in [&opts.relayd, &opts.health] {
            if !bin.is_file() {
                return Err(format!("{} not found: build it (cargo build --release --workspace)", bin.display()));
            }
        }
        if !sh::have("bird") {
            return Err("bird not found: scripts/setup.sh installs bird2".into());
        }
        let leftovers = down(&opts.dir);
        if !leftovers.clean() {
            return Err(format!("could not clear an earlier anycast lab:\n{leftovers}"));
        }
        std::fs::create_dir_all(&opts.dir).map_err(|e| format!("{}: {e}", opts.dir.display()))?;
        let dir = opts.dir.clone();
        let cores = Cores::new();
        write(&dir.join("r1.toml"), &plan::r1_toml(cores, &dir.join("r1.sock").to_string_lossy()))?;
        for r in &RELAYS {
            write(&dir.join(format!("{}.toml", r.lower)), &plan::relay_toml(r, cores, &dir.join(format!("{}.sock", r.lower)).to_string_lossy()))?;
        }
        super::probe::write_scripts(&dir)?;
        write(&dir.join("wiring.sh"), &wiring_script())?;

        let mut lab = AnycastLab {
            dir,
            relayd_bin: opts.relayd.clone(),
            health_bin: opts.health.clone(),
            r1: None,
            relays: [None, None],
            u4: None,
            u6: None,
            relay_birds: Vec::new(),
            agents: Vec::new(),
            stopped: Vec::new(),
            owned: true,
        };
        // From here on, a failure drops `lab`, which takes down what was built.
        let fabric = plan::fabric();
        wiring::apply(&fabric[..1])?;
        plan::sysctls().iter().try_for_each(|(ns, kv)| sh::sysctl(ns, kv))?;
        wiring::apply(&fabric[1..])?;
        for (ns, devs) in plan::layer2_devices() {
            sh::sysctl(ns, &devs.iter().flat_map(|d| plan::layer2_only(d)).collect::<Vec<_>>())?;
        }
        wiring::apply(&plan::bridges())?;
        lab.r1 = Some(lab.start_r1()?);
        for i in 0..RELAYS.len() {
            lab.relays[i] = Some(lab.start_relay(i)?);
        }
        lab.u4 = Some(Bird::start(&lab.dir, "u4", NS_U4, &plan::upstream_bird(false))?);
        lab.u6 = Some(Bird::start(&lab.dir, "u6", NS_U6, &plan::upstream_bird(true))?);
        for r in &RELAYS {
            let bird = Bird::start(&lab.dir, &format!("{}-bird", r.lower), r.netns, &plan::relay_bird(r))?;
            lab.relay_birds.push(bird);
        }
        for (r, bird) in RELAYS.iter().zip(&lab.relay_birds) {
            let sock = lab.dir.join(format!("{}.sock", r.lower));
            let args = ["--relayd", &sock.to_string_lossy(), "--bird", &bird.socket.to_string_lossy(), "--interval-ms", "100"].map(str::to_string);
            let agent = Process::spawn(&lab.dir, &format!("{}-health", r.lower), None, &lab.health_bin.to_string_lossy(), &args.iter().map(String::as_str).collect::<Vec<_>>())?;
            lab.agents.push(agent);
        }
        Ok(lab)
    }

    fn spawn(&self, name: &str, lower: &str, netns: &str) -> Result<Relayd> {
        let (config, socket, log) = (self.dir.join(format!("{lower}.toml")), self.dir.join(format!("{lower}.sock")), self.dir.join(format!("{lower}.log")));
        let mut d = Relayd::spawn_in(Some(netns), name, &self.relayd_bin, &config, &socket, &log)?;
        std::fs::write(self.dir.join(format!("{lower}.pid")), format!("{}\n", d.pid)).map_err(|e| format!("pid file: {e}"))?;
        d.wait_ready(START_LIMIT)?;
        Ok(d)
    }

    fn start_r1(&self) -> Result<Relayd> {
        let d = self.spawn("R1", "r1", NS_R1)?;
        wiring::apply(&[plan::plug(NS_R1, plan::R1_PORTS, plan::r1_kernel_macs())])?;
        Ok(d)
    }

    /// Starts relay `i`'s relayd and plugs its TAPs in.
    pub fn start_relay(&self, i: usize) -> Result<Relayd> {
        let r = &RELAYS[i];
        let d = self.spawn(r.name, r.lower, r.netns)?;
        sh::sysctl(r.netns, &plan::RELAY_PORTS.iter().flat_map(|(tap, _)| plan::layer2_only(tap)).collect::<Vec<_>>())?;
        wiring::apply(&[plan::plug(r.netns, plan::RELAY_PORTS, plan::relay_kernel_macs(r))])?;
        Ok(d)
    }

    pub fn relay(&self, i: usize) -> Result<&Relayd> {
        self.relays.get(i).and_then(Option::as_ref).ok_or_else(|| format!("{} is not running", RELAYS[i].name))
    }

    pub fn u4(&self) -> Result<&Bird> {
        self.u4.as_ref().ok_or_else(|| "U4's BIRD is not running".to_string())
    }

    pub fn u6(&self) -> Result<&Bird> {
        self.u6.as_ref().ok_or_else(|| "U6's BIRD is not running".to_string())
    }

    /// Stops relayds in order (SIGTERM, pool check), kills the rest, removes the namespaces.
    pub fn down(mut self) -> Teardown {
        self.teardown()
    }

    fn teardown(&mut self) -> Teardown {
        self.owned = false;
        let mut report = Teardown { stopped: std::mem::take(&mut self.stopped), ..Teardown::default() };
        // The agents first: they would withdraw and re-announce as relayds stop.
        self.agents.clear();
        self.relay_birds.clear();
        self.u4 = None;
        self.u6 = None;
        let relayds: Vec<Relayd> = self.relays.iter_mut().filter_map(Option::take).chain(self.r1.take()).collect();
        for d in &relayds {
            sh::signal(d.pid, "TERM");
        }
        report.stopped.extend(relayds.into_iter().map(|d| d.stop(STOP_LIMIT)));
        finish(&self.dir, &mut report);
        report
    }
}

impl Drop for AnycastLab {
    fn drop(&mut self) {
        if self.owned {
            let report = self.teardown();
            eprintln!("relay-lab: anycast lab torn down:\n{report}");
        }
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The wiring as a shell script, for people to read.
fn wiring_script() -> String {
    let mut s = String::from("#!/bin/sh\n# The anycast lab's wiring, as relay-lab runs it (tools/src/lab/anycast/plan.rs).\nset -e\n");
    let fabric = plan::fabric();
    s.push_str(&wiring::script(&fabric[..1]));
    for (ns, kv) in plan::sysctls() {
        s.push_str(&format!("ip netns exec {ns} sysctl -qw {}\n", kv.join(" ")));
    }
    s.push_str(&wiring::script(&fabric[1..]));
    for (ns, devs) in plan::layer2_devices() {
        let kv: Vec<String> = devs.iter().flat_map(|d| plan::layer2_only(d)).collect();
        s.push_str(&format!("ip netns exec {ns} sysctl -qw {}\n", kv.join(" ")));
    }
    s.push_str(&wiring::script(&plan::bridges()));
    s.push_str("# once each relayd runs (its TAPs appear in its namespace):\n");
    let mut plugs: Vec<Batch> = vec![plan::plug(NS_R1, plan::R1_PORTS, plan::r1_kernel_macs())];
    plugs.extend(RELAYS.iter().map(|r: &Relay| plan::plug(r.netns, plan::RELAY_PORTS, plan::relay_kernel_macs(r))));
    s.push_str(&wiring::script(&plugs));
    s
}

/// Tears down whatever anycast lab `dir` holds, running or left by a crash: every process
/// recorded in its pid files that still runs with `dir` on its command line (relayds with
/// SIGTERM and their pool check, the rest killed), then the namespaces and DPDK runtime
/// files. Safe to repeat.
pub fn down(dir: &Path) -> Teardown {
    let mut report = Teardown::default();
    let here = dir.to_string_lossy().into_owned();
    let pid_files = std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "pid")).collect()).unwrap_or_else(|_| Vec::new());
    for path in pid_files {
        let pid = std::fs::read_to_string(&path).ok().and_then(|p| p.trim().parse::<u32>().ok());
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if let Some(pid) = pid.filter(|&p| sh::alive(p) && sh::cmdline(p).is_some_and(|c| c.contains(&here))) {
            let relayd = sh::cmdline(pid).is_some_and(|c| c.contains("relayd") && c.contains(".toml"));
            match relayd {
                true => {
                    let (config, socket, log) = (dir.join(format!("{name}.toml")), dir.join(format!("{name}.sock")), dir.join(format!("{name}.log")));
                    if let Some(d) = Relayd::attach(&name, pid, &config, &socket, &log) {
                        report.stopped.push(d.stop(STOP_LIMIT));
                    }
                }
                false => {
                    sh::signal(pid, "KILL");
                }
            }
        }
        let _ = std::fs::remove_file(&path);
    }
    finish(dir, &mut report);
    report
}

fn finish(dir: &Path, report: &mut Teardown) {
    for ns in wiring::namespaces().into_iter().filter(|n| n.starts_with(plan::NAMESPACE_PREFIX)) {
        if let Err(e) = sh::run(std::process::Command::new("ip").args(["netns", "del", &ns])) {
            report.errors.push(e);
        }
    }
    for who in ["r1", "r3a", "r3b"] {
        let _ = std::fs::remove_file(dir.join(format!("{who}.pid")));
        let _ = std::fs::remove_file(dir.join(format!("{who}.sock")));
        let _ = std::fs::remove_dir_all(Path::new("/var/run/dpdk").join(format!("rlab-any-{who}")));
    }
    report.left = wiring::namespaces().into_iter().filter(|n| n.starts_with(plan::NAMESPACE_PREFIX)).collect();
}
