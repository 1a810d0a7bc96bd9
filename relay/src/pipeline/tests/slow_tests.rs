//! Spec section 11 on the slow path: next hops resolved with ARP and ND while packets
//! wait, neighbours learned from what they send, probed when stale, forgotten when
//! silent; malformed ARP/ND dropped and counted without a reply. Input bytes to exact
//! output bytes, table changes and counters, on a clock the tests set (nanoseconds).
use super::pkt::*;
use super::*;

const S: u64 = 1_000_000_000;
const BCAST: [u8; 6] = [0xff; 6];

/// Router R with no static neighbours: it must resolve its gateway and its LAN hosts.
pub const ROUTER_R_DYNAMIC: &str = r#"
[[interface]]
port = 0
ipv4 = "198.51.100.7/24"
gateway = "198.51.100.1"

[[interface]]
port = 1
ipv6 = ["2002:c633:6407:1::1/64"]

[router]
ipv4 = "198.51.100.7"
lan_ports = [1]

[[route]]
add = "::/0 via 2002:c058:6301::"

[[router_advert]]
port = 1
interval_s = 10
"#;

/// The runtime as the slow path sees it: the control tables, what was sent, what the
/// workers were told.
pub struct Io {
    pub tables: Tables,
    pub sent: Vec<(u16, Vec<u8>)>,
    pub updates: Vec<TableUpdate>,
    /// No buffer free, inject ring full.
    pub full: bool,
}

impl Io {
    pub fn new(tables: Tables) -> Io {
        Io { tables, sent: Vec::new(), updates: Vec::new(), full: false }
    }

    pub fn ports(&self) -> Vec<u16> {
        self.sent.iter().map(|(p, _)| *p).collect()
    }

    pub fn take(&mut self) -> Vec<(u16, Vec<u8>)> {
        std::mem::take(&mut self.sent)
    }
}

impl SlowIo<TestBuf> for Io {
    fn tables(&self) -> &Tables {
        &self.tables
    }
    fn update(&mut self, update: TableUpdate) -> Result<(), TableError> {
        update.apply(&mut self.tables)?;
        self.updates.push(update);
        Ok(())
    }
    fn frame(&mut self, frame: &[u8]) -> Option<TestBuf> {
        (!self.full).then(|| TestBuf::new(u16::MAX, frame))
    }
    fn send(&mut self, port: u16, buf: TestBuf) -> bool {
        if !self.full {
            self.sent.push((port, buf.to_vec()));
        }
        !self.full
    }
}

/// A lab (fast path) and the slow path of the same router, sharing nothing but the
/// configuration; the slow path's tables are `io.tables`.
fn dynamic() -> (Lab, SlowPath<TestBuf>, Io) {
    let lab = Lab::new(ROUTER_R_DYNAMIC);
    let slow = SlowPath::new(lab.pipe.settings(), &[PORT0, PORT1]);
    let io = Io::new(lab.tables.clone());
    (lab, slow, io)
}

fn neighbour_set(addr: &str, mac: [u8; 6]) -> TableUpdate {
    TableUpdate::NeighbourSet { addr: addr.parse().unwrap(), mac: crate::wire::EthernetAddress(mac) }
}

/// A LAN host's packet to another 6to4 site goes through the IPv4 gateway, whose MAC is
/// unknown: the worker encapsulates it and punts it; the slow path ARPs for the gateway,
/// learns it from the reply, tells the workers and sends the packet.
#[test]
fn packet_waits_while_the_gateway_is_resolved() {
    let (mut lab, mut slow, mut io) = dynamic();
    let inner = udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 80);
    let waiting = lab.expect_wait(1, &eth(PORT1, HOST, ET_IPV6, &inner), 0);
    let encapsulated = ipv4(V4::p41("198.51.100.7", "203.0.113.1"), &hop_minus(&inner, 1));
    assert_eq!(waiting, eth([0; 6], PORT0, ET_IPV4, &encapsulated));

    slow.handle(0, TestBuf::new(1, &waiting), &mut io);
    let request = eth(BCAST, PORT0, ET_ARP, &arp(1, PORT0, "198.51.100.7", [0; 6], "198.51.100.1"));
    assert_eq!(io.take(), vec![(0, request)]);
    assert_eq!(slow.neighbours_text(&io.tables, S), "198.51.100.1 - incomplete port 0 age 1s waiting 1\n");

    let reply = eth(PORT0, GW4, ET_ARP, &arp(2, GW4, "198.51.100.1", PORT0, "198.51.100.7"));
    assert_eq!(lab.run(0, &reply).0, Verdict::Punt, "replies to us reach the slow path");
    slow.handle(S / 1000, TestBuf::new(0, &reply), &mut io);
    assert_eq!(io.updates, vec![neighbour_set("198.51.100.1", GW4)]);
    assert_eq!(io.take(), vec![(0, eth(GW4, PORT0, ET_IPV4, &encapsulated))]);
    assert_eq!(slow.neighbours_text(&io.tables, 2 * S), "198.51.100.1 02:00:00:00:01:01 reachable port 0 age 1s\n");
    assert_eq!(
        slow.counters().nonzero(),
        vec![("tx", 2), ("consumed", 1), ("arp_learned", 1), ("arp_requests", 1), ("neigh_resolved", 1), ("neigh_released", 1)]
    );

    // With the workers' tables updated the fast path sends the next one itself.
    lab.tables = io.tables.clone();
    let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    let second = ipv4(V4 { id: 2, ..V4::p41("198.51.100.7", "203.0.113.1") }, &hop_minus(&inner, 1));
    assert_eq!((v, out), (Verdict::Tx(0), eth(GW4, PORT0, ET_IPV4, &second)));
}

