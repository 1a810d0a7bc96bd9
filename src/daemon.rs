//! relayd's life: bring-up (EAL, pool, ports, tables, workers), the control core's loop, and
//! shutdown with the pool check.
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam::queue::ArrayQueue;
use relay::pipeline::{self, Pipeline};
use relay::runtime::control::{ControlPlane, WorkerLink};
use relay::runtime::stats::{StatsHub, WorkerStats};
use relay::runtime::worker::{self, Forwarding, IdleBackoff, WorkerSpec};
use relay::runtime::{launch_on_lcore, telemetry, wait_lcore, Eal, Mbuf, Mempool, Port, PortSpec};

use crate::tunnel_stats::TunnelStats;
use crate::config::{Mode, Plan, PUNT_RING};
use crate::drain::{Cause, Drain};
use crate::health::{HealthTracker, LinkView, Problem, WorkerView};
use crate::ctl::{Access, ControlSocket, Request, Response, SocketCounters, HELP};
use crate::kernel::fib::{routes_with_origin, FibMirror};
use crate::kernel::tap::ControlTaps;
use crate::prom::Exporter;

pub struct Options {
    pub config_path: Option<PathBuf>,
    pub offline: bool,
    pub stats_interval: u64,
    pub duration: u64,
    pub leak_one_mbuf: bool,
    pub eal_extra: Vec<String>,
}

pub enum Exit {
    Clean,
    Leaked(u32),
}

/// `--check`: the plan as relayd would run it, without starting anything.
pub fn check(plan: &Plan, opts: &Options) -> Result<String, String> {
    plan.config.pipeline.build(plan.ports.len()).map_err(|e| e.to_string())?;
    let mut s = String::new();
    let _ = writeln!(s, "config ok");
    let _ = writeln!(s, "eal: {}", plan.eal_args(&opts.eal_extra).join(" "));
    let _ = writeln!(s, "mempool: {} mbufs", plan.mempool_size);
    for (i, p) in plan.ports.iter().enumerate() {
        let _ = writeln!(s, "port {i} {}: {} rx queues, {} tx queues, device {}", p.name, p.rx_queues, p.tx_queues, p.device);
    }
    for (i, w) in plan.workers.iter().enumerate() {
        let _ = writeln!(s, "worker {i}: lcore {} on cpu {}, rx {:?}", i + 1, w.cpu, w.rx);
    }
    Ok(s)
}

/// Everything the control core owns while relayd runs.
struct Running {
    control: ControlPlane,
    hub: Arc<StatsHub>,
    punt: Vec<Arc<ArrayQueue<Mbuf>>>,
    inject: Vec<Arc<ArrayQueue<(u16, Mbuf)>>>,
    slow_path: crate::slowpath::SlowCore,
    /// Per configured tunnel, summed over the workers (`tunnel stats`).
    tunnel_stats: TunnelStats,
    /// The kernel table relayd follows, if `[routing] kernel_table` is set.
    fib: Option<FibMirror>,
    settings: pipeline::Settings,
    config_path: Option<PathBuf>,
    health: HealthTracker,
    /// `relayctl drain` or a signal with `[control] drain_s`: unhealthy from then on, and
    /// relayd stops once the upstreams have moved the flows.
    drain: Option<Drain>,
    drain_plan: DrainPlan,
}

/// How a drain runs, from `[control]`.
struct DrainPlan {
    quiet: Duration,
    /// The limit of a signal drain; None: a signal stops at once.
    on_signal: Option<Duration>,
    /// The limit of `relayctl drain`.
    on_request: Duration,
    data_plane: DataPlane,
}

/// Which worker counters are packets carried for others: what the upstreams still send
/// this relay while they converge. Control-plane packets are left out (punts: ARP, ND, echo;
/// to_kernel: BGP, BFD): the sessions stay up through a drain and say nothing about the flows.
enum DataPlane {
    /// The pipeline counters forwarded, encapsulated and decapsulated (their indices).
    Pipeline(Vec<usize>),
    /// Pass-through forwards everything it receives.
    Received,
}

