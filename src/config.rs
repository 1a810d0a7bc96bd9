//! relayd's configuration: a TOML file, every section strict (unknown fields are errors), and
//! validation that names the field and the reason for each problem before anything starts.
use std::collections::HashSet;
use std::path::Path;

use relay::pipeline::{self, ConfigError};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub eal: Eal,
    #[serde(default)]
    pub cores: Cores,
    #[serde(default, rename = "port")]
    pub ports: Vec<PortConf>,
    #[serde(default, rename = "worker")]
    pub workers: Vec<WorkerConf>,
    #[serde(default)]
    pub runtime: Runtime,
    #[serde(default)]
    pub control: Control,
    #[serde(default)]
    pub routing: Routing,
    #[serde(default)]
    pub pipeline: pipeline::Config,
}

/// `[routing]`: relayd and the routing daemon on its host (docs/deploy-bgp.md).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Routing {
    /// Mirror this kernel routing table's IPv6 routes (via the control TAPs) into relayd's
    /// tables, e.g. the table BIRD's kernel protocol exports to. 0: no mirror.
    pub kernel_table: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Eal {
    /// `--file-prefix`: must differ between DPDK processes on one host.
    pub file_prefix: String,
    /// Use hugepages (production). Off: `--no-huge` with `memory_mb` of ordinary memory.
    pub hugepages: bool,
    pub memory_mb: u32,
    pub log_level: String,
    /// More EAL arguments, passed through unchanged (also accepted after `--` on the CLI).
    pub extra: Vec<String>,
}

