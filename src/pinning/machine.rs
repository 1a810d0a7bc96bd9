//! The machine as sysfs describes it, read once per check: online and isolated CPUs, NUMA
//! nodes, every CPU's physical core, the ports' nodes.
use std::collections::BTreeMap;

use super::{Concern, CpuSet, Layout, PinningError, Report, Sysfs, SysfsError, Warning};

/// The topology, read once.
pub(super) struct Machine {
    pub online: Option<CpuSet>,
    pub nodes: Vec<(u32, CpuSet)>,
    pub isolated: CpuSet,
    pub nohz_full: CpuSet,
    /// Neither `isolated` nor `nohz_full` exists: isolation cannot be told.
    pub isolation_unknown: bool,
    /// The physical core's CPUs and `core_id` of every CPU we could read.
    pub cores: BTreeMap<usize, (CpuSet, Option<i64>)>,
    /// The node of every PCI port that has one.
    pub port_nodes: BTreeMap<usize, u32>,
    /// Every CPU the layout uses.
    pub used: CpuSet,
}

pub(super) fn unreadable(r: &mut Report, e: &SysfsError, skipped: &str) {
    r.warnings.push(Warning { concern: Concern::Unreadable, text: format!("cannot read {e}: {skipped} skipped") });
}

fn or_none(s: &CpuSet) -> String {
    if s.is_empty() {
        "none".into()
    } else {
        s.to_string()
    }
}

impl Machine {
    pub fn read(sysfs: &Sysfs, layout: &Layout, r: &mut Report) -> Result<Machine, PinningError> {
        let used: CpuSet = std::iter::once(layout.control).chain(layout.workers.iter().map(|w| w.cpu)).collect();
        let online = match sysfs.online() {
            Ok(o) => o,
            Err(e) => {
                unreadable(r, &e, "the online check");
                None
            }
        };
        if let Some(online) = &online {
            let fields = std::iter::once(("cores.control".to_string(), layout.control))
                .chain(layout.workers.iter().enumerate().map(|(i, w)| (format!("worker[{i}].cpu"), w.cpu)));
            for (field, cpu) in fields {
                if !online.contains(cpu) {
                    return Err(PinningError::Offline { field, cpu, online: online.clone() });
                }
            }
        }
        let mut list = |read: Result<Option<CpuSet>, SysfsError>, what: &str| -> Option<CpuSet> {
            read.unwrap_or_else(|e| {
                unreadable(r, &e, what);
                None
            })
        };
        let isolated = list(sysfs.isolated(), "the isolcpus check");
        let nohz_full = list(sysfs.nohz_full(), "the nohz_full check");
        r.facts.push(format!(
            "cpus: online {}; isolated (isolcpus) {}; nohz_full {}",
            online.as_ref().map_or_else(|| "unknown (no online file)".to_string(), |o| o.to_string()),
            isolated.as_ref().map_or_else(|| "unknown (no isolated file)".to_string(), or_none),
            nohz_full.as_ref().map_or_else(|| "none (not in this kernel)".to_string(), or_none),
        ));
        let nodes = sysfs.nodes().unwrap_or_else(|e| {
            unreadable(r, &e, "the NUMA checks");
            Vec::new()
        });
        if nodes.is_empty() {
            r.facts.push("numa: no node information (kernel without NUMA): node checks skipped".into());
        } else {
            let list: Vec<String> = nodes.iter().map(|(n, c)| format!("node{n} {}", or_none(c))).collect();
            r.facts.push(format!("numa: {}", list.join(", ")));
        }

        // Every CPU a fix may suggest, and the ones in use: their cores. An unreadable file
        // of a CPU in use is a warning; of another CPU, it only keeps that CPU out of fixes.
        let candidates = online.clone().unwrap_or_else(|| used.clone()).union(&used);
        let mut cores = BTreeMap::new();
        for cpu in candidates.iter() {
            let read = sysfs.core_cpus(cpu).and_then(|c| Ok((c, sysfs.core_id(cpu)?)));
            match read {
                Ok((Some(mut c), id)) => {
                    c.insert(cpu);
                    cores.insert(cpu, (c, id));
                }
                Ok((None, _)) => {}
                Err(e) if used.contains(cpu) => unreadable(r, &e, &format!("the SMT check of CPU {cpu}")),
                Err(_) => {}
            }
        }

        let mut port_nodes = BTreeMap::new();
        let mut port_facts = Vec::new();
        for (i, p) in layout.ports.iter().enumerate() {
            if !p.pci {
                port_facts.push(format!("port {}: {} is a vdev: no NUMA node", p.name, p.ethdev));
                continue;
            }
            let addr = pci_sysfs_name(&p.ethdev);
            match sysfs.pci_node(&addr) {
                Ok(Some(n)) => {
                    port_facts.push(format!("port {}: {addr} on node {n}", p.name));
                    port_nodes.insert(i, n);
                }
                Ok(None) if !sysfs.pci_exists(&addr) => {
                    port_facts
                        .push(format!("port {}: {addr} is not in sysfs (no such device here): node unknown", p.name));
                }
                Ok(None) => port_facts.push(format!("port {}: {addr} reports no NUMA node (-1)", p.name)),
                Err(e) => unreadable(r, &e, &format!("the NUMA check of port {}", p.name)),
            }
        }
        let m = Machine {
            online,
            nodes,
            isolation_unknown: isolated.is_none() && nohz_full.is_none(),
            isolated: isolated.unwrap_or_default(),
            nohz_full: nohz_full.unwrap_or_default(),
            cores,
            port_nodes,
            used,
        };
        r.facts.push(format!("control core: {}", m.describe(layout.control, false)));
        for (i, w) in layout.workers.iter().enumerate() {
            r.facts.push(format!("worker {i}: {}", m.describe(w.cpu, true)));
        }
        r.facts.extend(port_facts);
        Ok(m)
    }

