//! Health: is this relay fit to attract traffic? `relayctl health`, the `relay_healthy`
//! gauge and the health agent (tools/src/bin/relay-health.rs) all read this judgement.
//!
//! Healthy means: every worker runs and its heartbeat (its poll counter, published every
//! millisecond) advanced within [`STALE_AFTER`]; every port's link is up; every worker has
//! applied the latest control generation (or has been behind for less than [`STALE_AFTER`]:
//! a route change takes microseconds to reach the workers, and a health probe that lands in
//! between must not withdraw the relay); and no drain was asked for.
//!
//! The control core observes the workers every few milliseconds ([`HealthTracker::observe`])
//! and remembers when each heartbeat last changed; the judgement ([`HealthTracker::judge`])
//! is a pure function of those observations, the links and the clock, so tests drive it with
//! made-up snapshots and instants.
use std::fmt;
use std::time::{Duration, Instant};

/// A heartbeat that has not moved for this long, or a generation behind for this long, is a
/// problem (issue 16: "advances within 100 ms").
pub const STALE_AFTER: Duration = Duration::from_millis(100);
/// How often the control core observes the workers: well inside [`STALE_AFTER`].
pub const OBSERVE_EVERY: Duration = Duration::from_millis(10);

/// One worker as the control core reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerView {
    pub running: bool,
    /// The heartbeat: the worker's `polls` counter.
    pub polls: u64,
    /// The last control generation it applied.
    pub generation: u64,
}

/// One port's link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkView {
    pub name: String,
    pub up: bool,
}

/// What is wrong, naming the worker or port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Draining,
    Stopped { worker: usize },
    Stale { worker: usize, ms: u128 },
    LinkDown { port: String },
    Behind { worker: usize, applied: u64, latest: u64 },
}

impl Problem {
    /// The check that failed: the `check` label of `relay_health_failing`.
    pub fn check(&self) -> &'static str {
        match self {
            Problem::Draining => "draining",
            Problem::Stopped { .. } | Problem::Stale { .. } => "heartbeat",
            Problem::LinkDown { .. } => "link",
            Problem::Behind { .. } => "generation",
        }
    }
}

/// Every check, in the order the gauges list them.
pub const CHECKS: [&str; 4] = ["heartbeat", "link", "generation", "draining"];

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Draining => write!(f, "draining"),
            Problem::Stopped { worker } => write!(f, "worker {worker} is not running"),
            Problem::Stale { worker, ms } => write!(f, "worker {worker} heartbeat stale for {ms} ms"),
            Problem::LinkDown { port } => write!(f, "port {port} link down"),
            Problem::Behind { worker, applied, latest } => {
                write!(f, "worker {worker} applied generation {applied} of {latest}")
            }
        }
    }
}

/// The answer line: `healthy`, or `unhealthy: ` and the problems joined by `; `.
pub fn verdict(problems: &[Problem]) -> String {
    if problems.is_empty() {
        return "healthy".into();
    }
    let text: Vec<String> = problems.iter().map(Problem::to_string).collect();
    format!("unhealthy: {}", text.join("; "))
}

#[derive(Debug, Clone, Copy)]
struct Beat {
    polls: u64,
    changed: Instant,
    /// Since when the worker has been behind the latest generation, if it is.
    behind_since: Option<Instant>,
}

/// The control core's memory of the workers' heartbeats.
#[derive(Debug, Default)]
pub struct HealthTracker {
    beats: Vec<Beat>,
    last: Option<Instant>,
}

impl HealthTracker {
    /// Whether an observation is due (every [`OBSERVE_EVERY`]).
    pub fn due(&self, now: Instant) -> bool {
        match self.last {
            Some(t) => now.saturating_duration_since(t) >= OBSERVE_EVERY,
            None => true,
        }
    }

    /// Records the workers as seen at `now`; `latest` is the control core's generation.
    pub fn observe(&mut self, workers: &[WorkerView], latest: u64, now: Instant) {
        self.last = Some(now);
        self.beats.truncate(workers.len());
        for (i, w) in workers.iter().enumerate() {
            let behind = w.generation < latest;
            match self.beats.get_mut(i) {
                Some(b) => {
                    if b.polls != w.polls {
                        b.polls = w.polls;
                        b.changed = now;
                    }
                    b.behind_since = if behind { Some(b.behind_since.unwrap_or(now)) } else { None };
                }
                None => self.beats.push(Beat { polls: w.polls, changed: now, behind_since: behind.then_some(now) }),
            }
        }
    }

    /// What is wrong at `now`, given the last observation, the links and the drain flag.
    pub fn judge(&self, workers: &[WorkerView], links: &[LinkView], latest: u64, draining: bool, now: Instant) -> Vec<Problem> {
        let mut problems = Vec::new();
        if draining {
            problems.push(Problem::Draining);
        }
        for (i, w) in workers.iter().enumerate() {
            let beat = self.beats.get(i);
            if !w.running {
                problems.push(Problem::Stopped { worker: i });
            } else {
                // A worker never observed has no history: it is judged from its first sighting.
                let quiet = beat.map_or(Duration::ZERO, |b| now.saturating_duration_since(b.changed));
                if quiet > STALE_AFTER {
                    problems.push(Problem::Stale { worker: i, ms: quiet.as_millis() });
                }
            }
            let behind_for = beat.and_then(|b| b.behind_since).map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
            if w.generation < latest && behind_for > STALE_AFTER {
                problems.push(Problem::Behind { worker: i, applied: w.generation, latest });
            }
        }
        for l in links.iter().filter(|l| !l.up) {
            problems.push(Problem::LinkDown { port: l.name.clone() });
        }
        problems
    }
}

