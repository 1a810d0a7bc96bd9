//! Draining (`relayctl drain`, or SIGTERM with `[control] drain_s`): relayd says `unhealthy:
//! draining`, the health agent withdraws the anycast routes, the upstreams move the flows to
//! the other relays, and relayd stops once they have — measured, not guessed: once no
//! data-plane packet has arrived for `[control] drain_quiet_ms`, or at the drain's limit.
//!
//! [`Drain`] is a pure function of the data-plane packet count and the clock, so tests feed
//! it made-up counts and instants; the control loop feeds it the workers' counters.
use std::time::{Duration, Instant};

/// How long the health agent may take to see `unhealthy: draining`: the shipped agent asks
/// every 200 ms (`--interval-ms`) and waits up to 300 ms for an answer (`--timeout-ms`). By
/// then it has told BIRD, which sends the withdrawals at once. Silence before that means
/// nothing: the upstreams still route to this relay, a quiet link is just a quiet link.
pub const AGENT_WAIT: Duration = Duration::from_millis(500);

/// The limit of a `relayctl drain` when `[control] drain_s` is 0 (SIGTERM stops at once):
/// far beyond a BGP convergence (BFD and immediate withdrawals: well under a second), short
/// enough that a relay still carrying traffic stops within an operator's patience.
pub const REQUEST_LIMIT: Duration = Duration::from_secs(30);

/// What started the drain, for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Request,
    Signal,
}

/// What the drain says at one observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Keep forwarding.
    Wait,
    /// The upstreams have converged: no data-plane packet for `quiet` (counted from the last
    /// packet, or the drain's start if none came), `after` the drain began.
    Quiet { quiet: Duration, after: Duration },
    /// The limit passed first; `last_packet` is how long ago the last data-plane packet came
    /// (None: none came during the drain, but the quiet period does not fit in the limit).
    Limit { limit: Duration, last_packet: Option<Duration> },
}

/// One drain in progress.
#[derive(Debug, Clone)]
pub struct Drain {
    started: Instant,
    quiet: Duration,
    agent_wait: Duration,
    limit: Duration,
    count: u64,
    last_packet: Option<Instant>,
}

impl Drain {
    /// A drain from `now`; `count` is the data-plane packet count then. The limit is never
    /// shorter than the agent's wait: stopping before the agent has withdrawn the routes
    /// would be a plain stop with extra steps.
    pub fn start(now: Instant, count: u64, quiet: Duration, agent_wait: Duration, limit: Duration) -> Drain {
        Drain { started: now, quiet, agent_wait, limit: limit.max(agent_wait), count, last_packet: None }
    }

    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// Records the data-plane packet count at `now` and judges. The count only has to change
    /// to mean "a packet arrived": any difference counts, so no subtraction can wrap.
    pub fn observe(&mut self, count: u64, now: Instant) -> Verdict {
        if count != self.count {
            self.count = count;
            self.last_packet = Some(now);
        }
        let after = now.saturating_duration_since(self.started);
        let silent = now.saturating_duration_since(self.last_packet.unwrap_or(self.started));
        // Silence counts only from the moment the agent has surely seen the drain.
        let silent_since_agent = silent.min(after.saturating_sub(self.agent_wait));
        if after >= self.agent_wait && silent_since_agent >= self.quiet {
            return Verdict::Quiet { quiet: silent, after };
        }
        if after >= self.limit {
            return Verdict::Limit { limit: self.limit, last_packet: self.last_packet.map(|t| now.saturating_duration_since(t)) };
        }
        Verdict::Wait
    }
}

impl Verdict {
    /// The log line of a verdict that stops relayd.
    pub fn line(&self) -> Option<String> {
        match *self {
            Verdict::Wait => None,
            Verdict::Quiet { quiet, after } => Some(format!(
                "relayd: drained: upstreams quiet for {} ms after {} ms, stopping",
                quiet.as_millis(),
                after.as_millis()
            )),
            Verdict::Limit { limit, last_packet: Some(ago) } => Some(format!(
                "relayd: drain limit of {} s reached with traffic still arriving (last packet {} ms ago), stopping",
                secs(limit),
                ago.as_millis()
            )),
            Verdict::Limit { limit, last_packet: None } => Some(format!(
                "relayd: drain limit of {} s reached before the quiet period could pass (no data-plane packet since draining began), stopping",
                secs(limit)
            )),
        }
    }
}

