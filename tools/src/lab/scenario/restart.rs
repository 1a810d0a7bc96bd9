//! Scenario 6: the relay restarts under traffic. A pings C throughout; R3 is stopped
//! (SIGTERM: its pools must be full), started again on the same configuration and plugged
//! back in. The pings resume, and nothing else noticed: R1 and R2 are the same processes
//! and A <-> B and C -> A still work.
use std::time::Duration;

use super::super::probe::{self, Background};
use super::super::sh::{self, Result};
use super::super::topology::RouterId;
use super::super::Lab;
use super::Outcome;

/// Generous: a loaded CI machine starts relayd in seconds, not minutes.
const RESUME_LIMIT: Duration = Duration::from_secs(60);

pub fn restart(lab: &mut Lab, o: &mut Outcome) -> Result<()> {
    let (a, b, c) = (lab.topology.a().clone(), lab.topology.b().clone(), lab.topology.c().clone());
    let others = [lab.relayd(RouterId::R1)?.pid, lab.relayd(RouterId::R2)?.pid];
    let old_r3 = lab.relayd(RouterId::R3)?.pid;

    let ping = Background::ping(a.netns, c.addr, &lab.runtime.dir.join("s6-ping.txt"))?;
    let before = sh::poll(RESUME_LIMIT, || {
        let seqs = probe::reply_seqs(&ping.text());
        (seqs.len() >= 5).then_some(seqs)
    });
    o.that("A -> C pings answered before the restart", before.is_some(), format!("{:?}", before.as_deref().map(<[u32]>::len)));

    let stopped = lab.restart(RouterId::R3)?;
    o.that("the old R3 stopped with its pools full", stopped.pools_full(), stopped.to_string());
    let new_r3 = lab.relayd(RouterId::R3)?.pid;
    o.that("R3 runs again as a new process", new_r3 != old_r3, format!("pid {old_r3} -> {new_r3}"));

    // Replies to requests sent after R3 came back.
    let last_before = probe::reply_seqs(&ping.text()).into_iter().max().unwrap_or(0);
    let resumed = sh::poll(RESUME_LIMIT, || {
        let after: Vec<u32> = probe::reply_seqs(&ping.text()).into_iter().filter(|&s| s > last_before).collect();
        (after.len() >= 3).then_some(after)
    });
    let output = ping.stop();
    o.that(
        "A -> C pings resumed after the restart",
        resumed.is_some(),
        resumed.map_or_else(|| format!("no reply after icmp_seq {last_before}:\n{output}"), |s| format!("replies {s:?}")),
    );

    o.that("R1 and R2 kept running (same processes)", others.iter().all(|&p| sh::alive(p)), format!("pids {others:?}"));
    for id in [RouterId::R1, RouterId::R2, RouterId::R3] {
        o.that(format!("{id} answers stats"), lab.stats(id).is_ok(), "control socket");
    }
    let p = probe::ping(a.netns, b.addr, 3, &[])?;
    o.eq("ping6 A -> B after the restart: replies", 3, p.received);
    let p = probe::ping(c.netns, a.addr, 3, &[])?;
    o.eq("ping6 C -> A after the restart: replies", 3, p.received);
    Ok(())
}
