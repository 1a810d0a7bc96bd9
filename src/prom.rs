//! A minimal Prometheus text endpoint (`GET /metrics`), served by the control core without
//! ever waiting on a client: the sockets are non-blocking, a connection's request head is read
//! as it arrives (at most `MAX_HEAD` bytes), answered and closed; at most `MAX_CONNS` are open
//! and one that has not finished within `TIMEOUT` is dropped. The endpoint has no
//! authentication: it listens on loopback unless the configuration names another address.
use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MAX_CONNS: usize = 16;
const MAX_HEAD: usize = 8192;
const TIMEOUT: Duration = Duration::from_secs(5);
const ACCEPTS_PER_POLL: usize = 32;

use crossbeam::queue::ArrayQueue;
use relay::pipeline::Tables;
use relay::runtime::control::{ControlPlane, CONTROL_RING};
use relay::runtime::Mbuf;

use crate::config::PUNT_RING;
use crate::slowpath::SlowCore;

pub struct Exporter {
    listener: TcpListener,
    conns: Vec<HttpConn>,
}

struct HttpConn {
    stream: TcpStream,
    head: Vec<u8>,
    out: Vec<u8>,
    sent: usize,
    since: Instant,
}

impl Exporter {
    pub fn bind(addr: SocketAddr) -> Result<Exporter, String> {
        let listener = TcpListener::bind(addr).map_err(|e| format!("prometheus endpoint {addr}: {e}"))?;
        listener.set_nonblocking(true).map_err(|e| format!("prometheus endpoint {addr}: {e}"))?;
        Ok(Exporter { listener, conns: Vec::new() })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Accepts what is waiting and moves every open request on; true if anything moved.
    pub fn poll(&mut self, mut render: impl FnMut() -> String) -> bool {
        let now = Instant::now();
        let mut busy = false;
        for _ in 0..ACCEPTS_PER_POLL {
            let Ok((s, _)) = self.listener.accept() else { break };
            busy = true;
            if s.set_nonblocking(true).is_err() {
                continue;
            }
            if self.conns.len() >= MAX_CONNS {
                let _ = (&s).write_all(&response("503 Service Unavailable", "too many scrapes at once\n"));
                continue;
            }
            self.conns.push(HttpConn { stream: s, head: Vec::new(), out: Vec::new(), sent: 0, since: now });
        }
        self.conns.retain_mut(|c| {
            let (moved, open) = c.service(&mut render);
            busy |= moved;
            open && now.duration_since(c.since) < TIMEOUT
        });
        busy
    }
}

impl HttpConn {
    /// (whether a byte moved, whether to keep it open).
    fn service(&mut self, render: &mut impl FnMut() -> String) -> (bool, bool) {
        let mut moved = false;
        if self.out.is_empty() {
            let mut eof = false;
            let mut buf = [0u8; 2048];
            while self.head.len() < MAX_HEAD {
                match self.stream.read(&mut buf) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => {
                        moved = true;
                        self.head.extend_from_slice(&buf[..n]);
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => return (moved, false),
                }
            }
            let complete = self.head.windows(4).any(|w| w == b"\r\n\r\n") || self.head.windows(2).any(|w| w == b"\n\n");
            if !(complete || eof || self.head.len() >= MAX_HEAD) {
                return (moved, true);
            }
            if self.head.is_empty() {
                return (moved, false);
            }
            // Read to the end of the head before answering: closing with unread bytes would
            // reset the connection and could lose the answer.
            let metrics = self.head.starts_with(b"GET /metrics") || self.head.starts_with(b"GET / ");
            self.out = if metrics { response("200 OK", &render()) } else { response("404 Not Found", "try GET /metrics\n") };
        }
        loop {
            match self.stream.write(&self.out[self.sent..]) {
                Ok(0) => return (moved, false),
                Ok(n) => {
                    moved = true;
                    self.sent += n;
                    if self.sent == self.out.len() {
                        let _ = self.stream.shutdown(std::net::Shutdown::Write);
                        return (moved, false);
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return (moved, true),
                Err(_) => return (moved, false),
            }
        }
    }
}

fn response(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.0 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The figures only the control core knows, after the workers' counters in `GET /metrics`:
/// table sizes, neighbour states, ring depths, control generations, slow-path counters.
pub struct ControlFigures<'a> {
    pub control: &'a ControlPlane,
    pub slow_path: &'a SlowCore,
    pub punt: &'a [Arc<ArrayQueue<Mbuf>>],
    pub inject: &'a [Arc<ArrayQueue<(u16, Mbuf)>>],
    pub fib: Option<&'a crate::kernel::fib::FibMirror>,
}

/// The route count of the last table generation scraped. Counting walks the whole LPM
/// (`Tables::routes`: 86–118 ms for `Lpm6::routes` of a million routes on the 2-CPU dev VM),
/// which the control core should not spend on every scrape, so it is counted again only once
/// the control core has published a change since.
#[derive(Default)]
pub struct RouteCount {
    at: Option<u64>,
    routes: u64,
}

impl RouteCount {
    fn get(&mut self, generation: u64, tables: &Tables) -> u64 {
        if self.at != Some(generation) {
            self.routes = tables.routes().len() as u64;
            self.at = Some(generation);
        }
        self.routes
    }
}

/// One metric family: its `# HELP` and `# TYPE` lines, then its samples.
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: impl IntoIterator<Item = (String, u64)>) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, v) in samples {
        let _ = writeln!(out, "{name}{labels} {v}");
    }
}

