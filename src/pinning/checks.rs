//! The checks themselves: each adds a warning with its fix for what it finds.
use std::collections::BTreeMap;

use super::machine::{pci_sysfs_name, unreadable, Machine};
use super::{Concern, CpuSet, Hugepages, Layout, Report, Sysfs, Warning};

fn e_g(cpu: Option<usize>) -> String {
    match cpu {
        Some(c) => format!("e.g. {c}"),
        None => "none is free: run fewer workers, each polling more rx queues".into(),
    }
}

/// Two lcores on one CPU, or on SMT siblings of one physical core.
pub(super) fn shared_cores(m: &Machine, layout: &Layout, r: &mut Report, promised: &mut CpuSet) {
    for (i, w) in layout.workers.iter().enumerate() {
        let cpu = w.cpu;
        let field = format!("worker[{i}].cpu");
        if cpu == layout.control {
            let fix = e_g(m.suggest(None, promised));
            r.warnings.push(Warning {
                concern: Concern::SharedCpu,
                text: format!(
                    "worker {i} on CPU {cpu} shares that CPU with the control core: the control core's slow path, \
                     control socket and Prometheus work preempt the worker; move the worker ({field}) or the \
                     control core (cores.control) to a CPU of another core, {fix}"
                ),
            });
        }
        if let Some(j) = layout.workers[..i].iter().position(|o| o.cpu == cpu) {
            let fix = e_g(m.suggest(None, promised));
            r.warnings.push(Warning {
                concern: Concern::SharedCpu,
                text: format!(
                    "worker {i} on CPU {cpu} shares that CPU with worker {j}: two busy-polling workers on one CPU \
                     take turns at the scheduler's pace, each gets at most half of it and waits a time slice \
                     for its turn; give {field} a CPU of another core, {fix}"
                ),
            });
        }
        let Some((core, _)) = m.core_of(cpu) else { continue };
        let sibling = |other: usize| other != cpu && core.contains(other);
        let mut with: Vec<String> = Vec::new();
        if sibling(layout.control) {
            with.push(format!("the control core (CPU {})", layout.control));
        }
        for (j, o) in layout.workers[..i].iter().enumerate() {
            // Another worker on the very same CPU was reported above.
            if sibling(o.cpu) {
                with.push(format!("worker {j} (CPU {})", o.cpu));
            }
        }
        if !with.is_empty() {
            let fix = e_g(m.suggest(None, promised));
            r.warnings.push(Warning {
                concern: Concern::SmtSibling,
                text: format!(
                    "worker {i} on CPU {cpu} shares {} with {}: SMT siblings share the core's execution units \
                     and L1/L2 caches, so each runs slower than on a core of its own; move {field} to a CPU of \
                     another core, {fix}",
                    m.core_name(cpu),
                    with.join(" and ")
                ),
            });
        }
    }
}

/// Workers polling ports of another node, and the control core away from the ports (the
/// mbuf pool is allocated on its node: `Mempool::new` with SOCKET_ID_ANY from the main lcore).
pub(super) fn remote_nodes(m: &Machine, layout: &Layout, r: &mut Report, promised: &mut CpuSet) {
    let port_desc = |p: usize, n: u32| {
        format!("port {} ({}, node {n})", layout.ports[p].name, pci_sysfs_name(&layout.ports[p].ethdev))
    };
    for (i, w) in layout.workers.iter().enumerate() {
        let Some(wn) = m.node_of(w.cpu) else { continue };
        let remote: Vec<(usize, u32)> =
            w.ports.iter().filter_map(|&p| m.port_nodes.get(&p).map(|&n| (p, n))).filter(|&(_, n)| n != wn).collect();
        let Some(&(_, want)) = remote.first() else { continue };
        let names: Vec<String> = remote.iter().map(|&(p, n)| port_desc(p, n)).collect();
        let fix = match m.suggest(Some(want), promised) {
            Some(c) => format!("e.g. {c}"),
            None => format!("none is free on node {want}"),
        };
        r.warnings.push(Warning {
            concern: Concern::RemoteNode,
            text: format!(
                "worker {i} on CPU {} (node {wn}) polls {} on another node: every descriptor and packet \
                 crosses the interconnect; move worker[{i}].cpu to a CPU of node {want}, {fix}",
                w.cpu,
                names.join(", ")
            ),
        });
    }
    let Some(cn) = m.node_of(layout.control) else { return };
    let remote: Vec<String> = m.port_nodes.iter().filter(|&(_, &n)| n != cn).map(|(&p, &n)| port_desc(p, n)).collect();
    if let Some(&want) = m.port_nodes.values().find(|&&n| n != cn) {
        let fix = match m.suggest(Some(want), promised) {
            Some(c) => format!("e.g. {c}"),
            None => format!("none is free on node {want}"),
        };
        r.warnings.push(Warning {
            concern: Concern::RemoteNode,
            text: format!(
                "the control core on CPU {} (node {cn}) is on another node than {}: relayd allocates the \
                 mbuf pool on the control core's node, so every packet buffer is remote to the NIC; set \
                 cores.control to a CPU of node {want}, {fix}",
                layout.control,
                remote.join(", ")
            ),
        });
    }
}

