//! Counter and drop-reason names are API: unique, snake_case, stable.
use std::collections::HashSet;

use super::*;

#[test]
fn names_are_unique_snake_case_and_complete() {
    let names: Vec<&str> = Counters::names().collect();
    assert_eq!(names.len(), Counters::COUNT);
    assert_eq!(names.iter().collect::<HashSet<_>>().len(), names.len(), "duplicate counter name");
    for n in &names {
        assert!(n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{n}");
        assert!(!n.starts_with('_') && !n.ends_with('_') && !n.contains("__"), "{n}");
    }
    for (i, r) in DropReason::ALL.iter().enumerate() {
        assert_eq!(*r as usize, i);
        assert_eq!(DropReason::from_name(r.name()), Some(*r));
        assert_eq!(r.counter_name(), format!("drop_{}", r.name()));
        assert!(!r.description().is_empty());
    }
    assert_eq!(DropReason::from_name("no_such_reason"), None);
    for (i, e) in Event::ALL.iter().enumerate() {
        assert_eq!(*e as usize, i);
        assert!(!e.description().is_empty());
    }
}

/// The names telemetry and dashboards depend on.
#[test]
fn stable_names() {
    let names: HashSet<&str> = Counters::names().collect();
    for n in [
        "rx", "tx", "dropped", "punted", "forwarded", "encapsulated", "decapsulated", "icmp6_time_exceeded",
        "icmp6_dest_unreachable", "icmp6_packet_too_big", "icmp4_translated", "icmp_rate_limited", "icmp_unroutable",
        "pmtu_learned", "ecn_ce_marked", "arp_replies", "nd_adverts", "echo4_replies", "echo6_replies",
        "drop_no_route", "drop_hop_limit_exceeded", "drop_mtu_exceeded", "drop_ipv4_src_martian",
        "drop_ipv6_src_martian", "drop_ipv6_dst_martian", "drop_decap_src_v4_mismatch", "drop_decap_dst_v4_mismatch",
        "drop_encap_src_v4_mismatch", "drop_encap_native_to_native", "drop_decap_native_to_native",
        "drop_loop_src_embeds_own_v4", "drop_loop_dst_embeds_own_v4", "drop_tunnel_to_tunnel", "drop_ecn_ce_not_ect",
        "drop_decap_inner_src_invalid", "drop_decap_tunnel_src_mismatch", "drop_local_unsupported",
    ] {
        assert!(names.contains(n), "{n}");
    }
}

#[test]
fn add_sums_workers() {
    let mut a = Lab::router_r();
    let mut b = Lab::router_r();
    let junk = [0u8; 20];
    a.run(1, &junk);
    b.run(1, &junk);
    b.run(1, &junk);
    let mut sum = a.pipe.counters().clone();
    sum.add(b.pipe.counters());
    assert_eq!(sum.nonzero(), vec![("rx", 3), ("dropped", 3), ("drop_l2_not_for_us", 3)]);
    assert_eq!(sum.iter().count(), Counters::COUNT);
    assert_eq!(sum.values().sum::<u64>(), 9);
}

/// A burst's counters add up: every packet gets exactly one verdict, counted once.
#[test]
fn burst_verdicts_and_counters_agree() {
    use super::pkt::*;
    let mut lab = Lab::router_r();
    let to_w = eth(PORT1, HOST, ET_IPV6, &udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 80));
    let expired = eth(PORT1, HOST, ET_IPV6, &udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 1, 80));
    let mut request = vec![0, 1, 8, 0, 6, 4, 0, 1];
    request.extend_from_slice(&GW4);
    request.extend_from_slice(&[198, 51, 100, 1, 0, 0, 0, 0, 0, 0, 198, 51, 100, 7]);
    let arp = eth([0xff; 6], GW4, ET_ARP, &request);
    let frames = [to_w.clone(), expired, arp, vec![0; 10], to_w];
    let mut bufs: Vec<TestBuf> = (0..100).map(|i| TestBuf::new(if i % 5 == 2 { 0 } else { 1 }, &frames[i % 5])).collect();
    let mut verdicts = vec![Verdict::Punt; 100];
    lab.pipe.process_burst(&lab.tables, 0, &mut bufs, &mut verdicts);
    for (i, v) in verdicts.iter().enumerate() {
        let want = [Verdict::Tx(0), Verdict::Tx(1), Verdict::Punt, Verdict::Drop(DropReason::L2Truncated), Verdict::Tx(0)][i % 5];
        assert_eq!(*v, want, "packet {i}");
    }
    assert_eq!(
        lab.nonzero(),
        vec![
            ("rx", 100),
            ("tx", 60),
            ("dropped", 20),
            ("punted", 20),
            ("forwarded", 20),
            ("encapsulated", 40),
            ("encap_6to4", 40),
            ("icmp6_time_exceeded", 20),
            ("drop_l2_truncated", 20),
            ("drop_hop_limit_exceeded", 20),
        ]
    );
}

#[test]
fn drop_counter_names_are_recognised() {
    assert!(is_drop_counter("drop_no_route") && is_drop_counter("drop_tunnel_to_tunnel"));
    assert!(!is_drop_counter("dropped") && !is_drop_counter("drop_nothing") && !is_drop_counter("no_route"));
    assert_eq!(Counters::names().filter(|n| is_drop_counter(n)).count(), DropReason::COUNT);
}

/// The control core's slow path counts replies and drops on its own.
#[test]
fn slow_path_object_counts() {
    use super::pkt::*;
    let lab = Lab::router_r();
    let mut slow = SlowPath::new(lab.pipe.settings(), &[PORT0, PORT1]);
    let mut io = super::slow_tests::Io::new(lab.tables.clone());
    let ping = eth(PORT1, HOST, ET_IPV6, &echo6("2002:c633:6407:1::5", "2002:c633:6407:1::1", 64, 8));
    slow.handle(0, TestBuf::new(1, &ping), &mut io);
    assert_eq!(io.ports(), vec![1]);
    let udp = eth(PORT1, HOST, ET_IPV6, &udp6("2002:c633:6407:1::5", "2002:c633:6407:1::1", 64, 60));
    slow.handle(0, TestBuf::new(1, &udp), &mut io);
    assert_eq!(io.ports(), vec![1]);
    assert_eq!((slow.replies(), slow.dropped()), (1, 1));
    assert_eq!(slow.counters().nonzero(), vec![("tx", 1), ("dropped", 1), ("echo6_replies", 1), ("drop_local_unsupported", 1)]);
}
