//! What relayd reads from sysfs about CPUs, NUMA nodes, PCI devices and hugepages, under a
//! root given by the caller (`/sys`, or a fake tree in tests). A missing file is `None`
//! (kernels without NUMA or without `nohz_full` simply lack them); a file that exists but
//! cannot be read or parsed is an error naming it.
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::cpulist::{CpuListError, CpuSet};

#[derive(Debug, thiserror::Error)]
pub enum SysfsError {
    #[error("{}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: {source}", path.display())]
    CpuList { path: PathBuf, source: CpuListError },
    #[error("{}: {text:?} is not a number", path.display())]
    Number { path: PathBuf, text: String },
}

/// Hugepages reserved on one node, for one page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hugepages {
    pub size_kb: u64,
    pub pages: u64,
}

pub struct Sysfs {
    root: PathBuf,
}

impl Sysfs {
    pub fn new(root: impl Into<PathBuf>) -> Sysfs {
        Sysfs { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The full path of `rel` under the root, for messages and fixes.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn read(&self, rel: &str) -> Result<Option<String>, SysfsError> {
        let path = self.path(rel);
        match std::fs::read_to_string(&path) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SysfsError::Read { path, source }),
        }
    }

    fn cpulist(&self, rel: &str) -> Result<Option<CpuSet>, SysfsError> {
        match self.read(rel)? {
            None => Ok(None),
            Some(text) => {
                CpuSet::parse(&text).map(Some).map_err(|source| SysfsError::CpuList { path: self.path(rel), source })
            }
        }
    }

    fn number(&self, rel: &str) -> Result<Option<i64>, SysfsError> {
        match self.read(rel)? {
            None => Ok(None),
            Some(text) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| SysfsError::Number { path: self.path(rel), text: text.trim().into() }),
        }
    }

    /// CPUs the kernel has online.
    pub fn online(&self) -> Result<Option<CpuSet>, SysfsError> {
        self.cpulist("devices/system/cpu/online")
    }

    /// CPUs taken from the scheduler's balancing by `isolcpus=`.
    pub fn isolated(&self) -> Result<Option<CpuSet>, SysfsError> {
        self.cpulist("devices/system/cpu/isolated")
    }

    /// CPUs without the periodic tick (`nohz_full=`); absent without CONFIG_NO_HZ_FULL.
    pub fn nohz_full(&self) -> Result<Option<CpuSet>, SysfsError> {
        self.cpulist("devices/system/cpu/nohz_full")
    }

    /// The CPUs of `cpu`'s physical core, itself included: `core_cpus_list` (Linux 5.7+),
    /// else its older name `thread_siblings_list`.
    pub fn core_cpus(&self, cpu: usize) -> Result<Option<CpuSet>, SysfsError> {
        let dir = format!("devices/system/cpu/cpu{cpu}/topology");
        match self.cpulist(&format!("{dir}/core_cpus_list"))? {
            Some(s) => Ok(Some(s)),
            None => self.cpulist(&format!("{dir}/thread_siblings_list")),
        }
    }

    /// The core's number within its package (`topology/core_id`), to name it in messages.
    pub fn core_id(&self, cpu: usize) -> Result<Option<i64>, SysfsError> {
        self.number(&format!("devices/system/cpu/cpu{cpu}/topology/core_id"))
    }

    /// Every NUMA node and its CPUs, by node number; empty on kernels without NUMA.
    pub fn nodes(&self) -> Result<Vec<(u32, CpuSet)>, SysfsError> {
        let dir = self.path("devices/system/node");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(SysfsError::Read { path: dir, source }),
        };
        let mut nodes = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| SysfsError::Read { path: dir.clone(), source })?;
            let name = entry.file_name();
            // `node0`, `node1`, ...; the directory also holds `online`, `possible`, `has_cpu`.
            let Some(n) = name.to_str().and_then(|s| s.strip_prefix("node")).and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let cpus = self.cpulist(&format!("devices/system/node/node{n}/cpulist"))?.unwrap_or_default();
            nodes.push((n, cpus));
        }
        nodes.sort_by_key(|(n, _)| *n);
        Ok(nodes)
    }

    /// The NUMA node of a PCI device (`0000:01:00.0`): `Ok(None)` when the kernel reports
    /// none (`-1`: one node, or firmware without proximity information) or the device is
    /// not there.
    pub fn pci_node(&self, address: &str) -> Result<Option<u32>, SysfsError> {
        let rel = format!("bus/pci/devices/{address}/numa_node");
        Ok(self.number(&rel)?.and_then(|n| u32::try_from(n).ok()))
    }

    /// Whether sysfs knows the PCI device at all.
    pub fn pci_exists(&self, address: &str) -> bool {
        self.path(&format!("bus/pci/devices/{address}")).exists()
    }

    /// Hugepages reserved on `node`, by page size (2 MiB, 1 GiB, whatever the CPU has).
    pub fn node_hugepages(&self, node: u32) -> Result<Vec<Hugepages>, SysfsError> {
        let rel = format!("devices/system/node/node{node}/hugepages");
        let dir = self.path(&rel);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(SysfsError::Read { path: dir, source }),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| SysfsError::Read { path: dir.clone(), source })?;
            let name = entry.file_name();
            let Some(size_kb) = name
                .to_str()
                .and_then(|s| s.strip_prefix("hugepages-"))
                .and_then(|s| s.strip_suffix("kB"))
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            let file = format!("{rel}/hugepages-{size_kb}kB/nr_hugepages");
            let pages = self.number(&file)?.unwrap_or(0);
            let pages = u64::try_from(pages)
                .map_err(|_| SysfsError::Number { path: self.path(&file), text: pages.to_string() })?;
            out.push(Hugepages { size_kb, pages });
        }
        out.sort_by_key(|h| h.size_kb);
        Ok(out)
    }
}
