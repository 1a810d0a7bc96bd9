//! Outer IPv4 reassembly before decapsulation (RFC 4213 section 3.6, RFC 791): datagrams in
//! fragments to the relay's endpoint, every bound and its drop reason, exact counters.
use super::pkt::*;
use super::*;

const SRC4: &str = "198.51.100.7";
const RELAY4: &str = "198.51.100.9";

/// Fragment `[start, stop)` of the IPv4 payload `payload` (offsets in bytes), `more` for
/// MF, in an Ethernet frame to port 0.
fn fragment(h: V4, payload: &[u8], start: usize, stop: usize, more: bool) -> Vec<u8> {
    let piece = &payload[start..stop];
    let mut hdr = etherparse::Ipv4Header::new(piece.len() as u16, h.ttl, etherparse::IpNumber(h.proto), h.src, h.dst).expect("ipv4 header");
    hdr.identification = h.id;
    hdr.dont_fragment = false;
    hdr.more_fragments = more;
    hdr.fragment_offset = etherparse::IpFragOffset::try_new((start / 8) as u16).expect("offset");
    hdr.ecn = etherparse::Ipv4Ecn::try_new(h.tos & 3).expect("ecn");
    hdr.header_checksum = hdr.calc_header_checksum();
    let mut ip = hdr.to_bytes().to_vec();
    ip.extend_from_slice(piece);
    eth(PORT0, GW4, ET_IPV4, &ip)
}

fn outer(id: u16) -> V4 {
    V4 { id, df: false, ..V4::p41(SRC4, RELAY4) }
}

/// A 6to4 → native packet of `len` bytes (the inner IPv6 packet).
fn inner(len: usize) -> Vec<u8> {
    udp6("2002:c633:6407::1", "2001:db8::1", 64, len)
}

fn relay_with(extra: &str) -> Lab {
    Lab::new(&(relay_config(false) + extra))
}

/// Runs `frame`, expects it dropped for `reason` together with `held` fragments taken in
/// before: the reason counts all of them, `dropped` (verdicts) only this one.
fn expect_datagram_drop(lab: &mut Lab, frame: &[u8], reason: DropReason, held: u64) {
    let (before, dropped) = (lab.pipe.counters().drops(reason), lab.count("dropped"));
    assert_eq!(lab.run(0, frame).0, Verdict::Drop(reason), "{}", reason.description());
    assert_eq!(lab.pipe.counters().drops(reason), before + 1 + held, "counter drop_{}", reason.name());
    assert_eq!(lab.count("dropped"), dropped + 1);
}

/// Every input is accounted for: a verdict, or held in the table until merged or dropped.
fn assert_accounted(lab: &Lab, held_dropped: u64) {
    let c = |n: &str| lab.count(n);
    assert_eq!(c("rx"), c("tx") + c("punted") + c("to_kernel") + c("dropped") + c("frag_held"), "{:?}", lab.nonzero());
    let in_flight = lab.pipe.fragments_in_flight() as u64;
    assert!(c("frag_held") >= c("frag_merged") + held_dropped, "{:?}", lab.nonzero());
    assert_eq!(c("frag_held") == c("frag_merged") + held_dropped, in_flight == 0, "{:?}", lab.nonzero());
}

/// RFC 4213 3.6: 1500 + 20 bytes in two fragments become the 1500-byte IPv6 packet,
/// decapsulated and forwarded bit-exact, in either order.
#[test]
fn two_fragments_are_reassembled_and_forwarded_exact_bytes() {
    let six = inner(1500);
    for reversed in [false, true] {
        let mut lab = Lab::relay(false);
        let first = fragment(outer(7), &six, 0, 1000, true);
        let last = fragment(outer(7), &six, 1000, 1500, false);
        let (a, b) = if reversed { (last, first) } else { (first, last) };
        assert_eq!(lab.run(0, &a).0, Verdict::Held);
        assert_eq!(lab.pipe.fragments_in_flight(), 1);
        let (v, out) = lab.run(0, &b);
        assert_eq!(v, Verdict::Tx(1), "reversed {reversed}: {:?}", lab.nonzero());
        assert_eq!(out, eth(GW6, PORT1, ET_IPV6, &hop_minus(&six, 1)));
        assert_eq!(
            lab.nonzero(),
            vec![
                ("rx", 2),
                ("tx", 1),
                ("frag_held", 1),
                ("frag_merged", 1),
                ("frag_reassembled", 1),
                ("forwarded", 1),
                ("decapsulated", 1),
                ("decap_6to4", 1)
            ]
        );
        assert_eq!(lab.pipe.fragments_in_flight(), 0);
    }
}