impl DrainPlan {
    fn new(plan: &Plan, pipeline_names: &[&'static str]) -> DrainPlan {
        let c = &plan.config.control;
        let limit = (c.drain_s > 0).then(|| Duration::from_secs(c.drain_s));
        let data_plane = match plan.config.runtime.mode {
            Mode::Passthrough => DataPlane::Received,
            Mode::Pipeline => DataPlane::Pipeline(
                [pipeline::Event::Forwarded, pipeline::Event::Encapsulated, pipeline::Event::Decapsulated]
                    .iter()
                    .filter_map(|e| pipeline_names.iter().position(|n| *n == e.name()))
                    .collect(),
            ),
        };
        DrainPlan {
            quiet: Duration::from_millis(c.drain_quiet_ms),
            on_signal: limit,
            on_request: limit.unwrap_or(crate::drain::REQUEST_LIMIT),
            data_plane,
        }
    }

    /// The data-plane packets of every worker so far.
    fn packets(&self, hub: &StatsHub) -> u64 {
        hub.workers()
            .iter()
            .map(|w| match &self.data_plane {
                DataPlane::Received => w.get("rx_packets").unwrap_or(0),
                DataPlane::Pipeline(at) => {
                    let values = w.pipeline_values();
                    at.iter().filter_map(|&i| values.get(i)).fold(0u64, |sum, v| sum.wrapping_add(*v))
                }
            })
            .fold(0u64, u64::wrapping_add)
    }
}

pub fn run(plan: Plan, opts: Options) -> Result<Exit, String> {
    // Validate the pipeline config before touching DPDK: nothing starts half-way.
    let (settings, tables) = plan.config.pipeline.build(plan.ports.len()).map_err(|e| e.to_string())?;
    let tables = Arc::new(tables);
    // The control socket and the Prometheus endpoint next, before DPDK: a path in use or an
    // address taken stops relayd before it touches a port. Clients that connect during the
    // bring-up wait in the listen backlog.
    let (socket, exporter) = bind_endpoints(&plan)?;

    let eal_args = plan.eal_args(&opts.eal_extra);
    println!("relayd: EAL {}", eal_args[1..].join(" "));
    let eal = Eal::init(&eal_args).map_err(|e| e.to_string())?;
    let lcores = eal.worker_lcores();
    if lcores.len() != plan.workers.len() {
        return Err(format!("the EAL has {} worker lcores, the config {} workers", lcores.len(), plan.workers.len()));
    }
    if eal.port_count() as usize != plan.ports.len() {
        return Err(format!(
            "the EAL probed {} ports, the config lists {} (check the PCI addresses and their driver binding)",
            eal.port_count(),
            plan.ports.len()
        ));
    }
    // A reassembled datagram is written into its last fragment's mbuf: size them for it
    // (L2 header with an 802.1Q tag included). The default 1520 fits DPDK's default room.
    let frame_room = settings.reassembly.max_datagram as usize + 18;
    let pool = Mempool::with_frame_room("relay_pool", plan.mempool_size, plan.config.runtime.mempool_cache, -1, frame_room)
        .map_err(|e| e.to_string())?;
    // Shared with the slow path, which builds ARP/ND frames in it.
    let pool = Arc::new(pool);
    println!("relayd: mempool {} mbufs (cache {} per lcore)", pool.size(), plan.config.runtime.mempool_cache);

    let mut ports = Vec::new();
    for (i, p) in plan.ports.iter().enumerate() {
        let c = &plan.config.ports[i];
        let spec = PortSpec {
            name: p.ethdev.clone(),
            rx_queues: p.rx_queues,
            tx_queues: p.tx_queues,
            rx_desc: c.rx_desc,
            tx_desc: c.tx_desc,
            mac: p.mac,
            promiscuous: c.promiscuous,
        };
        let port = Port::open(&spec, &pool).map_err(|e| e.to_string())?;
        if port.id() as usize != i {
            return Err(format!(
                "port[{i}] {} got ethdev id {}: list ports in DPDK probe order (PCI by address, then vdevs in order)",
                p.name,
                port.id()
            ));
        }
        let link = port.link();
        println!(
            "relayd: port {i} {:<8} {} driver {} mac {} link {} {} Mb/s, {} rx / {} tx queues{}",
            p.name,
            p.ethdev,
            port.driver(),
            fmt_mac(port.mac()),
            if link.up { "up" } else { "down" },
            link.speed_mbps,
            p.rx_queues,
            p.tx_queues,
            if port.rss() { ", RSS on IP" } else { "" }
        );
        if port.software_mac() {
            println!("relayd: port {i} {}: the device cannot set its MAC; using it in software, promiscuous", p.name);
        }
        ports.push(port);
    }
    let macs: Vec<[u8; 6]> = ports.iter().map(Port::mac).collect();

    let stop = Arc::new(AtomicBool::new(false));
    // Signals are counted, not acted on here: the control loop drains first when
    // `[control] drain_s` asks for it, and a second signal stops at once.
    let signals = Arc::new(AtomicU32::new(0));
    {
        let signals = signals.clone();
        // The count first: the note may block on a stdout nobody reads, and must not panic
        // on one that is closed.
        ctrlc::set_handler(move || {
            signals.fetch_add(1, SeqCst);
            let _ = writeln!(std::io::stdout(), "relayd: signal received, stopping");
        })
        .map_err(|e| format!("signal handler: {e}"))?;
    }

    let pipeline_names: Vec<&'static str> = pipeline::Counters::default().iter().map(|(n, _)| n).collect();
    let drain_plan = DrainPlan::new(&plan, &pipeline_names);
    if let Some(w) = plan.config.control.drain_warning() {
        println!("relayd: warning: {w}");
    }
    // The control TAPs before the workers start: a name in use stops relayd here.
    let taps = ControlTaps::open(&settings, &macs).map_err(|e| e.to_string())?;
    for (name, port) in taps.names() {
        println!("relayd: port {port} control TAP {name} (the routing daemon's interface)");
    }
    let mut links = Vec::new();
    let mut tunnel_counters = Vec::new();
    let mut punt = Vec::new();
    let mut inject = Vec::new();
    let mut kernel = Vec::new();
    for (i, w) in plan.workers.iter().enumerate() {
        println!("relayd: worker {i} = lcore {} on cpu {} polling {}", lcores[i], w.cpu, describe_rx(&plan, &w.rx));
        let stats = Arc::new(WorkerStats::new(lcores[i], w.cpu as i32, pipeline_names.len()));
        links.push(WorkerLink::new(stats));
        punt.push(Arc::new(ArrayQueue::new(PUNT_RING)));
        inject.push(Arc::new(ArrayQueue::new(PUNT_RING)));
        kernel.push(Arc::new(ArrayQueue::new(PUNT_RING)));
    }
    println!("relayd: control core = main lcore {} on cpu {}", eal.main_lcore(), plan.config.cores.control);
    let hub = Arc::new(StatsHub::new(
        links.iter().map(|l| l.stats.clone()).collect(),
        pipeline_names,
        plan.ports.iter().enumerate().map(|(i, p)| (i as u16, p.name.clone())).collect(),
    ));
    if plan.config.control.telemetry {
        telemetry::register(hub.clone())?;
    }

    let rt = &plan.config.runtime;
    let idle = (rt.idle_sleep_us > 0).then(|| IdleBackoff {
        after_empty_polls: rt.idle_after_polls,
        sleep: Duration::from_micros(rt.idle_sleep_us),
    });
    for (i, w) in plan.workers.iter().enumerate() {
        let forwarding = match rt.mode {
            Mode::Passthrough => Forwarding::PassThrough { map: plan.forward.clone() },
            Mode::Pipeline => {
                let mut p = Pipeline::new(settings.clone(), &macs);
                tunnel_counters.push(p.tunnel_counters());
                // Workers sending to the same endpoint must not repeat IPv4 identifications soon.
                p.set_ident_base((i as u16) << 12);
                Forwarding::Pipeline(Box::new(p))
            }
        };
        let spec = WorkerSpec {
            index: i,
            rx: w.rx.clone(),
            tx_ports: (0..ports.len() as u16).collect(),
            forwarding,
            tables: tables.clone(),
            idle,
            drain: Duration::from_micros(rt.drain_us),
            link: links[i].clone(),
            punt: punt[i].clone(),
            inject: inject[i].clone(),
            kernel: kernel[i].clone(),
            stop: stop.clone(),
            burst: rt.burst,
        };
        launch_on_lcore(&eal, lcores[i], move || worker::run(spec)).map_err(|e| e.to_string())?;
    }

    if opts.leak_one_mbuf {
        if let Some(m) = pool.alloc() {
            std::mem::forget(m);
        }
    }

    let interfaces = taps.interfaces();
    let slow_path = crate::slowpath::SlowCore::new(&settings, &macs, pool.clone(), &punt, &inject, &kernel, taps, !opts.offline);
    let mut control = ControlPlane::new(tables, links);
    let fib = match plan.config.routing.kernel_table {
        0 => None,
        table => match FibMirror::open(table, interfaces, &mut control) {
            Ok(m) => {
                println!("relayd: fib: mirroring kernel table {table}: {} routes", m.installed());
                Some(m)
            }
            Err(e) => {
                stop.store(true, SeqCst);
                for &l in &lcores {
                    wait_lcore(&eal, l);
                }
                return Err(format!("fib: kernel table {table}: {e}"));
            }
        },
    };
    let mut running = Running {
        control,
        hub,
        punt,
        inject,
        slow_path,
        tunnel_stats: TunnelStats::new(tunnel_counters),
        fib,
        settings,
        config_path: opts.config_path.clone(),
        health: HealthTracker::default(),
        drain: None,
        drain_plan,
    };
    let outcome = control_loop(&plan, &opts, &mut running, &signals, socket, exporter);

    // Shutdown: workers finish their burst and free what they hold, then ports stop (drivers
    // free their rings), then every queue we own is emptied; the pool must be full again.
    stop.store(true, SeqCst);
    for &l in &lcores {
        wait_lcore(&eal, l);
    }
    running.control.reap();
    for q in running.punt.iter() {
        while q.pop().is_some() {}
    }
    for q in running.inject.iter() {
        while q.pop().is_some() {}
    }
    running.slow_path.shutdown();
    let final_stats = running.hub.snapshot();
    for p in ports {
        p.close();
    }
    print_final(&final_stats, running.slow_path.counters());
    outcome?;
    let missing = pool.in_use();
    if missing > 0 {
        std::mem::forget(pool); // freeing it would pull buffers from under their owners
        return Ok(Exit::Leaked(missing));
    }
    println!("relayd: mempool full again ({} of {} mbufs): no leak", pool.available(), pool.size());
    Ok(Exit::Clean)
}

/// The control core naps when idle: briefly right after work (punted packets and requests
/// come in runs), doubling up to `NAP_MAX` while nothing happens. An idle control core then
/// wakes 200 times a second instead of 5000; every wake-up preempts whatever shares its CPU
/// (a traffic generator, another instance), which showed in their latency tails. ARP, ND and
/// control requests wait at most `NAP_MAX`.
const NAP_MIN: Duration = Duration::from_micros(200);
const NAP_MAX: Duration = Duration::from_millis(5);

fn bind_endpoints(plan: &Plan) -> Result<(ControlSocket, Option<Exporter>), String> {
    let timeout = Duration::from_secs(plan.config.control.client_timeout_s);
    let socket = ControlSocket::bind(std::path::Path::new(&plan.socket), Access { gid: plan.socket_gid }, timeout)
        .map_err(|e| e.to_string())?;
    let group = plan.socket_gid.map_or(String::from("relayd's own group"), |g| format!("group {} ({g})", plan.config.control.socket_group));
    println!("relayd: control socket {} (mode 0660, {group})", plan.socket);
    let exporter = match plan.prometheus {
        None => None,
        Some(addr) => {
            let e = Exporter::bind(addr)?;
            let at = e.local_addr().unwrap_or(addr);
            let exposure = if at.ip().is_loopback() { "" } else { " (not loopback: reachable from the network, unauthenticated)" };
            println!("relayd: prometheus on http://{at}/metrics{exposure}");
            Some(e)
        }
    };
    Ok((socket, exporter))
}

fn control_loop(
    plan: &Plan,
    opts: &Options,
    r: &mut Running,
    signals: &AtomicU32,
    mut socket: ControlSocket,
    mut exporter: Option<Exporter>,
) -> Result<(), String> {
    let offline_total = if opts.offline { Some(offline_input(plan)?) } else { None };
    if let Some(total) = offline_total {
        println!("relayd: offline: {total} packets to read");
    }
    let started = Instant::now();
    let mut last_line = Instant::now();
    let mut last_snap = r.hub.snapshot();
    let mut offline_done_at: Option<Instant> = None;
    let mut nap = NAP_MIN;
    let mut route_count = crate::prom::RouteCount::default();

    loop {
        // The first signal drains if `drain_s` asks for it (a drain already under way from
        // `relayctl drain` goes on); a second one, or any with `drain_s = 0`, stops at once.
        match (signals.load(SeqCst), r.drain_plan.on_signal) {
            (0, _) => {}
            (1, Some(limit)) => {
                if r.drain.is_none() {
                    begin_drain(r, Cause::Signal, limit);
                }
            }
            _ => break,
        }
        let now = Instant::now();
        if r.health.due(now) {
            r.health.observe(&worker_views(r), r.control.generation(), now);
            if plan.config.control.telemetry {
                telemetry::set_health(&crate::health::verdict(&health(r)));
            }
            // Sampled with the heartbeats (every 10 ms): far finer than any quiet period.
            let packets = r.drain.is_some().then(|| r.drain_plan.packets(&r.hub));
            if let (Some(d), Some(packets)) = (&mut r.drain, packets) {
                let verdict = d.observe(packets, now);
                if let Some(line) = verdict.line() {
                    println!("{line}");
                    break;
                }
            }
        }
        let mut busy = slow_path(r);
        if let Some(f) = &mut r.fib {
            busy |= f.poll(&mut r.control);
        }
        // Neither waits on a client: the rings are served every turn, whatever connects.
        busy |= socket.poll(|req, counters| handle(r, req, counters));
        if let Some(e) = &mut exporter {
            busy |= e.poll(|| metrics(r, &mut route_count));
        }
        busy |= r.control.reap() > 0;
        if opts.stats_interval > 0 && last_line.elapsed() >= Duration::from_secs(opts.stats_interval) {
            let snap = r.hub.snapshot();
            println!("{}", live_line(&last_snap, &snap, last_line.elapsed()));
            last_snap = snap;
            last_line = Instant::now();
        }
        if opts.duration > 0 && started.elapsed() >= Duration::from_secs(opts.duration) {
            break;
        }
        if let Some(total) = offline_total {
            let snap = r.hub.snapshot();
            let received = snap.runtime("rx_packets");
            let pending = snap.runtime("punted") > snap.runtime("injected") + snap.runtime("punt_dropped") + slow_path_dropped(r);
            if received >= total && !pending {
                // Every input packet is in; give the workers a few drain periods to send.
                let done = *offline_done_at.get_or_insert_with(Instant::now);
                if done.elapsed() > Duration::from_millis(20) {
                    break;
                }
            }
        }
        if busy {
            nap = NAP_MIN;
        } else {
            std::thread::sleep(nap);
            nap = (nap * 2).min(NAP_MAX);
        }
    }
    Ok(())
}

/// `GET /metrics`: the workers' and ports' counters, then the control core's own figures.
fn metrics(r: &Running, routes: &mut crate::prom::RouteCount) -> String {
    let figures =
        crate::prom::ControlFigures {
            control: &r.control,
            slow_path: &r.slow_path,
            punt: &r.punt,
            inject: &r.inject,
            fib: r.fib.as_ref(),
        };
    r.hub.snapshot().to_prometheus() + &figures.to_prometheus(routes) + &crate::health::to_prometheus(&health(r))
}

fn worker_views(r: &Running) -> Vec<WorkerView> {
    r.hub
        .workers()
        .iter()
        .map(|w| WorkerView {
            running: w.running.load(SeqCst),
            polls: w.get("polls").unwrap_or(0),
            generation: w.generation.load(SeqCst),
        })
        .collect()
}

/// What is wrong with this relay now (empty: healthy).
fn health(r: &Running) -> Vec<Problem> {
    let links: Vec<LinkView> =
        r.hub.ports().iter().map(|(id, name)| LinkView { name: name.clone(), up: Port::link_of(*id).up }).collect();
    r.health.judge(&worker_views(r), &links, r.control.generation(), r.drain.is_some(), Instant::now())
}

fn slow_path_dropped(r: &Running) -> u64 {
    r.slow_path.dropped()
}

/// Handles what the workers punted (replies, resolution, learning) and the slow path's timers.
fn slow_path(r: &mut Running) -> bool {
    r.slow_path.poll(&mut r.control)
}

fn handle(r: &mut Running, req: Request, socket: &SocketCounters) -> Response {
    match req {
        Request::Help => Response::ok(HELP),
        Request::Ping => Response::ok("pong"),
        Request::Stats => {
            let mut text = r.hub.snapshot().to_text();
            for (n, v) in r.slow_path.counters().iter() {
                let _ = writeln!(text, "slowpath.{n} {v}");
            }
            for (n, v) in socket.iter() {
                let _ = writeln!(text, "control.{n} {v}");
            }
            for (n, v) in r.slow_path.taps().counters().values() {
                let _ = writeln!(text, "tap.{n} {v}");
            }
            if let Some(f) = &r.fib {
                for (n, v) in f.counters().values() {
                    let _ = writeln!(text, "fib.{n} {v}");
                }
            }
            Response::ok(text)
        }
        Request::Routes => Response::ok(routes_with_origin(r.control.tables(), r.fib.as_ref())),
        Request::Tunnels => Response::ok(r.control.tables().tunnels_text()),
        Request::TunnelStats => Response::ok(r.tunnel_stats.text(r.control.tables())),
        Request::Groups => Response::ok(r.control.tables().groups_text()),
        Request::Neigh => Response::ok(r.slow_path.neighbours_text(r.control.tables())),
        Request::Generation => Response::ok(format!(
            "generation {}\napplied {}",
            r.control.generation(),
            r.control.applied_generation()
        )),
        Request::Audit => match r.control.audit(Duration::from_secs(10)) {
            Ok(n) => Response::ok(format!("workers {n} consistent\ngeneration {}", r.control.generation())),
            Err(e) => Response::error(e),
        },
        Request::Route(line) => route_changes(r, &[line]),
        Request::Batch(lines) => route_changes(r, &lines),
        Request::Reload => reload(r),
        Request::Health => Response::ok(crate::health::verdict(&health(r))),
        Request::Drain => {
            // Started before the answer goes out: once `drain` returns, every later `health`
            // says `unhealthy: draining`. A second `drain` changes nothing.
            if r.drain.is_none() {
                let limit = r.drain_plan.on_request;
                begin_drain(r, Cause::Request, limit);
            }
            Response::ok("draining")
        }
    }
}

fn begin_drain(r: &mut Running, cause: Cause, limit: Duration) {
    let plan = &r.drain_plan;
    let d = Drain::start(Instant::now(), plan.packets(&r.hub), plan.quiet, crate::drain::AGENT_WAIT, limit);
    println!(
        "relayd: draining: {}; unhealthy: draining until no data-plane packet for {} ms (after the agent's {} ms), at most {} s, then stopping",
        match cause {
            Cause::Request => "relayctl drain",
            Cause::Signal => "signal received",
        },
        plan.quiet.as_millis(),
        crate::drain::AGENT_WAIT.as_millis(),
        crate::drain::secs(d.limit())
    );
    r.drain = Some(d);
}

fn route_changes(r: &mut Running, lines: &[String]) -> Response {
    let mut updates = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let text = l.trim().strip_prefix("route").unwrap_or(l).trim();
        match pipeline::parse_route_command(text, &r.settings) {
            Ok(u) => updates.push(u),
            Err(e) if lines.len() > 1 => return Response::error(format!("line {}: {e}", i + 1)),
            Err(e) => return Response::error(e.to_string()),
        }
    }
    let prefixes: Vec<crate::kernel::fib::Prefix> = updates
        .iter()
        .filter_map(|u| match *u {
            pipeline::TableUpdate::RouteAdd { prefix, len, .. } | pipeline::TableUpdate::RouteDel { prefix, len } => Some((prefix.into(), len)),
            pipeline::TableUpdate::Route4Add { prefix, len, .. } | pipeline::TableUpdate::Route4Del { prefix, len } => Some((prefix.into(), len)),
            _ => None,
        })
        .collect();
    let touched = r.tunnel_stats.before(&updates, r.control.tables());
    match r.control.apply(updates) {
        Ok(g) => {
            r.tunnel_stats.applied(&touched, r.control.tables());
            // The operator's routes are static: the mirror lets go of those prefixes (and
            // puts its own back where the operator deleted one).
            if let Some(f) = &mut r.fib {
                f.static_changed(&mut r.control, &prefixes);
            }
            Response::ok(format!("generation {}", r.control.generation().max(g)))
        }
        Err(e) => Response::error(e.to_string()),
    }
}

