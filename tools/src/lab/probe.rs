//! What the scenarios do on the hosts and see on the wires: ping, traceroute, TCP
//! transfers with SHA-256 checks, tcpdump captures decoded here, spoofed packets from the
//! rogue host.
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::sh::{self, Result};

const TCP_XFER: &str = include_str!("py/tcp_xfer.py");
const SPOOF: &str = include_str!("py/spoof.py");
const UDP_FLOWS: &str = include_str!("py/udp_flows.py");
const SYN_FLOOD: &str = include_str!("py/syn_flood.py");
/// The payload spoof.py puts in every packet.
pub const SPOOF_MARKER: &[u8] = b"relay-lab-spoof";

pub fn write_scripts(dir: &Path) -> Result<()> {
    for (name, text) in [("tcp_xfer.py", TCP_XFER), ("spoof.py", SPOOF), ("udp_flows.py", UDP_FLOWS), ("syn_flood.py", SYN_FLOOD)] {
        std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

/// `ping`'s summary and its lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ping {
    pub transmitted: u32,
    pub received: u32,
    pub output: String,
}

impl Ping {
    /// Lines ping printed for ICMPv6 errors: `From <addr> icmp_seq=1 Time exceeded: …`.
    pub fn errors_from(&self) -> Vec<(String, String)> {
        self.output
            .lines()
            .filter_map(|l| l.strip_prefix("From "))
            .filter_map(|l| {
                let (word, rest) = l.split_once(' ')?;
                let addr: IpAddr = word.parse().ok().or_else(|| word.strip_suffix(':')?.parse().ok())?;
                let what = rest.split_once(' ').map_or(rest, |(_, w)| w);
                Some((addr.to_string(), what.to_string()))
            })
            .collect()
    }
}

/// `ping -6 -n -c count -i 0.2 -W 3 extra… dst` in `ns`. A lost reply is a result, not an error.
pub fn ping(ns: &str, dst: IpAddr, count: u32, extra: &[&str]) -> Result<Ping> {
    let mut cmd = sh::in_ns(Some(ns), "ping");
    cmd.args(["-6", "-n", "-c", &count.to_string(), "-i", "0.2", "-W", "3"]).args(extra).arg(dst.to_string());
    let out = sh::output(&mut cmd)?;
    let output = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Ping::from_output(output).map_err(|output| format!("`{}` printed no summary:\n{output}", sh::line(&cmd)))
}

impl Ping {
    /// From ping's output with its `N packets transmitted, M received` summary; the output
    /// back if it has none.
    pub fn from_output(output: String) -> std::result::Result<Ping, String> {
        let num = |word: &str| -> Option<u32> {
            let line = output.lines().find(|l| l.contains("packets transmitted"))?;
            let pos = line.split(", ").find(|p| p.contains(word))?;
            pos.split_whitespace().next()?.parse().ok()
        };
        match (num("transmitted"), num("received")) {
            (Some(transmitted), Some(received)) => Ok(Ping { transmitted, received, output }),
            _ => Err(output),
        }
    }

    pub fn lost(&self) -> u32 {
        self.transmitted.saturating_sub(self.received)
    }
}

/// A ping left running, its output in a file (pings across a restart).
pub struct Background {
    child: KillOnDrop,
    pub out: PathBuf,
}

impl Background {
    /// `ping -6 -n -i 0.2 -W 1 dst` in `ns` until stopped.
    pub fn ping(ns: &str, dst: IpAddr, out: &Path) -> Result<Background> {
        Background::ping_every(ns, dst, "0.2", out)
    }

    /// The same, one request every `interval` seconds (`0.01`: as root only).
    pub fn ping_every(ns: &str, dst: IpAddr, interval: &str, out: &Path) -> Result<Background> {
        let file = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
        let mut cmd = sh::in_ns(Some(ns), "ping");
        cmd.args(["-6", "-n", "-i", interval, "-W", "1"]).arg(dst.to_string());
        cmd.stdin(Stdio::null()).stdout(file).stderr(Stdio::null());
        let child = cmd.spawn().map_err(|e| format!("`{}`: {e}", sh::line(&cmd)))?;
        Ok(Background { child: KillOnDrop(child), out: out.to_path_buf() })
    }

    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// SIGINT (ping prints its summary), then everything it printed.
    pub fn stop(mut self) -> String {
        sh::signal(self.child.0.id(), "INT");
        sh::wait_child(&mut self.child.0, Duration::from_secs(5));
        self.text()
    }
}

/// The `icmp_seq` of every reply in ping's output.
pub fn reply_seqs(output: &str) -> Vec<u32> {
    output
        .lines()
        .filter(|l| l.contains("bytes from"))
        .filter_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("icmp_seq="))?.parse().ok())
        .collect()
}