/// Out of order, with an exact duplicate (a retransmission): reassembled once.
#[test]
fn out_of_order_with_a_duplicate_is_reassembled_once() {
    let six = inner(1200);
    let mut lab = Lab::relay(false);
    let parts = [(800, 1200, false), (0, 400, true), (400, 800, true), (0, 400, true)];
    for &(a, b, more) in &parts[..2] {
        assert_eq!(lab.run(0, &fragment(outer(9), &six, a, b, more)).0, Verdict::Held);
    }
    // The duplicate of the first piece, then the middle that completes it.
    assert_eq!(lab.run(0, &fragment(outer(9), &six, parts[3].0, parts[3].1, true)).0, Verdict::Held);
    let (v, out) = lab.run(0, &fragment(outer(9), &six, parts[2].0, parts[2].1, true));
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out, eth(GW6, PORT1, ET_IPV6, &hop_minus(&six, 1)));
    assert_eq!((lab.count("frag_held"), lab.count("frag_merged"), lab.count("frag_reassembled")), (3, 3, 1));
    assert_accounted(&lab, 0);
}

/// Datagrams are told apart by source, destination, protocol and identification.
#[test]
fn interleaved_datagrams_do_not_mix() {
    let (x, y) = (inner(1100), inner(1300));
    let mut lab = Lab::relay(false);
    assert_eq!(lab.run(0, &fragment(outer(1), &x, 0, 800, true)).0, Verdict::Held);
    assert_eq!(lab.run(0, &fragment(outer(2), &y, 0, 800, true)).0, Verdict::Held);
    let (v, out) = lab.run(0, &fragment(outer(2), &y, 800, 1300, false));
    assert_eq!((v, out), (Verdict::Tx(1), eth(GW6, PORT1, ET_IPV6, &hop_minus(&y, 1))));
    let (v, out) = lab.run(0, &fragment(outer(1), &x, 800, 1100, false));
    assert_eq!((v, out), (Verdict::Tx(1), eth(GW6, PORT1, ET_IPV6, &hop_minus(&x, 1))));
    assert_accounted(&lab, 0);
}

/// Overlapping bytes that differ drop the whole datagram; the next fragment with the same
/// id starts a new one.
#[test]
fn overlap_with_different_bytes_drops_the_datagram() {
    let six = inner(1200);
    let mut forged = six.clone();
    forged[500] ^= 0xff;
    let mut lab = Lab::relay(false);
    assert_eq!(lab.run(0, &fragment(outer(3), &six, 0, 800, true)).0, Verdict::Held);
    expect_datagram_drop(&mut lab, &fragment(outer(3), &forged, 400, 1200, false), DropReason::FragOverlap, 1);
    // The held fragment is dropped with it: counted under the reason, not in `dropped`.
    assert_eq!((lab.count("drop_frag_overlap"), lab.count("dropped")), (2, 1));
    assert_eq!(lab.pipe.fragments_in_flight(), 0);
    assert_eq!(lab.run(0, &fragment(outer(3), &six, 800, 1200, false)).0, Verdict::Held);
    assert_accounted(&lab, 1);
}