fn reload(r: &mut Running) -> Response {
    let Some(path) = r.config_path.clone() else {
        return Response::error("relayd runs the embedded default config; nothing to reload");
    };
    let cfg = match crate::config::Config::from_file(&path) {
        Ok(c) => c,
        Err(e) => return Response::error(format!("config error: {e}")),
    };
    let (settings, tables) = match cfg.pipeline.build(r.hub.ports().len()) {
        Ok(built) => built,
        Err(e) => return Response::error(e.to_string()),
    };
    if !settings.same_forwarding(&r.settings) {
        return Response::error("reload changes only tables (routes, neighbours); other pipeline settings need a restart");
    }
    let touched = r.tunnel_stats.before_replace(r.control.tables(), &tables);
    r.control.replace(tables);
    r.tunnel_stats.applied(&touched, r.control.tables());
    // Learned neighbours and the kernel's routes are not in the file: sent again.
    r.slow_path.reloaded(&settings, &mut r.control);
    if let Some(f) = &mut r.fib {
        f.reinstall(&mut r.control);
    }
    Response::ok(format!("generation {}", r.control.generation()))
}

fn offline_input(plan: &Plan) -> Result<u64, String> {
    let mut total = 0;
    for p in &plan.ports {
        if let Some(path) = crate::pcap::rx_pcap_of(&p.device) {
            total += crate::pcap::count_records(std::path::Path::new(path))?;
        } else if p.device.starts_with("net_pcap") {
            continue;
        } else {
            return Err(format!("--offline needs net_pcap ports; port {} is {}", p.name, p.device));
        }
    }
    Ok(total)
}

