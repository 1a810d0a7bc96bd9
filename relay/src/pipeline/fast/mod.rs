//! **fast** — the per-burst stages a worker runs for every packet: classify (L2 accept,
//! IPv4/IPv6 header checks, local delivery or punt, decapsulation) → one bulk route lookup
//! → act (native forward, or encapsulation with the outer header and L2 rewrite, or an
//! ICMPv6 error built in place and routed like any packet). Every outcome is a next port,
//! a punt to the slow path, or a named drop reason with its own counter.
//!
//! ICMPv6 errors and ICMPv4-error relaying (RFC 4213 section 3.4) are built here, on the
//! worker, not on the control core: they are rate-limited per worker and answer the packet
//! in the buffer that holds it, without a trip over the exception ring.
//!
//! Owns: [`Pipeline`] and its stages, the outer-header writer, the L2 rewrite, the ECMP
//! flow hash, path MTUs,
//! the token bucket. May import: `model`, `mech`, `crate::lpm`, `crate::wire` — never
//! `slow`.
mod classify;
mod decap;
pub(crate) mod ecmp;
pub(crate) mod encap;
pub(crate) mod forward;
mod icmp4;
mod icmp_error;
pub(crate) mod l2;
mod pmtu;
mod ratelimit;
mod reassembly;

pub(crate) use classify::{arp_kind, l2_accept, ArpKind};
pub use ratelimit::TokenBucket;

use classify::{Class, Origin};
use pmtu::PmtuCache;
use reassembly::Reassembly;

use std::sync::Arc;

use crate::lpm::Lpm6;
use crate::pipeline::mech::Automatic;
use crate::pipeline::model::counters::{Counters, Event};
use crate::pipeline::model::host::Host;
use crate::pipeline::model::settings::Settings;
use crate::pipeline::model::tables::Tables;
use crate::pipeline::model::tunnel_counters::TunnelCounters;
use crate::pipeline::model::verdict::{DropReason, Verdict};
use crate::pipeline::model::PacketBuf;
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
    /// Shared with the control core, which reads them (`tunnel stats`).
    tunnel_counters: Arc<TunnelCounters>,
    bucket: TokenBucket,
    resolve_bucket: TokenBucket,
    /// Control-plane policing: packets for the kernel from routing peers, and from others.
    kernel_peer: TokenBucket,
    kernel_other: TokenBucket,
    pmtu: PmtuCache,
    /// Outer IPv4 datagrams being reassembled (this worker's table).
    reassembly: Reassembly,
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
            tunnel_counters: Arc::new(TunnelCounters::new(settings.max_tunnels)),
            bucket: TokenBucket::new(settings.icmp_rate_pps, settings.icmp_burst, clock_hz),
            resolve_bucket: TokenBucket::new(RESOLVE_PUNT_PPS, RESOLVE_PUNT_BURST, clock_hz),
            kernel_peer: peer_bucket(&settings, clock_hz),
            kernel_other: other_bucket(&settings, clock_hz),
            pmtu: PmtuCache::new(PMTU_LIFETIME_S * clock_hz),
            reassembly: Reassembly::new(settings.reassembly, clock_hz),
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
        self.kernel_peer = peer_bucket(&self.settings, self.clock_hz);
        self.kernel_other = other_bucket(&self.settings, self.clock_hz);
        self.pmtu = PmtuCache::new(PMTU_LIFETIME_S.saturating_mul(self.clock_hz));
        self.reassembly = Reassembly::new(self.settings.reassembly, self.clock_hz);
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

    /// This worker's per-tunnel counters, for the control core to read.
    pub fn tunnel_counters(&self) -> Arc<TunnelCounters> {
        Arc::clone(&self.tunnel_counters)
    }

    /// Decides every packet of `bufs`: `verdicts[i]` for `bufs[i]`, each buffer rewritten
    /// in place into what is to be sent. Only the first `min(len)` of each are used.
    pub fn process_burst<B: PacketBuf>(&mut self, tables: &Tables, now: u64, bufs: &mut [B], verdicts: &mut [Verdict]) {
        self.expire_fragments(now);
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
                Verdict::Kernel => self.counters.count(Event::ToKernel),
                Verdict::Held => self.counters.count(Event::FragHeld),
                Verdict::Drop(r) => self.counters.count_drop(r),
            }
        }
    }

    /// A packet for us that relayd does not answer, on a port with a control TAP: to the
    /// kernel if its class's bucket has a token (`peer`: from a routing neighbour).
    #[inline]
    pub(crate) fn to_kernel(&mut self, now: u64, peer: bool) -> Verdict {
        let (bucket, over) = if peer {
            (&mut self.kernel_peer, DropReason::KernelPolicedPeer)
        } else {
            (&mut self.kernel_other, DropReason::KernelPolicedOther)
        };
        if bucket.take(now) {
            Verdict::Kernel
        } else {
            Verdict::Drop(over)
        }
    }

    /// What local delivery reads and counts with, for the slow path's
    /// [`process_local`](Pipeline::process_local).
    pub(crate) fn local_parts(&mut self) -> (&Host, &Automatic, &mut Counters) {
        (&self.host, &self.auto, &mut self.counters)
    }
}

fn peer_bucket(s: &Settings, hz: u64) -> TokenBucket {
    TokenBucket::new(s.control_plane.peer_rate_pps, s.control_plane.peer_burst, hz)
}

fn other_bucket(s: &Settings, hz: u64) -> TokenBucket {
    TokenBucket::new(s.control_plane.other_rate_pps, s.control_plane.other_burst, hz)
}