/// Past `max_datagram` (default 1500 + 20): the whole datagram goes.
#[test]
fn fragments_past_the_maximum_drop_the_datagram() {
    let six = inner(1504);
    let mut lab = Lab::relay(false);
    assert_eq!(lab.run(0, &fragment(outer(4), &six, 0, 1000, true)).0, Verdict::Held);
    expect_datagram_drop(&mut lab, &fragment(outer(4), &six, 1000, 1504, false), DropReason::FragTooBig, 1);
    assert_eq!(lab.count("drop_frag_too_big"), 2);
    assert_accounted(&lab, 1);
    // Configured larger, it is reassembled (the buffer has room for it) and then meets the
    // egress MTU exactly as the same datagram unfragmented does.
    let mut big = relay_with("[reassembly]\nmax_datagram = 1900\n");
    assert_eq!(big.run(0, &fragment(outer(4), &six, 0, 1000, true)).0, Verdict::Held);
    let (v, out) = big.run(0, &fragment(outer(4), &six, 1000, 1504, false));
    let mut whole = relay_with("[reassembly]\nmax_datagram = 1900\n");
    let (v1, out1) = whole.run(0, &eth(PORT0, GW4, ET_IPV4, &ipv4(outer(4), &six)));
    assert_eq!((v, out), (v1, out1));
    assert_eq!(v, Verdict::Drop(DropReason::MtuExceeded));
    assert_eq!(big.count("frag_reassembled"), 1);
}

/// A datagram larger than the buffer that would carry it (the runtime sizes mbufs for
/// `max_datagram`; a buffer that is not sized so) is dropped, not truncated.
#[test]
fn a_datagram_larger_than_its_buffer_is_dropped() {
    let six = inner(3000);
    let mut lab = relay_with("[reassembly]\nmax_datagram = 4000\n");
    assert_eq!(lab.run(0, &fragment(outer(5), &six, 0, 1480, true)).0, Verdict::Held);
    assert_eq!(lab.run(0, &fragment(outer(5), &six, 1480, 2960, true)).0, Verdict::Held);
    expect_datagram_drop(&mut lab, &fragment(outer(5), &six, 2960, 3000, false), DropReason::FragTooBig, 2);
    assert_eq!(lab.count("drop_frag_too_big"), 3);
    assert_accounted(&lab, 2);
}

/// Not complete within the timeout (default 2 s) of its first fragment: dropped, whether
/// another fragment arrives (the burst expires first) or not (the worker's tick).
#[test]
fn incomplete_datagrams_time_out() {
    let six = inner(1200);
    let mut lab = Lab::relay(false);
    assert_eq!(lab.run_at(0, 0, &fragment(outer(6), &six, 0, 800, true)).0, Verdict::Held);
    lab.pipe.expire_fragments(2_000_000_000 - 1);
    assert_eq!(lab.pipe.fragments_in_flight(), 1);
    // The last piece comes too late: the first is gone, this one starts a new datagram.
    assert_eq!(lab.run_at(2_000_000_000, 0, &fragment(outer(6), &six, 800, 1200, false)).0, Verdict::Held);
    assert_eq!(lab.count("drop_frag_timeout"), 1);
    lab.pipe.expire_fragments(4_000_000_000);
    assert_eq!(lab.count("drop_frag_timeout"), 2);
    assert_eq!(lab.pipe.fragments_in_flight(), 0);
    assert_accounted(&lab, 2);
}

/// `max_in_flight` datagrams at once; then new datagrams are refused until one completes.
#[test]
fn a_full_table_refuses_new_datagrams() {
    let six = inner(1200);
    let mut lab = relay_with("[reassembly]\nmax_in_flight = 2\n");
    for id in [1, 2] {
        assert_eq!(lab.run(0, &fragment(outer(id), &six, 0, 800, true)).0, Verdict::Held);
    }
    lab.expect_drop(0, &fragment(outer(3), &six, 0, 800, true), DropReason::FragTableFull);
    assert_eq!(lab.run(0, &fragment(outer(1), &six, 800, 1200, false)).0, Verdict::Tx(1));
    assert_eq!(lab.run(0, &fragment(outer(3), &six, 0, 800, true)).0, Verdict::Held);
    assert_eq!(lab.count("drop_frag_table_full"), 1);
    // Off: every fragment is refused.
    let mut off = relay_with("[reassembly]\nmax_in_flight = 0\n");
    off.expect_drop(0, &fragment(outer(1), &six, 0, 800, true), DropReason::FragTableFull);
}