    pub fn node_of(&self, cpu: usize) -> Option<u32> {
        self.nodes.iter().find(|(_, c)| c.contains(cpu)).map(|(n, _)| *n)
    }

    pub fn core_of(&self, cpu: usize) -> Option<&(CpuSet, Option<i64>)> {
        self.cores.get(&cpu)
    }

    /// `core 1 (CPUs 1,5)`, or `core (CPUs 1,5)` where `core_id` is missing.
    pub fn core_name(&self, cpu: usize) -> String {
        match self.core_of(cpu) {
            Some((cpus, Some(id))) => format!("physical core {id} (CPUs {cpus})"),
            Some((cpus, None)) => format!("a physical core (CPUs {cpus})"),
            None => "an unknown core".into(),
        }
    }

    fn describe(&self, cpu: usize, isolation: bool) -> String {
        let mut s = format!("CPU {cpu}");
        match self.core_of(cpu) {
            Some(_) => s.push_str(&format!(", {}", self.core_name(cpu))),
            None => s.push_str(", core unknown (no topology in sysfs)"),
        }
        if let Some(n) = self.node_of(cpu) {
            s.push_str(&format!(", node {n}"));
        }
        if isolation && !self.isolation_unknown {
            s.push_str(match (self.isolated.contains(cpu), self.nohz_full.contains(cpu)) {
                (true, true) => ", isolated (isolcpus, nohz_full)",
                (true, false) => ", isolated (isolcpus)",
                (false, true) => ", isolated (nohz_full)",
                (false, false) => ", not isolated",
            });
        }
        s
    }

    /// A CPU for a fix: online, on a core no lcore uses nor an earlier fix suggested, on
    /// `node` if given; isolated ones first, then the lowest number.
    pub fn suggest(&self, node: Option<u32>, promised: &mut CpuSet) -> Option<usize> {
        let taken = self.used.union(promised);
        let free = |cpu: &usize| {
            self.core_of(*cpu).is_some_and(|(core, _)| core.iter().all(|c| !taken.contains(c)))
                && node.is_none_or(|n| self.node_of(*cpu) == Some(n))
                && self.online.as_ref().is_none_or(|o| o.contains(*cpu))
        };
        let pick = self
            .cores
            .keys()
            .copied()
            .filter(free)
            .min_by_key(|&c| (!(self.isolated.contains(c) || self.nohz_full.contains(c)), c))?;
        if let Some((core, _)) = self.core_of(pick) {
            *promised = promised.union(core);
        }
        Some(pick)
    }
}

/// sysfs names PCI devices with their domain: `01:00.0` is `0000:01:00.0` there.
pub(super) fn pci_sysfs_name(ethdev: &str) -> String {
    if ethdev.matches(':').count() == 1 {
        format!("0000:{}", ethdev.to_ascii_lowercase())
    } else {
        ethdev.to_ascii_lowercase()
    }
}