impl Default for Eal {
    fn default() -> Self {
        Eal {
            file_prefix: "relayd".into(),
            hugepages: false,
            memory_mb: 512,
            log_level: "notice".into(),
            extra: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Cores {
    /// CPU of the control core (the EAL main lcore).
    pub control: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortConf {
    /// A label for stats and `forward` pairs.
    pub name: String,
    /// A PCI address (`0000:01:00.0`) or a vdev string (`net_pcap0,rx_pcap=in.pcap,...`).
    pub device: String,
    #[serde(default)]
    pub mac: Option<String>,
    #[serde(default = "default_desc")]
    pub rx_desc: u16,
    #[serde(default = "default_desc")]
    pub tx_desc: u16,
    #[serde(default)]
    pub promiscuous: bool,
}

fn default_desc() -> u16 {
    1024
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerConf {
    /// The CPU this worker's lcore runs on.
    pub cpu: usize,
    /// `port:queue` pairs this worker polls, e.g. `["wan:0", "lan:1"]`.
    pub rx: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Pipeline,
    Passthrough,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Runtime {
    pub mode: Mode,
    /// Pass-through pairs `[from, to]` by port name.
    pub forward: Vec<[String; 2]>,
    /// 0: sized automatically from ports, queues, descriptors and lcores.
    pub mempool_size: u32,
    pub mempool_cache: u32,
    pub burst: usize,
    pub drain_us: u64,
    /// Sleep this long after `idle_after_polls` empty polls (0: never; benchmarks).
    pub idle_sleep_us: u64,
    pub idle_after_polls: u32,
    /// Print a live stats line every N seconds (0: off).
    pub stats_interval_s: u64,
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime {
            mode: Mode::Pipeline,
            forward: Vec::new(),
            mempool_size: 0,
            mempool_cache: 256,
            burst: 32,
            drain_us: 100,
            idle_sleep_us: 0,
            idle_after_polls: 100,
            stats_interval_s: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Control {
    /// Unix socket for relayctl.
    pub socket: String,
    /// Group of the socket (mode 0660): its members may use relayctl. Empty: relayd's own
    /// group (root's, so root alone, when it runs as root).
    pub socket_group: String,
    /// A connection that moves no byte for this long is closed.
    pub client_timeout_s: u64,
    /// The Prometheus text endpoint: a port (on 127.0.0.1), or `addr:port`; empty: off.
    pub prometheus: String,
    pub telemetry: bool,
    /// SIGTERM/SIGINT drain: report `unhealthy: draining` (so the health agent withdraws the
    /// anycast routes and the upstreams move the flows) and stop once they have, at most this
    /// long after the signal. 0: a signal stops at once. A second signal stops at once. Also
    /// the limit of `relayctl drain` (30 s when 0).
    pub drain_s: u64,
    /// A drain ends once no data-plane packet (forwarded, encapsulated, decapsulated) has
    /// arrived for this long after the health agent's wait: the upstreams have converged.
    pub drain_quiet_ms: u64,
}

impl Default for Control {
    fn default() -> Self {
        Control {
            socket: String::new(),
            socket_group: String::new(),
            client_timeout_s: 60,
            prometheus: String::new(),
            telemetry: true,
            drain_s: 0,
            drain_quiet_ms: 1000,
        }
    }
}

/// The daemon's sections report errors as the pipeline's do: one [`ConfigError`] type for
/// the whole file (field path and reason).
fn err(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError { path: field.into(), reason: reason.into() }
}

/// A validated configuration: everything the runtime needs, resolved to indices.
#[derive(Debug, Clone)]
pub struct Plan {
    pub config: Config,
    pub ports: Vec<PlannedPort>,
    pub workers: Vec<PlannedWorker>,
    /// Pass-through map by port index.
    pub forward: Vec<u16>,
    pub mempool_size: u32,
    pub socket: String,
    /// `[control] socket_group` resolved; None: leave the socket's group as created.
    pub socket_gid: Option<u32>,
    /// `[control] prometheus` resolved; None: off.
    pub prometheus: Option<std::net::SocketAddr>,
}

#[derive(Debug, Clone)]
pub struct PlannedPort {
    pub name: String,
    pub device: String,
    /// The ethdev name the EAL gives the device (PCI address or the vdev's first field).
    pub ethdev: String,
    pub is_pci: bool,
    pub mac: Option<[u8; 6]>,
    pub rx_queues: u16,
    pub tx_queues: u16,
}

#[derive(Debug, Clone)]
pub struct PlannedWorker {
    pub cpu: usize,
    pub rx: Vec<(u16, u16)>,
}

impl Config {
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| err(path.display().to_string(), format!("cannot read: {e}")))?;
        Config::from_toml(&text)
    }

    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let span = e.span().map(|s| format!(" (at byte {})", s.start)).unwrap_or_default();
            err("toml", format!("{}{span}", e.message()))
        })
    }

    /// Checks everything and resolves names; nothing is started on error.
    pub fn plan(self) -> Result<Plan, ConfigError> {
        let cfg = self;
        if cfg.eal.file_prefix.is_empty() || cfg.eal.file_prefix.contains('/') {
            return Err(err("eal.file_prefix", "must be a non-empty name without '/'"));
        }
        if !cfg.eal.hugepages && cfg.eal.memory_mb < 64 {
            return Err(err("eal.memory_mb", "at least 64 MiB without hugepages"));
        }
        if cfg.ports.is_empty() {
            return Err(err("port", "at least one [[port]] is needed"));
        }
        match cfg.routing.kernel_table {
            0 => {}
            // RT_TABLE_LOCAL holds the host's own and broadcast addresses, never routes.
            255 => return Err(err("routing.kernel_table", "255 is the kernel's local table; mirror the table the routing daemon exports to")),
            _ if !cfg.pipeline.interface.iter().any(|i| i.control_tap.is_some()) => {
                return Err(err("routing.kernel_table", "the mirror needs a control TAP: set control_tap on a [[pipeline.interface]]"));
            }
            _ => {}
        }
        // The CPUs this process may run on (its affinity mask, as taskset/cgroups leave it).
        let cpus: Vec<usize> = core_affinity::get_core_ids().unwrap_or_default().iter().map(|c| c.id).collect();
        let ncpu = cpus.len().max(1);
        let cpu_ok = |cpu: usize| cpus.is_empty() || cpus.contains(&cpu);
        if !cpu_ok(cfg.cores.control) {
            return Err(err("cores.control", format!("CPU {} does not exist", cfg.cores.control)));
        }

        let mut names = HashSet::new();
        let mut ports = Vec::new();
        let mut ethdevs = HashSet::new();
        for (i, p) in cfg.ports.iter().enumerate() {
            let f = |k: &str| format!("port[{i}].{k}");
            if p.name.is_empty() || !names.insert(p.name.clone()) {
                return Err(err(f("name"), format!("{:?} is empty or used twice", p.name)));
            }
            let ethdev = p.device.split(',').next().unwrap_or("").trim().to_string();
            if ethdev.is_empty() {
                return Err(err(f("device"), "empty device"));
            }
            let is_pci = is_pci_address(&ethdev);
            if !is_pci && !ethdev.starts_with("net_") {
                return Err(err(
                    f("device"),
                    format!("{ethdev:?} is neither a PCI address (0000:01:00.0) nor a vdev (net_pcap0,...)"),
                ));
            }
            if !ethdevs.insert(ethdev.clone()) {
                return Err(err(f("device"), format!("{ethdev} is used by two ports")));
            }
            let mac = match &p.mac {
                None => None,
                Some(s) => Some(parse_mac(s).ok_or_else(|| err(f("mac"), format!("{s:?} is not a MAC address")))?),
            };
            if p.rx_desc < 32 || p.tx_desc < 32 {
                return Err(err(f("rx_desc"), "descriptors must be at least 32"));
            }
            ports.push(PlannedPort {
                name: p.name.clone(),
                device: p.device.clone(),
                ethdev,
                is_pci,
                mac,
                rx_queues: 0,
                tx_queues: 0,
            });
        }
        // Ports take ethdev ids in probe order: PCI devices (by bus address) before vdevs. The
        // pipeline names ports by index, so the config must list them in that order.
        if let Some(first_vdev) = ports.iter().position(|p| !p.is_pci) {
            if let Some(j) = ports.iter().skip(first_vdev).position(|p| p.is_pci) {
                return Err(err(
                    format!("port[{}].device", first_vdev + j),
                    "list PCI ports before vdev ports (DPDK probes them in that order)",
                ));
            }
        }
        let port_names: Vec<String> = ports.iter().map(|p| p.name.clone()).collect();
        let port_index = |name: &str| port_names.iter().position(|n| n == name);

        let mut workers = Vec::new();
        let worker_confs = if cfg.workers.is_empty() {
            // One worker on the control core's sibling, polling queue 0 of every port.
            vec![WorkerConf {
                cpu: cpus.iter().copied().find(|&c| c != cfg.cores.control).filter(|_| ncpu > 1).unwrap_or(cfg.cores.control),
                rx: cfg.ports.iter().map(|p| format!("{}:0", p.name)).collect(),
            }]
        } else {
            cfg.workers.clone()
        };
        let mut polled = HashSet::new();
        for (wi, w) in worker_confs.iter().enumerate() {
            if !cpu_ok(w.cpu) {
                return Err(err(format!("worker[{wi}].cpu"), format!("CPU {} does not exist", w.cpu)));
            }
            if w.rx.is_empty() {
                return Err(err(format!("worker[{wi}].rx"), "a worker needs at least one port:queue"));
            }
            let mut rx = Vec::new();
            for (k, spec) in w.rx.iter().enumerate() {
                let f = format!("worker[{wi}].rx[{k}]");
                let (name, q) = spec
                    .rsplit_once(':')
                    .ok_or_else(|| err(&f, format!("{spec:?} is not port:queue")))?;
                let pi = port_index(name).ok_or_else(|| err(&f, format!("no port named {name:?}")))?;
                let q: u16 = q.parse().map_err(|_| err(&f, format!("{q:?} is not a queue number")))?;
                if q >= 64 {
                    return Err(err(&f, "queue numbers go up to 63"));
                }
                if !polled.insert((pi, q)) {
                    return Err(err(&f, format!("{name}:{q} is polled by another worker already")));
                }
                rx.push((pi as u16, q));
            }
            workers.push(PlannedWorker { cpu: w.cpu, rx });
        }
        for (pi, p) in ports.iter_mut().enumerate() {
            let queues: Vec<u16> = polled.iter().filter(|(i, _)| *i == pi).map(|(_, q)| *q).collect();
            let n = queues.len() as u16;
            if n == 0 {
                return Err(err(format!("port[{pi}]"), format!("no worker polls port {:?}", p.name)));
            }
            if queues.iter().any(|&q| q >= n) {
                return Err(err(
                    format!("port[{pi}]"),
                    format!("rx queues of {:?} must be 0..{} with none missing", p.name, n),
                ));
            }
            p.rx_queues = n;
            p.tx_queues = workers.len() as u16;
        }

        let rt = &cfg.runtime;
        if rt.burst == 0 || rt.burst > relay::runtime::worker::RX_BURST {
            return Err(err("runtime.burst", format!("must be 1..={}", relay::runtime::worker::RX_BURST)));
        }
        if rt.drain_us == 0 || rt.drain_us > 100_000 {
            return Err(err("runtime.drain_us", "must be 1..=100000"));
        }
        let mut forward: Vec<u16> = (0..ports.len() as u16).collect();
        if rt.mode == Mode::Passthrough {
            if rt.forward.is_empty() {
                return Err(err("runtime.forward", "pass-through mode needs [from, to] port pairs"));
            }
            for (k, [from, to]) in rt.forward.iter().enumerate() {
                let f = format!("runtime.forward[{k}]");
                let a = port_index(from).ok_or_else(|| err(&f, format!("no port named {from:?}")))?;
                let b = port_index(to).ok_or_else(|| err(&f, format!("no port named {to:?}")))?;
                forward[a] = b as u16;
            }
        } else if !rt.forward.is_empty() {
            return Err(err("runtime.forward", "only used in pass-through mode"));
        }

        // Every mbuf that can be parked somewhere at once: rx and tx rings, each worker's rx
        // burst and tx buffers, the per-lcore caches, the exception rings, plus slack.
        let lcores = workers.len() as u32 + 1;
        let descs: u32 = cfg
            .ports
            .iter()
            .zip(&ports)
            .map(|(c, p)| c.rx_desc as u32 * p.rx_queues as u32 + c.tx_desc as u32 * p.tx_queues as u32)
            .sum();
        let per_worker = relay::runtime::worker::RX_BURST as u32 * (2 * ports.len() as u32 + 1)
            + 3 * PUNT_RING as u32;
        let needed = descs + workers.len() as u32 * per_worker + lcores * rt.mempool_cache + 1024;
        let mempool_size = if rt.mempool_size == 0 {
            needed
        } else if rt.mempool_size < needed {
            return Err(err(
                "runtime.mempool_size",
                format!("{} mbufs is too small: ports, queues, workers and caches need {needed}", rt.mempool_size),
            ));
        } else {
            rt.mempool_size
        };
        if rt.mempool_cache > 512 {
            return Err(err("runtime.mempool_cache", "DPDK allows at most 512"));
        }

        let prometheus = prometheus_addr(&cfg.control.prometheus).map_err(|r| err("control.prometheus", r))?;
        let socket_gid = match cfg.control.socket_group.as_str() {
            "" => None,
            name => Some(group_id(name).map_err(|r| err("control.socket_group", r))?),
        };
        if !(1..=86_400).contains(&cfg.control.client_timeout_s) {
            return Err(err("control.client_timeout_s", "must be 1..=86400 seconds"));
        }
        if cfg.control.drain_s > 86_400 {
            return Err(err("control.drain_s", "must be 0..=86400 seconds (0: a signal stops at once)"));
        }
        if !(DRAIN_QUIET_MS_MIN..=DRAIN_QUIET_MS_MAX).contains(&cfg.control.drain_quiet_ms) {
            return Err(err(
                "control.drain_quiet_ms",
                format!(
                    "must be {DRAIN_QUIET_MS_MIN}..={DRAIN_QUIET_MS_MAX} ms (the silence that tells the upstreams have moved the flows)"
                ),
            ));
        }
        let socket = if cfg.control.socket.is_empty() {
            format!("{}/{}.sock", crate::ctl::RUN_DIR, cfg.eal.file_prefix)
        } else {
            cfg.control.socket.clone()
        };
        Ok(Plan { config: cfg, ports, workers, forward, mempool_size, socket, socket_gid, prometheus })
    }
}

/// `[control] prometheus`: empty is off; a bare port listens on loopback only (the endpoint
/// has no authentication), `addr:port` where the operator says, any address included.
pub fn prometheus_addr(s: &str) -> Result<Option<std::net::SocketAddr>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if let Ok(port) = s.parse::<u16>() {
        return Ok(Some(std::net::SocketAddr::from(([127, 0, 0, 1], port))));
    }
    s.parse().map(Some).map_err(|_| format!("{s:?} is neither a port nor addr:port (127.0.0.1:9417, [::1]:9417)"))
}

/// A group name (or a numeric gid) as the system's group database knows it.
pub fn group_id(name: &str) -> Result<u32, String> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(gid);
    }
    let cname = std::ffi::CString::new(name).map_err(|_| format!("{name:?} contains a NUL byte"))?;
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: group is plain data; getgrnam_r writes it and the strings it points to into
        // buf, which outlives every use of them here; result is set to &grp or NULL.
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        let ret = unsafe { libc::getgrnam_r(cname.as_ptr(), &mut grp, buf.as_mut_ptr().cast(), buf.len(), &mut result) };
        if ret == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if ret != 0 {
            return Err(format!("looking up group {name:?}: {}", std::io::Error::from_raw_os_error(ret)));
        }
        if result.is_null() {
            return Err(format!("no group named {name:?} (see /etc/group; create it with `groupadd {name}`)"));
        }
        return Ok(grp.gr_gid);
    }
}