/// The memory bound: fragment bytes held per worker.
#[test]
fn the_memory_bound_refuses_more_fragment_data() {
    let six = inner(1480);
    let mut lab = relay_with("[reassembly]\nmemory = 1600\n");
    assert_eq!(lab.run(0, &fragment(outer(1), &six, 0, 1000, true)).0, Verdict::Held);
    lab.expect_drop(0, &fragment(outer(2), &six, 0, 1000, true), DropReason::FragMemoryFull);
    // Completing the first frees its bytes.
    assert_eq!(lab.run(0, &fragment(outer(1), &six, 1000, 1480, false)).0, Verdict::Tx(1));
    assert_eq!(lab.run(0, &fragment(outer(2), &six, 0, 1000, true)).0, Verdict::Held);
    assert_accounted(&lab, 0);
}

/// Tiny fragments: more than 64 for one datagram drop it.
#[test]
fn more_than_64_fragments_drop_the_datagram() {
    let six = inner(600);
    let mut lab = Lab::relay(false);
    for k in 0..64 {
        assert_eq!(lab.run(0, &fragment(outer(8), &six, k * 8, k * 8 + 8, true)).0, Verdict::Held, "fragment {k}");
    }
    expect_datagram_drop(&mut lab, &fragment(outer(8), &six, 512, 520, true), DropReason::FragTooMany, 64);
    assert_eq!(lab.count("drop_frag_too_many"), 65);
    assert_accounted(&lab, 64);
}

/// RFC 791: only the last fragment may end off an 8-byte boundary, and the datagram has
/// one end.
#[test]
fn fragments_that_contradict_the_datagram_are_malformed() {
    let six = inner(1200);
    let mut lab = Lab::relay(false);
    lab.expect_drop(0, &fragment(outer(1), &six, 0, 804, true), DropReason::FragMalformed);
    assert_eq!(lab.run(0, &fragment(outer(2), &six, 800, 1200, false)).0, Verdict::Held);
    // A second "last" fragment with another end.
    expect_datagram_drop(&mut lab, &fragment(outer(2), &six, 800, 1000, false), DropReason::FragMalformed, 1);
    assert_eq!(lab.count("drop_frag_malformed"), 3);
    // Data past the end the last fragment set.
    assert_eq!(lab.run(0, &fragment(outer(3), &six, 400, 800, false)).0, Verdict::Held);
    expect_datagram_drop(&mut lab, &fragment(outer(3), &six, 0, 1200, true), DropReason::FragMalformed, 1);
    assert_eq!(lab.count("drop_frag_malformed"), 5);
    assert_accounted(&lab, 2);
}

/// RFC 3168 5.3: CE on any fragment marks the datagram, and RFC 6040 carries it inward.
#[test]
fn congestion_experienced_on_one_fragment_marks_the_datagram() {
    let six = with_tclass(inner(1200), 0b10); // ECT(0)
    let mut lab = Lab::relay(false);
    let ce = V4 { tos: 0b11, ..outer(1) };
    assert_eq!(lab.run(0, &fragment(outer(1), &six, 0, 800, true)).0, Verdict::Held);
    let (v, out) = lab.run(0, &fragment(ce, &six, 800, 1200, false));
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out, eth(GW6, PORT1, ET_IPV6, &hop_minus(&with_tclass(six, 0b11), 1)));
    assert_eq!(lab.count("ecn_ce_marked"), 1);
}