/// The hops `traceroute6 -n -N 1 -q 1` reports (None for `*`), or None without traceroute6.
pub fn traceroute(ns: &str, dst: IpAddr, max_hops: u8) -> Result<Option<Vec<Option<IpAddr>>>> {
    if !sh::have("traceroute6") {
        return Ok(None);
    }
    let mut cmd = sh::in_ns(Some(ns), "traceroute6");
    cmd.args(["-n", "-N", "1", "-q", "1", "-w", "3", "-m", &max_hops.to_string()]).arg(dst.to_string());
    let out = sh::run(&mut cmd)?;
    let hops = out
        .lines()
        .skip_while(|l| l.starts_with("traceroute"))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.next()?.parse::<u8>().ok()?;
            Some(w.next().and_then(|a| a.parse().ok()))
        })
        .collect();
    Ok(Some(hops))
}

/// Which end of a transfer sends the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

/// Bytes and SHA-256 each end reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub sent: (u64, String),
    pub received: (u64, String),
}

/// One TCP transfer of `bytes` between a server in `server_ns` (listening on `server_addr`)
/// and a client in `client_ns`.
pub fn tcp_transfer(dir: &Path, server_ns: &str, server_addr: IpAddr, client_ns: &str, direction: Direction, bytes: u64, port: u16) -> Result<Transfer> {
    let script = dir.join("tcp_xfer.py");
    let (server_mode, client_mode) = match direction {
        Direction::ClientToServer => ("recv", "send"),
        Direction::ServerToClient => ("send", "recv"),
    };
    let seed = (bytes ^ u64::from(port)).to_string();
    let mut server = sh::in_ns(Some(server_ns), &sh::python().to_string_lossy());
    server.arg(&script).args(["serve", &port.to_string(), server_mode, &bytes.to_string(), &seed]);
    server.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut server = KillOnDrop(server.spawn().map_err(|e| format!("tcp_xfer.py server: {e}"))?);
    let mut lines = BufReader::new(server.0.stdout.take().ok_or("server stdout")?).lines();
    match lines.next() {
        Some(Ok(l)) if l == "listening" => {}
        other => return Err(format!("tcp_xfer.py server in {server_ns} did not start: {other:?}")),
    }
    let mut client = sh::in_ns(Some(client_ns), &sh::python().to_string_lossy());
    client.arg(&script).args(["connect", &server_addr.to_string(), &port.to_string(), client_mode, &bytes.to_string(), &seed]);
    let client_out = sh::run(&mut client)?;
    let server_out = lines.next().and_then(|l| l.ok()).unwrap_or_default();
    let parse = |text: &str, who: &str| -> Result<(u64, String)> {
        let w: Vec<&str> = text.split_whitespace().collect();
        match w.as_slice() {
            ["bytes", n, "sha256", h] => Ok((n.parse().map_err(|_| format!("{who}: {text}"))?, h.to_string())),
            _ => Err(format!("tcp_xfer.py {who} reported {text:?}")),
        }
    };
    let client_r = parse(client_out.trim(), "client")?;
    let server_r = parse(server_out.trim(), "server")?;
    let _ = sh::wait_child(&mut server.0, Duration::from_secs(10));
    Ok(match direction {
        Direction::ClientToServer => Transfer { sent: client_r, received: server_r },
        Direction::ServerToClient => Transfer { sent: server_r, received: client_r },
    })
}

/// What [`udp_flows`] sent and what its sink counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flows {
    pub sent: u64,
    pub received: u64,
}

/// `flows` UDP flows of `packets` datagrams each from `src_ns` to `dst` (port 9), source
/// ports from `first_port`, counted by a sink in `dst_ns` started first.
pub fn udp_flows(dir: &Path, src_ns: &str, dst_ns: &str, dst: IpAddr, first_port: u16, flows: u32, packets: u32) -> Result<Flows> {
    let script = dir.join("udp_flows.py");
    let expected = u64::from(flows) * u64::from(packets);
    let mut sink = sh::in_ns(Some(dst_ns), &sh::python().to_string_lossy());
    sink.arg(&script).args(["sink", &expected.to_string()]);
    sink.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut sink = KillOnDrop(sink.spawn().map_err(|e| format!("udp_flows.py sink: {e}"))?);
    let mut lines = BufReader::new(sink.0.stdout.take().ok_or("sink stdout")?).lines();
    match lines.next() {
        Some(Ok(l)) if l == "listening" => {}
        other => return Err(format!("udp_flows.py sink in {dst_ns} did not start: {other:?}")),
    }
    let mut send = sh::in_ns(Some(src_ns), &sh::python().to_string_lossy());
    send.arg(&script).args([dst.to_string(), first_port.to_string(), flows.to_string(), packets.to_string()]);
    let said = sh::run(&mut send)?;
    let count = |text: &str, word: &str| -> Result<u64> {
        match text.split_whitespace().collect::<Vec<_>>().as_slice() {
            [w, n] if *w == word => n.parse().map_err(|_| format!("udp_flows.py printed {text:?}")),
            _ => Err(format!("udp_flows.py printed {text:?}, not `{word} N`")),
        }
    };
    let sent = count(said.trim(), "sent")?;
    let heard = lines.next().and_then(|l| l.ok()).unwrap_or_default();
    let received = count(heard.trim(), "received")?;
    let _ = sh::wait_child(&mut sink.0, Duration::from_secs(10));
    Ok(Flows { sent, received })
}