/// Exception ring size per worker (and reply ring).
pub const PUNT_RING: usize = 512;

/// `[control] drain_quiet_ms` bounds. Below 100 ms the silence could fall between two
/// packets of a live flow (the workers publish their counters every millisecond, an idle
/// worker sleeps between polls); above a minute it is no longer a convergence measure.
pub const DRAIN_QUIET_MS_MIN: u64 = 100;
pub const DRAIN_QUIET_MS_MAX: u64 = 60_000;

impl Control {
    /// Why the signal drain can never end quiet, if it cannot: `drain_s` must leave room for
    /// the agent's wait plus `drain_quiet_ms`, else every SIGTERM drain runs to its limit.
    /// Not an error: a config that loaded before `drain_quiet_ms` existed still loads.
    pub fn drain_warning(&self) -> Option<String> {
        let room = crate::drain::AGENT_WAIT.as_millis() as u64 + self.drain_quiet_ms;
        (self.drain_s > 0 && self.drain_s.saturating_mul(1000) < room).then(|| {
            format!(
                "[control] drain_s = {} is shorter than the agent's wait plus drain_quiet_ms ({room} ms): every signal drain runs to its limit",
                self.drain_s
            )
        })
    }
}

fn is_pci_address(s: &str) -> bool {
    // dddd:bb:dd.f or bb:dd.f
    let parts: Vec<&str> = s.split(':').collect();
    let hex = |p: &str, n: usize| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit());
    match parts.as_slice() {
        [dom, bus, devfn] => hex(dom, 4) && hex(bus, 2) && is_devfn(devfn),
        [bus, devfn] => hex(bus, 2) && is_devfn(devfn),
        _ => false,
    }
}

