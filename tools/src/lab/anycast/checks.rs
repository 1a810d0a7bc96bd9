//! The anycast lab's checks (issue 16, a–f), each an [`Outcome`] of exact values. Times are
//! printed as notes beside their goals (met or missed), never as pass or fail: a loaded CI
//! machine must not fail a behaviour check on a deadline. The SYN flood (f) runs from the
//! rogue host through the route changes (e), longer than a BGP hold time. The drain (d)
//! comes last: a drained relayd stops by itself once its upstreams have moved away.
use std::net::IpAddr;
use std::thread;
use std::time::{Duration, Instant};

use super::plan::{self, ANYCAST4, ANYCAST6, A, C, NATIVE, NATIVE_PROTOCOL, NS_A, NS_C, NS_ROGUE, NS_U4, NS_U6, RELAYS};
use super::{AnycastLab, Process};
use crate::lab::probe::{self, Background, Direction, Ping};
use crate::lab::relayd::Stats;
use crate::lab::scenario::{delta, Outcome};
use crate::lab::sh::{self, Result};

/// Sessions come up and agents announce within seconds; generous for a loaded machine.
const CONVERGE_LIMIT: Duration = Duration::from_secs(60);
/// Withdrawals and route changes: goal 1 s, this long before a check fails.
const CHANGE_LIMIT: Duration = Duration::from_secs(15);
const FLOWS: u32 = 64;
const PACKETS_PER_FLOW: u32 = 5;
/// Each relay's least share of the 64 flows' packets.
const MIN_SHARE_PERCENT: u64 = 20;
const PING_INTERVAL_MS: u32 = 10;
const TRANSFER_BYTES: u64 = 10 << 20;
const FLOOD_PPS: u32 = 5_000;
/// Longer than the sessions' hold time (9 s): surviving it is the point.
const FLOOD_SECONDS: u32 = 12;
const GOAL_MS: u128 = 1000;

/// a to f in order, then the flood's verdict; a step that could not run is a failed check.
pub fn run(lab: &mut AnycastLab) -> Vec<Outcome> {
    let mut out = Vec::new();
    let mut step = |title: &str, lab: &mut AnycastLab, f: &mut dyn FnMut(&mut AnycastLab, &mut Outcome) -> Result<()>| {
        let mut o = Outcome::new(title);
        if let Err(e) = f(lab, &mut o) {
            o.that("the step ran to its end", false, e);
        }
        out.push(o);
    };
    step("a. BGP sessions, ECMP routes at both upstreams, A <-> C", lab, &mut converged);
    step("b. 64 flows A -> C spread over both relays", lab, &mut |lab, o| spread(lab, o, ""));
    step("c. kill -9 R3a under traffic, then its restart", lab, &mut failover);
    // From the rogue host through e, longer than a hold time, judged in f; d stops R3b.
    let flood = Flood::start(lab);
    step("e. the IPv6 upstream withdraws and announces 2001:db8:c0::/44", lab, &mut native_route);
    let mut flood = Some(flood);
    step("f. a SYN flood to R3b's BGP port during e: counted and dropped, the sessions survive", lab, &mut |lab, o| {
        match flood.take() {
            Some(Ok(f)) => f.finish(lab, o),
            Some(Err(e)) => Err(format!("the flood did not start: {e}")),
            None => Err("the flood was judged already".into()),
        }
    });
    step("d. relayctl drain on R3b: withdrawn, no ping lost, then R3b stops by itself", lab, &mut drain);
    out
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

fn goal(what: &str, took: u128) -> String {
    let verdict = if took <= GOAL_MS { "met" } else { "missed" };
    format!("{what}: {took} ms (goal <= {GOAL_MS} ms: {verdict})")
}

/// The next hops of the kernel's route for `prefix` in `ns`, sorted (one or a multipath list).
fn next_hops(ns: &str, prefix: &str) -> Vec<String> {
    let family = if prefix.contains(':') { "-6" } else { "-4" };
    let mut cmd = sh::in_ns(Some(ns), "ip");
    cmd.args([family, "route", "show", prefix]);
    parse_next_hops(&sh::run(&mut cmd).unwrap_or_default())
}

/// The `via` addresses of `ip route show` output, sorted.
pub fn parse_next_hops(text: &str) -> Vec<String> {
    let mut hops: Vec<String> = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0] == "via")
        .map(|w| w[1].to_string())
        .collect();
    hops.sort();
    hops
}