/// A decapsulated packet for a LAN host nobody has resolved: a neighbour solicitation to
/// its solicited-node group from our address on that link, then the advertisement
/// releases it.
#[test]
fn lan_host_is_resolved_with_neighbour_discovery() {
    let (mut lab, mut slow, mut io) = dynamic();
    let inner = udp6("2002:cb00:7101::5", "2002:c633:6407:1::5", 64, 80);
    let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("203.0.113.1", "198.51.100.7"), &inner));
    let waiting = lab.expect_wait(0, &frame, 1);
    assert_eq!(waiting, eth([0, 0, 0, 0, 0, 1], PORT1, ET_IPV6, &hop_minus(&inner, 1)));

    slow.handle(0, TestBuf::new(0, &waiting), &mut io);
    let solicit = ns("2002:c633:6407:1::1", "ff02::1:ff00:5", "2002:c633:6407:1::5", Some(PORT1), 255);
    assert_eq!(io.take(), vec![(1, eth([0x33, 0x33, 0xff, 0, 0, 5], PORT1, ET_IPV6, &solicit))]);

    let advert = eth(PORT1, HOST, ET_IPV6, &na("2002:c633:6407:1::5", "2002:c633:6407:1::1", 0x60, HOST));
    assert_eq!(lab.run(1, &advert).0, Verdict::Punt);
    slow.handle(S / 2, TestBuf::new(1, &advert), &mut io);
    assert_eq!(io.updates, vec![neighbour_set("2002:c633:6407:1::5", HOST)]);
    assert_eq!(io.take(), vec![(1, eth(HOST, PORT1, ET_IPV6, &hop_minus(&inner, 1)))]);
    assert_eq!(
        slow.counters().nonzero(),
        vec![("tx", 2), ("consumed", 1), ("nd_learned", 1), ("nd_solicits", 1), ("neigh_resolved", 1), ("neigh_released", 1)]
    );
}

/// Nobody answers: three ARP requests a second apart, then the packet is dropped and
/// counted.
#[test]
fn unanswered_resolution_drops_the_packet() {
    let (mut lab, mut slow, mut io) = dynamic();
    slow.set_spontaneous(false);
    let inner = udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 80);
    let waiting = lab.expect_wait(1, &eth(PORT1, HOST, ET_IPV6, &inner), 0);
    slow.handle(0, TestBuf::new(1, &waiting), &mut io);
    for t in [S / 2, S, 2 * S, 3 * S] {
        slow.tick(t, &mut io);
    }
    let request = eth(BCAST, PORT0, ET_ARP, &arp(1, PORT0, "198.51.100.7", [0; 6], "198.51.100.1"));
    assert_eq!(io.take(), vec![(0, request.clone()), (0, request.clone()), (0, request)]);
    assert_eq!(slow.counters().drops(DropReason::NeighbourUnresolved), 1);
    assert_eq!((slow.neighbours_text(&io.tables, 3 * S), io.updates.len()), (String::new(), 0));
}

/// Past the punt budget a worker drops instead of handing more to the slow path.
#[test]
fn fast_path_waiting_is_rate_limited() {
    let (mut lab, _, _) = dynamic();
    let frame = eth(PORT1, HOST, ET_IPV6, &udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 80));
    for _ in 0..64 {
        lab.expect_wait(1, &frame, 0);
    }
    lab.expect_drop(1, &frame, DropReason::NeighbourMissing);
    // A millisecond refills one.
    assert_eq!(lab.run_at(1_000_000, 1, &frame).0, Verdict::Punt);
}

