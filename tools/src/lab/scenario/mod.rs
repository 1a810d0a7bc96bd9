//! The seed's experiments as scenarios on a running lab. Each one records named checks of
//! exact values (replies, frames, bytes and digests, counters) and passes when all hold;
//! `relay-lab scenarios` and the tests in tools/tests/lab.rs run the same code.
mod limits;
mod paths;
mod restart;
mod spoof;
mod tunnels;

use std::fmt;
use std::time::Duration;

use super::relayd::Stats;
use super::sh::{self, Result};
use super::topology::RouterId;
use super::Lab;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    SiteToSite = 1,
    SiteToNative = 2,
    HopLimit = 3,
    Mtu = 4,
    Spoofing = 5,
    Restart = 6,
    ConfiguredTunnel = 7,
    SixRd = 8,
}

impl Scenario {
    pub const ALL: [Scenario; 8] = [
        Scenario::SiteToSite,
        Scenario::SiteToNative,
        Scenario::HopLimit,
        Scenario::Mtu,
        Scenario::Spoofing,
        Scenario::Restart,
        Scenario::ConfiguredTunnel,
        Scenario::SixRd,
    ];

    /// What `relay-lab run` and `relay-lab scenarios` run by default: every path of the
    /// lab once, a few seconds each.
    pub const PATHS: [Scenario; 4] = [Scenario::SiteToSite, Scenario::SiteToNative, Scenario::ConfiguredTunnel, Scenario::SixRd];

    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn from_number(n: u8) -> Option<Scenario> {
        Scenario::ALL.iter().copied().find(|s| s.number() == n)
    }

    pub fn title(self) -> &'static str {
        match self {
            Scenario::SiteToSite => "A <-> B through R1 and R2 (seed 3.3.1)",
            Scenario::SiteToNative => "A <-> C through R1 -> R3 and C -> R3 -> R1 (seed 3.3.2)",
            Scenario::HopLimit => "hop limit: ping -t and traceroute6 from A to C",
            Scenario::Mtu => "MTU: Packet Too Big from the relay, then the smaller size gets through",
            Scenario::Spoofing => "spoofed protocol 41 from the rogue host is dropped and counted",
            Scenario::Restart => "R3 restarted while A pings C",
            Scenario::ConfiguredTunnel => "D <-> C through the configured tunnel R4 <-> R3 (RFC 4213)",
            Scenario::SixRd => "E <-> C through the 6rd CE R5 and the border relay R3 (RFC 5969)",
        }
    }
}

/// One named check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

/// The checks of one scenario (or of one step of the anycast lab), under its title.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub title: String,
    pub checks: Vec<Check>,
    /// What was measured beside the checks (times against their goals): printed, not judged.
    pub notes: Vec<String>,
}

impl Outcome {
    pub fn new(title: impl Into<String>) -> Outcome {
        Outcome { title: title.into(), checks: Vec::new(), notes: Vec::new() }
    }

    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// `got` must equal `expected`.
    pub fn eq<T: PartialEq + fmt::Debug>(&mut self, what: impl Into<String>, expected: T, got: T) {
        let ok = expected == got;
        let detail = if ok { format!("{got:?}") } else { format!("expected {expected:?}, got {got:?}") };
        self.checks.push(Check { what: what.into(), ok, detail });
    }

    pub fn that(&mut self, what: impl Into<String>, ok: bool, detail: impl Into<String>) {
        self.checks.push(Check { what: what.into(), ok, detail: detail.into() });
    }

    /// Every check held (and there was at least one).
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.ok)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        writeln!(f, "{}: {verdict}", self.title)?;
        for c in &self.checks {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            writeln!(f, "  {mark} {}: {}", c.what, c.detail)?;
        }
        self.notes.iter().try_for_each(|n| writeln!(f, "  {n}"))
    }
}

/// Runs `scenario`; a step that could not run (a command failed) is a failed check.
pub fn run(lab: &mut Lab, scenario: Scenario) -> Outcome {
    let mut o = Outcome::new(format!("scenario {}: {}", scenario.number(), scenario.title()));
    let r = match scenario {
        Scenario::SiteToSite => paths::site_to_site(lab, &mut o),
        Scenario::SiteToNative => paths::site_to_native(lab, &mut o),
        Scenario::HopLimit => limits::hop_limit(lab, &mut o),
        Scenario::Mtu => limits::mtu(lab, &mut o),
        Scenario::Spoofing => spoof::spoofing(lab, &mut o),
        Scenario::Restart => restart::restart(lab, &mut o),
        Scenario::ConfiguredTunnel => tunnels::configured(lab, &mut o),
        Scenario::SixRd => tunnels::sixrd(lab, &mut o),
    };
    if let Err(e) = r {
        o.that("the scenario ran to its end", false, e);
    }
    o
}

/// `after[name] - before[name]`.
pub fn delta(before: &Stats, after: &Stats, name: &str) -> u64 {
    after.get(name).copied().unwrap_or(0).saturating_sub(before.get(name).copied().unwrap_or(0))
}

/// Packets are still crossing bridges and queues when the sender returns: polls `id`'s
/// counters until each of `expected` has grown by at least its count (at most 5 s) and
/// returns that snapshot, so that exact comparisons see everything that was sent.
pub fn settled(lab: &Lab, id: RouterId, before: &Stats, expected: &[(&str, u64)]) -> Result<Stats> {
    let mut last = lab.stats(id)?;
    let reached = |s: &Stats| expected.iter().all(|(k, n)| delta(before, s, k) >= *n);
    sh::poll(Duration::from_secs(5), || {
        if let Ok(s) = lab.stats(id) {
            last = s;
        }
        reached(&last).then_some(())
    });
    Ok(last)
}

/// Records `expected` counter deltas of `id` between two snapshots as exact checks.
pub fn counters(o: &mut Outcome, id: RouterId, before: &Stats, after: &Stats, expected: &[(&str, u64)]) {
    for (name, n) in expected {
        o.eq(format!("{id} {name} +"), *n, delta(before, after, name));
    }
}
