//! A relay-gen run: EAL, pool and ports up, links waited for, rates resolved, TX and RX loops
//! launched, the live line while they run, the drain wait, and the summary.
use std::collections::BTreeMap;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use relay::runtime::{launch_on_lcore, tsc_hz, wait_lcore, Eal, Mempool, Port, PortSpec};

use super::build::{Source, MAX_LEN};
use super::cli::{Plan, PortPlan, RateSpec, Traffic};
use super::engine::rx::{RxEngine, RxOutcome};
use super::engine::tx::{Calibration, Packets, TxEngine, TxOutcome, TxPort};
use super::engine::{run_loops, Idle, Shared, StreamInfo, StreamTable};
use super::mix::Kind;
use super::rate::{line_rate_pps, percent_of, Rate, FCS_LEN};
use super::report::{self, PortReport, SenderReport, Summary, TrafficInfo};
use super::traffic::format_mac;
use super::{pcap, stamp, stats};

/// Streams per TX port in generated mode: one per kind, id = port index · 4 + kind code.
const KINDS: u16 = 4;

type Outcomes = Arc<Mutex<(Option<TxOutcome>, Option<RxOutcome>)>>;

pub fn run(plan: Plan) -> Result<Summary, String> {
    let eal = Eal::init(&plan.eal).map_err(|e| format!("EAL: {e}"))?;
    let workers = eal.worker_lcores();
    if workers.is_empty() {
        return Err("--lcores: relay-gen needs at least one worker lcore besides the main one (e.g. --lcores=0@0,1@0)".into());
    }
    let hz = tsc_hz();
    // Any non-zero byte that differs from the last run's; written pcaps carry 0.
    let run_id = ((relay::runtime::rdtsc() >> 10) as u8).max(1);
    let replay = match &plan.traffic {
        Traffic::Replay { path } => Some(Arc::new(load_replay(path)?)),
        Traffic::Generated { .. } => None,
    };
    let tx_ports: Vec<&PortPlan> = plan.ports.iter().filter(|p| p.tx.is_some()).collect();
    let streams = stream_infos(&plan, &tx_ports, replay.as_deref());
    let table = Arc::new(StreamTable::new(streams.clone()));

    let pool_size = plan.ports.len() as u32 * 2 * u32::from(plan.desc) + 4096 + 256 * (workers.len() as u32 + 1);
    let pool = Arc::new(Mempool::new("relay-gen", pool_size, 256, -1).map_err(|e| e.to_string())?);
    let mut ports = Vec::new();
    for p in &plan.ports {
        let spec = PortSpec { name: p.ethdev.clone(), rx_queues: 1, tx_queues: 1, rx_desc: plan.desc, tx_desc: plan.desc, mac: p.mac, promiscuous: true };
        let port = Port::open(&spec, &pool).map_err(|e| {
            // A memif client's start fails when no server listens on its socket.
            let memif_client = p.device.contains("memif") && p.device.contains("role=client");
            let hint = if memif_client && e.what.ends_with(": start") { " (is the memif server, e.g. relayd, running?)" } else { "" };
            format!("--port {}: {e}{hint}", p.name)
        })?;
        ports.push(port);
    }
    wait_links(&plan, &ports)?;

    let mut tx_cfg = Vec::new();
    for (t, p) in tx_ports.iter().enumerate() {
        let port = ports.iter().find(|q| q.name() == p.ethdev).ok_or("TX port not opened")?;
        let packets = match (&plan.traffic, &replay) {
            (_, Some(frames)) => {
                let unstamped = streams.iter().position(|s| s.kind.is_none() && s.name.starts_with(&format!("{}/", p.name))).unwrap_or(usize::MAX);
                Packets::Replay { frames: frames.clone(), next: 0, seq: vec![0; streams.len()], unstamped, run: run_id }
            }
            (Traffic::Generated { mix, sizes, flows, addrs, src_mac_given }, None) => {
                let mut a = addrs.clone();
                if !src_mac_given {
                    a.src_mac = port.mac();
                }
                if let Some(mac) = p.dst_mac {
                    a.dst_mac = mac;
                }
                let kinds = mix.restricted(p.tx.as_deref().unwrap_or(&Kind::ALL));
                let src = Source::new(a, &kinds, *sizes, *flows, t as u16 * KINDS).ok_or("no traffic kind to send")?;
                Packets::Generated(src.with_run(run_id))
            }
            (Traffic::Replay { .. }, None) => return Err("replay frames missing".into()),
        };
        let (rate, calibration) = resolve_rate(&plan, p, port, &packets)?;
        tx_cfg.push(TxPort { name: p.name.clone(), port: port.id(), packets, rate, calibration });
    }
    let rx_ids: Vec<u16> = plan.ports.iter().zip(&ports).filter(|(p, _)| p.rx).map(|(_, q)| q.id()).collect();

    let shared = Arc::new(Shared::new(streams.len()));
    if rx_ids.is_empty() {
        shared.rx_ready.store(true, Release);
    }
    {
        let s = shared.clone();
        if let Err(e) = ctrlc::set_handler(move || s.stop_tx.store(true, Relaxed)) {
            eprintln!("relay-gen: Ctrl-C will not stop sending cleanly: {e}");
        }
    }
    let idle = Idle::from_us(plan.idle_sleep_us);
    let tx = TxEngine::new(tx_cfg, pool.clone(), table.clone(), hz, plan.duration, plan.count);
    let rx = (!rx_ids.is_empty()).then(|| RxEngine::new(rx_ids, table.clone(), hz, run_id));
    let outcomes: Outcomes = Arc::new(Mutex::new((None, None)));
    let mut launched = Vec::new();
    match (rx, workers.get(1)) {
        (Some(rx), Some(&rx_lcore)) => {
            launched.push(launch(&eal, workers[0], Some(tx), None, &shared, &outcomes, idle)?);
            launched.push(launch(&eal, rx_lcore, None, Some(rx), &shared, &outcomes, idle)?);
        }
        // One worker lcore (or nothing to receive): both loops interleaved on it.
        (rx, _) => launched.push(launch(&eal, workers[0], Some(tx), rx, &shared, &outcomes, idle)?),
    }

    monitor(&plan, &shared);
    shared.stop_rx.store(true, Release);
    for l in launched {
        wait_lcore(&eal, l);
    }
    let (tx_out, rx_out) = {
        let mut o = outcomes.lock().map_err(|_| "an lcore panicked")?;
        (o.0.take(), o.1.take())
    };
    let tx_out = tx_out.ok_or("the TX loop did not report")?;
    let mut summary = summarize(&plan, &ports, &streams, tx_out, rx_out, hz);
    for p in ports {
        p.close();
    }
    summary.mbufs_leaked = pool.in_use();
    drop(pool);
    Ok(summary)
}

