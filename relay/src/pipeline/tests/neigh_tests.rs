//! The learned-neighbour state machine on a fake clock (1 tick = 1 ms): every transition
//! and exactly what it asks the caller to do.
use std::net::IpAddr;

use super::neigh::{Action, How, Neighbours, State, Timers};
use super::DropReason;

const S: u64 = 1000;
const GW: [u8; 6] = [2, 0, 0, 0, 1, 1];
const OTHER: [u8; 6] = [2, 0, 0, 0, 1, 2];

fn ip(s: &str) -> IpAddr {
    s.parse().expect("IP literal")
}

fn table() -> Neighbours<u32> {
    Neighbours::new(Timers::rfc4861(S), [ip("198.51.100.1")])
}

fn solicit(addr: &str, to: Option<[u8; 6]>) -> Action<u32> {
    Action::Solicit { port: 0, addr: ip(addr), to }
}

fn state(n: &Neighbours<u32>, addr: &str) -> Option<(State, Option<[u8; 6]>)> {
    n.get(ip(addr), 0).map(|e| (e.state, e.mac))
}

const SOLICITED: How = How::Advert { solicited: true, override_: true };

/// Three multicast solicitations a second apart; then the waiting packets are dropped
/// and the entry is gone (RFC 4861 section 7.3.3, MAX_MULTICAST_SOLICIT).
#[test]
fn unanswered_resolution_gives_up_after_three_solicitations() {
    let mut n = table();
    let mut out = Vec::new();
    n.resolve(0, 0, ip("198.51.100.9"), 1, &mut out);
    n.resolve(500, 0, ip("198.51.100.9"), 2, &mut out);
    assert_eq!(out, vec![solicit("198.51.100.9", None)]);
    assert_eq!(n.waiting(), 2);
    out.clear();
    n.tick(999, &mut out);
    assert_eq!(out, vec![]);
    n.tick(S, &mut out);
    n.tick(2 * S, &mut out);
    assert_eq!(out, vec![solicit("198.51.100.9", None), solicit("198.51.100.9", None)]);
    out.clear();
    n.tick(3 * S, &mut out);
    let unresolved = DropReason::NeighbourUnresolved;
    assert_eq!(out, vec![Action::Drop { packet: 1, reason: unresolved }, Action::Drop { packet: 2, reason: unresolved }]);
    assert_eq!((state(&n, "198.51.100.9"), n.waiting()), (None, 0));
}

/// The answer completes the entry: the workers learn it, the waiting packets leave in
/// the order they came.
#[test]
fn answer_releases_waiting_packets_in_order() {
    let mut n = table();
    let mut out = Vec::new();
    for p in 1..=3 {
        n.resolve(0, 0, ip("198.51.100.9"), p, &mut out);
    }
    out.clear();
    assert_eq!(n.learn(400, 0, ip("198.51.100.9"), Some(GW), SOLICITED, &mut out), Ok(true));
    let release = |packet| Action::Release { port: 0, mac: GW, packet };
    assert_eq!(out, vec![Action::Set { addr: ip("198.51.100.9"), mac: GW }, release(1), release(2), release(3)]);
    assert_eq!(state(&n, "198.51.100.9"), Some((State::Reachable, Some(GW))));
    // Later packets (a worker that has not applied the change yet) go straight out.
    out.clear();
    n.resolve(500, 0, ip("198.51.100.9"), 4, &mut out);
    assert_eq!(out, vec![release(4)]);
    // Nothing is due any more until the entry ages.
    out.clear();
    n.tick(3 * S, &mut out);
    assert_eq!(out, vec![]);
}

/// A small queue per next hop: the oldest packet makes room for the newest.
#[test]
fn full_queue_drops_the_oldest() {
    let mut n = table();
    let mut out = Vec::new();
    for p in 0..10 {
        n.resolve(0, 0, ip("2002:c633:6407:1::5"), p, &mut out);
    }
    let full = DropReason::NeighbourQueueFull;
    assert_eq!(
        out,
        vec![
            Action::Solicit { port: 0, addr: ip("2002:c633:6407:1::5"), to: None },
            Action::Drop { packet: 0, reason: full },
            Action::Drop { packet: 1, reason: full },
        ]
    );
    assert_eq!(n.waiting(), 8);
}

/// REACHABLE → STALE after the reachable time, probes after the delay, three unicast
/// solicitations, then the workers forget it.
#[test]
fn silent_neighbour_ages_out() {
    let mut n = table();
    let mut out = Vec::new();
    n.resolve(0, 0, ip("198.51.100.9"), 1, &mut out);
    n.learn(0, 0, ip("198.51.100.9"), Some(GW), SOLICITED, &mut out).unwrap();
    out.clear();
    n.tick(30 * S - 1, &mut out);
    assert_eq!(state(&n, "198.51.100.9"), Some((State::Reachable, Some(GW))));
    n.tick(30 * S, &mut out);
    assert_eq!((state(&n, "198.51.100.9"), &out), (Some((State::Stale, Some(GW))), &vec![]));
    n.tick(35 * S, &mut out);
    assert_eq!(state(&n, "198.51.100.9"), Some((State::Probe, Some(GW))));
    n.tick(36 * S, &mut out);
    n.tick(37 * S, &mut out);
    assert_eq!(out, (0..3).map(|_| solicit("198.51.100.9", Some(GW))).collect::<Vec<_>>());
    out.clear();
    n.tick(38 * S, &mut out);
    assert_eq!(out, vec![Action::Del { addr: ip("198.51.100.9") }]);
    assert_eq!(state(&n, "198.51.100.9"), None);
}

