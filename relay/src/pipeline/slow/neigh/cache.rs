//! The learned-neighbour table and its reachability state machine (RFC 4861 section 7.3,
//! applied to ARP too), on a clock the caller gives: pure, no I/O. Every event returns
//! what to do as [`Action`]s — send a solicitation, tell the workers, release or drop
//! waiting packets.
//!
//! ```text
//!             resolve (packet waits)                    answer (solicited)
//!   (none) ───────────────────────────▶ INCOMPLETE ─────────────────────────▶ REACHABLE
//!     │          multicast solicitation    │  every retrans, up to 3, then       │
//!     │                                    │  delete, waiting packets dropped    │ reachable time
//!     │ request from it (ARP/NS/RS                ▼ unsolicited news ▼            ▼
//!     └──────────── with its address) ───────────────────────────▶ STALE ◀──────┘
//!                                                                   │ delay
//!              answer ◀──────── PROBE: unicast solicitation ◀───────┘
//!                               every retrans, up to 3, then delete (workers forget it)
//! ```
//!
//! The control core does not see the traffic that uses an entry (the workers forward
//! with it), so a stale entry is always probed after the delay rather than on use: live
//! neighbours stay confirmed and dead ones leave the workers' tables. Entries with a MAC
//! (reachable, stale, probe) are in the workers' tables; incomplete ones are not.
//! Static neighbours from the configuration are never learned over, probed or aged.
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::IpAddr;

use crate::pipeline::model::verdict::DropReason;

/// RFC 4861 section 10 constants, in clock ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    /// Ticks per second (for display).
    pub hz: u64,
    /// REACHABLE for this long after a confirmation (BaseReachableTime, 30 s).
    pub reachable: u64,
    /// STALE for this long before the first probe (DELAY_FIRST_PROBE_TIME, 5 s).
    pub delay: u64,
    /// Between solicitations (RetransTimer, 1 s).
    pub retrans: u64,
    /// Solicitations before giving up: MAX_MULTICAST_SOLICIT, MAX_UNICAST_SOLICIT (3).
    pub multicast_solicits: u8,
    pub unicast_solicits: u8,
    /// Packets waiting per next hop.
    pub queue_len: usize,
    /// Learned entries at most.
    pub max_entries: usize,
}

impl Timers {
    /// The RFC 4861 defaults on a clock of `hz` ticks per second.
    pub fn rfc4861(hz: u64) -> Timers {
        Timers {
            hz,
            reachable: 30 * hz,
            delay: 5 * hz,
            retrans: hz,
            multicast_solicits: 3,
            unicast_solicits: 3,
            queue_len: 8,
            max_entries: 4096,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Incomplete,
    Reachable,
    Stale,
    Probe,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Incomplete => "incomplete",
            State::Reachable => "reachable",
            State::Stale => "stale",
            State::Probe => "probe",
        }
    }
}

/// How a message tells us a neighbour's link-layer address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// The neighbour asked us something with its address in it (ARP request, NS or RS
    /// with a source link-layer option): it is on-link, an entry may be created, stale
    /// (RFC 4861 sections 7.2.3 and 6.2.6; RFC 826).
    Request,
    /// An answer or announcement about it (ARP reply or gratuitous ARP, NA): updates an
    /// entry we hold, never creates one (RFC 4861 section 7.2.5).
    Advert { solicited: bool, override_: bool },
}

/// What the caller must do.
#[derive(Debug, PartialEq, Eq)]
pub enum Action<P> {
    /// Send an ARP request or NS for `addr` on `port`: broadcast / multicast (`to: None`)
    /// or unicast to the MAC we hold (a probe).
    Solicit { port: u16, addr: IpAddr, to: Option<[u8; 6]> },
    /// The workers learn (or relearn) this neighbour.
    Set { addr: IpAddr, mac: [u8; 6] },
    /// The workers forget it.
    Del { addr: IpAddr },
    /// Send this waiting packet on `port` to `mac`.
    Release { port: u16, mac: [u8; 6], packet: P },
    Drop { packet: P, reason: DropReason },
}

struct Entry<P> {
    port: u16,
    state: State,
    mac: Option<[u8; 6]>,
    /// Solicitations sent in this state.
    sent: u8,
    /// When the state's timer fires.
    deadline: u64,
    /// Last learned or confirmed.
    since: u64,
    waiting: VecDeque<P>,
}