fn relays_v4(which: &[usize]) -> Vec<String> {
    let mut v: Vec<String> = which.iter().map(|&i| RELAYS[i].v4.to_string()).collect();
    v.sort();
    v
}

fn relays_v6(which: &[usize]) -> Vec<String> {
    let mut v: Vec<String> = which.iter().map(|&i| RELAYS[i].v6.to_string()).collect();
    v.sort();
    v
}

/// Polls until both upstreams route the anycast prefixes through exactly `which` relays;
/// how long it took, or None past `limit`.
fn upstreams_use(which: &[usize], limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let (want4, want6) = (relays_v4(which), relays_v6(which));
    sh::poll(limit, || (next_hops(NS_U4, ANYCAST4) == want4 && next_hops(NS_U6, ANYCAST6) == want6).then(|| start.elapsed()))
}

fn record_upstreams(o: &mut Outcome, which: &[usize], when: &str) {
    o.eq(format!("U4 {ANYCAST4} next hops {when}"), relays_v4(which), next_hops(NS_U4, ANYCAST4));
    o.eq(format!("U6 {ANYCAST6} next hops {when}"), relays_v6(which), next_hops(NS_U6, ANYCAST6));
}

const SESSIONS: [&str; 2] = ["up4", "up6"];

fn all_established(lab: &AnycastLab) -> bool {
    let relays = lab.relay_birds.iter().all(|b| SESSIONS.iter().all(|p| b.session(p) == "Established"));
    let ups = [lab.u4.as_ref(), lab.u6.as_ref()].into_iter().flatten().all(|u| RELAYS.iter().all(|r| u.session(r.lower) == "Established"));
    relays && ups && lab.u4.is_some() && lab.u6.is_some()
}

fn converged(lab: &mut AnycastLab, o: &mut Outcome) -> Result<()> {
    let start = Instant::now();
    let up = sh::poll(CONVERGE_LIMIT, || all_established(lab).then_some(()));
    o.note(format!("every session Established {} ms after the lab was up", ms(start.elapsed())));
    if up.is_none() {
        o.note(lab.u4()?.birdc("show protocols all"));
    }
    for (r, b) in RELAYS.iter().zip(&lab.relay_birds) {
        for p in SESSIONS {
            o.eq(format!("{} BIRD {p}", r.name), "Established".to_string(), b.session(p));
        }
    }
    for (name, u) in [("U4", lab.u4()?), ("U6", lab.u6()?)] {
        for r in &RELAYS {
            o.eq(format!("{name} BIRD {}", r.lower), "Established".to_string(), u.session(r.lower));
        }
    }
    let took = upstreams_use(&[0, 1], CONVERGE_LIMIT);
    o.note(format!("both relays announced at both upstreams {} ms after the lab was up", ms(start.elapsed())));
    if took.is_none() {
        o.note(lab.agents.iter().map(Process::log_text).collect::<Vec<_>>().join("\n"));
    }
    record_upstreams(o, &[0, 1], "(ECMP)");
    let p = probe::ping(NS_A, C.into(), 3, &[])?;
    o.eq("ping6 A -> C: replies", 3, p.received);
    let p = probe::ping(NS_C, A.into(), 3, &[])?;
    o.eq("ping6 C -> A: replies", 3, p.received);
    Ok(())
}

fn decapsulated(s: &Stats) -> u64 {
    s.get("pipeline.decap_6to4").copied().unwrap_or(0)
}