/// The decapsulation table decides before reassembly: a fragment no tunnel of ours
/// accepts costs no memory.
#[test]
fn fragments_to_no_endpoint_are_refused_before_reassembly() {
    let six = inner(1200);
    let mut lab = Lab::relay(false);
    let stranger = V4 { dst: a4("198.51.100.99"), ..outer(1) };
    lab.expect_drop(0, &fragment(stranger, &six, 0, 800, true), DropReason::Ipv4NotForUs);
    let martian = V4 { src: a4("10.0.0.1"), ..outer(1) };
    lab.expect_drop(0, &fragment(martian, &six, 0, 800, true), DropReason::Ipv4SrcMartian);
    assert_eq!(lab.pipe.fragments_in_flight(), 0);
}

/// Fragments to us that are not protocol 41 (a fragmented ping): not reassembled here —
/// dropped with their reason, or the kernel's on a port with a control TAP.
#[test]
fn non_tunnel_fragments_are_dropped_or_the_kernels() {
    let echo = icmp4(SRC4, RELAY4, 8, 0, [0, 1, 0, 1], &[0x5a; 1600]);
    let payload = &echo[20..];
    let icmp = V4 { proto: 1, ..outer(1) };
    let mut lab = Lab::relay(false);
    lab.expect_drop(0, &fragment(icmp, payload, 0, 800, true), DropReason::FragNotTunnel);
    let tap = relay_config(false).replace("ipv4 = \"198.51.100.9/24\"\n", "ipv4 = \"198.51.100.9/24\"\ncontrol_tap = \"cp0\"\n");
    let mut lab = Lab::new(&tap);
    assert_eq!(lab.run(0, &fragment(icmp, payload, 0, 800, true)).0, Verdict::Kernel);
}