/// Prometheus: `relay_healthy` and one `relay_health_failing{check=…}` gauge per check.
pub fn to_prometheus(problems: &[Problem]) -> String {
    let mut out = String::from(
        "# HELP relay_healthy 1 while relayd is fit to attract traffic (relayctl health says healthy), else 0.\n\
         # TYPE relay_healthy gauge\n",
    );
    out.push_str(&format!("relay_healthy {}\n", u8::from(problems.is_empty())));
    out.push_str(
        "# HELP relay_health_failing 1 while this health check fails (heartbeat, link, generation, draining).\n\
         # TYPE relay_health_failing gauge\n",
    );
    for c in CHECKS {
        let failing = problems.iter().any(|p| p.check() == c);
        out.push_str(&format!("relay_health_failing{{check=\"{c}\"}} {}\n", u8::from(failing)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(polls: u64, generation: u64) -> WorkerView {
        WorkerView { running: true, polls, generation }
    }

    fn up(name: &str) -> LinkView {
        LinkView { name: name.into(), up: true }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn advancing_heartbeats_links_up_and_tables_applied_are_healthy() {
        let t0 = Instant::now();
        let mut t = HealthTracker::default();
        t.observe(&[w(10, 4), w(20, 4)], 4, t0);
        t.observe(&[w(90, 4), w(80, 4)], 4, t0 + ms(90));
        let p = t.judge(&[w(90, 4), w(80, 4)], &[up("wan"), up("lan")], 4, false, t0 + ms(180));
        assert_eq!(p, vec![]);
        assert_eq!(verdict(&p), "healthy");
    }

    #[test]
    fn a_heartbeat_that_stops_moving_is_stale_after_100_ms_naming_the_worker() {
        let t0 = Instant::now();
        let mut t = HealthTracker::default();
        t.observe(&[w(10, 0), w(20, 0)], 0, t0);
        t.observe(&[w(11, 0), w(20, 0)], 0, t0 + ms(50));
        let now = [w(11, 0), w(20, 0)];
        assert_eq!(t.judge(&now, &[], 0, false, t0 + ms(100)), vec![]);
        let p = t.judge(&now, &[], 0, false, t0 + ms(150));
        assert_eq!(p, vec![Problem::Stale { worker: 1, ms: 150 }]);
        assert_eq!(verdict(&p), "unhealthy: worker 1 heartbeat stale for 150 ms");
        // Moving again: healthy at once.
        t.observe(&[w(12, 0), w(21, 0)], 0, t0 + ms(160));
        assert_eq!(t.judge(&[w(12, 0), w(21, 0)], &[], 0, false, t0 + ms(170)), vec![]);
    }

    #[test]
    fn a_stopped_worker_and_a_link_down_are_named() {
        let t0 = Instant::now();
        let mut t = HealthTracker::default();
        let workers = [w(5, 0), WorkerView { running: false, polls: 7, generation: 0 }];
        t.observe(&workers, 0, t0);
        let links = [up("wan"), LinkView { name: "lan".into(), up: false }];
        let p = t.judge(&workers, &links, 0, false, t0 + ms(1));
        assert_eq!(verdict(&p), "unhealthy: worker 1 is not running; port lan link down");
        assert_eq!(p.iter().map(Problem::check).collect::<Vec<_>>(), ["heartbeat", "link"]);
    }

    #[test]
    fn a_generation_behind_for_more_than_100_ms_is_named_a_moment_behind_is_not() {
        let t0 = Instant::now();
        let mut t = HealthTracker::default();
        t.observe(&[w(1, 7), w(1, 7)], 7, t0);
        // Generation 8 sent; worker 0 takes it at once, worker 1 never does.
        t.observe(&[w(2, 8), w(2, 7)], 8, t0 + ms(5));
        assert_eq!(t.judge(&[w(2, 8), w(2, 7)], &[], 8, false, t0 + ms(50)), vec![]);
        t.observe(&[w(3, 8), w(3, 7)], 8, t0 + ms(100));
        let p = t.judge(&[w(3, 8), w(3, 7)], &[], 8, false, t0 + ms(110));
        assert_eq!(verdict(&p), "unhealthy: worker 1 applied generation 7 of 8");
        // Caught up: the clock restarts for the next change.
        t.observe(&[w(4, 8), w(4, 8)], 8, t0 + ms(120));
        t.observe(&[w(5, 9), w(5, 8)], 9, t0 + ms(130));
        assert_eq!(t.judge(&[w(5, 9), w(5, 8)], &[], 9, false, t0 + ms(200)), vec![]);
    }

    #[test]
    fn draining_comes_first_and_sets_its_gauge() {
        let t0 = Instant::now();
        let mut t = HealthTracker::default();
        t.observe(&[w(1, 0)], 0, t0);
        let p = t.judge(&[w(1, 0)], &[LinkView { name: "up".into(), up: false }], 0, true, t0 + ms(1));
        assert_eq!(verdict(&p), "unhealthy: draining; port up link down");
        let prom = to_prometheus(&p);
        assert!(prom.contains("\nrelay_healthy 0\n"), "{prom}");
        for (check, v) in [("heartbeat", 0), ("link", 1), ("generation", 0), ("draining", 1)] {
            assert!(prom.contains(&format!("\nrelay_health_failing{{check=\"{check}\"}} {v}\n")), "{check}: {prom}");
        }
        assert!(to_prometheus(&[]).contains("\nrelay_healthy 1\n"));
    }

    #[test]
    fn observations_are_due_every_10_ms() {
        let t0 = Instant::now();
        let mut t = HealthTracker::default();
        assert!(t.due(t0));
        t.observe(&[], 0, t0);
        assert!(!t.due(t0 + ms(9)));
        assert!(t.due(t0 + ms(10)));
    }
}