/// 64 UDP flows A -> C, five packets each: C receives every one, and both relays carry at
/// least a fifth (their `decap_6to4` counters, which count whatever else crossed them too,
/// a late echo reply of the step before for one).
fn spread(lab: &AnycastLab, o: &mut Outcome, when: &str) -> Result<()> {
    // A relay that has just started resolves its upstream's address on the first packets
    // and holds only a few meanwhile (README: 8 per next hop), as routers do: one packet per
    // flow until every one arrives, so that the measured round meets resolved paths.
    let warm = (0..5).any(|_| probe::udp_flows(&lab.dir, NS_A, NS_C, C.into(), 42000, FLOWS, 1).is_ok_and(|f| f.received == f.sent));
    o.that(format!("every flow reaches C before the count{when}"), warm, "one datagram per flow, up to 5 rounds");
    let before: Vec<Stats> = (0..RELAYS.len()).map(|i| lab.relay(i)?.stats()).collect::<Result<_>>()?;
    let flows = probe::udp_flows(&lab.dir, NS_A, NS_C, C.into(), 42000, FLOWS, PACKETS_PER_FLOW)?;
    let total = u64::from(FLOWS * PACKETS_PER_FLOW);
    o.eq(format!("UDP flows A -> C{when}: sent"), total, flows.sent);
    o.eq(format!("UDP flows A -> C{when}: received at C"), total, flows.received);
    let carried = |lab: &AnycastLab| -> Result<Vec<u64>> {
        (0..RELAYS.len()).map(|i| Ok(decapsulated(&lab.relay(i)?.stats()?).saturating_sub(decapsulated(&before[i])))).collect()
    };
    // Workers publish their counters every millisecond: what C received is counted soon.
    let mut last = carried(lab)?;
    sh::poll(Duration::from_secs(5), || {
        if let Ok(c) = carried(lab) {
            last = c;
        }
        (last.iter().sum::<u64>() >= flows.received).then_some(())
    });
    let sum: u64 = last.iter().sum();
    o.that(format!("6to4 packets the relays decapsulated{when}: at least what C received"), sum >= flows.received, format!("{sum} >= {}", flows.received));
    for (r, n) in RELAYS.iter().zip(&last) {
        let share = n * 100 / sum.max(1);
        o.that(format!("{} carries >= {MIN_SHARE_PERCENT} %{when}", r.name), share >= MIN_SHARE_PERCENT, format!("{n} of {sum} ({share} %)"));
    }
    Ok(())
}

/// The pings a background ping sent and got back.
fn stop_ping(ping: Background) -> Result<Ping> {
    Ping::from_output(ping.stop()).map_err(|out| format!("ping printed no summary:\n{out}"))
}

fn start_ping(lab: &AnycastLab, name: &str) -> Result<Background> {
    let ping = Background::ping_every(NS_A, C.into(), &format!("0.{PING_INTERVAL_MS:03}"), &lab.dir.join(name))?;
    sh::poll(Duration::from_secs(10), || (probe::reply_seqs(&ping.text()).len() >= 50).then_some(()))
        .ok_or_else(|| format!("A -> C pings unanswered before the step:\n{}", ping.text()))?;
    Ok(ping)
}