/// One learned entry, for display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryView {
    pub addr: IpAddr,
    pub port: u16,
    pub state: State,
    pub mac: Option<[u8; 6]>,
    /// Ticks since last learned or confirmed.
    pub age: u64,
    pub waiting: usize,
}

/// Learned neighbours, `P` being a packet waiting for one.
pub struct Neighbours<P> {
    entries: BTreeMap<IpAddr, Entry<P>>,
    statics: BTreeSet<IpAddr>,
    timers: Timers,
    /// No deadline is earlier.
    next_deadline: u64,
}

impl<P> Neighbours<P> {
    pub fn new(timers: Timers, statics: impl IntoIterator<Item = IpAddr>) -> Neighbours<P> {
        Neighbours { entries: BTreeMap::new(), statics: statics.into_iter().collect(), timers, next_deadline: u64::MAX }
    }

    pub fn timers(&self) -> &Timers {
        &self.timers
    }

    pub fn is_static(&self, addr: IpAddr) -> bool {
        self.statics.contains(&addr)
    }

    /// `packet` must go to `addr` on `port`, whose MAC the workers lack.
    pub fn resolve(&mut self, now: u64, port: u16, addr: IpAddr, packet: P, out: &mut Vec<Action<P>>) {
        let t = self.timers;
        if let Some(e) = self.entries.get_mut(&addr) {
            match e.mac {
                // The workers have it too, or will in a moment.
                Some(mac) => out.push(Action::Release { port, mac, packet }),
                None => {
                    if e.waiting.len() >= t.queue_len {
                        if let Some(old) = e.waiting.pop_front() {
                            out.push(Action::Drop { packet: old, reason: DropReason::NeighbourQueueFull });
                        }
                    }
                    e.waiting.push_back(packet);
                }
            }
            return;
        }
        if self.statics.contains(&addr) {
            // The tables hold it: they changed since the packet was built.
            out.push(Action::Drop { packet, reason: DropReason::NeighbourRouteChanged });
            return;
        }
        if self.entries.len() >= t.max_entries {
            out.push(Action::Drop { packet, reason: DropReason::NeighbourTableFull });
            return;
        }
        let deadline = now.saturating_add(t.retrans);
        let mut waiting = VecDeque::with_capacity(t.queue_len);
        waiting.push_back(packet);
        let e = Entry { port, state: State::Incomplete, mac: None, sent: 1, deadline, since: now, waiting };
        self.entries.insert(addr, e);
        self.next_deadline = self.next_deadline.min(deadline);
        out.push(Action::Solicit { port, addr, to: None });
    }

    /// A message told us `addr` is at `mac` (or, with `mac: None`, only confirmed it) on
    /// `port`. `Ok(true)` when that resolved an incomplete entry; an error when there was
    /// nothing to update and no entry may or can be made.
    pub fn learn(&mut self, now: u64, port: u16, addr: IpAddr, mac: Option<[u8; 6]>, how: How, out: &mut Vec<Action<P>>) -> Result<bool, DropReason> {
        if self.statics.contains(&addr) {
            return Ok(false);
        }
        let t = self.timers;
        let Some(e) = self.entries.get_mut(&addr) else {
            let (How::Request, Some(mac)) = (how, mac) else { return Err(DropReason::NeighbourNotCached) };
            if self.entries.len() >= t.max_entries {
                return Err(DropReason::NeighbourTableFull);
            }
            let deadline = now.saturating_add(t.delay);
            let e = Entry { port, state: State::Stale, mac: Some(mac), sent: 0, deadline, since: now, waiting: VecDeque::new() };
            self.entries.insert(addr, e);
            self.next_deadline = self.next_deadline.min(deadline);
            out.push(Action::Set { addr, mac });
            return Ok(false);
        };
        let before = (e.state, e.mac, e.deadline);
        match (e.mac, mac, how) {
            (_, None, How::Request) => return Err(DropReason::NeighbourNotCached),
            // Completes the entry: solicited answers make it reachable, anything else stale.
            (None, Some(new), _) => {
                let solicited = matches!(how, How::Advert { solicited: true, .. });
                e.mac = Some(new);
                e.port = port;
                e.enter(if solicited { State::Reachable } else { State::Stale }, now, &t);
                out.push(Action::Set { addr, mac: new });
                for packet in e.waiting.drain(..) {
                    out.push(Action::Release { port, mac: new, packet });
                }
            }
            (None, None, _) => {}
            (Some(old), new, How::Request) => {
                if new.is_some_and(|n| n != old) {
                    e.mac = new;
                    e.port = port;
                    e.enter(State::Stale, now, &t);
                }
            }
            (Some(old), new, How::Advert { solicited, override_ }) => {
                let same = new.is_none_or(|n| n == old);
                if !override_ && !same {
                    // Someone else claims it without override: distrust, but keep the MAC.
                    if e.state == State::Reachable {
                        e.enter(State::Stale, now, &t);
                    }
                } else {
                    if !same {
                        e.mac = new;
                        e.port = port;
                    }
                    if solicited {
                        e.enter(State::Reachable, now, &t);
                    } else if !same {
                        e.enter(State::Stale, now, &t);
                    }
                }
            }
        }
        if let Some(mac) = e.mac.filter(|&m| Some(m) != before.1 && before.1.is_some()) {
            out.push(Action::Set { addr, mac });
        }
        if (e.state, e.mac, e.deadline) != before {
            self.next_deadline = self.next_deadline.min(e.deadline);
        }
        Ok(before.1.is_none() && e.mac.is_some())
    }

