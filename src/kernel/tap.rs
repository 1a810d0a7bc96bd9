//! The control TAPs: one kernel interface per port that has `control_tap`, with the port's
//! MAC, MTU and addresses, so the routing daemon on the host talks through relayd's ports as
//! if they were its own (VPP's linux-cp, grout's control-plane ports).
//!
//! Into the kernel: what the workers classified [`Verdict::Kernel`] (policed on the workers),
//! from their kernel rings, and the slow path's copies of ARP and ND. Out of the kernel:
//! every frame read from a TAP leaves through its port (the slow path's inject ring), except
//! the answers that repeat relayd's (`kernel_duplicate_answer`).
//!
//! [`Verdict::Kernel`]: relay::pipeline::Verdict::Kernel
use std::net::IpAddr;
use std::sync::Arc;

use crossbeam::queue::ArrayQueue;
use relay::pipeline::{kernel_egress, DropReason, Host, PacketBuf, Settings};
use relay::runtime::{KernelTap, Mbuf, Mempool};

use super::netlink::{link_index, Rtnl};

/// Frames moved per TAP and direction per control-loop turn.
const BATCH: usize = 64;
/// Largest frame read from a TAP: the port MTU is at most 9216, plus Ethernet and VLAN.
const MAX_FRAME: usize = 9216 + 18;