fn failover(lab: &mut AnycastLab, o: &mut Outcome) -> Result<()> {
    let ping = start_ping(lab, "c-ping.txt")?;
    let dir = lab.dir.clone();
    let transfer = thread::spawn(move || probe::tcp_transfer(&dir, NS_C, IpAddr::V6(C), NS_A, Direction::ClientToServer, TRANSFER_BYTES, 5001));
    thread::sleep(Duration::from_millis(300));
    let r3a = lab.relays[0].take().ok_or("R3a is not running")?;
    let log_at_kill = lab.agents[0].log_text().len();
    r3a.kill();
    let moved = upstreams_use(&[1], CHANGE_LIMIT);
    if let Some(t) = moved {
        o.note(goal("both upstreams route to R3b alone after kill -9 of R3a", ms(t)));
    }
    record_upstreams(o, &[1], "after kill -9 of R3a");
    let t = transfer.join().map_err(|_| "the transfer thread panicked".to_string())??;
    o.eq("TCP A -> C across the failover: bytes received", TRANSFER_BYTES, t.received.0);
    o.that("TCP A -> C across the failover: SHA-256 received = sent", t.received.1 == t.sent.1, t.received.1.clone());
    thread::sleep(Duration::from_millis(500));
    let p = stop_ping(ping)?;
    let outage = u128::from(p.lost()) * u128::from(PING_INTERVAL_MS);
    o.note(format!("failover outage: {outage} ms ({} of {} pings every {PING_INTERVAL_MS} ms lost; goal <= {GOAL_MS} ms with BFD: {})", p.lost(), p.transmitted, if outage <= GOAL_MS { "met" } else { "missed" }));
    o.that("A -> C pings answered again after the failover", p.received > 50 && p.lost() < p.transmitted / 2, format!("{} of {}", p.received, p.transmitted));

    // relayd gone: its agent disabled the anycast protocols, so a new relayd is announced
    // only once that agent finds it healthy.
    let bird = &lab.relay_birds[0];
    let withdrawn = sh::poll(Duration::from_secs(5), || ["anycast4", "anycast6"].iter().all(|p| bird.protocol(p).is_some_and(|l| l.state == "down")).then_some(()));
    let states = ["anycast4", "anycast6"].map(|p| format!("{p} {}", bird.protocol(p).map_or("absent".into(), |l| l.state))).join(", ");
    o.that("R3a's agent disabled anycast4 and anycast6 with relayd gone", withdrawn.is_some(), states);

    lab.relays[0] = Some(lab.start_relay(0)?);
    let back = upstreams_use(&[0, 1], CONVERGE_LIMIT);
    o.note(format!("R3a announced again {} ms after its relayd was started", back.map_or(0, ms)));
    record_upstreams(o, &[0, 1], "after R3a's restart");
    o.eq("R3a health after the restart", "healthy\n".to_string(), lab.relay(0)?.request("health")?);
    let log = lab.agents[0].log_text();
    let after_kill = log.get(log_at_kill..).unwrap_or("");
    let unreachable = after_kill.find("relay-health: relayd unhealthy: relayd unreachable");
    let disabled = after_kill.find("relay-health: disabled");
    let healthy = after_kill.find("relay-health: relayd healthy");
    let enabled = after_kill.find("relay-health: enabled");
    o.that(
        "R3a's agent after the kill: unreachable, disabled, then healthy, then enabled (announced only once healthy)",
        matches!((unreachable, disabled, healthy, enabled), (Some(u), Some(d), Some(h), Some(e)) if u < d && d < h && h < e),
        after_kill.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join(" | "),
    );
    spread(lab, o, " after the restart")
}

/// A drained relayd stops by itself this long after its traffic moved (its quiet period,
/// 1 s, after the agent's wait); generous.
const DRAIN_LIMIT: Duration = Duration::from_secs(40);

fn drain(lab: &mut AnycastLab, o: &mut Outcome) -> Result<()> {
    let ping = start_ping(lab, "d-ping.txt")?;
    let r3b = lab.relay(1)?;
    let asked = Instant::now();
    o.eq("relayctl drain on R3b", "draining\n".to_string(), r3b.request("drain")?);
    o.eq("R3b health while draining", "unhealthy: draining\n".to_string(), r3b.request("health")?);
    if let Some(t) = upstreams_use(&[0], CHANGE_LIMIT) {
        o.note(goal("both upstreams route to R3a alone after the drain", ms(t)));
    }
    record_upstreams(o, &[0], "after R3b's drain");
    let r3b = lab.relays[1].take().ok_or("R3b is not running")?;
    let log = r3b.log.clone();
    let stopped = r3b.wait_exit(DRAIN_LIMIT);
    o.note(format!("R3b stopped by itself {} ms after the drain", ms(asked.elapsed())));
    o.that("R3b stopped by itself, exit 0, pools full", stopped.pools_full(), stopped.to_string());
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let drained = text.lines().rev().find(|l| l.starts_with("relayd: drained: upstreams quiet for"));
    o.that("R3b's log: drained once its upstreams were quiet", drained.is_some(), drained.unwrap_or("no `relayd: drained:` line").to_string());
    lab.stopped.push(stopped);
    // Replies still in flight when R3b went.
    thread::sleep(Duration::from_millis(300));
    let p = stop_ping(ping)?;
    o.eq("A -> C pings lost across the drain", 0, p.lost());
    o.that("A -> C pings sent across the drain", p.transmitted >= 100, format!("{} in {} ms", p.transmitted, ms(asked.elapsed())));
    Ok(())
}