/// One kind of spoofed packet: outer IPv4 ends, inner IPv6 ends, how many.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spoof {
    pub outer: (Ipv4Addr, Ipv4Addr),
    pub inner: (Ipv6Addr, Ipv6Addr),
    pub count: u32,
}

/// Sends the spoofed packets from namespace `ns` (scapy).
pub fn spoof(dir: &Path, ns: &str, cases: &[Spoof]) -> Result<String> {
    let mut cmd = sh::in_ns(Some(ns), &sh::python().to_string_lossy());
    cmd.arg(dir.join("spoof.py"));
    for c in cases {
        cmd.arg(format!("{},{},{},{},{}", c.outer.0, c.outer.1, c.inner.0, c.inner.1, c.count));
    }
    sh::run(&mut cmd)
}

/// A running `tcpdump -w`.
pub struct Capture {
    child: KillOnDrop,
    pub path: PathBuf,
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

impl Capture {
    /// Starts tcpdump on `iface` in `ns` and waits until it listens.
    pub fn start(ns: &str, iface: &str, filter: &str, path: &Path) -> Result<Capture> {
        let _ = std::fs::remove_file(path);
        let mut cmd = sh::in_ns(Some(ns), "tcpdump");
        cmd.args(["-n", "-U", "--immediate-mode", "-i", iface, "-w"]).arg(path).arg(filter);
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = KillOnDrop(cmd.spawn().map_err(|e| format!("tcpdump: {e}"))?);
        let stderr = child.0.stderr.take().ok_or("tcpdump stderr")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                let _ = tx.send(line);
            }
        });
        let mut said = String::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(l) if l.contains("listening on") => return Ok(Capture { child, path: path.to_path_buf() }),
                Ok(l) => said.push_str(&(l + "\n")),
                Err(_) => return Err(format!("`{}` did not start: {said}", sh::line(&cmd))),
            }
        }
    }

    /// Stops tcpdump (SIGINT: it writes out what it has) and returns the frames.
    pub fn stop(mut self) -> Result<Vec<Frame>> {
        // What was sent last is in flight through the bridges for a moment.
        std::thread::sleep(Duration::from_millis(200));
        sh::signal(self.child.0.id(), "INT");
        sh::wait_child(&mut self.child.0, Duration::from_secs(10));
        read_pcap(&self.path)
    }
}

/// One captured Ethernet frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame(pub Vec<u8>);

/// The IPv6 packet in a frame, or in the protocol-41 IPv4 packet of a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// Outer IPv4 source and destination, when tunnelled.
    pub outer: Option<(Ipv4Addr, Ipv4Addr)>,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub next_header: u8,
    pub hop_limit: u8,
    /// The bytes after the IPv6 header.
    pub payload: Vec<u8>,
}

impl Seen {
    /// ICMPv6 type, if ICMPv6.
    pub fn icmp6_type(&self) -> Option<u8> {
        (self.next_header == 58).then(|| self.payload.first().copied()).flatten()
    }

    pub fn carries(&self, marker: &[u8]) -> bool {
        !marker.is_empty() && self.payload.windows(marker.len()).any(|w| w == marker)
    }
}

impl Frame {
    pub fn decode(&self) -> Option<Seen> {
        let d = &self.0;
        let ethertype = u16::from_be_bytes([*d.get(12)?, *d.get(13)?]);
        let (outer, ip6) = match ethertype {
            0x86dd => (None, d.get(14..)?),
            0x0800 => {
                let ip = d.get(14..)?;
                let ihl = usize::from(ip.first()? & 0x0f) * 4;
                if *ip.get(9)? != 41 {
                    return None;
                }
                let v4 = |at: usize| -> Option<Ipv4Addr> { Some(Ipv4Addr::new(*ip.get(at)?, *ip.get(at + 1)?, *ip.get(at + 2)?, *ip.get(at + 3)?)) };
                (Some((v4(12)?, v4(16)?)), ip.get(ihl..)?)
            }
            _ => return None,
        };
        let v6 = |at: usize| -> Option<Ipv6Addr> { Some(Ipv6Addr::from(<[u8; 16]>::try_from(ip6.get(at..at + 16)?).ok()?)) };
        Some(Seen {
            outer,
            src: v6(8)?,
            dst: v6(24)?,
            next_header: *ip6.get(6)?,
            hop_limit: *ip6.get(7)?,
            payload: ip6.get(40..)?.to_vec(),
        })
    }
}

/// The frames of a pcap file (either byte order, microsecond or nanosecond stamps).
pub fn read_pcap(path: &Path) -> Result<Vec<Frame>> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let magic = data.get(..4).ok_or_else(|| format!("{}: not a pcap file", path.display()))?;
    let le = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => return Err(format!("{}: not a pcap file", path.display())),
    };
    let mut frames = Vec::new();
    let mut off = 24;
    while let Some(rec) = data.get(off..off + 16) {
        let b = [rec[8], rec[9], rec[10], rec[11]];
        let len = if le { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) } as usize;
        let frame = data.get(off + 16..off + 16 + len).ok_or_else(|| format!("{}: truncated record", path.display()))?;
        frames.push(Frame(frame.to_vec()));
        off += 16 + len;
    }
    Ok(frames)
}
