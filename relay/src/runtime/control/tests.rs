//! The control plane against workers simulated by plain threads: what the workers read always
//! equals the changes applied in order, the standby is reused instead of copied, and a bad
//! batch changes nothing.
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Relaxed, Release};
use std::thread::JoinHandle;

use super::*;
use crate::pipeline::tests::ROUTER_R;
use crate::pipeline::{parse_route_command, Config, Settings};

fn settings() -> Settings {
    Config::from_toml(ROUTER_R).unwrap().validate(2).unwrap()
}

/// A worker's control side: swaps in published tables, returns the old ones, reports
/// generations and fingerprints; records the fingerprint of every set it was given.
fn spawn_worker(link: WorkerLink, start: Arc<Tables>, stop: Arc<AtomicBool>) -> JoinHandle<Vec<u64>> {
    std::thread::spawn(move || {
        let mut tables = start;
        let mut seen = Vec::new();
        link.stats.running.store(true, Release);
        while !stop.load(Relaxed) {
            match link.to_worker.pop() {
                Some(ControlMsg::Tables(t)) => {
                    seen.push(fingerprint(&t));
                    let _ = link.retired.push(std::mem::replace(&mut tables, t));
                }
                Some(ControlMsg::Generation(g)) => link.stats.generation.store(g, Release),
                Some(ControlMsg::Audit) => link.stats.audit.store(fingerprint(&tables), Release),
                None => std::thread::yield_now(),
            }
        }
        link.stats.running.store(false, Release);
        seen
    })
}

struct Rig {
    control: ControlPlane,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<Vec<u64>>>,
}

fn rig(workers: usize) -> Rig {
    let live = Arc::new(Tables::from_settings(&settings()).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let links: Vec<WorkerLink> = (0..workers).map(|i| WorkerLink::new(Arc::new(WorkerStats::new(i as u32, 0, 0)))).collect();
    let handles = links.iter().map(|l| spawn_worker(l.clone(), live.clone(), stop.clone())).collect();
    for l in &links {
        while !l.stats.running.load(Acquire) {
            std::thread::yield_now();
        }
    }
    Rig { control: ControlPlane::new(live, links), stop, workers: handles }
}

impl Rig {
    fn finish(self) -> Vec<Vec<u64>> {
        self.stop.store(true, Release);
        self.workers.into_iter().map(|h| h.join().unwrap()).collect()
    }
}

fn change(s: &str) -> TableUpdate {
    parse_route_command(s, &settings()).unwrap()
}

/// Batch `i` of a churn: adds ten /56s and deletes the ten added two batches before.
fn churn_batch(i: u32) -> Vec<TableUpdate> {
    let mut b: Vec<TableUpdate> = (0..10).map(|k| change(&format!("add 2001:db8:{i:x}:{k:x}00::/56 port 1"))).collect();
    if i >= 2 {
        b.extend((0..10).map(|k| change(&format!("del 2001:db8:{:x}:{k:x}00::/56", i - 2))));
    }
    b
}

#[test]
fn workers_read_exactly_the_changes_in_order_and_the_standby_is_reused() {
    let mut rig = rig(2);
    let mut reference = Tables::from_settings(&settings()).unwrap();
    let mut expected = Vec::new();
    for i in 0..40 {
        let batch = churn_batch(i);
        for u in &batch {
            u.apply(&mut reference).unwrap();
        }
        let g = rig.control.apply(batch).unwrap();
        assert_eq!(g, u64::from(i) + 1);
        assert!(rig.control.wait_generation(g, Duration::from_secs(10)));
        expected.push(fingerprint(&reference));
        assert_eq!(fingerprint(rig.control.tables()), fingerprint(&reference));
    }
    assert_eq!(rig.control.tables().routes_text(), reference.routes_text());
    assert_eq!(rig.control.audit(Duration::from_secs(10)), Ok(2));
    // Only the first change copied the live set; every later one reused the standby.
    assert_eq!(rig.control.copies(), 1);
    for seen in rig.finish() {
        assert_eq!(seen, expected);
    }
}

#[test]
fn a_failing_batch_changes_nothing_and_the_next_one_applies() {
    let mut rig = rig(1);
    rig.control.apply(churn_batch(0)).unwrap();
    let before = fingerprint(rig.control.tables());
    let bad = vec![change("add 2001:db8:aaaa::/48 port 1"), change("del 2001:db8:bbbb::/48")];
    let err = rig.control.apply(bad).unwrap_err();
    assert!(matches!(err, super::ApplyError::InBatch { index: 2, .. }), "{err}");
    assert!(err.to_string().starts_with("change 2: "), "{err}");
    assert_eq!(fingerprint(rig.control.tables()), before);
    assert_eq!(rig.control.generation(), 1);
    // The standby had the first change applied, so it was dropped: the next change copies.
    rig.control.apply(churn_batch(1)).unwrap();
    assert_eq!(rig.control.copies(), 2);
    assert!(rig.control.tables().routes_text().contains("2001:db8:1:900::/56"));
    assert!(!rig.control.tables().routes_text().contains("2001:db8:aaaa::/48"));
    // A single failing change leaves the standby as it was: no copy next time.
    assert!(rig.control.apply(vec![change("del 2001:db8:bbbb::/48")]).is_err());
    rig.control.apply(churn_batch(2)).unwrap();
    assert_eq!(rig.control.copies(), 2);
    assert_eq!(rig.control.audit(Duration::from_secs(10)), Ok(1));
    rig.finish();
}

#[test]
fn a_standby_held_by_a_stopped_worker_is_replaced_by_a_copy() {
    let rig = rig(1);
    let mut control = {
        let Rig { control, stop, workers } = rig;
        stop.store(true, Release);
        for h in workers {
            h.join().unwrap();
        }
        control
    };
    // The first change copies (no standby yet); the second reuses the start set, which the
    // stopped worker dropped; the third waits for the first published set, which the stopped
    // worker's ring keeps, and copies.
    control.apply(churn_batch(0)).unwrap();
    control.apply(churn_batch(1)).unwrap();
    assert_eq!(control.copies(), 1);
    control.apply(churn_batch(2)).unwrap();
    assert_eq!(control.copies(), 2);
    assert!(control.tables().routes_text().contains("2001:db8:2:900::/56"));
}