fn launch(
    eal: &Eal,
    lcore: u32,
    tx: Option<TxEngine>,
    rx: Option<RxEngine>,
    shared: &Arc<Shared>,
    outcomes: &Outcomes,
    idle: Option<Idle>,
) -> Result<u32, String> {
    let (shared, outcomes) = (shared.clone(), outcomes.clone());
    launch_on_lcore(eal, lcore, move || {
        let (t, r) = run_loops(tx, rx, &shared, idle);
        if let Ok(mut o) = outcomes.lock() {
            if t.is_some() {
                o.0 = t;
            }
            if r.is_some() {
                o.1 = r;
            }
        }
        0
    })
    .map_err(|e| e.to_string())?;
    Ok(lcore)
}

/// Prints the live line each second until TX is done, then waits for the drain.
fn monitor(plan: &Plan, shared: &Shared) {
    let start = Instant::now();
    let mut last = (Instant::now(), stats::totals(&shared.live));
    while !shared.tx_done.load(Acquire) {
        std::thread::sleep(Duration::from_millis(20));
        let now = Instant::now();
        let interval = now.duration_since(last.0).as_secs_f64();
        if !plan.quiet && interval >= 1.0 {
            let t = stats::totals(&shared.live);
            let d_sent = (t.0 - last.1 .0.min(t.0), t.1 - last.1 .1.min(t.1));
            let d_recv = (t.2 - last.1 .2.min(t.2), t.3 - last.1 .3.min(t.3));
            eprintln!("{}", report::live_line(start.elapsed().as_secs_f64(), d_sent, d_recv, interval, (t.0, t.2), shared.rx_foreign()));
            last = (now, t);
        }
    }
    let drain = Instant::now();
    while drain.elapsed() < Duration::from_millis(plan.drain_ms) {
        std::thread::sleep(Duration::from_millis(5));
        let t = stats::totals(&shared.live);
        if t.2 >= t.0 {
            break;
        }
    }
}