/// A neighbour asking for us teaches its address (stale: not confirmed yet), and is
/// answered as before; one that gives no usable address is answered only.
#[test]
fn requests_teach_their_sender() {
    let (_, mut slow, mut io) = dynamic();
    let request = eth(BCAST, HOST, ET_ARP, &arp(1, HOST, "198.51.100.50", [0; 6], "198.51.100.7"));
    slow.handle(0, TestBuf::new(0, &request), &mut io);
    let reply = eth(HOST, PORT0, ET_ARP, &arp(2, PORT0, "198.51.100.7", HOST, "198.51.100.50"));
    assert_eq!(io.take(), vec![(0, reply)]);

    let group = [0x33, 0x33, 0xff, 0, 0, 1];
    let with_slla = ns("2002:c633:6407:1::5", "ff02::1:ff00:1", "2002:c633:6407:1::1", Some(HOST), 255);
    slow.handle(S, TestBuf::new(1, &eth(group, HOST, ET_IPV6, &with_slla)), &mut io);
    let without = ns("2002:c633:6407:1::6", "2002:c633:6407:1::1", "2002:c633:6407:1::1", None, 255);
    slow.handle(S, TestBuf::new(1, &eth(PORT1, HOST, ET_IPV6, &without)), &mut io);
    // An ARP probe (RFC 5227: sender 0.0.0.0) is answered, not learned.
    let probe = eth(BCAST, HOST, ET_ARP, &arp(1, HOST, "0.0.0.0", [0; 6], "198.51.100.7"));
    slow.handle(S, TestBuf::new(0, &probe), &mut io);
    assert_eq!(io.ports(), vec![1, 1, 0]);
    assert_eq!(io.sent[0].1, eth(HOST, PORT1, ET_IPV6, &na("2002:c633:6407:1::1", "2002:c633:6407:1::5", 0xe0, PORT1)));
    assert_eq!(io.updates, vec![neighbour_set("198.51.100.50", HOST), neighbour_set("2002:c633:6407:1::5", HOST)]);
    assert_eq!(
        slow.neighbours_text(&io.tables, 2 * S),
        "198.51.100.50 02:00:00:00:02:05 stale port 0 age 2s\n2002:c633:6407:1::5 02:00:00:00:02:05 stale port 1 age 1s\n"
    );
    assert_eq!((slow.counters().event(Event::ArpLearned), slow.counters().event(Event::NdLearned)), (1, 1));
}

/// A learned neighbour is probed by unicast after the delay; silent, it is deleted from
/// every worker's table.
#[test]
fn stale_neighbour_is_probed_then_forgotten() {
    let (_, mut slow, mut io) = dynamic();
    slow.set_spontaneous(false);
    let request = eth(BCAST, HOST, ET_ARP, &arp(1, HOST, "198.51.100.50", [0; 6], "198.51.100.7"));
    slow.handle(0, TestBuf::new(0, &request), &mut io);
    io.take();
    for t in [4 * S, 5 * S, 6 * S, 7 * S] {
        slow.tick(t, &mut io);
    }
    let probe = eth(HOST, PORT0, ET_ARP, &arp(1, PORT0, "198.51.100.7", [0; 6], "198.51.100.50"));
    assert_eq!(io.take(), vec![(0, probe.clone()), (0, probe.clone()), (0, probe)]);
    assert!(slow.neighbours_text(&io.tables, 7 * S).starts_with("198.51.100.50 02:00:00:00:02:05 probe port 0"));
    slow.tick(8 * S, &mut io);
    let del = TableUpdate::NeighbourDel { addr: "198.51.100.50".parse().unwrap() };
    assert_eq!(io.updates.last(), Some(&del));
    assert_eq!((io.tables.neighbours(), slow.counters().event(Event::NeighExpired)), (vec![], 1));
}