fn has_native(lab: &AnycastLab, i: usize) -> Result<Option<String>> {
    Ok(lab.relay(i)?.request("routes")?.lines().find(|l| l.starts_with(&format!("{NATIVE} "))).map(str::to_string))
}

fn native_route(lab: &mut AnycastLab, o: &mut Outcome) -> Result<()> {
    let want = |i: usize| format!("{NATIVE} via {} port 1 origin kernel/bird", RELAYS[i].up6);
    for i in 0..RELAYS.len() {
        o.eq(format!("{} routes: the upstream's prefix", RELAYS[i].name), Some(want(i)), has_native(lab, i)?);
    }
    let u6 = lab.u6()?;
    let start = Instant::now();
    u6.birdc(&format!("disable {NATIVE_PROTOCOL}"));
    let gone = sh::poll(CHANGE_LIMIT, || (0..RELAYS.len()).all(|i| matches!(has_native(lab, i), Ok(None))).then(|| start.elapsed()));
    o.that(format!("{NATIVE} withdrawn: gone from both relays' routes"), gone.is_some(), format!("{:?}", (0..RELAYS.len()).map(|i| has_native(lab, i)).collect::<Vec<_>>()));
    if let Some(t) = gone {
        o.note(goal("withdrawal at U6 to both relays' tables", ms(t)));
    }
    let start = Instant::now();
    lab.u6()?.birdc(&format!("enable {NATIVE_PROTOCOL}"));
    let back = sh::poll(CHANGE_LIMIT, || (0..RELAYS.len()).all(|i| matches!(has_native(lab, i), Ok(Some(_)))).then(|| start.elapsed()));
    for i in 0..RELAYS.len() {
        o.eq(format!("{} routes: the prefix announced again", RELAYS[i].name), Some(want(i)), has_native(lab, i)?);
    }
    if let Some(t) = back {
        o.note(goal("announcement at U6 to both relays' tables", ms(t)));
    }
    let p = probe::ping(NS_A, C.into(), 3, &[])?;
    o.eq("ping6 A -> C with the route back", 3, p.received);
    Ok(())
}

/// `19:32:39.982` (or `2026-12-04 19:32:39`) as milliseconds since midnight.
pub fn time_of_day_ms(since: &str) -> Option<u64> {
    let clock = since.split_whitespace().last()?;
    let mut parts = clock.split(':');
    let (h, m, s) = (parts.next()?.parse::<u64>().ok()?, parts.next()?.parse::<u64>().ok()?, parts.next()?.parse::<f64>().ok()?);
    Some((h * 3600 + m * 60) * 1000 + (s * 1000.0).round() as u64)
}

/// The flood in the background, with what it is judged against.
struct Flood {
    process: Process,
    started: Instant,
    stats: Stats,
    /// `since` of R3b's sessions at both ends before the flood.
    since: Vec<(String, String)>,
}

fn session_times(lab: &AnycastLab) -> Result<Vec<(String, String)>> {
    let r3b = &lab.relay_birds[1];
    let mut v: Vec<(String, String)> = SESSIONS.iter().map(|p| (format!("R3b BIRD {p}"), r3b.since(p))).collect();
    v.push(("U4 BIRD r3b".into(), lab.u4()?.since("r3b")));
    v.push(("U6 BIRD r3b".into(), lab.u6()?.since("r3b")));
    Ok(v)
}

