//! **slow** — the control core's work on punted frames (spec section 11): answers what is
//! addressed to the router ([`local`]: ARP, ND, echo, also through tunnels), learns
//! neighbours from ARP and ND, resolves the next hops of packets the workers could not
//! address, keeps what it learned confirmed ([`neigh`]), announces our IPv4 addresses at
//! start and sends router advertisements. Generic over the buffer type and the runtime
//! ([`SlowIo`]): the daemon runs it on mbufs and rings, the tests on
//! [`TestBuf`](crate::pipeline::TestBuf)s and a clock they set.
//!
//! Owns: [`SlowPath`], local delivery, neighbour discovery on ports and tunnel links.
//! May import: `model`, `mech`, `fast`, `crate::wire` (the last room: nothing imports it
//! but the runtime).
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

mod announce;
mod kernel;
pub mod local;
pub mod neigh;
mod sixover4;
mod sixover4_wrap;
mod tunnel_nd;
mod tunnelled;

use crate::pipeline::mech::Automatic;
use crate::wire::bytes::{arr, be16, v4_at};
use crate::pipeline::model::addr::{is_link_local6, is_multicast6};
use crate::pipeline::model::counters::{Counters, Event};
use crate::pipeline::fast::ecmp::route_of_packet;
use crate::pipeline::fast::forward::awaiting_port;
use crate::pipeline::mech::AWAITING_V4;
use crate::pipeline::model::host::Host;
pub use sixover4_wrap::sixover4_multicast;
pub use kernel::{kernel_egress, kernel_wants_copy};
use neigh::{Action, Heard, Neighbours, Received, Timers};
use crate::pipeline::model::settings::Settings;
use crate::pipeline::model::tables::{RouteTarget, TableError, TableUpdate, Tables};
use crate::pipeline::model::verdict::{DropReason, Verdict};
use crate::pipeline::fast::Pipeline;
use crate::pipeline::model::PacketBuf;
use crate::wire::{ethertype, EthernetAddress};

/// The slow path's clock: nanoseconds.
const HZ: u64 = 1_000_000_000;
/// Gratuitous ARP at start: this many announcements, this far apart (RFC 5227 section 1.1).
const ANNOUNCE_NUM: u8 = 2;
const ANNOUNCE_INTERVAL: u64 = 2 * HZ;
/// Router advertisements answering solicitations are at least this far apart
/// (RFC 4861 section 10, MIN_DELAY_BETWEEN_RAS).
const MIN_DELAY_BETWEEN_RAS: u64 = 3 * HZ;

/// [`local::answer`], counted.
pub(crate) fn answer_counted<B: PacketBuf>(host: &Host, auto: &Automatic, counters: &mut Counters, buf: &mut B) -> Verdict {
    match local::answer(host, auto, buf) {
        Ok((port, event)) => {
            counters.count(event);
            counters.count(Event::Tx);
            Verdict::Tx(port)
        }
        Err(r) => {
            counters.count_drop(r);
            Verdict::Drop(r)
        }
    }
}

/// What the slow path needs from the runtime.
impl Pipeline {
    /// The slow path for a punted frame: answers ARP, ND and echo for our addresses in
    /// place (see [`local`]), counting what it did.
    pub fn process_local<B: PacketBuf>(&mut self, buf: &mut B) -> Verdict {
        let (host, auto, counters) = self.local_parts();
        answer_counted(host, auto, counters, buf)
    }
}

pub trait SlowIo<B> {
    /// The control copy of the tables.
    fn tables(&self) -> &Tables;
    /// Applies a neighbour change to the control copy, then to every worker's.
    fn update(&mut self, update: TableUpdate) -> Result<(), TableError>;
    /// A fresh buffer holding `frame`; `None` when none is free.
    fn frame(&mut self, frame: &[u8]) -> Option<B>;
    /// Sends a complete frame out of `port` through a worker; false (and freed) when it
    /// could not be queued.
    fn send(&mut self, port: u16, buf: B) -> bool;
    /// Gives the kernel behind `port`'s control TAP a copy of `frame` (see [`kernel`]).
    fn to_kernel(&mut self, port: u16, frame: &[u8]) {
        let _ = (port, frame);
    }
}

/// Router advertisements of one port.
struct Advertiser {
    port: u16,
    frame: Vec<u8>,
    interval: u64,
    next: u64,
    last: Option<u64>,
}