fn live_line(prev: &relay::runtime::stats::Snapshot, now: &relay::runtime::stats::Snapshot, dt: Duration) -> String {
    let secs = dt.as_secs_f64().max(1e-3);
    let rate = |name: &str| (now.runtime(name).saturating_sub(prev.runtime(name))) as f64 / secs;
    let mut drops: Vec<(&str, u64)> = now
        .pipeline
        .iter()
        .zip(&prev.pipeline)
        .map(|((n, a), (_, b))| (*n, a.saturating_sub(*b)))
        .filter(|(n, d)| *d > 0 && pipeline::is_drop_counter(n))
        .collect();
    drops.sort_by_key(|d| std::cmp::Reverse(d.1));
    let top: Vec<String> = drops.iter().take(3).map(|(n, d)| format!("{n}={d}")).collect();
    format!(
        "relayd: rx {:.3} Mpps  tx {:.3} Mpps  dropped {:.0}/s  tx_dropped {}  punted {}{}",
        rate("rx_packets") / 1e6,
        rate("tx_packets") / 1e6,
        rate("pipeline_dropped"),
        now.runtime("tx_dropped"),
        now.runtime("punted"),
        if top.is_empty() { String::new() } else { format!("  [{}]", top.join(" ")) }
    )
}

fn print_final(s: &relay::runtime::stats::Snapshot, slow: &pipeline::Counters) {
    println!("relayd: final counters");
    for (n, v) in &s.runtime {
        println!("  {n:<28} {v}");
    }
    for (n, v) in &s.pipeline {
        if *v > 0 {
            println!("  pipeline.{n:<19} {v}");
        }
    }
    for (n, v) in slow.iter() {
        if v > 0 {
            println!("  slowpath.{n:<19} {v}");
        }
    }
    for (name, p) in &s.ports {
        println!("  port {name:<8} ipackets {} opackets {} imissed {} oerrors {}", p.ipackets, p.opackets, p.imissed, p.oerrors);
    }
}

fn describe_rx(plan: &Plan, rx: &[(u16, u16)]) -> String {
    rx.iter().map(|(p, q)| format!("{}:{q}", plan.ports[*p as usize].name)).collect::<Vec<_>>().join(" ")
}

fn fmt_mac(m: [u8; 6]) -> String {
    format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
}