fn is_devfn(s: &str) -> bool {
    match s.split_once('.') {
        Some((d, f)) => d.len() == 2 && d.chars().all(|c| c.is_ascii_hexdigit()) && f.len() == 1 && f.chars().all(|c| c.is_ascii_digit()),
        None => false,
    }
}

pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut n = 0;
    for part in s.split(':') {
        if n == 6 || part.len() != 2 {
            return None;
        }
        out[n] = u8::from_str_radix(part, 16).ok()?;
        n += 1;
    }
    (n == 6).then_some(out)
}

impl Plan {
    /// The EAL command line for this plan (program name first), CLI extras last.
    pub fn eal_args(&self, cli_extra: &[String]) -> Vec<String> {
        let e = &self.config.eal;
        let mut args = vec!["relayd".to_string()];
        let mut lcores = format!("0@{}", self.config.cores.control);
        for (i, w) in self.workers.iter().enumerate() {
            lcores.push_str(&format!(",{}@{}", i + 1, w.cpu));
        }
        args.push(format!("--lcores={lcores}"));
        args.push(format!("--file-prefix={}", e.file_prefix));
        if !e.hugepages {
            args.push("--no-huge".into());
            args.push("-m".into());
            args.push(e.memory_mb.to_string());
        }
        args.push(format!("--log-level={}", e.log_level));
        let any_pci = self.ports.iter().any(|p| p.is_pci);
        if !any_pci {
            args.push("--no-pci".into());
        }
        for p in &self.ports {
            if p.is_pci {
                args.push("-a".into());
                args.push(p.ethdev.clone());
            } else {
                args.push(format!("--vdev={}", p.device));
            }
        }
        if !self.config.control.telemetry {
            args.push("--no-telemetry".into());
        }
        args.extend(e.extra.iter().cloned());
        args.extend(cli_extra.iter().cloned());
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_listens_on_loopback_unless_told() {
        assert_eq!(prometheus_addr(""), Ok(None));
        assert_eq!(prometheus_addr("9417"), Ok(Some("127.0.0.1:9417".parse().unwrap())));
        assert_eq!(prometheus_addr("[::1]:9417"), Ok(Some("[::1]:9417".parse().unwrap())));
        assert_eq!(prometheus_addr("0.0.0.0:9417"), Ok(Some("0.0.0.0:9417".parse().unwrap())), "the operator asked");
        assert!(prometheus_addr("localhost:9417").unwrap_err().contains("neither a port nor addr:port"));
    }

    #[test]
    fn socket_group_names_resolve_or_name_the_field() {
        assert_eq!(group_id("root"), Ok(0));
        assert_eq!(group_id("4242"), Ok(4242));
        let mut cfg = Config::from_toml(crate::DEFAULT_CONFIG).unwrap();
        cfg.control.socket_group = "no-such-group-relayd".into();
        let e = cfg.clone().plan().unwrap_err();
        assert_eq!(e.path, "control.socket_group");
        assert!(e.reason.contains("no group named \"no-such-group-relayd\""), "{e}");
        cfg.control.socket_group = "root".into();
        assert_eq!(cfg.clone().plan().unwrap().socket_gid, Some(0));
        cfg.control.client_timeout_s = 0;
        assert_eq!(cfg.plan().unwrap_err().path, "control.client_timeout_s");
    }

    #[test]
    fn drain_settings_load_with_or_without_the_quiet_period_and_name_the_field_out_of_range() {
        let with = |control: &str| Config::from_toml(&format!("{}\n[control]\n{control}\n", base_without_control()));
        // A config from before drain_quiet_ms: the default quiet period.
        let old = with("drain_s = 5").unwrap();
        assert_eq!((old.control.drain_s, old.control.drain_quiet_ms), (5, 1000));
        assert_eq!(old.control.drain_warning(), None);
        assert!(old.plan().is_ok());
        let new = with("drain_s = 5\ndrain_quiet_ms = 2500").unwrap();
        assert_eq!(new.control.drain_quiet_ms, 2500);
        assert!(new.plan().is_ok());
        for bad in ["drain_quiet_ms = 99", "drain_quiet_ms = 60001", "drain_quiet_ms = 0"] {
            let e = with(bad).unwrap().plan().unwrap_err();
            assert_eq!(e.path, "control.drain_quiet_ms", "{bad}");
            assert_eq!(e.reason, "must be 100..=60000 ms (the silence that tells the upstreams have moved the flows)", "{bad}");
        }
        let e = with("drain_s = 86401").unwrap().plan().unwrap_err();
        assert_eq!(e.path, "control.drain_s");
        assert!(with("drain_quiet_ms = -1").is_err(), "not a u64");
        // Loads, but says every signal drain will end at its limit.
        let tight = with("drain_s = 1").unwrap();
        assert_eq!(
            tight.control.drain_warning().as_deref(),
            Some("[control] drain_s = 1 is shorter than the agent's wait plus drain_quiet_ms (1500 ms): every signal drain runs to its limit")
        );
        assert!(tight.plan().is_ok());
    }

    /// The embedded default config, its `[control]` section (if any) left out so a test can
    /// write its own.
    fn base_without_control() -> String {
        let mut out = String::new();
        let mut skipping = false;
        for line in crate::DEFAULT_CONFIG.lines() {
            let t = line.trim();
            if t.starts_with('[') {
                skipping = t == "[control]";
            }
            if !skipping {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}
