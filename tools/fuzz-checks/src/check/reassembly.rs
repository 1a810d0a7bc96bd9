//! Outer IPv4 reassembly (relay/src/pipeline/fast/reassembly.rs): arbitrary fragment
//! sequences — pieces of one valid tunnel datagram at arbitrary offsets and lengths, with
//! arbitrary flags, garbage bytes, several datagrams at once and the clock moving — against
//! a table with small bounds. Beside "no panic": every output is the one valid inner packet
//! or a well-formed decapsulated IPv6 packet no longer than the datagram, one outcome per
//! input, and once everything has expired each held fragment ended exactly once (merged or
//! dropped with its datagram) and nothing is left in the table.
use std::sync::OnceLock;

use relay::pipeline::{Config, DropReason, Event, Pipeline, Settings, Tables, TestBuf, Verdict};
use relay::wire::{Ipv4Packet, Ipv6Packet};

use super::configs::ANYCAST_RELAY;

/// Small bounds, so that a short input reaches every one of them.
const LIMITS: &str = "
[reassembly]
max_in_flight = 4
memory = 6000
timeout_ms = 2000
";

/// The datagram's payload: a 6to4 → native IPv6 packet of this many bytes.
const INNER_LEN: usize = 1200;
const MACS: [[u8; 6]; 2] = [[0x02, 0, 0, 0, 0, 0xa0], [0x02, 0, 0, 0, 0, 0xa1]];

fn lab() -> &'static (Settings, Tables, Vec<u8>) {
    static LAB: OnceLock<(Settings, Tables, Vec<u8>)> = OnceLock::new();
    LAB.get_or_init(|| {
        let text = format!("{ANYCAST_RELAY}{LIMITS}");
        let (settings, tables) = Config::from_toml(&text).expect("parses").build(2).expect("validates");
        let mut inner = vec![0x60, 0, 0, 0];
        inner.extend_from_slice(&((INNER_LEN - 40) as u16).to_be_bytes());
        inner.extend_from_slice(&[59, 64]);
        inner.extend_from_slice(&"2002:c633:6407::1".parse::<std::net::Ipv6Addr>().expect("v6").octets());
        inner.extend_from_slice(&"2001:db8::1".parse::<std::net::Ipv6Addr>().expect("v6").octets());
        inner.extend((0..INNER_LEN - 40).map(|i| (i * 7) as u8));
        (settings, tables, inner)
    })
}

/// One fragment frame to the relay from 198.51.100.7.
fn fragment(id: u16, offset: usize, more: bool, ce: bool, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + payload.len()];
    f[..6].copy_from_slice(&MACS[0]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0x01, 0x01]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[34..].copy_from_slice(payload);
    let mut ip = Ipv4Packet::new_unchecked(&mut f[14..]);
    ip.set_version(4);
    ip.set_header_len(20);
    ip.set_ecn(if ce { 3 } else { 0 });
    ip.set_total_len((20 + payload.len()) as u16);
    ip.set_ident(id);
    ip.clear_flags();
    ip.set_more_frags(more);
    ip.set_frag_offset(offset as u16);
    ip.set_ttl(64);
    ip.set_next_header(41);
    ip.set_src_addr([198, 51, 100, 7].into());
    ip.set_dst_addr([198, 51, 100, 9].into());
    ip.fill_checksum();
    f
}

/// Records of 4 bytes: datagram id (0..8), offset (× 8), length, flags (bit 0: more
/// fragments follow, else by position; bit 1: the clock moves 1 s; bit 2: CE; bit 3: take
/// the payload from the input instead of the datagram).
pub fn check(data: &[u8]) {
    let (settings, tables, inner) = lab();
    let mut pipe = Pipeline::new(settings.clone(), &MACS);
    let mut rest = data;
    let (mut now, mut verdicts) = (0u64, Vec::new());
    while let [id, off, len, flags, tail @ ..] = rest {
        rest = tail;
        let start = (usize::from(*off) * 8).min(INNER_LEN);
        let len = usize::from(*len) * 4 + 1;
        let payload: Vec<u8> = if flags & 8 != 0 {
            let n = len.min(rest.len());
            let (p, r) = rest.split_at(n);
            rest = r;
            p.to_vec()
        } else {
            inner.get(start..(start + len).min(INNER_LEN)).unwrap_or_default().to_vec()
        };
        let more = flags & 1 != 0 || start + payload.len() < INNER_LEN;
        if flags & 2 != 0 {
            now += 1_000_000_000;
        }
        let frame = fragment(u16::from(id % 8), start, more, flags & 4 != 0, &payload);
        let mut bufs = [TestBuf::new(0, &frame)];
        let mut v = [Verdict::Drop(DropReason::SlowTxFailed)];
        pipe.process_burst(tables, now, &mut bufs, &mut v);
        if let Verdict::Tx(port) = v[0] {
            emitted(&bufs[0].to_vec(), port, inner);
        }
        verdicts.push(v[0]);
    }
    pipe.expire_fragments(u64::MAX);
    assert_eq!(pipe.fragments_in_flight(), 0, "everything expires");
    let c = pipe.counters();
    let tally = |f: fn(&Verdict) -> bool| verdicts.iter().filter(|v| f(v)).count() as u64;
    let held = tally(|v| *v == Verdict::Held);
    assert_eq!(c.event(Event::Rx), verdicts.len() as u64);
    assert_eq!(c.event(Event::FragHeld), held);
    assert_eq!(c.event(Event::Tx) + c.event(Event::Punted) + c.event(Event::ToKernel) + c.event(Event::Dropped) + held, verdicts.len() as u64);
    let mut held_dropped = 0;
    for &r in DropReason::ALL.iter().filter(|r| r.name().starts_with("frag_")) {
        let as_verdict = verdicts.iter().filter(|&&v| v == Verdict::Drop(r)).count() as u64;
        held_dropped += c.drops(r) - as_verdict;
    }
    assert_eq!(c.event(Event::FragMerged) + held_dropped, held, "each held fragment ends once: {:?}", c.nonzero());
}

/// A reassembled datagram leaves as a decapsulated IPv6 packet on the native port, no
/// longer than the datagram's inner packet could be; from the datagram's own bytes, it is
/// that packet with the hop limit lowered.
fn emitted(out: &[u8], port: u16, inner: &[u8]) {
    assert_eq!(port, 1, "decapsulated traffic leaves by the native port");
    let ip = out.get(14..).expect("an Ethernet header");
    let p = Ipv6Packet::new_checked(ip).expect("a well-formed IPv6 packet");
    assert!(p.total_len() <= INNER_LEN, "{} bytes from a datagram of at most {INNER_LEN}", p.total_len());
    if ip.len() == inner.len() && ip[8..] == inner[8..] {
        assert_eq!(&ip[..7], &inner[..7]);
        assert_eq!(ip[7], inner[7] - 1, "hop limit lowered once");
    }
}