/// Worker CPUs the scheduler and the timer tick still use.
pub(super) fn isolation(m: &Machine, layout: &Layout, r: &mut Report) {
    if m.isolation_unknown {
        r.facts.push("isolation: sysfs has neither isolated nor nohz_full: not checked".into());
        return;
    }
    let workers: CpuSet = layout.workers.iter().map(|w| w.cpu).collect();
    let others = m.online.as_ref().map(|o| o.difference(&workers));
    let fix = match others {
        // Isolating every CPU would leave the kernel (and the control core) none to run on.
        Some(o) if o.is_empty() => "every online CPU runs a worker, so isolating them would leave the kernel \
             none: first free a CPU for the kernel and the control core, then isolate the workers' CPUs with \
             isolcpus= nohz_full= rcu_nocbs="
            .to_string(),
        Some(o) => format!("boot with isolcpus={workers} nohz_full={workers} rcu_nocbs={workers} irqaffinity={o}"),
        None => format!("boot with isolcpus={workers} nohz_full={workers} rcu_nocbs={workers}"),
    };
    for (i, w) in layout.workers.iter().enumerate() {
        if m.isolated.contains(w.cpu) || m.nohz_full.contains(w.cpu) {
            continue;
        }
        r.warnings.push(Warning {
            concern: Concern::NotIsolated,
            text: format!(
                "worker {i} on CPU {} is not isolated (neither isolcpus nor nohz_full lists it): the scheduler \
                 may run other tasks and the timer tick on it, which shows as drops and latency spikes; {fix}",
                w.cpu
            ),
        });
    }
}

/// Nodes that need hugepages and have none: the ports' (their descriptor rings) and the
/// control core's (the mbuf pool).
pub(super) fn hugepages(m: &Machine, sysfs: &Sysfs, layout: &Layout, r: &mut Report) {
    if !layout.hugepages {
        r.facts.push("hugepages: off ([eal] hugepages = false, --no-huge): not checked".into());
        return;
    }
    if m.nodes.is_empty() {
        r.facts.push("hugepages: no NUMA nodes in sysfs: per-node check skipped".into());
        return;
    }
    let mut per_node: BTreeMap<u32, Vec<Hugepages>> = BTreeMap::new();
    for (n, _) in &m.nodes {
        match sysfs.node_hugepages(*n) {
            Ok(h) => {
                per_node.insert(*n, h);
            }
            Err(e) => unreadable(r, &e, &format!("the hugepage check of node {n}")),
        }
    }
    let text = |h: &[Hugepages]| -> String {
        if h.is_empty() {
            return "no hugepage sizes".into();
        }
        h.iter().map(|p| format!("{} × {} kB", p.pages, p.size_kb)).collect::<Vec<_>>().join(", ")
    };
    let list: Vec<String> = per_node.iter().map(|(n, h)| format!("node{n} {}", text(h))).collect();
    r.facts.push(format!("hugepages: {}", list.join("; ")));

    let mut needs: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for (&p, &n) in &m.port_nodes {
        needs.entry(n).or_default().push(format!(
            "port {} ({})",
            layout.ports[p].name,
            pci_sysfs_name(&layout.ports[p].ethdev)
        ));
    }
    if let Some(n) = m.node_of(layout.control) {
        needs
            .entry(n)
            .or_default()
            .push(format!("the control core (CPU {}, whose node holds the mbuf pool)", layout.control));
    }
    for (n, who) in needs {
        let Some(h) = per_node.get(&n) else { continue };
        if h.iter().any(|p| p.pages > 0) {
            continue;
        }
        let elsewhere: Vec<String> = per_node
            .iter()
            .filter(|(o, hp)| **o != n && hp.iter().any(|p| p.pages > 0))
            .map(|(o, hp)| format!("node{o} has {}", text(hp)))
            .collect();
        let where_ = if elsewhere.is_empty() { "no node has any".to_string() } else { elsewhere.join(", ") };
        let file = sysfs.path(&format!("devices/system/node/node{n}/hugepages/hugepages-2048kB/nr_hugepages"));
        r.warnings.push(Warning {
            concern: Concern::Hugepages,
            text: format!(
                "node {n} has no hugepages ({where_}), but {} need{} them there: DPDK then takes memory of \
                 another node or fails; reserve them on node {n}: echo 1024 > {}",
                who.join(" and "),
                if who.len() == 1 { "s" } else { "" },
                file.display()
            ),
        });
    }
}
