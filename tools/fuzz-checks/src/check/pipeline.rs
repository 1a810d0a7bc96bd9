//! The whole fast path on one burst: classify → checks → rewrite → route, on a table set
//! built from one of [`CONFIGS`].
//!
//! Input: byte 0 picks the configuration, byte 1 the time (ms); then frames, each as one
//! control byte (bits 0–1: the receiving port; bit 7: fill in the IPv4 header and ICMPv4
//! checksums first, so that the fuzzer gets past the checksum checks), a big-endian u16
//! length (cut to what is left) and the frame.
//!
//! Properties beside "no panic":
//! - every input gets exactly one outcome, written by the pipeline: a forward (`Tx` to a
//!   configured port), a local delivery (`Punt`, `Kernel`, the latter with the frame
//!   unchanged), or one named drop;
//! - counters add up: `rx` = inputs = `tx` + `punted` + `to_kernel` + `dropped`, each equal to
//!   its verdicts; a reason's drop counter is its drop verdicts plus the packets answered with
//!   an ICMPv6 error for it, and those answers are the ICMPv6 errors counted as sent;
//! - an emitted frame is at most 20 bytes longer than its input, unless it is an ICMPv6
//!   error we built (then its IPv6 packet is at most 1280 bytes, RFC 4443 2.4(c));
//! - every emitted IPv4 header parses and its checksum verifies (the fast path writes every
//!   IPv4 header it sends); every emitted ICMPv6 message's checksum verifies unless its
//!   bytes and addresses are the input's own, passed through.
use std::sync::OnceLock;

use relay::pipeline::{Config, Counters, DropReason, Event, Pipeline, Settings, Tables, TestBuf, Verdict};
use relay::wire::{ethertype, ip_proto, Icmpv4Packet, Icmpv6Packet, Ipv4Packet, Ipv6Packet};

use super::configs::CONFIGS;

/// Frames per burst at most: two of the pipeline's chunks and a part, so chunking is fuzzed.
const MAX_FRAMES: usize = 160;
/// A verdict the fast path never gives (a slow-path reason): any left means a slot unwritten.
const UNWRITTEN: Verdict = Verdict::Drop(DropReason::SlowTxFailed);
/// Ethernet + 802.1Q + outer IPv4 + the IPv6 minimum MTU.
const MAX_ICMP_ERROR_FRAME: usize = 18 + 20 + 1280;

pub(crate) fn lab(i: usize) -> &'static (Settings, Tables, usize) {
    static LABS: OnceLock<Vec<(Settings, Tables, usize)>> = OnceLock::new();
    let labs = LABS.get_or_init(|| {
        CONFIGS
            .iter()
            .map(|&(toml, ports)| {
                let config = Config::from_toml(toml).expect("fuzz config parses");
                let (settings, tables) = config.build(ports).expect("fuzz config validates");
                (settings, tables, ports)
            })
            .collect()
    });
    &labs[i % labs.len()]
}

pub fn check(data: &[u8]) {
    let (Some(&pick), Some(&ms)) = (data.first(), data.get(1)) else { return };
    let (settings, tables, ports) = lab(usize::from(pick));
    let macs: Vec<[u8; 6]> = (0..*ports).map(|p| [0x02, 0, 0, 0, 0, 0xa0 + p as u8]).collect();
    let mut pipe = Pipeline::new(settings.clone(), &macs);

    let inputs = frames(data.get(2..).unwrap_or_default(), *ports);
    let mut bufs: Vec<TestBuf> = inputs.iter().map(|(port, f)| TestBuf::new(*port, f)).collect();
    let mut verdicts = vec![UNWRITTEN; bufs.len()];
    pipe.process_burst(tables, u64::from(ms) * 1_000_000, &mut bufs, &mut verdicts);

    // A fragment that completes a datagram carries all of it: its bound is every fragment
    // byte of the burst (the table starts empty).
    let fragment_bytes: usize = inputs.iter().filter(|(_, f)| is_ipv4_fragment(f)).map(|(_, f)| f.len()).sum();
    for ((input, buf), v) in inputs.iter().zip(&bufs).zip(&verdicts) {
        let out = buf.to_vec();
        match *v {
            UNWRITTEN => panic!("no verdict for a frame on port {}", input.0),
            Verdict::Tx(port) => {
                assert!(usize::from(port) < *ports, "Tx to port {port} of {ports}");
                let bound = if is_ipv4_fragment(&input.1) { fragment_bytes } else { input.1.len() };
                emitted(&input.1, bound, &out);
            }
            Verdict::Kernel => assert_eq!(out, input.1, "a frame for the kernel goes unchanged"),
            Verdict::Punt | Verdict::Held | Verdict::Drop(_) => {}
        }
    }
    counters_add_up(pipe.counters(), &verdicts);
}

