//! The seed's 6to4 testbed as a lab on one machine: relayd instances on TAP ports (R1, R2:
//! 6to4 routers; R3: 6to4 relay with anycast 192.88.99.1, also the far end of R4's
//! configured tunnel and the 6rd border relay of R5, a 6rd CE), Linux hosts A to E in
//! network namespaces, an "IPv4 Internet" namespace routing between three segments, and a
//! rogue IPv4 host. See docs/lab.md for the topology and the mapping of the seed's Cisco
//! configuration.
//!
//! [`Lab::up`] builds everything and returns a guard that tears it all down when dropped
//! (relayds stopped with their pool check, namespaces and TAPs removed), whether the
//! caller finished, failed or panicked; [`down`] also removes what a crashed run left.
pub mod anycast;
pub mod config;
pub mod live;
pub mod probe;
pub mod relayd;
pub mod scenario;
pub mod sh;
pub mod topology;
pub mod wiring;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use config::Runtime;
use relayd::{Relayd, Stats, Stopped};
use sh::Result;
use topology::{RouterId, Topology};

pub const DEFAULT_DIR: &str = "/tmp/relay-lab";
const START_LIMIT: Duration = Duration::from_secs(30);
const STOP_LIMIT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabOptions {
    /// Configurations, logs, sockets, captures.
    pub dir: PathBuf,
    pub relayd: PathBuf,
    /// Give relayd and the Linux hosts each other's MACs (`[[pipeline.neighbour]]`,
    /// `ip neigh … nud permanent`) instead of resolving them with ARP and ND.
    pub static_neighbours: bool,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions { dir: PathBuf::from(DEFAULT_DIR), relayd: default_relayd(), static_neighbours: true }
    }
}

/// relayd beside the running program (see [`sibling_bin`]); `RELAY_LAB_RELAYD` overrides it.
pub fn default_relayd() -> PathBuf {
    match std::env::var_os("RELAY_LAB_RELAYD") {
        Some(p) => PathBuf::from(p),
        None => sibling_bin("relayd"),
    }
}

/// A binary of the workspace beside the running program: `target/<profile>/<name>` for
/// relay-lab, one level up for a test binary in `target/<profile>/deps/`.
pub fn sibling_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().unwrap_or(Path::new("."));
    [dir.join(name), dir.parent().unwrap_or(dir).join(name)].into_iter().find(|p| p.is_file()).unwrap_or_else(|| dir.join(name))
}

/// The running lab. Dropping an owned lab tears it down.
pub struct Lab {
    pub topology: Topology,
    pub runtime: Runtime,
    relayd_bin: PathBuf,
    routers: Vec<Option<Relayd>>,
    owned: bool,
}

/// What tearing the lab down found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Teardown {
    pub stopped: Vec<Stopped>,
    /// Namespaces or interfaces still there afterwards.
    pub left: Vec<String>,
    pub errors: Vec<String>,
}

impl Teardown {
    /// Every relayd stopped with full pools; no namespace, TAP or error left.
    pub fn clean(&self) -> bool {
        self.stopped.iter().all(Stopped::pools_full) && self.left.is_empty() && self.errors.is_empty()
    }
}

impl fmt::Display for Teardown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.stopped {
            writeln!(f, "  {s}")?;
        }
        match self.left.is_empty() {
            true => writeln!(f, "  namespaces and TAPs: all gone")?,
            false => writeln!(f, "  still there: {}", self.left.join(", "))?,
        }
        self.errors.iter().try_for_each(|e| writeln!(f, "  error: {e}"))
    }
}

