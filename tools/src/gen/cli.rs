//! relay-gen's command line, and its validation into a [`Plan`]: every problem is reported
//! with the option it concerns before DPDK starts.
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use clap::Parser;

use super::mix::{Kind, Mix, Sizes};
use super::traffic::{parse_mac, Addresses, Prefix4};

#[derive(Parser, Debug, Clone)]
#[command(name = "relay-gen", version)]
#[command(about = "DPDK traffic generator for relayd: 6to4 encap/decap/transit/invalid mixes, latency and loss per stream")]
pub struct Cli {
    /// A port: NAME=DEVICE, DEVICE a vdev string (net_memif0,role=client,socket=/tmp/a.sock)
    /// or a PCI address (0000:01:00.0). Repeatable.
    #[arg(long = "port", value_name = "NAME=DEVICE")]
    pub ports: Vec<String>,
    /// Set a port's MAC address: NAME=MAC. Repeatable.
    #[arg(long = "port-mac", value_name = "NAME=MAC")]
    pub port_macs: Vec<String>,
    /// Send on this port; PORT:encap+transit restricts it to those kinds. Repeatable.
    #[arg(long = "tx", value_name = "PORT[:KINDS]")]
    pub tx: Vec<String>,
    /// Receive (and measure) on this port. Repeatable.
    #[arg(long = "rx", value_name = "PORT")]
    pub rx: Vec<String>,
    /// Packets per second, per TX port (default: as fast as the port takes them).
    #[arg(long, conflicts_with = "rate_percent")]
    pub rate_pps: Option<u64>,
    /// Percent of the maximum rate per TX port: line rate of --link-mbps, else of the link
    /// speed a PCI port reports, else (virtual ports) the rate measured unpaced first.
    #[arg(long)]
    pub rate_percent: Option<f64>,
    /// The link speed that --rate-percent refers to, in Mbit/s.
    #[arg(long)]
    pub link_mbps: Option<u64>,
    /// How long the unpaced calibration runs on virtual ports (--rate-percent), ms.
    #[arg(long, default_value_t = 1000)]
    pub calibrate_ms: u64,
    /// Stop sending after this many seconds (default: at --count, or at Ctrl-C).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Stop after this many packets per TX port.
    #[arg(long)]
    pub count: Option<u64>,
    /// Flows per traffic kind (distinct addresses and UDP ports).
    #[arg(long, default_value_t = 64)]
    pub flows: u64,
    /// Frame size in bytes with FCS, 64..=1518; for encap/decap it is the size on the IPv4
    /// side. Raised to 90 (native) / 110 (tunnelled) where the headers and stamp need it.
    #[arg(long, conflicts_with = "imix")]
    pub size: Option<String>,
    /// Simple IMIX: 7:4:1 frames of 64, 570 and 1518 bytes.
    #[arg(long)]
    pub imix: bool,
    /// Traffic mix in percent.
    #[arg(long, default_value = "encap=70,decap=20,transit=5,invalid=5")]
    pub mix: String,
    /// Replay the frames of a pcap file instead (stamps in it are refreshed).
    #[arg(long, conflicts_with_all = ["size", "imix"])]
    pub pcap: Option<PathBuf>,
    /// Destination MAC of the generated frames (relayd's port): MAC for every TX port, or
    /// PORT=MAC for one (repeatable).
    #[arg(long = "dst-mac", value_name = "[PORT=]MAC", default_value = "02:00:00:00:00:01")]
    pub dst_macs: Vec<String>,
    /// Source MAC (default: the TX port's own; 02:00:00:00:00:10 with --write-pcap).
    #[arg(long)]
    pub src_mac: Option<String>,
    /// The relay's IPv4 address (outer destination of decap traffic).
    #[arg(long, default_value = "198.51.100.7")]
    pub relay_v4: String,
    /// The 6to4 sites' IPv4 prefix: site V has 2002:V::/48.
    #[arg(long, default_value = "203.0.113.0/24")]
    pub sites: String,
    /// Base of the native IPv6 sources (flow f adds f + 1).
    #[arg(long, default_value = "2001:db8:1::")]
    pub native_src: String,
    /// Base of the native IPv6 destinations.
    #[arg(long, default_value = "2001:db8:2::")]
    pub native_dst: String,
    /// TTL / hop limit of generated packets.
    #[arg(long, default_value_t = 64)]
    pub ttl: u8,
    /// Write the JSON summary here too (it always goes to stdout).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write N packets of the configured traffic to FILE and exit (no DPDK).
    #[arg(long, num_args = 2, value_names = ["FILE", "N"])]
    pub write_pcap: Vec<String>,
    /// After sending stops, wait up to this long for packets still in flight.
    #[arg(long, default_value_t = 500)]
    pub drain_ms: u64,
    /// Wait up to this long for every port's link to come up.
    #[arg(long, default_value_t = 10.0)]
    pub link_wait_s: f64,
    /// EAL --file-prefix (default relay-gen-<pid>).
    #[arg(long)]
    pub file_prefix: Option<String>,
    /// EAL --lcores: main, then TX, then RX (default 0@0,1@1,2@0 on 2 CPUs).
    #[arg(long)]
    pub lcores: Option<String>,
    /// Use hugepages (default: --no-huge with --memory-mb).
    #[arg(long)]
    pub hugepages: bool,
    #[arg(long, default_value_t = 512)]
    pub memory_mb: u32,
    /// RX and TX descriptors per queue.
    #[arg(long, default_value_t = 1024)]
    pub desc: u16,
    /// Sleep this long after 100 empty polls (for shared cores; 0: busy polling).
    #[arg(long, default_value_t = 0)]
    pub idle_sleep_us: u64,
    /// No live line.
    #[arg(long, short)]
    pub quiet: bool,
    /// More EAL arguments, after `--`.
    #[arg(last = true)]
    pub eal: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PortPlan {
    pub name: String,
    pub device: String,
    /// The ethdev name: the PCI address or the vdev's first field.
    pub ethdev: String,
    pub is_pci: bool,
    pub mac: Option<[u8; 6]>,
    /// `--dst-mac PORT=MAC`: this port's frames go to MAC instead of the common one.
    pub dst_mac: Option<[u8; 6]>,
    /// Kinds this port sends (None: not a TX port).
    pub tx: Option<Vec<Kind>>,
    pub rx: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RateSpec {
    Unlimited,
    Pps(u64),
    Percent(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Traffic {
    Generated { mix: Mix, sizes: Sizes, flows: u64, addrs: Addresses, src_mac_given: bool },
    Replay { path: PathBuf },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub ports: Vec<PortPlan>,
    pub traffic: Traffic,
    pub rate: RateSpec,
    pub link_mbps: Option<u64>,
    pub calibrate_ms: u64,
    pub duration: Option<f64>,
    pub count: Option<u64>,
    pub json: Option<PathBuf>,
    pub drain_ms: u64,
    pub link_wait_s: f64,
    pub idle_sleep_us: u64,
    pub quiet: bool,
    pub desc: u16,
    pub eal: Vec<String>,
}

/// A command-line problem: the option and why.
pub fn bad(option: &str, reason: impl std::fmt::Display) -> String {
    format!("{option}: {reason}")
}

/// The traffic options (shared by DPDK runs and --write-pcap).
pub fn traffic(cli: &Cli) -> Result<Traffic, String> {
    if let Some(path) = &cli.pcap {
        return Ok(Traffic::Replay { path: path.clone() });
    }
    let mix: Mix = cli.mix.parse().map_err(|e| bad("--mix", e))?;
    let sizes = match (&cli.size, cli.imix) {
        (_, true) => Sizes::Imix,
        (Some(s), false) => Sizes::parse_fixed(s).map_err(|e| bad("--size", e))?,
        (None, false) => Sizes::Fixed(128),
    };
    if cli.flows == 0 {
        return Err(bad("--flows", "must be at least 1"));
    }
    let mut addrs = Addresses {
        dst_mac: common_dst_mac(cli)?,
        relay_v4: cli.relay_v4.parse::<Ipv4Addr>().map_err(|_| bad("--relay-v4", format!("{:?} is not an IPv4 address", cli.relay_v4)))?,
        sites: Prefix4::parse(&cli.sites).map_err(|e| bad("--sites", e))?,
        native_src: cli.native_src.parse::<Ipv6Addr>().map_err(|_| bad("--native-src", format!("{:?} is not an IPv6 address", cli.native_src)))?,
        native_dst: cli.native_dst.parse::<Ipv6Addr>().map_err(|_| bad("--native-dst", format!("{:?} is not an IPv6 address", cli.native_dst)))?,
        ttl: cli.ttl,
        ..Addresses::default()
    };
    if cli.ttl == 0 {
        return Err(bad("--ttl", "must be at least 1"));
    }
    if let Some(m) = &cli.src_mac {
        addrs.src_mac = parse_mac(m).map_err(|e| bad("--src-mac", e))?;
    }
    Ok(Traffic::Generated { mix, sizes, flows: cli.flows, addrs, src_mac_given: cli.src_mac.is_some() })
}

/// The `--dst-mac` without a port name (the last one given), else the default.
fn common_dst_mac(cli: &Cli) -> Result<[u8; 6], String> {
    match cli.dst_macs.iter().rev().find(|m| !m.contains('=')) {
        Some(m) => parse_mac(m).map_err(|e| bad("--dst-mac", e)),
        None => Ok(super::traffic::Addresses::default().dst_mac),
    }
}

/// `--write-pcap FILE N`.
pub fn write_pcap_args(cli: &Cli) -> Result<Option<(PathBuf, u64)>, String> {
    match cli.write_pcap.as_slice() {
        [] => Ok(None),
        [file, n] => {
            let n: u64 = n.parse().ok().filter(|n| *n > 0).ok_or_else(|| bad("--write-pcap", format!("{n:?} is not a packet count")))?;
            Ok(Some((PathBuf::from(file), n)))
        }
        _ => Err(bad("--write-pcap", "takes FILE and N")),
    }
}

fn split_kv<'a>(option: &str, s: &'a str) -> Result<(&'a str, &'a str), String> {
    s.split_once('=').filter(|(k, v)| !k.is_empty() && !v.is_empty()).ok_or_else(|| bad(option, format!("{s:?} is not NAME=VALUE")))
}

/// Validates a DPDK run.
pub fn plan(cli: &Cli) -> Result<Plan, String> {
    let traffic = traffic(cli)?;
    let mut ports: Vec<PortPlan> = Vec::new();
    for p in &cli.ports {
        let (name, device) = split_kv("--port", p)?;
        if ports.iter().any(|q| q.name == name) {
            return Err(bad("--port", format!("port name {name:?} is used twice")));
        }
        let ethdev = device.split(',').next().unwrap_or("").trim().to_string();
        let is_pci = is_pci_address(&ethdev);
        if !is_pci && !ethdev.starts_with("net_") {
            return Err(bad("--port", format!("{ethdev:?} is neither a PCI address (0000:01:00.0) nor a vdev (net_memif0,...)")));
        }
        if ports.iter().any(|q| q.ethdev == ethdev) {
            return Err(bad("--port", format!("device {ethdev} is used by two ports")));
        }
        ports.push(PortPlan { name: name.into(), device: device.into(), ethdev, is_pci, mac: None, dst_mac: None, tx: None, rx: false });
    }
    let index = |option: &str, name: &str, ports: &[PortPlan]| {
        ports.iter().position(|p| p.name == name).ok_or_else(|| bad(option, format!("no --port named {name:?}")))
    };
    for m in &cli.port_macs {
        let (name, mac) = split_kv("--port-mac", m)?;
        let i = index("--port-mac", name, &ports)?;
        ports[i].mac = Some(parse_mac(mac).map_err(|e| bad("--port-mac", e))?);
    }
    for m in cli.dst_macs.iter().filter(|m| m.contains('=')) {
        let (name, mac) = split_kv("--dst-mac", m)?;
        let i = index("--dst-mac", name, &ports)?;
        ports[i].dst_mac = Some(parse_mac(mac).map_err(|e| bad("--dst-mac", e))?);
    }
    for t in &cli.tx {
        let (name, kinds) = match t.split_once(':') {
            Some((n, k)) => (n, Some(k)),
            None => (t.as_str(), None),
        };
        let i = index("--tx", name, &ports)?;
        if ports[i].tx.is_some() {
            return Err(bad("--tx", format!("port {name:?} is given twice")));
        }
        let kinds = match kinds {
            None => Kind::ALL.to_vec(),
            Some(list) => list
                .split('+')
                .map(|k| Kind::from_name(k.trim()).ok_or_else(|| bad("--tx", format!("unknown kind {k:?} (encap, decap, transit, invalid)"))))
                .collect::<Result<Vec<_>, _>>()?,
        };
        if let Traffic::Generated { mix, .. } = &traffic {
            if mix.restricted(&kinds).is_empty() {
                return Err(bad("--tx", format!("port {name:?} would send nothing: its kinds have 0 % in --mix")));
            }
        }
        ports[i].tx = Some(kinds);
    }
    for r in &cli.rx {
        let i = index("--rx", r, &ports)?;
        ports[i].rx = true;
    }
    if !ports.iter().any(|p| p.tx.is_some()) {
        return Err(bad("--tx", "at least one TX port is needed"));
    }
    if let Some(p) = ports.iter().find(|p| p.tx.is_none() && !p.rx) {
        return Err(bad("--port", format!("port {:?} is neither --tx nor --rx", p.name)));
    }
    let rate = match (cli.rate_pps, cli.rate_percent) {
        (Some(0), _) => return Err(bad("--rate-pps", "must be at least 1")),
        (Some(p), _) => RateSpec::Pps(p),
        (None, Some(p)) if p > 0.0 && p <= 100.0 => RateSpec::Percent(p),
        (None, Some(p)) => return Err(bad("--rate-percent", format!("{p} is not in (0, 100]"))),
        (None, None) => RateSpec::Unlimited,
    };
    if cli.link_mbps == Some(0) {
        return Err(bad("--link-mbps", "must be at least 1"));
    }
    if let Some(d) = cli.duration {
        if !(d > 0.0 && d.is_finite()) {
            return Err(bad("--duration", format!("{d} is not a positive number of seconds")));
        }
    }
    if cli.count == Some(0) {
        return Err(bad("--count", "must be at least 1"));
    }
    if !(cli.link_wait_s >= 0.0 && cli.link_wait_s.is_finite()) {
        return Err(bad("--link-wait-s", "must be a number of seconds"));
    }
    if cli.desc < 64 || !cli.desc.is_power_of_two() {
        return Err(bad("--desc", "must be a power of two, at least 64"));
    }
    if !cli.hugepages && cli.memory_mb < 64 {
        return Err(bad("--memory-mb", "at least 64 MiB without hugepages"));
    }
    let prefix = cli.file_prefix.clone().unwrap_or_else(|| format!("relay-gen-{}", std::process::id()));
    if prefix.is_empty() || prefix.contains('/') {
        return Err(bad("--file-prefix", "must be a non-empty name without '/'"));
    }
    let eal = eal_args(cli, &ports, &prefix);
    Ok(Plan {
        ports,
        traffic,
        rate,
        link_mbps: cli.link_mbps,
        calibrate_ms: cli.calibrate_ms.max(1),
        duration: cli.duration,
        count: cli.count,
        json: cli.json.clone(),
        drain_ms: cli.drain_ms,
        link_wait_s: cli.link_wait_s,
        idle_sleep_us: cli.idle_sleep_us,
        quiet: cli.quiet,
        desc: cli.desc,
        eal,
    })
}

fn eal_args(cli: &Cli, ports: &[PortPlan], prefix: &str) -> Vec<String> {
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
    let lcores = cli.lcores.clone().unwrap_or_else(|| format!("0@0,1@{},2@{}", 1 % ncpu, 2 % ncpu));
    let mut args = vec!["relay-gen".to_string(), format!("--lcores={lcores}"), format!("--file-prefix={prefix}")];
    if !cli.hugepages {
        args.extend(["--no-huge".into(), "-m".into(), cli.memory_mb.to_string()]);
    }
    args.push("--log-level=notice".into());
    if !ports.iter().any(|p| p.is_pci) {
        args.push("--no-pci".into());
    }
    for p in ports {
        if p.is_pci {
            args.extend(["-a".into(), p.ethdev.clone()]);
        } else {
            args.push(format!("--vdev={}", p.device));
        }
    }
    args.extend(cli.eal.iter().cloned());
    args
}

/// dddd:bb:dd.f or bb:dd.f, as relayd accepts.
pub fn is_pci_address(s: &str) -> bool {
    let hex = |p: &str, n: usize| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit());
    let devfn = |s: &str| s.split_once('.').is_some_and(|(d, f)| hex(d, 2) && f.len() == 1 && f.chars().all(|c| c.is_ascii_digit()));
    match s.split(':').collect::<Vec<_>>().as_slice() {
        [dom, bus, df] => hex(dom, 4) && hex(bus, 2) && devfn(df),
        [bus, df] => hex(bus, 2) && devfn(df),
        _ => false,
    }
}