/// Every frame's port, verdict and bytes in and out, for `examples/explain.rs`.
pub fn explain(data: &[u8]) -> Vec<String> {
    let (Some(&pick), Some(&ms)) = (data.first(), data.get(1)) else { return Vec::new() };
    let (settings, tables, ports) = lab(usize::from(pick));
    let macs: Vec<[u8; 6]> = (0..*ports).map(|p| [0x02, 0, 0, 0, 0, 0xa0 + p as u8]).collect();
    let mut pipe = Pipeline::new(settings.clone(), &macs);
    let inputs = frames(data.get(2..).unwrap_or_default(), *ports);
    let mut bufs: Vec<TestBuf> = inputs.iter().map(|(port, f)| TestBuf::new(*port, f)).collect();
    let mut verdicts = vec![UNWRITTEN; bufs.len()];
    pipe.process_burst(tables, u64::from(ms) * 1_000_000, &mut bufs, &mut verdicts);
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut lines = vec![format!("config {}, {} frames, counters {:?}", usize::from(pick) % CONFIGS.len(), inputs.len(), pipe.counters().nonzero())];
    for (k, ((input, buf), v)) in inputs.iter().zip(&bufs).zip(&verdicts).enumerate() {
        lines.push(format!("{k}: port {} {v:?}\n    in  {}\n    out {}", input.0, hex(&input.1), hex(&buf.to_vec())));
    }
    lines
}

/// Splits the input into (port, frame) pairs.
fn frames(mut rest: &[u8], ports: usize) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    while out.len() < MAX_FRAMES {
        let Some((&[ctl, hi, lo], tail)) = rest.split_first_chunk::<3>() else { break };
        let len = usize::from(u16::from_be_bytes([hi, lo])).min(tail.len());
        let (frame, after) = tail.split_at(len);
        let mut frame = frame.to_vec();
        if ctl & 0x80 != 0 {
            repair_checksums(&mut frame);
        }
        // Port `ports` and above are unconfigured: a few inputs land there too.
        out.push((u16::from(ctl & 3) % (ports as u16 + 1), frame));
        rest = after;
    }
    out
}

fn l2_len(frame: &[u8]) -> Option<(u16, usize)> {
    let et = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    if et == ethertype::VLAN {
        Some((u16::from_be_bytes([*frame.get(16)?, *frame.get(17)?]), 18))
    } else {
        Some((et, 14))
    }
}

fn repair_checksums(frame: &mut [u8]) {
    let Some((ethertype::IPV4, l2)) = l2_len(frame) else { return };
    let Some(l3) = frame.get_mut(l2..) else { return };
    let Ok(mut ip) = Ipv4Packet::new_checked(&mut *l3) else { return };
    ip.fill_checksum();
    if ip.next_header() != ip_proto::ICMP {
        return;
    }
    if let Ok(mut icmp) = Icmpv4Packet::new_checked(ip.payload_mut()) {
        icmp.fill_checksum();
    }
}

/// The IPv6 packet a frame carries, natively or in protocol 41, and whether it was in IPv4.
/// Asserts every IPv4 header on the way.
fn ipv6_in(frame: &[u8], emitted: bool) -> Option<&[u8]> {
    let (et, l2) = l2_len(frame)?;
    let l3 = frame.get(l2..)?;
    match et {
        ethertype::IPV6 => Some(l3),
        ethertype::IPV4 => {
            let ip = Ipv4Packet::new_checked(l3);
            if emitted {
                let ip = ip.as_ref().expect("an emitted IPv4 header parses");
                assert!(ip.verify_checksum(), "emitted IPv4 header checksum");
                if ip.next_header() == ip_proto::ICMP {
                    let icmp = Icmpv4Packet::new_checked(ip.payload()).expect("an emitted ICMPv4 message parses");
                    assert!(icmp.verify_checksum(), "emitted ICMPv4 checksum");
                }
            }
            let ip = ip.ok()?;
            let hl = ip.header_len();
            (ip.next_header() == ip_proto::IPV6).then(|| l3.get(hl..usize::from(ip.total_len()))).flatten()
        }
        _ => None,
    }
}