impl Lab {
    /// Removes what an earlier run left, writes the configurations, builds the fabric,
    /// starts R1 to R5 and plugs their TAPs in.
    pub fn up(opts: &LabOptions) -> Result<Lab> {
        if !opts.relayd.is_file() {
            return Err(format!(
                "relayd not found at {}: build it (cargo build --release -p relayd) or set RELAY_LAB_RELAYD",
                opts.relayd.display()
            ));
        }
        let leftovers = down(&opts.dir);
        if !leftovers.errors.is_empty() || !leftovers.left.is_empty() {
            return Err(format!("could not clear an earlier lab:\n{leftovers}"));
        }
        std::fs::create_dir_all(&opts.dir).map_err(|e| format!("{}: {e}", opts.dir.display()))?;
        let topology = Topology::new(opts.static_neighbours);
        let runtime = Runtime::new(&opts.dir, opts.static_neighbours);
        for r in &topology.routers {
            let _ = std::fs::remove_file(runtime.log_path(r));
            let path = runtime.config_path(r);
            std::fs::write(&path, config::relayd_toml(r, &runtime)).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        wiring::write_script(&opts.dir, &topology)?;
        probe::write_scripts(&opts.dir)?;
        let state = format!("static_neighbours={}\nrelayd={}\n", opts.static_neighbours, opts.relayd.display());
        std::fs::write(opts.dir.join("lab.state"), state).map_err(|e| format!("lab.state: {e}"))?;

        // From here on, a failure drops `lab`, which takes down what was built.
        let mut lab = Lab { topology, runtime, relayd_bin: opts.relayd.clone(), routers: Vec::new(), owned: true };
        wiring::build(&lab.topology)?;
        for id in RouterId::ALL {
            let r = lab.start(id)?;
            lab.routers.push(Some(r));
        }
        for id in RouterId::ALL {
            lab.plug(id)?;
        }
        Ok(lab)
    }

    /// The lab an earlier `relay-lab up` left running; it stays up when this is dropped.
    pub fn attach(dir: &Path) -> Result<Lab> {
        let state = std::fs::read_to_string(dir.join("lab.state")).map_err(|e| format!("no lab in {} ({e}): run relay-lab up", dir.display()))?;
        let value = |k: &str| state.lines().find_map(|l| l.strip_prefix(k)?.strip_prefix('=')).unwrap_or("");
        let static_neighbours = value("static_neighbours") != "false";
        let topology = Topology::new(static_neighbours);
        let runtime = Runtime::new(dir, static_neighbours);
        let mut routers = Vec::new();
        for r in &topology.routers {
            let pid = std::fs::read_to_string(runtime.pid_path(r)).ok().and_then(|p| p.trim().parse().ok());
            let d = pid.and_then(|pid| Relayd::attach(&r.id.to_string(), pid, &runtime.config_path(r), &runtime.socket_path(r), &runtime.log_path(r)));
            routers.push(Some(d.ok_or_else(|| format!("{} is not running (see {})", r.id, runtime.log_path(r).display()))?));
        }
        Ok(Lab { topology, runtime, relayd_bin: PathBuf::from(value("relayd")), routers, owned: false })
    }

    fn start(&self, id: RouterId) -> Result<Relayd> {
        let r = self.topology.router(id);
        let rt = &self.runtime;
        let mut d = Relayd::spawn(&id.to_string(), &self.relayd_bin, &rt.config_path(r), &rt.socket_path(r), &rt.log_path(r))?;
        std::fs::write(rt.pid_path(r), format!("{}\n", d.pid)).map_err(|e| format!("pid file: {e}"))?;
        d.wait_ready(START_LIMIT)?;
        Ok(d)
    }

    fn plug(&self, id: RouterId) -> Result<()> {
        wiring::apply(&wiring::plug_router(self.topology.router(id)))
    }

    pub fn relayd(&self, id: RouterId) -> Result<&Relayd> {
        self.routers.get(id.index()).and_then(Option::as_ref).ok_or_else(|| format!("{id} is not running"))
    }

    pub fn stats(&self, id: RouterId) -> Result<Stats> {
        self.relayd(id)?.stats()
    }

    /// Stops `id` (SIGTERM, pool check), starts it again on the same configuration and
    /// plugs its new TAPs in. Returns how the old instance ended.
    pub fn restart(&mut self, id: RouterId) -> Result<Stopped> {
        let old = self.routers.get_mut(id.index()).and_then(Option::take).ok_or_else(|| format!("{id} is not running"))?;
        let stopped = old.stop(STOP_LIMIT);
        let new = self.start(id)?;
        self.routers[id.index()] = Some(new);
        self.plug(id)?;
        Ok(stopped)
    }

    /// Stops every relayd, removes the fabric and reports.
    pub fn down(mut self) -> Teardown {
        self.teardown()
    }

    /// Leaves the lab running (for `relay-lab up`).
    pub fn detach(mut self) {
        self.owned = false;
        for r in self.routers.drain(..).flatten() {
            r.detach();
        }
    }

    fn teardown(&mut self) -> Teardown {
        self.owned = false;
        let mut report = Teardown::default();
        for r in self.routers.iter().flatten() {
            sh::signal(r.pid, "TERM");
        }
        for r in self.routers.drain(..).flatten() {
            report.stopped.push(r.stop(STOP_LIMIT));
        }
        finish_teardown(&self.runtime.dir, &mut report);
        report
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.owned {
            let report = self.teardown();
            eprintln!("relay-lab: lab torn down:\n{report}");
        } else {
            // An attached lab stays up, with any relayd this process restarted.
            for r in self.routers.drain(..).flatten() {
                r.detach();
            }
        }
    }
}

impl fmt::Display for Lab {
    /// Who is where, and where the generated files are.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.topology;
        for r in &t.routers {
            let role = match r.role {
                topology::Role::Router => format!("6to4 router, site {}/48", topology::sixtofour(r.wan_v4)),
                topology::Role::Relay { .. } => format!("6to4 relay, also {}; 6rd BR {}", topology::ANYCAST_V4, topology::BR_V4),
                topology::Role::TunnelSite => "configured tunnel to R3".to_string(),
                topology::Role::SixRdCe => format!("6rd CE of BR {}", topology::BR_V4),
            };
            let pid = self.relayd(r.id).map_or("-".to_string(), |d| d.pid.to_string());
            writeln!(f, "  {} relayd pid {pid:<7} WAN {}/{} ({role}), {} {}/{}", r.id, r.wan_v4, r.wan_len, r.inner.name, r.inner_v6, r.inner_len)?;
            writeln!(f, "     config {}  log {}", self.runtime.config_path(r).display(), self.runtime.log_path(r).display())?;
        }
        for h in t.hosts.iter().chain([&t.rogue]) {
            writeln!(f, "  {:<5} netns {:<10} {}/{}", h.name, h.netns, h.addr, h.len)?;
        }
        let neigh = if t.static_neighbours { "static neighbours" } else { "neighbours by ARP/ND" };
        writeln!(f, "  wiring {} ({neigh})", self.runtime.dir.join("wiring.sh").display())
    }
}