#[test]
fn reassembly_settings_are_validated_by_field() {
    let bad = |extra: &str| Config::from_toml(&(relay_config(false) + extra)).expect("parses").validate(2).expect_err(extra);
    assert_eq!(bad("[reassembly]\nmax_datagram = 1299\n").path, "pipeline.reassembly.max_datagram");
    assert_eq!(bad("[reassembly]\nmax_datagram = 65536\n").path, "pipeline.reassembly.max_datagram");
    assert_eq!(bad("[reassembly]\ntimeout_ms = 0\n").path, "pipeline.reassembly.timeout_ms");
    assert_eq!(bad("[reassembly]\nmemory = 1000\n").path, "pipeline.reassembly.memory");
    assert!(Config::from_toml("[reassembly]\nmax_fragments = 3\n").is_err(), "unknown fields are refused");
    let s = Lab::relay(false).pipe.settings().reassembly;
    assert_eq!((s.max_datagram, s.max_in_flight, s.timeout_ms, s.memory), (1520, 1024, 2000, 4 << 20));
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Cut points of a `len`-byte payload: sorted multiples of 8 strictly inside it.
    fn pieces(len: usize, cuts: &[usize]) -> Vec<(usize, usize)> {
        let mut at: Vec<usize> = cuts.iter().map(|c| (c % len) / 8 * 8).filter(|&c| c > 0).collect();
        at.sort_unstable();
        at.dedup();
        let mut out = Vec::new();
        let mut start = 0;
        for c in at.into_iter().chain([len]) {
            out.push((start, c));
            start = c;
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any datagram cut into any pieces, sent in any order with any duplicates, comes out
        /// exactly as the unfragmented packet would; every fragment is accounted for.
        #[test]
        fn any_fragmentation_in_any_order_reassembles_exactly(
            len in 48usize..1480,
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
            order in any::<u64>(),
            dups in proptest::collection::vec(any::<usize>(), 0..3),
        ) {
            let six = inner(len);
            let parts = pieces(six.len(), &cuts);
            prop_assume!((2..=60).contains(&parts.len()));
            let mut frames: Vec<Vec<u8>> = parts.iter().map(|&(a, b)| fragment(outer(77), &six, a, b, b != six.len())).collect();
            for d in &dups {
                let f = frames[d % frames.len()].clone();
                frames.push(f);
            }
            // A deterministic shuffle, but the completing fragment may come anywhere.
            let mut seed = order | 1;
            for i in (1..frames.len()).rev() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                frames.swap(i, (seed % (i as u64 + 1)) as usize);
            }
            let mut lab = Lab::relay(false);
            let mut whole = Lab::relay(false);
            let expected = whole.run(0, &eth(PORT0, GW4, ET_IPV4, &ipv4(outer(77), &six)));
            let mut done = Vec::new();
            for f in &frames {
                let (v, out) = lab.run(0, f);
                if v != Verdict::Held {
                    done.push((v, out));
                }
            }
            // Duplicates arriving after completion start a new datagram: held and timed
            // out, or — every piece repeated — reassembled again, the same packet again.
            prop_assert!(!done.is_empty(), "{:?}", lab.nonzero());
            prop_assert!(done.iter().all(|d| *d == expected), "{:?}", lab.nonzero());
            prop_assert_eq!(lab.count("frag_reassembled"), done.len() as u64);
            lab.pipe.expire_fragments(u64::MAX);
            prop_assert_eq!(lab.pipe.fragments_in_flight(), 0);
            let held_dropped = lab.count("drop_frag_timeout");
            assert_accounted(&lab, held_dropped);
        }

        /// Garbage fragments (random offsets, flags, lengths, bytes) beside one valid
        /// datagram: no panic, every input has one verdict, the accounting holds after expiry.
        #[test]
        fn random_fragments_never_panic_and_are_accounted_for(
            junk in proptest::collection::vec((any::<u16>(), 0u16..8192, any::<bool>(), proptest::collection::vec(any::<u8>(), 0..200)), 1..40),
        ) {
            let mut lab = relay_with("[reassembly]\nmax_in_flight = 8\nmemory = 8000\n");
            let six = inner(1000);
            let mut frames = vec![fragment(outer(5), &six, 0, 504, true)];
            for (id, off, more, data) in &junk {
                let start = usize::from(*off) * 8 % 1600;
                let padded = [vec![0u8; start], data.clone()].concat();
                if padded.len() > start {
                    frames.push(fragment(outer(*id % 16), &padded, start, padded.len(), *more));
                }
            }
            frames.push(fragment(outer(5), &six, 504, 1000, false));
            for f in &frames {
                lab.run(0, f);
            }
            lab.pipe.expire_fragments(u64::MAX);
            prop_assert_eq!(lab.pipe.fragments_in_flight(), 0);
            let c = |n: &str| lab.count(n);
            prop_assert_eq!(c("rx"), frames.len() as u64);
            // Every drop reason but the frag_ ones counts verdicts only; the frag_ ones count
            // held fragments too: their excess over the verdicts is the held ones dropped.
            let by = |frag: bool| DropReason::ALL.iter().filter(|r| r.name().starts_with("frag_") == frag).map(|r| lab.pipe.counters().drops(*r)).sum::<u64>();
            let held_dropped = by(true) - (c("dropped") - by(false));
            assert_accounted(&lab, held_dropped);
        }
    }
}

/// The bound holds for the datagram as rebuilt: a first fragment with 40 bytes of options
/// makes the header longer than the later fragments' were checked with.
#[test]
fn a_long_first_header_counts_against_the_maximum() {
    let six = inner(1480);
    let mut lab = Lab::relay(false);
    let mut first = fragment(outer(9), &six, 0, 1000, true);
    // Rebuild the first fragment's header with 40 bytes of options (no-ops).
    let mut h = etherparse::Ipv4Header::from_slice(&first[14..]).expect("header").0;
    h.options = [1u8; 40].into();
    h.set_payload_len(1000).expect("payload length");
    h.header_checksum = h.calc_header_checksum();
    first = [&first[..14], &h.to_bytes()[..], &six[..1000]].concat();
    assert_eq!(lab.run(0, &first).0, Verdict::Held);
    expect_datagram_drop(&mut lab, &fragment(outer(9), &six, 1000, 1480, false), DropReason::FragTooBig, 1);
    assert_accounted(&lab, 1);
}