/// The ICMPv6 message of an IPv6 packet: (src, dst, message bytes).
fn icmpv6_of(ipv6: &[u8]) -> Option<([u8; 16], [u8; 16], &[u8])> {
    let ip = Ipv6Packet::new_checked(ipv6).ok()?;
    let (next, at) = ip.upper_layer().ok()?;
    let msg = ipv6.get(at..ip.total_len())?;
    (next == ip_proto::ICMPV6).then_some((ip.src_bytes(), ip.dst_bytes(), msg))
}

/// What holds for a frame the pipeline sends, built from `input`.
/// An IPv4 fragment (MF set or a non-zero offset) in an Ethernet frame.
fn is_ipv4_fragment(frame: &[u8]) -> bool {
    let Some((et, l2)) = l2_len(frame) else { return false };
    et == ethertype::IPV4 && frame.get(l2..).and_then(|ip| Ipv4Packet::new_checked(ip).ok()).is_some_and(|ip| ip.is_fragment())
}

/// `bound`: the bytes the output may grow from by at most 20 (the input, or a burst's
/// fragments for a reassembled datagram).
fn emitted(input: &[u8], bound: usize, out: &[u8]) {
    let Some(v6) = ipv6_in(out, true) else {
        let (et, _) = l2_len(out).expect("an emitted frame has an Ethernet header");
        panic!("emitted frame is neither IPv6 nor IPv6 in IPv4 (EtherType {et:#06x})");
    };
    let ip = Ipv6Packet::new_checked(v6).expect("an emitted IPv6 header parses");
    let icmp = icmpv6_of(v6);
    let is_error = icmp.is_some_and(|(_, _, m)| m.first().is_some_and(|&t| (1..=4).contains(&t)));
    if out.len() > bound + 20 {
        assert!(is_error, "emitted {} bytes from {bound}: more than 20 more, and no ICMPv6 error", out.len());
        assert!(ip.total_len() <= 1280 && out.len() <= MAX_ICMP_ERROR_FRAME, "ICMPv6 error of {} bytes", ip.total_len());
    }
    if let Some((src, dst, msg)) = icmp {
        let ok = Icmpv6Packet::new_checked(msg).is_ok_and(|m| m.verify_checksum(&src, &dst));
        if !ok {
            let passed_through = ipv6_in(input, false).and_then(icmpv6_of) == Some((src, dst, msg));
            assert!(passed_through, "emitted ICMPv6 with a bad checksum that is not the input's own");
        }
    }
}

fn counters_add_up(c: &Counters, verdicts: &[Verdict]) {
    let n = verdicts.len() as u64;
    let tally = |f: fn(&Verdict) -> bool| verdicts.iter().filter(|v| f(v)).count() as u64;
    let tx = tally(|v| matches!(v, Verdict::Tx(_)));
    let punt = tally(|v| matches!(v, Verdict::Punt));
    let kernel = tally(|v| matches!(v, Verdict::Kernel));
    let dropped = tally(|v| matches!(v, Verdict::Drop(_)));
    let held = tally(|v| matches!(v, Verdict::Held));
    assert_eq!(c.event(Event::Rx), n, "rx");
    assert_eq!(
        (c.event(Event::Tx), c.event(Event::Punted), c.event(Event::ToKernel), c.event(Event::Dropped), c.event(Event::FragHeld)),
        (tx, punt, kernel, dropped, held)
    );
    assert_eq!(tx + punt + kernel + dropped + held, n, "one outcome per input");
    let (mut answered, mut held_dropped) = (0, 0);
    for &r in DropReason::ALL {
        let verdicts_r = verdicts.iter().filter(|&&v| v == Verdict::Drop(r)).count() as u64;
        let count = c.drops(r);
        assert!(count >= verdicts_r, "drop_{}: {count} counted, {verdicts_r} dropped", r.name());
        // A datagram's drop reason also counts the fragments held before (not verdicts).
        if r.name().starts_with("frag_") {
            held_dropped += count - verdicts_r;
        } else {
            answered += count - verdicts_r;
        }
    }
    assert!(c.event(Event::FragMerged) + held_dropped <= held, "held fragments end once: {:?}", c.nonzero());
    let errors = c.event(Event::Icmp6TimeExceeded) + c.event(Event::Icmp6DestUnreachable) + c.event(Event::Icmp6PacketTooBig);
    assert_eq!(answered + c.event(Event::Icmp4Translated), errors, "drops answered with ICMPv6 errors: {:?}", c.nonzero());
}