/// Tears down whatever lab `dir` describes, running or left by a crash: relayds recorded
/// in its pid files are stopped (after checking they run this lab's configuration), then
/// namespaces, interfaces and DPDK runtime files are removed. Safe to repeat.
pub fn down(dir: &Path) -> Teardown {
    let mut report = Teardown::default();
    let topology = Topology::new(true);
    let runtime = Runtime::new(dir, true);
    for r in &topology.routers {
        let pid = std::fs::read_to_string(runtime.pid_path(r)).ok().and_then(|p| p.trim().parse().ok());
        let d = pid.and_then(|pid| Relayd::attach(&r.id.to_string(), pid, &runtime.config_path(r), &runtime.socket_path(r), &runtime.log_path(r)));
        if let Some(d) = d {
            report.stopped.push(d.stop(STOP_LIMIT));
        }
    }
    finish_teardown(dir, &mut report);
    report
}

fn finish_teardown(dir: &Path, report: &mut Teardown) {
    report.errors.extend(wiring::remove_all());
    let runtime = Runtime::new(dir, true);
    let _ = std::fs::remove_file(dir.join("lab.state"));
    for r in &Topology::new(true).routers {
        let _ = std::fs::remove_file(runtime.pid_path(r));
        let _ = std::fs::remove_file(runtime.socket_path(r));
        let _ = std::fs::remove_dir_all(Path::new("/var/run/dpdk").join(Runtime::file_prefix(r)));
    }
    report.left = wiring::namespaces();
    report.left.extend(wiring::root_links());
}