impl Flood {
    fn start(lab: &AnycastLab) -> Result<Flood> {
        let since = session_times(lab)?;
        let stats = lab.relay(1)?.stats()?;
        let script = lab.dir.join("syn_flood.py");
        let args = [script.to_string_lossy().into_owned(), RELAYS[1].v4.to_string(), "179".into(), FLOOD_PPS.to_string(), FLOOD_SECONDS.to_string()];
        let process = Process::spawn(&lab.dir, "flood", Some(NS_ROGUE), &sh::python().to_string_lossy(), &args.iter().map(String::as_str).collect::<Vec<_>>())?;
        Ok(Flood { process, started: Instant::now(), stats, since })
    }

    fn finish(mut self, lab: &AnycastLab, o: &mut Outcome) -> Result<()> {
        let limit = Duration::from_secs(u64::from(FLOOD_SECONDS) + 30);
        let exited = sh::wait_child(&mut self.process.child, limit.saturating_sub(self.started.elapsed()));
        o.that("the flood ran to its end", exited.is_some_and(|s| s.success()), format!("{exited:?} after {} ms", ms(self.started.elapsed())));
        o.note(format!("flood: {FLOOD_PPS} SYNs/s for {FLOOD_SECONDS} s from {} to {}:179 (hold time 9 s)", plan::ROGUE, RELAYS[1].v4));
        let said = self.process.log_text();
        let sent: u64 = said.trim().strip_prefix("sent ").and_then(|n| n.parse().ok()).unwrap_or(0);
        o.that("SYNs sent", sent > 0, said.trim().to_string());
        // BIRD prints a monotonic time converted to wall-clock time, so the same instant can
        // read a millisecond apart; a reset session would read seconds later.
        for ((what, before), (_, after)) in self.since.iter().zip(session_times(lab)?) {
            let same = matches!((time_of_day_ms(before), time_of_day_ms(&after)), (Some(b), Some(a)) if a.abs_diff(b) < 1000);
            o.that(format!("{what}: up since before the flood (never reset)"), same, format!("{before} -> {after}"));
        }
        for (name, p) in SESSIONS.iter().map(|p| (format!("R3b BIRD {p}"), *p)) {
            o.eq(name, "Established".to_string(), lab.relay_birds[1].session(p));
        }
        let after = lab.relay(1)?.stats()?;
        let policed = delta(&self.stats, &after, "pipeline.drop_kernel_policed_other");
        o.that("R3b pipeline.drop_kernel_policed_other +", policed > 0 && policed <= sent, format!("{policed} of {sent} SYNs"));
        o.eq("R3b pipeline.drop_kernel_policed_peer +", 0, delta(&self.stats, &after, "pipeline.drop_kernel_policed_peer"));
        o.note(format!(
            "R3b passed {} packets to its kernel meanwhile (the flood's share is the policer's budget)",
            delta(&self.stats, &after, "pipeline.to_kernel")
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_hops_of_a_single_and_a_multipath_route() {
        assert_eq!(parse_next_hops("192.88.99.0/24 via 203.0.113.18 dev to-r3b proto bird metric 32 \n"), ["203.0.113.18"]);
        let multipath = "2002::/16 proto bird metric 32 pref medium\n\tnexthop via 2001:db8:fb::2 dev to-r3b weight 1 \n\tnexthop via 2001:db8:fa::2 dev to-r3a weight 1 \n";
        assert_eq!(parse_next_hops(multipath), ["2001:db8:fa::2", "2001:db8:fb::2"]);
        assert!(parse_next_hops("").is_empty());
    }

    #[test]
    fn bird_since_times() {
        assert_eq!(time_of_day_ms("19:32:39.982"), Some(70_359_982));
        assert_eq!(time_of_day_ms("2026-12-04 19:32:39"), Some(70_359_000));
        assert_eq!(time_of_day_ms(""), None);
        assert_eq!(time_of_day_ms("up"), None);
    }
}