    /// Runs every timer due at `now`.
    pub fn tick(&mut self, now: u64, out: &mut Vec<Action<P>>) {
        if now < self.next_deadline {
            return;
        }
        let t = self.timers;
        let mut next = u64::MAX;
        self.entries.retain(|&addr, e| {
            if e.deadline <= now {
                match e.state {
                    State::Incomplete if e.sent < t.multicast_solicits => {
                        e.sent += 1;
                        e.deadline = now.saturating_add(t.retrans);
                        out.push(Action::Solicit { port: e.port, addr, to: None });
                    }
                    State::Incomplete => {
                        for packet in e.waiting.drain(..) {
                            out.push(Action::Drop { packet, reason: DropReason::NeighbourUnresolved });
                        }
                        return false;
                    }
                    State::Reachable => {
                        e.state = State::Stale;
                        e.deadline = now.saturating_add(t.delay);
                    }
                    State::Stale => {
                        e.state = State::Probe;
                        e.sent = 1;
                        e.deadline = now.saturating_add(t.retrans);
                        out.push(Action::Solicit { port: e.port, addr, to: e.mac });
                    }
                    State::Probe if e.sent < t.unicast_solicits => {
                        e.sent += 1;
                        e.deadline = now.saturating_add(t.retrans);
                        out.push(Action::Solicit { port: e.port, addr, to: e.mac });
                    }
                    State::Probe => {
                        out.push(Action::Del { addr });
                        return false;
                    }
                }
            }
            next = next.min(e.deadline);
            true
        });
        self.next_deadline = next;
    }

    /// New static neighbours (a reload): entries now static are dropped (without telling
    /// the workers: the new tables hold the static entry), and every learned entry with
    /// a MAC is told to the workers again (the new tables lack them).
    pub fn replace_statics(&mut self, statics: impl IntoIterator<Item = IpAddr>, out: &mut Vec<Action<P>>) {
        self.statics = statics.into_iter().collect();
        let statics = &self.statics;
        self.entries.retain(|addr, e| {
            if statics.contains(addr) {
                for packet in e.waiting.drain(..) {
                    out.push(Action::Drop { packet, reason: DropReason::NeighbourRouteChanged });
                }
                return false;
            }
            true
        });
        for (&addr, e) in &self.entries {
            if let Some(mac) = e.mac {
                out.push(Action::Set { addr, mac });
            }
        }
    }

    /// Every learned entry, by address.
    pub fn entries(&self, now: u64) -> impl Iterator<Item = EntryView> + '_ {
        self.entries.iter().map(move |(&addr, e)| EntryView {
            addr,
            port: e.port,
            state: e.state,
            mac: e.mac,
            age: now.saturating_sub(e.since),
            waiting: e.waiting.len(),
        })
    }

    pub fn get(&self, addr: IpAddr, now: u64) -> Option<EntryView> {
        self.entries(now).find(|e| e.addr == addr)
    }

    /// Packets waiting for resolution.
    pub fn waiting(&self) -> usize {
        self.entries.values().map(|e| e.waiting.len()).sum()
    }

    /// Frees every waiting packet (shutdown).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.next_deadline = u64::MAX;
    }
}

impl<P> Entry<P> {
    /// Enters `state` (reachable or stale) at `now`: a fresh confirmation.
    fn enter(&mut self, state: State, now: u64, t: &Timers) {
        self.state = state;
        self.sent = 0;
        self.since = now;
        self.deadline = now.saturating_add(if state == State::Reachable { t.reachable } else { t.delay });
    }
}