macro_rules! tap_counters {
    ($($f:ident => $help:literal),* $(,)?) => {
        /// The control TAPs' traffic, for `stats` and Prometheus.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct TapCounters { $(pub $f: u64),* }
        impl TapCounters {
            pub const HELP: &'static [(&'static str, &'static str)] = &[$((stringify!($f), $help)),*];
            pub fn values(&self) -> Vec<(&'static str, u64)> { vec![$((stringify!($f), self.$f)),*] }
        }
    };
}
tap_counters!(
    to_kernel => "Frames written to the control TAPs (policed packets for us, ARP/ND copies).",
    to_kernel_dropped => "Frames for a control TAP the kernel would not take (its queue full, or no TAP on the port).",
    from_kernel => "Frames the kernel sent on the control TAPs that left through their ports.",
    from_kernel_duplicate => "ARP replies and neighbour advertisements of the kernel that repeat relayd's, dropped.",
    from_kernel_bad => "Frames from the kernel that could not leave (malformed, VLAN mismatch).",
    from_kernel_no_mbuf => "Frames from the kernel dropped: no free mbuf, or the inject ring was full.",
);

struct ControlTap {
    port: u16,
    tap: KernelTap,
    ifindex: u32,
}

/// Every port's control TAP.
pub struct ControlTaps {
    taps: Vec<ControlTap>,
    /// Port → index into `taps`.
    by_port: Vec<Option<usize>>,
    host: Host,
    counters: TapCounters,
    frame: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
#[error("control TAP {name} of port {port}: {reason}")]
pub struct TapSetupError {
    name: String,
    port: u16,
    reason: String,
}

/// Writes a sysctl of the TAP's IPv6 configuration.
fn ipv6_conf(name: &str, key: &str, value: &str) -> Result<(), String> {
    let path = format!("/proc/sys/net/ipv6/conf/{name}/{key}");
    std::fs::write(&path, value).map_err(|e| format!("{path}: {e}"))
}

impl ControlTaps {
    /// Creates each port's TAP and gives it the port's MAC, MTU and addresses; nothing when
    /// no port has one. On error, the TAPs made so far close with the value (and vanish).
    pub fn open(settings: &Settings, macs: &[[u8; 6]]) -> Result<ControlTaps, TapSetupError> {
        let host = Host::new(settings, macs);
        let mut taps = Vec::new();
        let mut by_port = vec![None; settings.ports.len()];
        let mut rtnl = None;
        for (i, p) in settings.ports.iter().enumerate() {
            let Some(name) = &p.control_tap else { continue };
            let port = i as u16;
            let fail = |reason: String| TapSetupError { name: name.clone(), port, reason };
            let rtnl = match &mut rtnl {
                Some(r) => r,
                None => rtnl.insert(Rtnl::open().map_err(|e| fail(e.to_string()))?),
            };
            let tap = KernelTap::open(name).map_err(|e| fail(e.to_string()))?;
            let ifindex = link_index(name).map_err(|e| fail(format!("ifindex: {e}")))?;
            let mac = host.port(port).map(|v| v.mac).unwrap_or(macs[i]);
            // The kernel must not configure itself from what it hears (relayd's peers'
            // RAs), nor probe addresses relayd already answers for. Its link-local is the
            // EUI-64 one of the port's MAC, which relayd answers for as well.
            for (key, value) in [("accept_ra", "0"), ("autoconf", "0"), ("accept_dad", "0"), ("dad_transmits", "0")] {
                ipv6_conf(name, key, value).map_err(fail)?;
            }
            rtnl.set_link(ifindex, mac, u32::from(p.mtu), false).map_err(|e| fail(e.to_string()))?;
            if let Some(a) = p.ipv4 {
                rtnl.add_address(ifindex, IpAddr::V4(a.addr), a.len).map_err(|e| fail(e.to_string()))?;
            }
            for a in &p.ipv6 {
                rtnl.add_address(ifindex, IpAddr::V6(a.addr), a.len).map_err(|e| fail(e.to_string()))?;
            }
            rtnl.set_link(ifindex, mac, u32::from(p.mtu), true).map_err(|e| fail(e.to_string()))?;
            by_port[i] = Some(taps.len());
            taps.push(ControlTap { port, tap, ifindex });
        }
        Ok(ControlTaps { taps, by_port, host, counters: TapCounters::default(), frame: vec![0; MAX_FRAME] })
    }

    pub fn is_empty(&self) -> bool {
        self.taps.is_empty()
    }

    pub fn counters(&self) -> &TapCounters {
        &self.counters
    }

    /// `(interface index, port)` of every TAP, for the FIB mirror.
    pub fn interfaces(&self) -> Vec<(u32, u16)> {
        self.taps.iter().map(|t| (t.ifindex, t.port)).collect()
    }

    /// `(name, port)` of every TAP.
    pub fn names(&self) -> Vec<(String, u16)> {
        self.taps.iter().map(|t| (t.tap.name().to_owned(), t.port)).collect()
    }

    /// Writes `frame` to port `port`'s TAP.
    pub fn to_kernel(&mut self, port: u16, frame: &[u8]) {
        let tap = self.by_port.get(usize::from(port)).copied().flatten().and_then(|i| self.taps.get_mut(i));
        let written = match tap {
            Some(t) => t.tap.send(frame).unwrap_or(false),
            None => false,
        };
        if written {
            self.counters.to_kernel += 1;
        } else {
            self.counters.to_kernel_dropped += 1;
        }
    }

    /// Moves what the workers queued for the kernel into the TAPs; true if anything moved.
    pub fn drain(&mut self, rings: &[Arc<ArrayQueue<Mbuf>>]) -> bool {
        let mut busy = false;
        for ring in rings {
            for _ in 0..BATCH {
                let Some(m) = ring.pop() else { break };
                busy = true;
                self.to_kernel(m.rx_port(), m.data());
            }
        }
        busy
    }

    /// Sends what the kernel wrote on its TAPs out of their ports, through `send` (the
    /// worker's inject ring); true if anything came.
    pub fn pump(&mut self, pool: &Mempool, mut send: impl FnMut(u16, Mbuf) -> bool) -> bool {
        let mut busy = false;
        for t in &mut self.taps {
            for _ in 0..BATCH {
                let n = match t.tap.recv(&mut self.frame) {
                    Ok(Some(n)) => n,
                    Ok(None) => break,
                    Err(e) => {
                        println!("relayd: control TAP {}: read: {e}", t.tap.name());
                        break;
                    }
                };
                busy = true;
                let frame = &self.frame[..n];
                match kernel_egress(&self.host, t.port, frame) {
                    Ok(()) => {}
                    Err(DropReason::KernelDuplicateAnswer) => {
                        self.counters.from_kernel_duplicate += 1;
                        continue;
                    }
                    Err(_) => {
                        self.counters.from_kernel_bad += 1;
                        continue;
                    }
                }
                let sent = match pool.alloc() {
                    Some(mut m) => m.extend_from_slice(frame) && send(t.port, m),
                    None => false,
                };
                if sent {
                    self.counters.from_kernel += 1;
                } else {
                    self.counters.from_kernel_no_mbuf += 1;
                }
            }
        }
        busy
    }
}