/// The answer to a probe confirms the neighbour: reachable, nothing to tell the workers.
#[test]
fn answered_probe_keeps_the_neighbour() {
    let (_, mut slow, mut io) = dynamic();
    slow.set_spontaneous(false);
    let group = [0x33, 0x33, 0xff, 0, 0, 1];
    let solicit = ns("2002:c633:6407:1::5", "ff02::1:ff00:1", "2002:c633:6407:1::1", Some(HOST), 255);
    slow.handle(0, TestBuf::new(1, &eth(group, HOST, ET_IPV6, &solicit)), &mut io);
    io.take();
    slow.tick(5 * S, &mut io);
    let probe = ns("2002:c633:6407:1::1", "2002:c633:6407:1::5", "2002:c633:6407:1::5", Some(PORT1), 255);
    assert_eq!(io.take(), vec![(1, eth(HOST, PORT1, ET_IPV6, &probe))]);
    let answer = eth(PORT1, HOST, ET_IPV6, &na("2002:c633:6407:1::5", "2002:c633:6407:1::1", 0x40, HOST));
    slow.handle(5 * S + 1, TestBuf::new(1, &answer), &mut io);
    assert_eq!(io.updates.len(), 1, "only the first learning");
    assert!(slow.neighbours_text(&io.tables, 6 * S).starts_with("2002:c633:6407:1::5 02:00:00:00:02:05 reachable port 1"));
    slow.tick(20 * S, &mut io);
    assert_eq!(io.sent, vec![], "no probe while reachable");
}

/// Unsolicited news (NA to all-nodes, gratuitous ARP) updates what we hold and is
/// ignored for strangers (RFC 4861 section 7.2.5).
#[test]
fn announcements_update_held_neighbours_only() {
    let (mut lab, mut slow, mut io) = dynamic();
    let all_nodes = [0x33, 0x33, 0, 0, 0, 1];
    let moved = eth(all_nodes, GW6, ET_IPV6, &na("2002:c633:6407:1::5", "ff02::1", 0x20, GW6));
    assert_eq!(lab.run(1, &moved).0, Verdict::Punt);
    slow.handle(0, TestBuf::new(1, &moved), &mut io);
    let garp = eth(BCAST, GW4, ET_ARP, &arp(1, GW4, "198.51.100.1", [0; 6], "198.51.100.1"));
    assert_eq!(lab.run(0, &garp).0, Verdict::Punt);
    slow.handle(0, TestBuf::new(0, &garp), &mut io);
    assert_eq!(slow.counters().drops(DropReason::NeighbourNotCached), 2);

    let solicit = ns("2002:c633:6407:1::5", "ff02::1:ff00:1", "2002:c633:6407:1::1", Some(HOST), 255);
    slow.handle(S, TestBuf::new(1, &eth([0x33, 0x33, 0xff, 0, 0, 1], HOST, ET_IPV6, &solicit)), &mut io);
    slow.handle(2 * S, TestBuf::new(1, &moved), &mut io);
    assert_eq!(io.updates, vec![neighbour_set("2002:c633:6407:1::5", HOST), neighbour_set("2002:c633:6407:1::5", GW6)]);
    assert_eq!(io.sent.len(), 1, "the NA answering the solicitation; nothing answers news");
}

/// Malformed ARP and ND: dropped, counted by reason, never answered or learned from.
#[test]
fn malformed_arp_and_nd_are_dropped_without_reply() {
    let (mut lab, mut slow, mut io) = dynamic();
    let good = na("2002:c633:6407:1::5", "2002:c633:6407:1::1", 0x60, HOST);
    let mut bad_sum = good.clone();
    bad_sum[43] ^= 1;
    let with_option = |hop: u8, len: u8| {
        let body = [a6("2002:c633:6407:1::5").as_slice(), &[2, len], &HOST].concat();
        icmp6_raw("2002:c633:6407:1::5", "2002:c633:6407:1::1", hop, 136, 0, [0x60, 0, 0, 0], &body)
    };
    let (hop_64, zero_opt) = (with_option(64, 1), with_option(255, 0));
    let short = icmp6_raw("2002:c633:6407:1::5", "2002:c633:6407:1::1", 255, 136, 0, [0x60, 0, 0, 0], &[0; 12]);
    let solicited_to_group = na("2002:c633:6407:1::5", "ff02::1", 0x60, HOST);
    let ns_bad_sum = {
        let mut p = ns("2002:c633:6407:1::5", "2002:c633:6407:1::1", "2002:c633:6407:1::1", Some(HOST), 255);
        p[43] ^= 1;
        p
    };
    let to_us = |p: &[u8]| eth(PORT1, HOST, ET_IPV6, p);
    let truncated_arp = eth(PORT0, GW4, ET_ARP, &arp(2, GW4, "198.51.100.1", PORT0, "198.51.100.7")[..27]);
    lab.expect_drop(0, &truncated_arp, DropReason::ArpMalformed);
    let cases = [
        (0, truncated_arp, DropReason::ArpMalformed),
        (1, to_us(&hop_64), DropReason::NdBadHopLimit),
        (1, to_us(&bad_sum), DropReason::NdBadChecksum),
        (1, to_us(&zero_opt), DropReason::NdMalformed),
        (1, to_us(&short), DropReason::NdMalformed),
        (1, eth([0x33, 0x33, 0, 0, 0, 1], HOST, ET_IPV6, &solicited_to_group), DropReason::NdMalformed),
        (1, to_us(&ns_bad_sum), DropReason::NdBadChecksum),
        (0, eth(PORT0, [1, 0, 0x5e, 0, 0, 1], ET_ARP, &arp(2, [1, 0, 0x5e, 0, 0, 1], "198.51.100.1", PORT0, "198.51.100.7")), DropReason::NeighbourBogus),
        (0, eth(PORT0, GW4, ET_ARP, &arp(2, GW4, "203.0.113.1", PORT0, "198.51.100.7")), DropReason::NeighbourBogus),
    ];
    for (port, frame, reason) in &cases {
        // The fast path hands them over (the slow path does the checks), but for the
        // truncated ARP it drops itself; the slow path drops it just the same.
        if frame.len() > 41 {
            assert_eq!(lab.run(*port, frame).0, Verdict::Punt, "{}", reason.name());
        }
        let before = slow.counters().drops(*reason);
        slow.handle(0, TestBuf::new(*port, frame), &mut io);
        assert_eq!(slow.counters().drops(*reason), before + 1, "{}", reason.name());
    }
    let mut wrong_hlen = arp(2, GW4, "198.51.100.1", PORT0, "198.51.100.7");
    wrong_hlen[4] = 8;
    lab.expect_drop(0, &eth(PORT0, GW4, ET_ARP, &wrong_hlen), DropReason::ArpMalformed);
    assert_eq!((io.sent.len(), io.updates.len()), (0, 0));
    assert_eq!(slow.counters().event(Event::Dropped), cases.len() as u64);
}

