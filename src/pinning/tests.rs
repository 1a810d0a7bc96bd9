//! The checks against fake sysfs trees: each test writes the few files a kernel would have
//! for the topology it needs, in a directory of its own.
use std::path::PathBuf;

use super::*;

/// A sysfs tree in a temp directory, removed on drop.
struct FakeSys {
    root: PathBuf,
}

impl FakeSys {
    fn new(name: &str) -> FakeSys {
        let root = std::env::temp_dir().join(format!("relayd-sysfs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("fake sysfs root");
        FakeSys { root }
    }

    fn file(&self, rel: &str, text: &str) -> &FakeSys {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().expect("has a parent")).expect("fake sysfs dir");
        std::fs::write(&p, text).expect("fake sysfs file");
        self
    }

    /// `online` and, per core, its CPUs (`core_cpus_list`, `thread_siblings_list` and
    /// `core_id`, as Linux 5.7+ has them).
    fn cpus(&self, online: &str, cores: &[&str]) -> &FakeSys {
        self.file("devices/system/cpu/online", &format!("{online}\n"));
        for (id, list) in cores.iter().enumerate() {
            for cpu in CpuSet::parse(list).expect("test cpulist").iter() {
                let dir = format!("devices/system/cpu/cpu{cpu}/topology");
                self.file(&format!("{dir}/core_cpus_list"), &format!("{list}\n"));
                self.file(&format!("{dir}/thread_siblings_list"), &format!("{list}\n"));
                self.file(&format!("{dir}/core_id"), &format!("{id}\n"));
            }
        }
        self
    }

    fn isolated(&self, text: &str) -> &FakeSys {
        self.file("devices/system/cpu/isolated", &format!("{text}\n"))
    }

    fn nohz_full(&self, text: &str) -> &FakeSys {
        self.file("devices/system/cpu/nohz_full", &format!("{text}\n"))
    }

    fn node(&self, n: u32, cpus: &str, pages_2m: u64, pages_1g: u64) -> &FakeSys {
        let dir = format!("devices/system/node/node{n}");
        self.file(&format!("{dir}/cpulist"), &format!("{cpus}\n"));
        self.file(&format!("{dir}/hugepages/hugepages-2048kB/nr_hugepages"), &format!("{pages_2m}\n"));
        self.file(&format!("{dir}/hugepages/hugepages-1048576kB/nr_hugepages"), &format!("{pages_1g}\n"));
        self
    }

    fn pci(&self, addr: &str, node: i32) -> &FakeSys {
        self.file(&format!("bus/pci/devices/{addr}/numa_node"), &format!("{node}\n"))
    }

    fn check(&self, layout: &Layout) -> Result<Report, PinningError> {
        check(&Sysfs::new(&self.root), layout)
    }

    fn report(&self, layout: &Layout) -> Report {
        self.check(layout).unwrap_or_else(|e| panic!("check failed: {e}"))
    }
}

impl Drop for FakeSys {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn vdev(name: &str) -> PortPins {
    PortPins { name: name.into(), ethdev: format!("net_null_{name}"), pci: false }
}

fn pci(name: &str, addr: &str) -> PortPins {
    PortPins { name: name.into(), ethdev: addr.into(), pci: true }
}

/// Control core on `control`, one worker per `cpus` entry polling every port.
fn layout(control: usize, cpus: &[usize], ports: Vec<PortPins>) -> Layout {
    let all: Vec<usize> = (0..ports.len()).collect();
    Layout {
        control,
        workers: cpus.iter().map(|&cpu| WorkerPins { cpu, ports: all.clone() }).collect(),
        ports,
        hugepages: false,
    }
}

fn texts(r: &Report, c: Concern) -> Vec<String> {
    r.warnings.iter().filter(|w| w.concern == c).map(|w| w.text.clone()).collect()
}

/// 8 CPUs as 4 cores of 2 SMT threads, numbered as Intel and AMD do: CPU n and n+4 are
/// siblings. One node, every worker CPU isolated unless a test says otherwise.
fn smt8(name: &str) -> FakeSys {
    let f = FakeSys::new(name);
    f.cpus("0-7", &["0,4", "1,5", "2,6", "3,7"]).node(0, "0-7", 0, 0).isolated("1-3,5-7");
    f
}

#[test]
fn smt_sibling_of_another_worker() {
    let f = smt8("smt-worker");
    let r = f.report(&layout(0, &[1, 5], vec![vdev("a")]));
    assert_eq!(
        texts(&r, Concern::SmtSibling),
        ["worker 1 on CPU 5 shares physical core 1 (CPUs 1,5) with worker 0 (CPU 1): SMT siblings share the \
          core's execution units and L1/L2 caches, so each runs slower than on a core of its own; move \
          worker[1].cpu to a CPU of another core, e.g. 2"]
    );
    assert_eq!(r.concerns(), [Concern::SmtSibling]);
    assert!(
        r.facts.contains(&"worker 1: CPU 5, physical core 1 (CPUs 1,5), node 0, isolated (isolcpus)".to_string()),
        "{:?}",
        r.facts
    );
}

#[test]
fn smt_sibling_of_the_control_core() {
    let f = smt8("smt-control");
    let r = f.report(&layout(1, &[2, 5], vec![vdev("a")]));
    assert_eq!(
        texts(&r, Concern::SmtSibling),
        ["worker 1 on CPU 5 shares physical core 1 (CPUs 1,5) with the control core (CPU 1): SMT siblings \
          share the core's execution units and L1/L2 caches, so each runs slower than on a core of its own; \
          move worker[1].cpu to a CPU of another core, e.g. 3"]
    );
    assert_eq!(r.concerns(), [Concern::SmtSibling]);
}

#[test]
fn two_fixes_do_not_suggest_the_same_core() {
    let f = smt8("smt-two");
    // Workers 1 and 2 on siblings of worker 0 and of the control core; cores 2 and 3 are free.
    let r = f.report(&layout(0, &[1, 5, 4], vec![vdev("a")]));
    let smt = texts(&r, Concern::SmtSibling);
    assert_eq!(smt.len(), 2, "{smt:?}");
    assert!(
        smt[0].starts_with("worker 1 on CPU 5 shares physical core 1 (CPUs 1,5) with worker 0 (CPU 1)"),
        "{}",
        smt[0]
    );
    assert!(smt[0].ends_with("e.g. 2"), "{}", smt[0]);
    assert!(
        smt[1].starts_with("worker 2 on CPU 4 shares physical core 0 (CPUs 0,4) with the control core (CPU 0)"),
        "{}",
        smt[1]
    );
    assert!(smt[1].ends_with("e.g. 3"), "{}", smt[1]);
}

#[test]
fn one_cpu_shared_by_two_lcores() {
    let f = smt8("shared");
    let r = f.report(&layout(1, &[1, 2, 2], vec![vdev("a")]));
    assert_eq!(
        texts(&r, Concern::SharedCpu),
        [
            "worker 0 on CPU 1 shares that CPU with the control core: the control core's slow path, control \
             socket and Prometheus work preempt the worker; move the worker (worker[0].cpu) or the control core \
             (cores.control) to a CPU of another core, e.g. 3",
            "worker 2 on CPU 2 shares that CPU with worker 1: two busy-polling workers on one CPU take turns at \
             the scheduler's pace, each gets at most half of it and waits a time slice for its turn; give \
             worker[2].cpu a CPU of another core, e.g. 0",
        ]
    );
    // The same CPU is not reported again as its own SMT sibling.
    assert!(texts(&r, Concern::SmtSibling).is_empty(), "{r:?}");

    // This VM's case: 2 CPUs, both in use, so no CPU is left to suggest.
    let two = FakeSys::new("shared-two");
    two.cpus("0-1", &["0", "1"]).node(0, "0-1", 0, 0).isolated("1");
    let r = two.report(&layout(0, &[1, 1], vec![vdev("a")]));
    assert_eq!(r.concerns(), [Concern::SharedCpu]);
    assert!(
        r.warnings[0].text.ends_with(
            "give worker[1].cpu a CPU of another core, none is free: run fewer workers, each polling more rx queues"
        ),
        "{:?}",
        r.warnings
    );
}

#[test]
fn worker_on_another_node_than_its_port() {
    let f = FakeSys::new("numa");
    f.cpus("0-7", &["0", "1", "2", "3", "4", "5", "6", "7"])
        .node(0, "0-3", 512, 0)
        .node(1, "4-7", 512, 0)
        .isolated("1-7")
        .pci("0000:01:00.0", 0)
        .pci("0000:82:00.0", 1);
    // wan on node 0, lan on node 1; worker 0 polls wan from node 1, worker 1 lan from node 1.
    let mut l = layout(0, &[5, 6], vec![pci("wan", "0000:01:00.0"), pci("lan", "82:00.0")]);
    l.workers[0].ports = vec![0];
    l.workers[1].ports = vec![1];
    let r = f.report(&l);
    assert_eq!(
        texts(&r, Concern::RemoteNode),
        [
            "worker 0 on CPU 5 (node 1) polls port wan (0000:01:00.0, node 0) on another node: every descriptor \
             and packet crosses the interconnect; move worker[0].cpu to a CPU of node 0, e.g. 1",
            "the control core on CPU 0 (node 0) is on another node than port lan (0000:82:00.0, node 1): relayd \
             allocates the mbuf pool on the control core's node, so every packet buffer is remote to the NIC; set \
             cores.control to a CPU of node 1, e.g. 4",
        ]
    );
    assert_eq!(r.concerns(), [Concern::RemoteNode, Concern::RemoteNode]);
    // The bus:device.function form of the config is found under its sysfs name.
    assert!(r.facts.contains(&"port lan: 0000:82:00.0 on node 1".to_string()), "{:?}", r.facts);
}

#[test]
fn not_isolated_gives_the_boot_parameters() {
    let f = FakeSys::new("noiso");
    f.cpus("0-3", &["0", "1", "2", "3"]).node(0, "0-3", 0, 0).isolated("");
    let r = f.report(&layout(0, &[1, 2], vec![vdev("a")]));
    assert_eq!(
        texts(&r, Concern::NotIsolated),
        [
            "worker 0 on CPU 1 is not isolated (neither isolcpus nor nohz_full lists it): the scheduler may run \
             other tasks and the timer tick on it, which shows as drops and latency spikes; boot with \
             isolcpus=1-2 nohz_full=1-2 rcu_nocbs=1-2 irqaffinity=0,3",
            "worker 1 on CPU 2 is not isolated (neither isolcpus nor nohz_full lists it): the scheduler may run \
             other tasks and the timer tick on it, which shows as drops and latency spikes; boot with \
             isolcpus=1-2 nohz_full=1-2 rcu_nocbs=1-2 irqaffinity=0,3",
        ]
    );
    assert_eq!(r.concerns(), [Concern::NotIsolated, Concern::NotIsolated]);

    // Workers on every CPU: isolating them all is no fix, freeing one for the kernel is.
    let r = f.report(&layout(0, &[0, 1, 2, 3], vec![vdev("a")]));
    let iso = texts(&r, Concern::NotIsolated);
    assert_eq!(iso.len(), 4, "{iso:?}");
    assert!(
        iso[0].ends_with(
            "every online CPU runs a worker, so isolating them would leave the kernel none: first free a CPU for \
             the kernel and the control core, then isolate the workers' CPUs with isolcpus= nohz_full= rcu_nocbs="
        ),
        "{}",
        iso[0]
    );
}

#[test]
fn isolated_by_isolcpus_or_by_nohz_full() {
    let f = FakeSys::new("iso");
    f.cpus("0-3", &["0", "1", "2", "3"]).node(0, "0-3", 0, 0).isolated("1").nohz_full("2");
    let r = f.report(&layout(0, &[1, 2], vec![vdev("a")]));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(r.facts.contains(&"cpus: online 0-3; isolated (isolcpus) 1; nohz_full 2".to_string()), "{:?}", r.facts);
    assert!(r.facts.contains(&"worker 0: CPU 1, physical core 1 (CPUs 1), node 0, isolated (isolcpus)".to_string()));
    assert!(r.facts.contains(&"worker 1: CPU 2, physical core 2 (CPUs 2), node 0, isolated (nohz_full)".to_string()));
}

#[test]
fn hugepages_on_another_node_than_the_port() {
    let f = FakeSys::new("huge");
    f.cpus("0-3", &["0", "1", "2", "3"])
        .node(0, "0-1", 1024, 0)
        .node(1, "2-3", 0, 0)
        .isolated("1-3")
        .pci("0000:82:00.0", 1);
    let mut l = layout(0, &[1], vec![pci("wan", "0000:82:00.0")]);
    l.hugepages = true;
    let r = f.report(&l);
    let huge = f.root.join("devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages");
    assert_eq!(
        texts(&r, Concern::Hugepages),
        [format!(
            "node 1 has no hugepages (node0 has 1024 × 2048 kB, 0 × 1048576 kB), but port wan (0000:82:00.0) \
             needs them there: DPDK then takes memory of another node or fails; reserve them on node 1: echo \
             1024 > {}",
            huge.display()
        )]
    );
    assert!(
        r.facts.contains(
            &"hugepages: node0 1024 × 2048 kB, 0 × 1048576 kB; node1 0 × 2048 kB, 0 × 1048576 kB".to_string()
        ),
        "{:?}",
        r.facts
    );
    // 1 GiB pages count as hugepages too.
    f.node(1, "2-3", 0, 4);
    assert!(texts(&f.report(&l), Concern::Hugepages).is_empty());
    // Without hugepages (--no-huge) there is nothing to check.
    l.hugepages = false;
    f.node(1, "2-3", 0, 0);
    let r = f.report(&l);
    assert!(texts(&r, Concern::Hugepages).is_empty());
    assert!(r.facts.contains(&"hugepages: off ([eal] hugepages = false, --no-huge): not checked".to_string()));
}

#[test]
fn vdev_ports_have_no_node_and_no_warning() {
    let f = FakeSys::new("vdev");
    f.cpus("0-3", &["0", "1", "2", "3"]).node(0, "0-1", 64, 0).node(1, "2-3", 64, 0).isolated("1-3");
    let mut l = layout(0, &[3], vec![vdev("a"), vdev("b")]);
    l.hugepages = true;
    let r = f.report(&l);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(r.facts.contains(&"port a: net_null_a is a vdev: no NUMA node".to_string()), "{:?}", r.facts);
}

#[test]
fn pci_port_without_a_node_or_not_present() {
    let f = FakeSys::new("nonode");
    f.cpus("0-1", &["0", "1"]).node(0, "0-1", 0, 0).isolated("1").pci("0000:01:00.0", -1);
    let r = f.report(&layout(0, &[1], vec![pci("wan", "0000:01:00.0"), pci("lan", "0000:02:00.0")]));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(r.facts.contains(&"port wan: 0000:01:00.0 reports no NUMA node (-1)".to_string()), "{:?}", r.facts);
    assert!(r
        .facts
        .contains(&"port lan: 0000:02:00.0 is not in sysfs (no such device here): node unknown".to_string()));
}

#[test]
fn malformed_files_are_warnings_naming_the_file() {
    let f = FakeSys::new("malformed");
    f.cpus("0-3", &["0", "1", "2", "3"]).node(0, "0-3", 0, 0).isolated("1-2");
    f.file("devices/system/cpu/cpu2/topology/core_cpus_list", "2-x\n");
    f.file("devices/system/cpu/nohz_full", "1-\n");
    let r = f.report(&layout(0, &[1, 2], vec![vdev("a")]));
    let root = f.root.display();
    assert_eq!(
        texts(&r, Concern::Unreadable),
        [
            format!("cannot read {root}/devices/system/cpu/nohz_full: \"1-\" in \"1-\" is not a CPU number or a range a-b: the nohz_full check skipped"),
            format!("cannot read {root}/devices/system/cpu/cpu2/topology/core_cpus_list: \"2-x\" in \"2-x\" is not a CPU number or a range a-b: the SMT check of CPU 2 skipped"),
        ]
    );
    assert_eq!(r.concerns(), [Concern::Unreadable, Concern::Unreadable]);

    // A bad `online` skips the online check; a bad node list skips the NUMA checks.
    f.file("devices/system/cpu/online", "zero\n");
    f.file("devices/system/node/node0/cpulist", "0-3,\n");
    let r = f.report(&layout(0, &[9], vec![vdev("a")]));
    let bad = texts(&r, Concern::Unreadable);
    assert!(bad[0].contains("devices/system/cpu/online: \"zero\" in \"zero\" is not a CPU number"), "{bad:?}");
    assert!(bad[0].ends_with("the online check skipped"), "{bad:?}");
    assert!(bad.iter().any(|w| w.contains("node0/cpulist") && w.ends_with("the NUMA checks skipped")), "{bad:?}");
    // A bad number in a numa_node file names it too.
    f.pci("0000:01:00.0", 0).file("bus/pci/devices/0000:01:00.0/numa_node", "zero\n");
    let r = f.report(&layout(0, &[1], vec![pci("wan", "0000:01:00.0")]));
    assert!(texts(&r, Concern::Unreadable).iter().any(|w| w
        == &format!("cannot read {root}/bus/pci/devices/0000:01:00.0/numa_node: \"zero\" is not a number: the NUMA check of port wan skipped")));
}

#[test]
fn kernel_without_numa_or_topology_files() {
    // Only the CPU list and isolation: no node directory, no topology, no nohz_full.
    let f = FakeSys::new("nonuma");
    f.file("devices/system/cpu/online", "0-3\n").isolated("1-2");
    let mut l = layout(0, &[1, 2], vec![pci("wan", "0000:01:00.0")]);
    l.hugepages = true;
    let r = f.report(&l);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(
        r.facts.contains(&"numa: no node information (kernel without NUMA): node checks skipped".to_string()),
        "{:?}",
        r.facts
    );
    assert!(r.facts.contains(&"worker 0: CPU 1, core unknown (no topology in sysfs), isolated (isolcpus)".to_string()));
    assert!(r.facts.contains(&"hugepages: no NUMA nodes in sysfs: per-node check skipped".to_string()));

    // Nothing at all (a container with an empty /sys): nothing checked, nothing warned.
    let empty = FakeSys::new("empty");
    let r = empty.report(&l);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(
        r.facts.contains(&"isolation: sysfs has neither isolated nor nohz_full: not checked".to_string()),
        "{:?}",
        r.facts
    );
}

#[test]
fn offline_cpu_is_an_error_naming_the_field() {
    let f = FakeSys::new("offline");
    f.cpus("0-3", &["0", "1", "2", "3"]);
    assert_eq!(
        f.check(&layout(0, &[1, 9], vec![vdev("a")])).map(|_| ()),
        Err(PinningError::Offline { field: "worker[1].cpu".into(), cpu: 9, online: CpuSet::parse("0-3").unwrap() })
    );
    let e = f.check(&layout(6, &[1], vec![vdev("a")])).map(|_| ()).unwrap_err();
    assert_eq!(e.to_string(), "config error: cores.control: CPU 6 is not online (online CPUs: 0-3)");
}

#[test]
fn the_report_lists_facts_then_warnings() {
    let f = smt8("text");
    let text = f.report(&layout(0, &[1, 5], vec![vdev("a")])).to_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("pinning (sysfs {}):", f.root.display()));
    assert_eq!(lines[1], "  cpus: online 0-7; isolated (isolcpus) 1-3,5-7; nohz_full none (not in this kernel)");
    assert_eq!(lines[2], "  numa: node0 0-7");
    assert_eq!(lines[3], "  control core: CPU 0, physical core 0 (CPUs 0,4), node 0");
    assert!(lines[lines.len() - 2].starts_with("warning: worker 1 on CPU 5 shares physical core 1"), "{text}");
    assert_eq!(lines[lines.len() - 1], "pinning: 1 warning");
}
