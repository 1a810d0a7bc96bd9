//! Core pinning checks: where the configuration puts the control core and the workers,
//! against the machine's topology as sysfs tells it (SMT siblings, NUMA nodes, isolated
//! CPUs, hugepages per node). `relayd --check` prints what it found; `--check` and start
//! print each problem as a warning with its fix. None of them stops relayd — a lab or a
//! 2-CPU VM runs fine pinned badly, only slower — except a CPU the kernel does not have
//! online, which the EAL would refuse anyway, later and less clearly.
//!
//! docs/tuning.md explains every warning.
mod checks;
mod cpulist;
mod machine;
mod sysfs;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::path::PathBuf;

pub use cpulist::CpuSet;
pub use sysfs::{Hugepages, Sysfs, SysfsError};

use crate::config::Plan;
use machine::Machine;

/// The sysfs root relayd reads unless `--sysfs` says otherwise.
pub const DEFAULT_ROOT: &str = "/sys";

/// What the checks need of a plan: CPUs, and which ports each worker polls.
#[derive(Debug, Clone)]
pub struct Layout {
    pub control: usize,
    pub workers: Vec<WorkerPins>,
    pub ports: Vec<PortPins>,
    /// `[eal] hugepages`: without them (`--no-huge`) the per-node hugepage check is moot.
    pub hugepages: bool,
}

#[derive(Debug, Clone)]
pub struct WorkerPins {
    pub cpu: usize,
    /// Indices into `Layout::ports` of the ports this worker polls.
    pub ports: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct PortPins {
    pub name: String,
    /// The PCI address or the vdev's name.
    pub ethdev: String,
    pub pci: bool,
}

impl Layout {
    pub fn of(plan: &Plan) -> Layout {
        Layout {
            control: plan.config.cores.control,
            workers: plan
                .workers
                .iter()
                .map(|w| {
                    let mut ports: Vec<usize> = w.rx.iter().map(|&(p, _)| usize::from(p)).collect();
                    ports.dedup();
                    WorkerPins { cpu: w.cpu, ports }
                })
                .collect(),
            ports: plan
                .ports
                .iter()
                .map(|p| PortPins { name: p.name.clone(), ethdev: p.ethdev.clone(), pci: p.is_pci })
                .collect(),
            hugepages: plan.config.eal.hugepages,
        }
    }
}

/// What a warning is about (tests and docs/tuning.md go by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concern {
    /// Two lcores on one CPU.
    SharedCpu,
    /// A worker on an SMT sibling of another worker's or the control core's CPU.
    SmtSibling,
    /// A worker or the control core on another NUMA node than the ports it serves.
    RemoteNode,
    /// A worker CPU in neither `isolcpus` nor `nohz_full`.
    NotIsolated,
    /// No hugepages on a node that needs them.
    Hugepages,
    /// A sysfs file that exists but could not be read or parsed: its check was skipped.
    Unreadable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub concern: Concern,
    pub text: String,
}

/// What the checks found (`facts`, printed by `--check`) and what they warn about.
#[derive(Debug, Clone)]
pub struct Report {
    pub root: PathBuf,
    pub facts: Vec<String>,
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinningError {
    #[error("config error: {field}: CPU {cpu} is not online (online CPUs: {online})")]
    Offline { field: String, cpu: usize, online: CpuSet },
}

impl Report {
    /// The `--check` section: facts, then warnings, then a count.
    pub fn to_text(&self) -> String {
        let mut s = format!("pinning (sysfs {}):\n", self.root.display());
        for f in &self.facts {
            let _ = writeln!(s, "  {f}");
        }
        for w in &self.warnings {
            let _ = writeln!(s, "warning: {}", w.text);
        }
        let _ =
            writeln!(s, "pinning: {} warning{}", self.warnings.len(), if self.warnings.len() == 1 { "" } else { "s" });
        s
    }

    #[cfg(test)]
    pub fn concerns(&self) -> Vec<Concern> {
        self.warnings.iter().map(|w| w.concern).collect()
    }
}

/// Runs every check of `layout` against the machine under `sysfs`.
pub fn check(sysfs: &Sysfs, layout: &Layout) -> Result<Report, PinningError> {
    let mut r = Report { root: sysfs.root().to_path_buf(), facts: Vec::new(), warnings: Vec::new() };
    let m = Machine::read(sysfs, layout, &mut r)?;
    // CPUs already offered by a fix, so that two fixes do not offer the same core.
    let mut promised = CpuSet::new();
    checks::shared_cores(&m, layout, &mut r, &mut promised);
    checks::remote_nodes(&m, layout, &mut r, &mut promised);
    checks::isolation(&m, layout, &mut r);
    checks::hugepages(&m, sysfs, layout, &mut r);
    Ok(r)
}
