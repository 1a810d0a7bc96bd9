//! The per-burst decisions a worker makes for every packet: pure Rust, no DPDK types.
//!
//! A burst goes through three stages (VPP / l3fwd style):
//! 1. **classify** each packet: L2 accept (our MAC, broadcast, multicast; the port's
//!    VLAN), IPv4/IPv6 header checks, local delivery (punt or drop), decapsulation of
//!    protocol 41 with the RFC 4213 / 3964 / 6324 / 6040 checks. What is left is a lane
//!    holding exactly one IPv6 packet to route.
//! 2. **look up** every lane's destination in one bulk LPM call (and the sources, for
//!    uRPF).
//! 3. **act** per lane on its next hop: native forward (hop limit, MTU, L2 rewrite) or
//!    encapsulation (the checks of the tunnel's kind, outer header), or an ICMPv6 error
//!    built in place and routed like any packet. A next hop without a MAC yet gets a
//!    placeholder and the frame is punted to wait for it ([`neigh`], [`SlowPath`]).
//!
//! Tunnel kinds are rows of tables, not code paths: protocol 41 is matched to a tunnel
//! kind by its outer addresses (configured tunnels by both ends, then the one automatic
//! mechanism bound to the local address: 6to4, IPv4-compatible, ISATAP, 6rd, 6over4 —
//! RFC 3964 section 6.1) and checked by that kind's rules (`decap::check`); a route's
//! [`RouteTarget`] names the tunnel it enters; the addresses automatic tunnels embed are
//! listed in [`checks::embedded_v4s`] and, for 6rd, by the domains (`auto`).

mod auto;
mod buf;
mod bytes;
pub mod checks;
mod classify;
mod config;
mod counters;
mod decap;
mod encap;
mod forward;
mod host;
mod icmp4;
mod icmp_error;
mod l2;
pub mod local;
pub mod neigh;
mod pmtu;
mod ratelimit;
mod route_text;
mod settings;
mod slow;
mod tables;
mod tunnelled;
mod v4set;
mod verdict;
#[cfg(test)]
pub(crate) mod tests;

pub use auto::{
    is_sixover4_group, isatap_iid, sixover4_group, sixover4_multicast, AutomaticSettings, Ipv4CompatibleConfig, Ipv6Prefix, IsatapConfig, IsatapSettings,
    SixOver4Config, SixOver4Settings, SixRdConfig, SixRdDomain,
};
pub use buf::{PacketBuf, TestBuf};
pub use config::{
    Config, ConfigError, DscpConfig, InterfaceConfig, NeighbourConfig, RelayConfig, RouteConfig, RouterConfig, TunnelConfig,
};
pub use counters::{Counters, Event};
pub use host::{Host, PortView};
pub use ratelimit::TokenBucket;
pub use route_text::{parse_ipv6_prefix, parse_neighbour, parse_route, parse_route_command, parse_tunnel, parse_update};
pub use settings::*;
pub use tables::{ConfiguredTunnel, RouteTarget, TableUpdate, Tables, TunnelName};
pub use slow::{SlowIo, SlowPath};
pub use verdict::{is_drop_counter, DropReason, Verdict};

use auto::Automatic;
use classify::{Class, Origin};
use pmtu::PmtuCache;

use crate::lpm::Lpm6;
use crate::wire::EthernetAddress;

/// Packets per stage; longer bursts are cut into chunks of this size.
pub const MAX_BURST: usize = 64;
/// How many packets ahead stage 1 prefetches.
const PREFETCH_AHEAD: usize = 4;
/// Learned path MTUs expire after 10 minutes (RFC 8201 section 4).
const PMTU_LIFETIME_S: u64 = 600;
/// Packets per second (and at once) a worker hands to the slow path to wait for a next
/// hop's MAC. Past that they are dropped (`neighbour_missing`): a flood towards an
/// unresolved next hop must not fill the exception ring that ARP and ND replies use.
const RESOLVE_PUNT_PPS: u32 = 1000;
const RESOLVE_PUNT_BURST: u32 = 64;

/// One worker's pipeline: settings compiled for the fast path, counters, the ICMP token
/// bucket, the IPv4 identification counter, the automatic mechanisms, path MTUs.
pub struct Pipeline {
    settings: Settings,
    host: Host,
    auto: Automatic,
    urpf: bool,
    counters: Counters,
    bucket: TokenBucket,
    resolve_bucket: TokenBucket,
    pmtu: PmtuCache,
    ident: u16,
    clock_hz: u64,
}