/// Counters: one event per message handled or sent, one drop reason per frame dropped.
pub struct SlowPath<B> {
    host: Host,
    auto: Automatic,
    counters: Counters,
    neigh: Neighbours<B>,
    adverts: Vec<Advertiser>,
    /// Sends what nobody asked for: announcements, periodic RAs (off for offline runs).
    spontaneous: bool,
    announcements_left: u8,
    next_announcement: u64,
    actions: Vec<Action<B>>,
    /// The time of the frame or tick being handled.
    now: u64,
}

impl<B: PacketBuf> SlowPath<B> {
    /// The clock of every `now` given is nanoseconds.
    pub fn new(settings: &Settings, port_macs: &[impl Into<EthernetAddress> + Copy]) -> SlowPath<B> {
        let host = Host::new(settings, port_macs);
        let adverts = settings
            .router_adverts
            .iter()
            .filter_map(|ra| {
                let port = host.port(ra.port)?;
                Some(Advertiser {
                    port: ra.port,
                    frame: neigh::router_advert(port, port.link_local?, ra),
                    interval: u64::from(ra.interval_s) * HZ,
                    next: 0,
                    last: None,
                })
            })
            .collect();
        SlowPath {
            neigh: Neighbours::new(Timers::rfc4861(HZ), statics(settings)),
            auto: Automatic::new(&settings.automatic, &host.broadcasts, &host.own_v4, settings.tunnel_mtu),
            host,
            counters: Counters::new(),
            adverts,
            spontaneous: true,
            announcements_left: ANNOUNCE_NUM,
            next_announcement: 0,
            actions: Vec::new(),
            now: 0,
        }
    }

