//! The control core's side of the workers: per-worker lock-free rings for table changes, the
//! return ring for retired tables, and generation tracking.
//!
//! Small changes travel as [`TableUpdate`]s that each worker applies to its own replica between
//! bursts, a bounded number per loop. A bulk change (a reload) travels as a pointer to a freshly
//! built [`Tables`]; the worker swaps it in and sends the old one back on its return ring, and the
//! control core frees it. No locks, and no reader ever sees freed memory: a worker only drops
//! tables it no longer references, and only the control core frees them.
use std::sync::atomic::Ordering::Acquire;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam::queue::ArrayQueue;

use super::stats::WorkerStats;
use crate::pipeline::{TableUpdate, Tables};

/// A message from the control core to one worker.
pub enum ControlMsg {
    Update(TableUpdate),
    Replace(Box<Tables>),
    /// Everything sent before this is applied once the worker reports this generation.
    Generation(u64),
    /// Publish a fingerprint of the worker's tables (to compare replicas with the control
    /// copy). Costs a walk of the tables on the worker: an operator's check, not routine.
    Audit,
}

/// A digest of a table set's contents (routes, neighbours, tunnels): equal contents give equal
/// fingerprints, whatever order the changes came in.
pub fn fingerprint(t: &Tables) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    t.routes_text().hash(&mut h);
    t.neighbours_text().hash(&mut h);
    format!("{:?}", t.tunnels()).hash(&mut h);
    h.finish()
}

/// Ring capacity per worker. A full ring makes the control core wait, never the worker.
pub const CONTROL_RING: usize = 4096;

/// The two rings between the control core and one worker.
#[derive(Clone)]
pub struct WorkerLink {
    pub to_worker: Arc<ArrayQueue<ControlMsg>>,
    pub retired: Arc<ArrayQueue<Box<Tables>>>,
    pub stats: Arc<WorkerStats>,
}

impl WorkerLink {
    pub fn new(stats: Arc<WorkerStats>) -> WorkerLink {
        WorkerLink {
            to_worker: Arc::new(ArrayQueue::new(CONTROL_RING)),
            retired: Arc::new(ArrayQueue::new(16)),
            stats,
        }
    }
}

/// The control copy of the tables and the links to every worker.
pub struct ControlPlane {
    tables: Tables,
    links: Vec<WorkerLink>,
    generation: u64,
}

impl ControlPlane {
    pub fn new(tables: Tables, links: Vec<WorkerLink>) -> ControlPlane {
        ControlPlane { tables, links, generation: 0 }
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn links(&self) -> &[WorkerLink] {
        &self.links
    }

    /// Applies `updates` to the control copy — all of them or, if one fails, none — then sends
    /// them to every worker followed by a new generation marker. Returns that generation.
    pub fn apply(&mut self, updates: Vec<TableUpdate>) -> Result<u64, String> {
        if updates.len() > 1 {
            let mut staged = self.tables.clone();
            for (i, u) in updates.iter().enumerate() {
                u.apply(&mut staged).map_err(|e| format!("change {}: {e}", i + 1))?;
            }
            self.tables = staged;
        } else if let Some(u) = updates.first() {
            u.apply(&mut self.tables)?;
        }
        for u in updates {
            self.broadcast(|| ControlMsg::Update(u.clone()));
        }
        Ok(self.bump_generation())
    }

    /// Replaces the whole table set (reload): every worker gets its own copy by pointer.
    pub fn replace(&mut self, tables: Tables) -> u64 {
        for link in &self.links {
            let copy = Box::new(tables.clone());
            push_blocking(link, ControlMsg::Replace(copy));
        }
        self.tables = tables;
        self.bump_generation()
    }

    fn bump_generation(&mut self) -> u64 {
        self.generation += 1;
        let g = self.generation;
        self.broadcast(|| ControlMsg::Generation(g));
        g
    }

    fn broadcast(&mut self, mut msg: impl FnMut() -> ControlMsg) {
        for link in &self.links {
            push_blocking(link, msg());
        }
        self.reap();
    }

    /// Asks every worker for its tables' fingerprint and compares each with the control copy.
    /// Ok(number of workers checked) when all agree.
    pub fn audit(&mut self, timeout: Duration) -> Result<usize, String> {
        self.broadcast(|| ControlMsg::Audit);
        let g = self.bump_generation();
        if !self.wait_generation(g, timeout) {
            return Err(format!("workers did not reach generation {g} within {timeout:?}"));
        }
        let want = fingerprint(&self.tables);
        let mut checked = 0;
        for (i, link) in self.links.iter().enumerate() {
            if !link.stats.running.load(Acquire) {
                continue;
            }
            let got = link.stats.audit.load(Acquire);
            if got != want {
                return Err(format!("worker {i}: tables differ from the control copy ({got:016x} != {want:016x})"));
            }
            checked += 1;
        }
        Ok(checked)
    }

    /// Frees tables the workers have retired.
    pub fn reap(&mut self) -> usize {
        let mut n = 0;
        for link in &self.links {
            while let Some(old) = link.retired.pop() {
                drop(old);
                n += 1;
            }
        }
        n
    }

    /// The lowest generation any running worker has applied.
    pub fn applied_generation(&self) -> u64 {
        self.links
            .iter()
            .filter(|l| l.stats.running.load(Acquire))
            .map(|l| l.stats.generation.load(Acquire))
            .min()
            .unwrap_or(self.generation)
    }

    /// Waits until every running worker has applied generation `g`, or the timeout passes.
    pub fn wait_generation(&mut self, g: u64, timeout: Duration) -> bool {
        let start = Instant::now();
        loop {
            self.reap();
            if self.applied_generation() >= g {
                return true;
            }
            if start.elapsed() > timeout {
                return false;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
    }
}

/// The control core may wait for ring space; a worker never does. A worker that has stopped
/// reads nothing more, so a full ring to it is abandoned.
fn push_blocking(link: &WorkerLink, mut msg: ControlMsg) {
    loop {
        match link.to_worker.push(msg) {
            Ok(()) => return,
            Err(back) => {
                if !link.stats.running.load(Acquire) {
                    return;
                }
                msg = back;
                std::thread::sleep(Duration::from_micros(20));
            }
        }
    }
}