/// A waiting frame whose route moved meanwhile is dropped, not sent somewhere else.
#[test]
fn waiting_frame_after_a_route_change_is_dropped() {
    let (mut lab, mut slow, mut io) = dynamic();
    let inner = udp6("2002:cb00:7101::5", "2002:c633:6407:1::5", 64, 80);
    let frame = eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("203.0.113.1", "198.51.100.7"), &inner));
    let waiting = lab.expect_wait(0, &frame, 1);
    parse_route("route add 2002:c633:6407:1::/64 blackhole").unwrap().apply(&mut io.tables).unwrap();
    slow.handle(0, TestBuf::new(0, &waiting), &mut io);
    assert_eq!((io.sent.len(), slow.counters().drops(DropReason::NeighbourRouteChanged)), (0, 1));
}

/// When the worker had not applied a neighbour yet, the slow path sends the frame itself.
#[test]
fn waiting_frame_for_a_known_neighbour_goes_out() {
    let (mut lab, mut slow, mut io) = dynamic();
    let waiting = lab.expect_wait(1, &eth(PORT1, HOST, ET_IPV6, &udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 80)), 0);
    io.update(neighbour_set("198.51.100.1", GW4)).unwrap();
    slow.handle(0, TestBuf::new(1, &waiting), &mut io);
    assert_eq!(io.sent, vec![(0, [&GW4[..], &waiting[6..]].concat())]);
    assert_eq!(slow.counters().event(Event::NeighReleased), 1);
}

/// A reload swaps in tables holding only the configured neighbours: the learned ones
/// are told to the workers again.
#[test]
fn reload_keeps_learned_neighbours() {
    let (lab, mut slow, mut io) = dynamic();
    let request = eth(BCAST, HOST, ET_ARP, &arp(1, HOST, "198.51.100.50", [0; 6], "198.51.100.7"));
    slow.handle(0, TestBuf::new(0, &request), &mut io);
    io.tables = Tables::new(lab.pipe.settings()).unwrap();
    slow.reloaded(lab.pipe.settings(), &mut io);
    assert_eq!(io.tables.neighbours(), vec![("198.51.100.50".parse().unwrap(), crate::wire::EthernetAddress(HOST))]);
}

/// No buffer or a full inject ring: counted, nothing else breaks.
#[test]
fn failed_sends_are_counted() {
    let (_, mut slow, mut io) = dynamic();
    io.full = true;
    let request = eth(BCAST, HOST, ET_ARP, &arp(1, HOST, "198.51.100.50", [0; 6], "198.51.100.7"));
    slow.handle(0, TestBuf::new(0, &request), &mut io);
    slow.tick(0, &mut io);
    // The reply, the announcement and the router advertisement.
    assert_eq!(slow.counters().drops(DropReason::SlowTxFailed), 3);
}