fn one(v: u64) -> Vec<(String, u64)> {
    vec![(String::new(), v)]
}

impl ControlFigures<'_> {
    pub fn to_prometheus(&self, routes: &mut RouteCount) -> String {
        let mut out = String::new();
        let tables = self.control.tables();
        family(
            &mut out,
            "relay_build_info",
            "gauge",
            "relayd's version and the DPDK it was built with (always 1).",
            [(format!("{{version=\"{}\",dpdk=\"{}\"}}", env!("CARGO_PKG_VERSION"), env!("RELAY_DPDK_VERSION")), 1)],
        );
        family(
            &mut out,
            "relay_routes",
            "gauge",
            "IPv6 routes in the tables the workers use (configured, connected and automatic ones).",
            one(routes.get(self.control.generation(), tables)),
        );
        family(&mut out, "relay_configured_tunnels", "gauge", "Configured tunnels (RFC 4213).", one(tables.tunnels().len() as u64));
        let taps = self.slow_path.taps().counters();
        for ((name, help), (_, v)) in crate::kernel::tap::TapCounters::HELP.iter().zip(taps.values()) {
            family(&mut out, &format!("relay_control_tap_{name}_total"), "counter", help, one(v));
        }
        if let Some(f) = self.fib {
            family(&mut out, "relay_fib_routes", "gauge", "Routes relayd holds from the mirrored kernel table.", one(f.installed() as u64));
            for ((name, help), (_, v)) in crate::kernel::fib::FibCounters::HELP.iter().zip(f.counters().values()) {
                family(&mut out, &format!("relay_fib_{name}_total"), "counter", help, one(v));
            }
        }
        let (states, waiting) = self.slow_path.neighbour_states(tables);
        family(
            &mut out,
            "relay_neighbours",
            "gauge",
            "Neighbour table entries by state: static ones from the configuration, learned ones by RFC 4861 state.",
            states.into_iter().map(|(s, n)| (format!("{{state=\"{s}\"}}"), n)),
        );
        family(
            &mut out,
            "relay_neighbour_waiting_packets",
            "gauge",
            "Packets held by the slow path until their next hop's link-layer address is known.",
            one(waiting as u64),
        );
        family(
            &mut out,
            "relay_control_generation",
            "gauge",
            "Generation of the latest table change the control core published.",
            one(self.control.generation()),
        );
        family(
            &mut out,
            "relay_control_applied_generation",
            "gauge",
            "Lowest generation every running worker has applied (equal to relay_control_generation when caught up).",
            one(self.control.applied_generation()),
        );
        let per_worker = |depth: &dyn Fn(usize) -> usize, n: usize| -> Vec<(String, u64)> {
            (0..n).map(|i| (format!("{{worker=\"{i}\"}}"), depth(i) as u64)).collect()
        };
        let links = self.control.links();
        family(
            &mut out,
            "relay_control_ring_depth",
            "gauge",
            "Control messages waiting on each worker's ring (tables, generation markers); a full ring makes the control core wait.",
            per_worker(&|i| links[i].to_worker.len(), links.len()),
        );
        family(&mut out, "relay_control_ring_capacity", "gauge", "Capacity of each worker's control ring.", one(CONTROL_RING as u64));
        family(
            &mut out,
            "relay_punt_ring_depth",
            "gauge",
            "Packets waiting on each worker's exception ring to the slow path; when full, punts are dropped (relay_punt_dropped_total).",
            per_worker(&|i| self.punt[i].len(), self.punt.len()),
        );
        family(
            &mut out,
            "relay_inject_ring_depth",
            "gauge",
            "Slow-path frames waiting on each worker's inject ring to be sent.",
            per_worker(&|i| self.inject[i].len(), self.inject.len()),
        );
        family(&mut out, "relay_exception_ring_capacity", "gauge", "Capacity of each punt and inject ring.", one(PUNT_RING as u64));
        family(
            &mut out,
            "relay_slowpath_total",
            "counter",
            "Slow-path events and drop reasons (drop_*) on the control core: ARP/ND answers, resolution, learning.",
            self.slow_path.counters().iter().map(|(n, v)| (format!("{{counter=\"{n}\"}}"), v)),
        );
        out
    }
}