    /// Off: no gratuitous ARP, no periodic RA (solicitations are still answered, next
    /// hops still resolved and probed). For offline runs, whose output is the input's.
    pub fn set_spontaneous(&mut self, on: bool) {
        self.spontaneous = on;
        if !on {
            self.announcements_left = 0;
            for a in &mut self.adverts {
                a.next = u64::MAX;
            }
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn neighbours(&self) -> &Neighbours<B> {
        &self.neigh
    }

    /// Frames sent: replies, solicitations, announcements, released packets.
    pub fn replies(&self) -> u64 {
        self.counters.event(Event::Tx)
    }

    /// Frames that will not go back out: dropped, or taken in (learned from).
    pub fn dropped(&self) -> u64 {
        self.counters.event(Event::Dropped) + self.counters.event(Event::Consumed)
    }

    /// A frame a worker punted at time `now`.
    pub fn handle(&mut self, now: u64, buf: B, io: &mut impl SlowIo<B>) {
        self.now = now;
        let sixover4 = || tunnelled::sixover4_nd(&self.host, &self.auto, buf.data(), buf.rx_port());
        match awaiting_port(buf.data()) {
            Some(port) => self.wait(now, port, buf, io),
            None => match sixover4().unwrap_or_else(|| neigh::inspect(&self.host, buf.data(), buf.rx_port())).inspect(|_| {
                if kernel_wants_copy(&self.host, buf.rx_port(), buf.data()) {
                    io.to_kernel(buf.rx_port(), buf.data());
                }
            }) {
                Err(r) => self.counters.count_drop(r),
                Ok(Received::Answer(heard)) => {
                    // A request teaches its sender; whether it did, it is answered.
                    if let Some(h) = heard {
                        let _ = self.learn(now, h, io);
                    }
                    self.answer(buf, io);
                }
                Ok(Received::Learn(h)) => match self.learn(now, h, io) {
                    Ok(()) => self.counters.count(Event::Consumed),
                    Err(r) => self.counters.count_drop(r),
                },
                Ok(Received::RouterSolicit(port, heard)) => {
                    if let Some(h) = heard {
                        let _ = self.learn(now, h, io);
                    }
                    self.advertise_soon(port, now);
                    self.counters.count(Event::Consumed);
                }
            },
        }
        self.run_actions(io);
    }

    /// Timers due at `now`: retransmissions, reachability, announcements, RAs.
    pub fn tick(&mut self, now: u64, io: &mut impl SlowIo<B>) {
        self.now = now;
        self.neigh.tick(now, &mut self.actions);
        if self.announcements_left > 0 && now >= self.next_announcement {
            self.announcements_left -= 1;
            self.next_announcement = now.saturating_add(ANNOUNCE_INTERVAL);
            self.announce(io);
        }
        for i in 0..self.adverts.len() {
            let Some(a) = self.adverts.get_mut(i).filter(|a| now >= a.next) else { continue };
            a.last = Some(now);
            a.next = if self.spontaneous { now.saturating_add(a.interval) } else { u64::MAX };
            let (port, frame) = (a.port, a.frame.clone());
            self.send_frame(port, &frame, Event::RouterAdverts, io);
        }
        self.run_actions(io);
    }

    /// The configuration was reloaded: its static neighbours replace the old ones, and
    /// the new tables (which hold only those) get every learned neighbour again.
    pub fn reloaded(&mut self, settings: &Settings, io: &mut impl SlowIo<B>) {
        self.neigh.replace_statics(statics(settings), &mut self.actions);
        self.run_actions(io);
    }

    /// Frees every waiting packet (shutdown).
    pub fn clear(&mut self) {
        self.neigh.clear();
        self.actions.clear();
    }

    /// The neighbour table, one per line by address: static ones from the tables
    /// (`198.51.100.1 02:00:00:00:01:01 static`), then what was learned
    /// (`198.51.100.50 02:00:00:00:50:50 reachable port 0 age 3s`, `… incomplete port 0
    /// age 1s waiting 2`).
    pub fn neighbours_text(&self, tables: &Tables, now: u64) -> String {
        let statics = tables.neighbours().into_iter().filter(|&(a, _)| self.neigh.is_static(a));
        let mut lines: Vec<(IpAddr, String)> = statics.map(|(a, m)| (a, format!("{a} {m} static"))).collect();
        for e in self.neigh.entries(now) {
            let mac = e.mac.map_or_else(|| "-".to_string(), |m| EthernetAddress(m).to_string());
            let mut line = format!("{} {mac} {} port {} age {}s", e.addr, e.state.name(), e.port, e.age / HZ);
            if e.waiting > 0 {
                line.push_str(&format!(" waiting {}", e.waiting));
            }
            lines.push((e.addr, line));
        }
        lines.sort();
        lines.into_iter().map(|(_, l)| l + "\n").collect()
    }

    fn answer(&mut self, mut buf: B, io: &mut impl SlowIo<B>) {
        match local::answer(&self.host, &self.auto, &mut buf) {
            Ok((port, event)) => {
                self.counters.count(event);
                self.send(port, buf, io);
            }
            Err(r) => self.counters.count_drop(r),
        }
    }

    /// What `h` tells, if it is about an on-link neighbour and a unicast MAC.
    fn learn(&mut self, now: u64, h: Heard, io: &impl SlowIo<B>) -> Result<(), DropReason> {
        let host = &self.host;
        let on_link = match h.addr {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                io.tables().v4_next_hop(a) == Some((h.port, a)) && !host.is_own_v4(a) && !host.is_broadcast_v4(a)
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                let on_port = host.src_on_link(a, h.port) || is_link_local6(a) || self.sixover4_neighbour(h.port, a).is_some();
                on_port && !host.is_own_v6(a) && !is_multicast6(a)
            }
        };
        let unicast = !h.mac.is_some_and(|m| m[0] & 1 != 0 || m == [0; 6]);
        if !on_link || !unicast {
            return Err(DropReason::NeighbourBogus);
        }
        if self.neigh.is_static(h.addr) {
            return Ok(());
        }
        if self.neigh.learn(now, h.port, h.addr, h.mac, h.how, &mut self.actions)? {
            self.counters.count(Event::NeighResolved);
        }
        let event = match h.addr {
            IpAddr::V4(_) => Event::ArpLearned,
            IpAddr::V6(a) if self.sixover4_neighbour(h.port, u128::from(a)).is_some() => Event::NdLearned6over4,
            IpAddr::V6(_) => Event::NdLearned,
        };
        self.counters.count(event);
        Ok(())
    }

    /// A frame the fast path built for `port` but could not address.
    fn wait(&mut self, now: u64, port: u16, buf: B, io: &impl SlowIo<B>) {
        let tables = io.tables();
        let Some(addr) = self.next_hop(port, buf.data(), tables) else {
            return self.counters.count_drop(DropReason::NeighbourRouteChanged);
        };
        let known = match addr {
            IpAddr::V4(a) => tables.neighbour4(u32::from(a)),
            IpAddr::V6(a) => tables.neighbour6(u128::from(a)),
        };
        match known {
            // The worker had not applied it yet.
            Some(mac) => self.actions.push(Action::Release { port, mac, packet: buf }),
            None => self.neigh.resolve(now, port, addr, buf, &mut self.actions),
        }
    }

    /// The next hop of a waiting frame: the route of its IPv6 destination, or the IPv4
    /// egress of its outer destination, if it still leaves by `port`.
    fn next_hop(&self, port: u16, frame: &[u8], tables: &Tables) -> Option<IpAddr> {
        let view = self.host.port(port)?;
        if frame.get(6..12) != Some(&view.mac[..]) {
            return None;
        }
        let l2 = if view.vlan.is_some() { 18 } else { 14 };
        match be16(*arr::<2>(frame, l2 - 2)?) {
            ethertype::IPV6 => {
                let dst = Ipv6Addr::from(*arr::<16>(frame, l2 + 24)?);
                match route_of_packet(tables, frame.get(l2..)?)? {
                    RouteTarget::Connected { port: p } if p == port => Some(IpAddr::V6(dst)),
                    RouteTarget::Via { gateway, port: p } if p == port => Some(IpAddr::V6(gateway)),
                    _ => None,
                }
            }
            ethertype::IPV4 => {
                let dst = v4_at(arr::<20>(frame, l2)?, 16);
                if dst == AWAITING_V4 {
                    return self.sixover4_next_hop(port, frame, l2);
                }
                let (p, next_hop) = tables.v4_next_hop(dst)?;
                (p == port).then_some(IpAddr::V4(Ipv4Addr::from(next_hop)))
            }
            _ => None,
        }
    }

    fn solicit(&mut self, port: u16, addr: IpAddr, to: Option<[u8; 6]>, io: &mut impl SlowIo<B>) {
        if let IpAddr::V6(a) = addr {
            if let Some(link) = self.sixover4_neighbour(port, u128::from(a)) {
                return self.sixover4_solicit(port, link, u128::from(a), to, io);
            }
        }
        let Some(view) = self.host.port(port) else { return };
        let (frame, event) = match addr {
            IpAddr::V4(a) => (neigh::arp_request(view, view.ipv4.unwrap_or(0), u32::from(a), to), Event::ArpRequests),
            IpAddr::V6(a) => {
                let Some(src) = neigh::solicit_source(view, u128::from(a)) else { return };
                (neigh::neighbour_solicit(view, src, u128::from(a), to), Event::NdSolicits)
            }
        };
        self.send_frame(port, &frame, event, io);
    }

    fn run_actions(&mut self, io: &mut impl SlowIo<B>) {
        // A released 6over4 packet may queue more: it can wait for its IPv4 next hop.
        while !self.actions.is_empty() {
            self.run_queued(io);
        }
    }

    fn run_queued(&mut self, io: &mut impl SlowIo<B>) {
        let mut actions = std::mem::take(&mut self.actions);
        for action in actions.drain(..) {
            match action {
                Action::Solicit { port, addr, to } => self.solicit(port, addr, to, io),
                Action::Set { addr, mac } => {
                    // Learned entries are unicast and never static: the tables accept them.
                    let _ = io.update(TableUpdate::NeighbourSet { addr, mac: EthernetAddress(mac) });
                }
                Action::Del { addr } => {
                    let _ = io.update(TableUpdate::NeighbourDel { addr });
                    self.counters.count(Event::NeighExpired);
                }
                Action::Release { port, mac, packet } if self.is_sixover4_waiting(port, packet.data()) => {
                    self.sixover4_release(port, mac, packet, io);
                }
                Action::Release { port, mac, mut packet } => {
                    if let Some(dst) = packet.data_mut().get_mut(..6) {
                        dst.copy_from_slice(&mac);
                    }
                    self.counters.count(Event::NeighReleased);
                    self.send(port, packet, io);
                }
                Action::Drop { packet, reason } => {
                    drop(packet);
                    self.counters.count_drop(reason);
                }
            }
        }
        // Keep the allocation, unless more were queued meanwhile.
        if self.actions.is_empty() {
            self.actions = actions;
        }
    }

    fn send(&mut self, port: u16, buf: B, io: &mut impl SlowIo<B>) {
        if io.send(port, buf) {
            self.counters.count(Event::Tx);
        } else {
            self.counters.count_drop(DropReason::SlowTxFailed);
        }
    }

    fn send_frame(&mut self, port: u16, frame: &[u8], event: Event, io: &mut impl SlowIo<B>) {
        match io.frame(frame) {
            Some(buf) => {
                self.counters.count(event);
                self.send(port, buf, io);
            }
            None => self.counters.count_drop(DropReason::SlowTxFailed),
        }
    }
}

/// The configured static neighbours' addresses.
fn statics(settings: &Settings) -> Vec<IpAddr> {
    settings
        .neighbours
        .iter()
        .filter_map(|u| match u {
            TableUpdate::NeighbourSet { addr, .. } => Some(*addr),
            _ => None,
        })
        .collect()
}