/// A limit as the operator wrote it (whole seconds), or with its fraction when the agent's
/// wait raised it.
pub fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        d.as_secs().to_string()
    } else {
        format!("{:.1}", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn drain(t0: Instant, quiet: u64, limit_s: u64) -> Drain {
        Drain::start(t0, 1000, ms(quiet), AGENT_WAIT, Duration::from_secs(limit_s))
    }

    #[test]
    fn a_quiet_relay_stops_once_the_agent_had_its_time_and_the_quiet_period_passed() {
        let t0 = Instant::now();
        let mut d = drain(t0, 1000, 30);
        // No packet since the drain began: silence counts only from the agent's wait on.
        assert_eq!(d.observe(1000, t0 + ms(10)), Verdict::Wait);
        assert_eq!(d.observe(1000, t0 + ms(1200)), Verdict::Wait);
        assert_eq!(d.observe(1000, t0 + ms(1499)), Verdict::Wait);
        let v = d.observe(1000, t0 + ms(1500));
        assert_eq!(v, Verdict::Quiet { quiet: ms(1500), after: ms(1500) });
        assert_eq!(v.line().unwrap(), "relayd: drained: upstreams quiet for 1500 ms after 1500 ms, stopping");
    }

    #[test]
    fn traffic_that_stops_after_the_withdrawal_stops_the_drain_one_quiet_period_later() {
        let t0 = Instant::now();
        let mut d = drain(t0, 1000, 30);
        // Packets keep coming until the upstreams moved the flows, 700 ms in.
        for (i, t) in (0..=700).step_by(10).enumerate() {
            assert_eq!(d.observe(1000 + i as u64, t0 + ms(t)), Verdict::Wait, "at {t} ms");
        }
        assert_eq!(d.observe(1070, t0 + ms(1699)), Verdict::Wait);
        assert_eq!(d.observe(1070, t0 + ms(1700)), Verdict::Quiet { quiet: ms(1000), after: ms(1700) });
    }

    #[test]
    fn traffic_that_goes_on_waits_until_the_limit_and_says_when_the_last_packet_came() {
        let t0 = Instant::now();
        let mut d = drain(t0, 1000, 5);
        let mut count = 1000;
        for t in (0..5000).step_by(100) {
            count += 3;
            assert_eq!(d.observe(count, t0 + ms(t)), Verdict::Wait, "at {t} ms");
        }
        let v = d.observe(count, t0 + ms(5000));
        assert_eq!(v, Verdict::Limit { limit: Duration::from_secs(5), last_packet: Some(ms(100)) });
        assert_eq!(
            v.line().unwrap(),
            "relayd: drain limit of 5 s reached with traffic still arriving (last packet 100 ms ago), stopping"
        );
    }

    #[test]
    fn a_drain_never_stops_before_the_agent_wait_even_with_a_short_quiet_period_or_limit() {
        let t0 = Instant::now();
        let mut d = Drain::start(t0, 7, ms(100), AGENT_WAIT, ms(200));
        assert_eq!(d.limit(), AGENT_WAIT);
        for t in [0, 100, 200, 300, 499] {
            assert_eq!(d.observe(7, t0 + ms(t)), Verdict::Wait, "at {t} ms");
        }
        // The agent's wait is over, but silence since then is 0 ms: the limit (raised to the
        // wait) stops it, naming no packet.
        let v = d.observe(7, t0 + ms(500));
        assert_eq!(v, Verdict::Limit { limit: AGENT_WAIT, last_packet: None });
        assert_eq!(
            v.line().unwrap(),
            "relayd: drain limit of 0.5 s reached before the quiet period could pass (no data-plane packet since draining began), stopping"
        );
    }

    #[test]
    fn quiet_wins_over_the_limit_at_the_same_instant_and_the_clock_going_back_is_harmless() {
        let t0 = Instant::now();
        let mut d = drain(t0, 500, 1);
        // An instant before the start (never from a monotonic clock, but no panic either).
        assert_eq!(d.observe(1000, t0.checked_sub(ms(5)).unwrap_or(t0)), Verdict::Wait);
        assert_eq!(d.observe(1000, t0 + ms(1000)), Verdict::Quiet { quiet: ms(1000), after: ms(1000) });
    }

    #[test]
    fn any_change_of_the_count_is_a_packet_even_one_that_goes_down() {
        let t0 = Instant::now();
        let mut d = drain(t0, 1000, 30);
        assert_eq!(d.observe(999, t0 + ms(1400)), Verdict::Wait);
        assert_eq!(d.observe(999, t0 + ms(2399)), Verdict::Wait);
        assert_eq!(d.observe(999, t0 + ms(2400)), Verdict::Quiet { quiet: ms(1000), after: ms(2400) });
    }
}