fn wait_links(plan: &Plan, ports: &[Port]) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let down: Vec<&str> = plan.ports.iter().zip(ports).filter(|(_, p)| !p.link().up).map(|(c, _)| c.name.as_str()).collect();
        if down.is_empty() {
            return Ok(());
        }
        if start.elapsed().as_secs_f64() >= plan.link_wait_s {
            return Err(format!("link still down after {} s on port(s) {} (memif: is the peer running?)", plan.link_wait_s, down.join(", ")));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The TX rate of one port, or the calibration that will find it.
fn resolve_rate(plan: &Plan, p: &PortPlan, port: &Port, packets: &Packets) -> Result<(Rate, Option<Calibration>), String> {
    let pct = match plan.rate {
        RateSpec::Unlimited => return Ok((Rate::Unlimited, None)),
        RateSpec::Pps(n) => return Ok((Rate::Pps(n), None)),
        RateSpec::Percent(p) => p,
    };
    let link = port.link();
    let mbps = match plan.link_mbps {
        Some(m) => Some(m),
        // Only a PCI NIC's speed means anything; virtual devices report nominal numbers.
        None if p.is_pci && link.up && link.speed_mbps > 0 && link.speed_mbps != u32::MAX => Some(u64::from(link.speed_mbps)),
        None if p.is_pci => return Err(format!("--rate-percent: port {} reports no link speed; give --link-mbps", p.name)),
        None => None,
    };
    match mbps {
        Some(m) => Ok((Rate::Pps(percent_of(line_rate_pps(m, average_frame(packets)), pct)), None)),
        None => Ok((
            Rate::Unlimited,
            Some(Calibration { percent: pct, secs: plan.calibrate_ms as f64 / 1000.0, settle_secs: plan.drain_ms as f64 / 1000.0 }),
        )),
    }
}

/// Average frame size with FCS of what the port will send.
fn average_frame(packets: &Packets) -> f64 {
    match packets {
        Packets::Replay { frames, .. } => {
            frames.iter().map(|f| (f.len() + FCS_LEN) as f64).sum::<f64>() / frames.len().max(1) as f64
        }
        Packets::Generated(src) => {
            let mut probe = src.clone();
            let mut buf = vec![0u8; MAX_LEN];
            let lens: Vec<usize> = (0..1200).filter_map(|_| probe.next(0, &mut buf)).map(|(_, l)| l + FCS_LEN).collect();
            lens.iter().sum::<usize>() as f64 / lens.len().max(1) as f64
        }
    }
}

fn load_replay(path: &std::path::Path) -> Result<Vec<Vec<u8>>, String> {
    let frames = pcap::read(path).map_err(|e| format!("--pcap: {e}"))?;
    if frames.is_empty() {
        return Err(format!("--pcap: {} holds no packets", path.display()));
    }
    if let Some((i, f)) = frames.iter().enumerate().find(|(_, f)| f.len() > MAX_LEN || f.len() < 14) {
        return Err(format!("--pcap: record {i} is {} bytes; relay-gen replays 14..={MAX_LEN}-byte frames", f.len()));
    }
    Ok(frames)
}

/// The streams: per TX port and kind, or per stamp found in the replayed pcap (plus one
/// "unstamped" pseudo-stream per TX port when some frames carry no stamp).
fn stream_infos(plan: &Plan, tx_ports: &[&PortPlan], replay: Option<&Vec<Vec<u8>>>) -> Vec<StreamInfo> {
    match (&plan.traffic, replay) {
        (_, Some(frames)) => {
            let mut found: BTreeMap<u16, Option<Kind>> = BTreeMap::new();
            let mut unstamped = false;
            for f in frames {
                match stamp::read(f) {
                    Some(s) if s.stream != stamp::CALIBRATION_STREAM => {
                        found.insert(s.stream, Kind::from_code(s.kind));
                    }
                    _ => unstamped = true,
                }
            }
            let mut out: Vec<StreamInfo> = found
                .into_iter()
                .map(|(id, kind)| StreamInfo { id, name: format!("pcap/{}#{id}", kind.map_or("?", Kind::name)), kind: Some(kind.unwrap_or(Kind::Transit)) })
                .collect();
            if unstamped {
                out.extend(tx_ports.iter().map(|p| StreamInfo { id: 0, name: format!("{}/unstamped", p.name), kind: None }));
            }
            out
        }
        (Traffic::Generated { mix, .. }, None) => tx_ports
            .iter()
            .enumerate()
            .flat_map(|(t, p)| {
                mix.restricted(p.tx.as_deref().unwrap_or(&Kind::ALL))
                    .into_iter()
                    .map(move |(k, _)| StreamInfo { id: t as u16 * KINDS + u16::from(k.code()), name: format!("{}/{}", p.name, k), kind: Some(k) })
            })
            .collect(),
        (Traffic::Replay { .. }, None) => Vec::new(),
    }
}

fn summarize(plan: &Plan, ports: &[Port], infos: &[StreamInfo], tx: TxOutcome, rx: Option<RxOutcome>, hz: u64) -> Summary {
    let secs = tx.end_tsc.saturating_sub(tx.start_tsc) as f64 / hz.max(1) as f64;
    let rx_streams = rx.as_ref().map(|r| r.streams.as_slice()).unwrap_or(&[]);
    let streams = report::streams(infos, &tx.sent, rx_streams);
    let sent_bytes = tx.sent.iter().map(|s| s.1).sum();
    let port_reports = plan
        .ports
        .iter()
        .zip(ports)
        .map(|(c, p)| {
            let st = p.stats();
            let link = p.link();
            let sender = tx.ports.iter().find(|r| r.name == c.name).map(|r| SenderReport {
                sent: r.sent,
                dropped: r.dropped,
                alloc_failed: r.alloc_failed,
                skipped_deadlines: r.skipped_deadlines,
                rate_pps: r.pps,
                calibrated_max_pps: r.calibrated_max_pps,
                calibration_sent: r.calibration_sent,
            });
            PortReport {
                name: c.name.clone(),
                device: c.device.clone(),
                mac: format_mac(&p.mac()),
                tx: c.tx.is_some(),
                rx: c.rx,
                link_up: link.up,
                speed_mbps: link.speed_mbps,
                ipackets: st.ipackets,
                opackets: st.opackets,
                ibytes: st.ibytes,
                obytes: st.obytes,
                imissed: st.imissed,
                ierrors: st.ierrors,
                oerrors: st.oerrors,
                rx_nombuf: st.rx_nombuf,
                sender,
            }
        })
        .collect();
    let traffic = match &plan.traffic {
        Traffic::Generated { mix, sizes, flows, addrs, src_mac_given } => TrafficInfo {
            mode: "generated",
            mix: Some(*mix),
            sizes: Some(*sizes),
            flows: Some(*flows),
            addresses: Some(addrs.clone()),
            src_mac_from_port: !src_mac_given,
            pcap: None,
        },
        Traffic::Replay { path } => TrafficInfo {
            mode: "replay",
            mix: None,
            sizes: None,
            flows: None,
            addresses: None,
            src_mac_from_port: false,
            pcap: Some(path.display().to_string()),
        },
    };
    Summary {
        tool: "relay-gen",
        version: env!("CARGO_PKG_VERSION"),
        tsc_hz: hz,
        duration_s: secs,
        traffic,
        ports: port_reports,
        total: report::totals(&streams, sent_bytes, secs),
        streams,
        rx_foreign: rx.as_ref().map_or(0, |r| r.foreign),
        rx_calibration: rx.as_ref().map_or(0, |r| r.calibration),
        mbufs_leaked: 0,
    }
}