/// A probe answered makes the entry reachable again; the workers' MAC is unchanged.
#[test]
fn answered_probe_confirms() {
    let mut n = table();
    let mut out = Vec::new();
    n.learn(0, 0, ip("198.51.100.50"), Some(GW), How::Request, &mut out).unwrap();
    assert_eq!(out, vec![Action::Set { addr: ip("198.51.100.50"), mac: GW }]);
    assert_eq!(state(&n, "198.51.100.50"), Some((State::Stale, Some(GW))));
    out.clear();
    n.tick(5 * S, &mut out);
    assert_eq!(out, vec![solicit("198.51.100.50", Some(GW))]);
    out.clear();
    assert_eq!(n.learn(5 * S + 2, 0, ip("198.51.100.50"), Some(GW), SOLICITED, &mut out), Ok(false));
    assert_eq!((state(&n, "198.51.100.50"), &out), (Some((State::Reachable, Some(GW))), &vec![]));
    assert_eq!(n.get(ip("198.51.100.50"), 7 * S).map(|e| e.age), Some(2 * S - 2));
    n.tick(8 * S, &mut out);
    assert_eq!(out, vec![], "no probe while reachable");
}

/// RFC 4861 section 7.2.5: what an advertisement changes depends on its flags.
#[test]
fn advertisement_flags() {
    let mut n = table();
    let mut out = Vec::new();
    let a = ip("2002:c633:6407:1::5");
    n.resolve(0, 1, a, 1, &mut out);
    n.learn(0, 1, a, Some(GW), SOLICITED, &mut out).unwrap();
    out.clear();
    // Another MAC without override: distrusted, the entry only goes stale.
    let weak = How::Advert { solicited: true, override_: false };
    n.learn(S, 1, a, Some(OTHER), weak, &mut out).unwrap();
    assert_eq!((state(&n, "2002:c633:6407:1::5"), &out), (Some((State::Stale, Some(GW))), &vec![]));
    // With override it replaces the MAC, stale unless solicited.
    let news = How::Advert { solicited: false, override_: true };
    n.learn(2 * S, 1, a, Some(OTHER), news, &mut out).unwrap();
    assert_eq!(out, vec![Action::Set { addr: a, mac: OTHER }]);
    assert_eq!(state(&n, "2002:c633:6407:1::5"), Some((State::Stale, Some(OTHER))));
    // Solicited without a target link-layer option confirms what we hold.
    out.clear();
    n.learn(3 * S, 1, a, None, SOLICITED, &mut out).unwrap();
    assert_eq!((state(&n, "2002:c633:6407:1::5"), &out), (Some((State::Reachable, Some(OTHER))), &vec![]));
    // A request from it with a new MAC replaces it, stale.
    n.learn(4 * S, 1, a, Some(GW), How::Request, &mut out).unwrap();
    assert_eq!(out, vec![Action::Set { addr: a, mac: GW }]);
    assert_eq!(state(&n, "2002:c633:6407:1::5"), Some((State::Stale, Some(GW))));
}

/// Advertisements never create entries; static neighbours are never learned over.
#[test]
fn what_is_not_learned() {
    let mut n = table();
    let mut out = Vec::new();
    let news = How::Advert { solicited: false, override_: true };
    assert_eq!(n.learn(0, 0, ip("198.51.100.9"), Some(GW), news, &mut out), Err(DropReason::NeighbourNotCached));
    assert_eq!(n.learn(0, 0, ip("198.51.100.9"), Some(GW), SOLICITED, &mut out), Err(DropReason::NeighbourNotCached));
    assert_eq!(n.learn(0, 0, ip("198.51.100.1"), Some(OTHER), How::Request, &mut out), Ok(false));
    n.resolve(0, 0, ip("198.51.100.1"), 7, &mut out);
    assert_eq!(out, vec![Action::Drop { packet: 7, reason: DropReason::NeighbourRouteChanged }]);
    assert_eq!(n.entries(0).count(), 0);
}

#[test]
fn table_has_a_limit() {
    let mut n: Neighbours<u32> = Neighbours::new(Timers { max_entries: 1, ..Timers::rfc4861(S) }, []);
    let mut out = Vec::new();
    n.learn(0, 0, ip("198.51.100.50"), Some(GW), How::Request, &mut out).unwrap();
    out.clear();
    assert_eq!(n.learn(0, 0, ip("198.51.100.51"), Some(GW), How::Request, &mut out), Err(DropReason::NeighbourTableFull));
    n.resolve(0, 0, ip("198.51.100.52"), 9, &mut out);
    assert_eq!(out, vec![Action::Drop { packet: 9, reason: DropReason::NeighbourTableFull }]);
}

/// A reload: what became static leaves the table (its waiting packets dropped), the rest
/// is told to the new tables again.
#[test]
fn new_statics_on_reload() {
    let mut n = table();
    let mut out = Vec::new();
    n.learn(0, 0, ip("198.51.100.50"), Some(GW), How::Request, &mut out).unwrap();
    n.resolve(0, 0, ip("198.51.100.9"), 3, &mut out);
    n.resolve(0, 0, ip("198.51.100.60"), 4, &mut out);
    out.clear();
    n.replace_statics([ip("198.51.100.9")], &mut out);
    assert_eq!(
        out,
        vec![
            Action::Drop { packet: 3, reason: DropReason::NeighbourRouteChanged },
            Action::Set { addr: ip("198.51.100.50"), mac: GW },
        ]
    );
    assert!(n.is_static(ip("198.51.100.9")) && !n.is_static(ip("198.51.100.1")));
    assert_eq!(n.entries(0).map(|e| e.addr).collect::<Vec<_>>(), vec![ip("198.51.100.50"), ip("198.51.100.60")]);
    n.clear();
    assert_eq!(n.waiting(), 0);
}