impl Pipeline {
    /// `port_macs[i]` is port i's MAC (a configured MAC overrides it). The clock is
    /// nanoseconds until [`set_clock_hz`](Self::set_clock_hz) says otherwise.
    pub fn new(settings: Settings, port_macs: &[impl Into<EthernetAddress> + Copy]) -> Self {
        let host = Host::new(&settings, port_macs);
        let clock_hz = 1_000_000_000;
        Pipeline {
            auto: Automatic::new(&settings.automatic, &host.broadcasts, &host.own_v4, settings.tunnel_mtu),
            urpf: settings.urpf,
            counters: Counters::new(),
            bucket: TokenBucket::new(settings.icmp_rate_pps, settings.icmp_burst, clock_hz),
            resolve_bucket: TokenBucket::new(RESOLVE_PUNT_PPS, RESOLVE_PUNT_BURST, clock_hz),
            pmtu: PmtuCache::new(PMTU_LIFETIME_S * clock_hz),
            ident: 0,
            clock_hz,
            host,
            settings,
        }
    }

    /// Ticks per second of the `now` given to [`process_burst`](Self::process_burst)
    /// (e.g. the TSC frequency). Resets the token bucket and learned path MTUs.
    pub fn set_clock_hz(&mut self, hz: u64) {
        self.clock_hz = hz.max(1);
        self.bucket = TokenBucket::new(self.settings.icmp_rate_pps, self.settings.icmp_burst, self.clock_hz);
        self.resolve_bucket = TokenBucket::new(RESOLVE_PUNT_PPS, RESOLVE_PUNT_BURST, self.clock_hz);
        self.pmtu = PmtuCache::new(PMTU_LIFETIME_S.saturating_mul(self.clock_hz));
    }

    /// Starting IPv4 identification, so that workers sending to the same endpoint
    /// (e.g. `worker_index << 12`) do not repeat each other's ids soon.
    pub fn set_ident_base(&mut self, base: u16) {
        self.ident = base;
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Decides every packet of `bufs`: `verdicts[i]` for `bufs[i]`, each buffer rewritten
    /// in place into what is to be sent. Only the first `min(len)` of each are used.
    pub fn process_burst<B: PacketBuf>(&mut self, tables: &Tables, now: u64, bufs: &mut [B], verdicts: &mut [Verdict]) {
        let n = bufs.len().min(verdicts.len());
        for (bufs, verdicts) in bufs[..n].chunks_mut(MAX_BURST).zip(verdicts[..n].chunks_mut(MAX_BURST)) {
            self.process_chunk(tables, now, bufs, verdicts);
        }
    }

    fn process_chunk<B: PacketBuf>(&mut self, tables: &Tables, now: u64, bufs: &mut [B], verdicts: &mut [Verdict]) {
        let mut lane_pkt = [0u8; MAX_BURST];
        let mut origin = [Origin::Native; MAX_BURST];
        let mut dst = [[0u8; 16]; MAX_BURST];
        let mut src = [[0u8; 16]; MAX_BURST];
        let mut lanes = 0;

        for i in 0..bufs.len() {
            if let Some(ahead) = bufs.get(i + PREFETCH_AHEAD) {
                ahead.prefetch();
            }
            let (Some(b), Some(v)) = (bufs.get_mut(i), verdicts.get_mut(i)) else { break };
            match self.classify(tables, now, b) {
                Class::Done(verdict) => *v = verdict,
                Class::Route { origin: o, src: s, dst: d } => {
                    *v = Verdict::Punt;
                    lane_pkt[lanes] = i as u8;
                    origin[lanes] = o;
                    src[lanes] = s;
                    dst[lanes] = d;
                    lanes += 1;
                }
            }
        }

        let mut hop = [Lpm6::MISS; MAX_BURST];
        let mut src_hop = [Lpm6::MISS; MAX_BURST];
        tables.lookup_bulk(&dst[..lanes], &mut hop[..lanes], B::prefetch_addr);
        if self.urpf {
            tables.lookup_bulk(&src[..lanes], &mut src_hop[..lanes], B::prefetch_addr);
        }

        for k in 0..lanes {
            let i = usize::from(lane_pkt[k]);
            if let (Some(b), Some(v)) = (bufs.get_mut(i), verdicts.get_mut(i)) {
                *v = self.act(tables, now, b, origin[k], hop[k], src_hop[k]);
            }
        }

        self.counters.count_n(Event::Rx, bufs.len() as u64);
        for v in verdicts.iter() {
            match *v {
                Verdict::Tx(_) => self.counters.count(Event::Tx),
                Verdict::Punt => self.counters.count(Event::Punted),
                Verdict::Drop(r) => self.counters.count_drop(r),
            }
        }
    }

    /// The slow path for a punted frame: answers ARP, ND and echo for our addresses in
    /// place (see [`local`]), counting what it did.
    pub fn process_local<B: PacketBuf>(&mut self, buf: &mut B) -> Verdict {
        slow::answer_counted(&self.host, &self.auto, &mut self.counters, buf)
    }
}
