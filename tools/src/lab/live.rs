//! The live view: every second, one line per router from its control socket's `stats`:
//! receive and transmit rates, drops per second and the reasons behind them.
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::relayd::Stats;
use super::topology::RouterId;
use super::Lab;

/// One router's line from two `stats` snapshots `dt` apart.
pub fn line(id: RouterId, what: &str, prev: &Stats, now: &Stats, dt: Duration) -> String {
    let secs = dt.as_secs_f64().max(1e-3);
    let get = |s: &Stats, k: &str| s.get(k).copied().unwrap_or(0);
    let rate = |k: &str| get(now, k).saturating_sub(get(prev, k)) as f64 / secs;
    let top = |base: Option<&Stats>| -> String {
        let mut drops: Vec<(&str, u64)> = now
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("pipeline.drop_")?, v.saturating_sub(base.map_or(0, |b| get(b, k))))))
            .filter(|(_, d)| *d > 0)
            .collect();
        drops.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let top: Vec<String> = drops.iter().take(3).map(|(n, d)| format!("{n} {d}")).collect();
        if top.is_empty() { String::new() } else { format!(" [{}]", top.join(", ")) }
    };
    let fmt_rate = |pps: f64| if pps >= 100_000.0 { format!("{:.3} Mpps", pps / 1e6) } else { format!("{pps:.0} pps") };
    format!(
        "{id} {what:<6} rx {:>10}  tx {:>10}  drops {:.0}/s{}  since start {}{}",
        fmt_rate(rate("rx_packets")),
        fmt_rate(rate("tx_packets")),
        rate("pipeline_dropped"),
        top(Some(prev)),
        get(now, "pipeline_dropped"),
        top(None),
    )
}

/// Prints the view every second until `stop` is set. On a terminal the block is redrawn
/// in place; otherwise it scrolls.
pub fn run(lab: &Lab, stop: &AtomicBool) {
    let tty = std::io::stdout().is_terminal();
    let ids = RouterId::ALL;
    let mut prev: Vec<Stats> = ids.iter().map(|&id| lab.stats(id).unwrap_or_default()).collect();
    let mut at = Instant::now();
    let mut drawn = false;
    let started = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let tick = Instant::now();
        while tick.elapsed() < Duration::from_secs(1) && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let dt = at.elapsed();
        at = Instant::now();
        let mut out = String::new();
        if tty && drawn {
            out.push_str(&format!("\x1b[{}A", ids.len()));
        }
        for (i, &id) in ids.iter().enumerate() {
            let what = match id {
                RouterId::R3 => "relay",
                RouterId::R4 => "tunnel",
                RouterId::R5 => "6rd CE",
                _ => "router",
            };
            let text = match lab.stats(id) {
                Ok(now) => {
                    let l = line(id, what, &prev[i], &now, dt);
                    prev[i] = now;
                    l
                }
                Err(e) => format!("{id} {what:<6} no answer: {e}"),
            };
            match tty {
                true => out.push_str("\x1b[2K"),
                false => out.push_str(&format!("[{:>5}s] ", started.elapsed().as_secs())),
            }
            out.push_str(&text);
            out.push('\n');
        }
        drawn = true;
        let mut so = std::io::stdout().lock();
        let _ = so.write_all(out.as_bytes());
        let _ = so.flush();
    }
}
