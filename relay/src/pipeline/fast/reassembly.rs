//! Outer IPv4 reassembly of protocol-41 datagrams to our tunnel endpoints, before
//! decapsulation (RFC 4213 section 3.6; RFC 791 section 3.2, RFC 815's hole list): one table
//! per worker.
//!
//! Copying, not chaining: each fragment's payload is copied into its datagram's buffer at
//! its offset and the fragment's mbuf is freed at once; the fragment that completes the
//! datagram carries it on (the whole datagram is written into its buffer) and goes through
//! decapsulation like any packet. So no pool mbuf is held across bursts — a flood of half
//! datagrams costs the bounded memory below, never the mbufs the NIC needs to receive —
//! and every drop frees nothing but a slot. (`rte_ip_frag` chains the mbufs instead: no
//! copy, but a table full of fragments holds up to `max_in_flight` × fragments mbufs of the
//! receive pool, needs a death row, and tells no drop reason apart.)
//!
//! One worker sees every fragment of a datagram because RSS hashes IPv4 on the address
//! pair only (`RTE_ETH_RSS_IP`, `runtime/port.rs`): fragments carry no ports, and the hash
//! does not look for them.
//!
//! Bounds, each with its own drop reason for the whole datagram: `max_in_flight` datagrams
//! (`frag_table_full`), `memory` bytes of fragment data (`frag_memory_full`),
//! `max_datagram` bytes reassembled (`frag_too_big`), [`MAX_FRAGMENTS`] fragments
//! (`frag_too_many`), the timeout (`frag_timeout`); overlapping data that differs
//! (`frag_overlap`; an exact duplicate is harmless and kept), fragments that contradict the
//! datagram's end or are not a multiple of 8 bytes (`frag_malformed`).
//!
//! Accounting: a fragment taken in is [`Verdict::Held`](crate::pipeline::Verdict) (counted
//! `frag_held`). Each held fragment later ends once: merged into a datagram (`frag_merged`)
//! or dropped with it, counted under the datagram's drop reason but not in `dropped` (that
//! counts verdicts). So `rx = tx + punted + to_kernel + dropped + frag_held` per burst, and
//! `frag_held = frag_merged + held fragments dropped + in flight` at any time.
use std::collections::HashMap;
use std::collections::VecDeque;

use crate::pipeline::mech::TunnelKind;
use crate::pipeline::model::counters::Event;
use crate::pipeline::model::settings::ReassemblySettings;
use crate::pipeline::model::verdict::{DropReason, Verdict};
use crate::pipeline::model::PacketBuf;
use crate::wire::ipv4::Packet as Ipv4Packet;

use super::classify::{Class, RouteSlot};
use super::decap::Outer;
use super::Pipeline;

impl Pipeline {
    /// A protocol-41 fragment to a tunnel endpoint of ours (`kind` by the decapsulation
    /// table): held, dropped with its datagram, or — when it completes one — the datagram
    /// written into its buffer and decapsulated.
    pub(crate) fn reassemble<B: PacketBuf>(&mut self, now: u64, buf: &mut B, l2: usize, kind: TunnelKind, out: RouteSlot) -> Class {
        let taken = match buf.data().get(l2..).map(Ipv4Packet::new_checked) {
            Some(Ok(ip)) => self.reassembly.take(now, &ip),
            _ => return Class::Done(Verdict::Drop(DropReason::Ipv4Malformed)),
        };
        let slot = match taken {
            Taken::Held => return Class::Done(Verdict::Held),
            Taken::Dropped { reason, held } => {
                self.counters.count_reason_n(reason, held);
                return Class::Done(Verdict::Drop(reason));
            }
            Taken::Complete(slot) => slot,
        };
        // The fragment in hand becomes the datagram; the others were held.
        let (have, want) = (buf.data().len(), l2 + self.reassembly.datagram_len(slot));
        let sized = if want >= have { buf.append(want - have) } else { buf.trim(have - want) };
        if !sized {
            // The runtime sizes its mbufs for max_datagram; this is a buffer that is not.
            let held = self.reassembly.discard(slot).saturating_sub(1);
            self.counters.count_reason_n(DropReason::FragTooBig, held);
            return Class::Done(Verdict::Drop(DropReason::FragTooBig));
        }
        let merged = match buf.data_mut().get_mut(l2..) {
            Some(out) => self.reassembly.write_into(slot, out),
            None => self.reassembly.discard(slot),
        };
        self.counters.count_n(Event::FragMerged, merged.saturating_sub(1));
        self.counters.count(Event::FragReassembled);
        let outer = match buf.data().get(l2..).map(Ipv4Packet::new_checked) {
            Some(Ok(ip)) => Outer {
                l2,
                ihl: ip.header_len(),
                total: usize::from(ip.total_len()),
                src: u32::from(ip.src_addr()),
                dst: u32::from(ip.dst_addr()),
                tos: ip.dscp() << 2 | ip.ecn(),
            },
            _ => return Class::Done(Verdict::Drop(DropReason::Ipv4Malformed)),
        };
        self.decap(buf, outer, kind, out)
    }

    /// Drops the datagrams being reassembled whose time is up. The worker calls it on its
    /// housekeeping tick, so that fragments of a quiet link expire too.
    pub fn expire_fragments(&mut self, now: u64) {
        let gone = self.reassembly.expire(now);
        self.counters.count_reason_n(DropReason::FragTimeout, gone.fragments);
    }

    /// Datagrams being reassembled now.
    pub fn fragments_in_flight(&self) -> usize {
        self.reassembly.in_flight()
    }
}

/// Fragments per datagram at most: a 65535-byte datagram in 1280-byte pieces needs 52; a
/// stream of 8-byte fragments (each a hash lookup and a copy) is an attack.
pub const MAX_FRAGMENTS: u16 = 64;
/// The longest IPv4 header, options included.
const MAX_HEADER: usize = 60;

/// RFC 791: fragments belong together when source, destination, protocol and
/// identification are equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: u32,
    dst: u32,
    ident: u16,
    proto: u8,
}

/// One datagram being reassembled.
#[derive(Debug)]
struct Datagram {
    key: Option<Key>,
    /// Bumped each time the slot is reused: stale timeout entries are told apart.
    serial: u32,
    /// The first fragment's header (offset 0), once seen: the reassembled datagram's.
    header: [u8; MAX_HEADER],
    header_len: usize,
    /// Payload length, known once the last fragment (MF clear) is in.
    end: Option<usize>,
    /// Payload bytes at their offsets; `len()` is the highest end seen.
    data: Vec<u8>,
    /// Received payload ranges, sorted, merged where they touch.
    ranges: Vec<(usize, usize)>,
    fragments: u16,
    /// RFC 3168 section 5.3: a CE mark on any fragment is kept in the datagram.
    ce: bool,
}

impl Default for Datagram {
    fn default() -> Self {
        Datagram { key: None, serial: 0, header: [0; MAX_HEADER], header_len: 0, end: None, data: Vec::new(), ranges: Vec::new(), fragments: 0, ce: false }
    }
}

impl Datagram {
    fn complete(&self) -> bool {
        self.header_len != 0 && self.end.is_some_and(|end| self.ranges == [(0, end)])
    }
}

/// What a fragment did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Taken {
    /// Copied in; the datagram is not complete yet.
    Held,
    /// It completed the datagram in `slot`: write it out with [`Reassembly::write_into`].
    Complete(usize),
    /// The fragment is dropped for `reason`; so are `held` fragments taken in before.
    Dropped { reason: DropReason, held: u64 },
}

/// A reassembled datagram that expired or was dropped, for the counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Expired {
    pub datagrams: u64,
    pub fragments: u64,
}

/// One worker's reassembly table.
#[derive(Debug)]
pub(crate) struct Reassembly {
    limits: ReassemblySettings,
    /// Timeout in clock ticks.
    timeout: u64,
    slots: Vec<Datagram>,
    free: Vec<usize>,
    index: HashMap<Key, usize>,
    /// (deadline, slot, serial) in arrival order of first fragments: with one timeout,
    /// also deadline order.
    deadlines: VecDeque<(u64, usize, u32)>,
    /// Payload bytes reserved by the datagrams in flight.
    memory: usize,
}

impl Reassembly {
    /// `hz`: ticks per second of the `now` given to [`take`](Self::take).
    pub(crate) fn new(limits: ReassemblySettings, hz: u64) -> Reassembly {
        let n = limits.max_in_flight as usize;
        Reassembly {
            limits,
            timeout: u64::from(limits.timeout_ms).saturating_mul(hz) / 1000,
            // Slots and their buffers are made as datagrams arrive and reused after.
            slots: Vec::new(),
            free: Vec::new(),
            index: HashMap::with_capacity(n.min(4096)),
            deadlines: VecDeque::with_capacity(n.min(4096)),
            memory: 0,
        }
    }

    /// Datagrams being reassembled now.
    pub(crate) fn in_flight(&self) -> usize {
        self.index.len()
    }

    /// Takes in one fragment (a checked IPv4 packet with MF set or a non-zero offset,
    /// `total_len` bytes long).
    pub(crate) fn take(&mut self, now: u64, ip: &Ipv4Packet<&[u8]>) -> Taken {
        let key = Key { src: u32::from(ip.src_addr()), dst: u32::from(ip.dst_addr()), ident: ip.ident(), proto: ip.next_header() };
        let payload = ip.payload();
        let (start, more) = (usize::from(ip.frag_offset()), ip.more_frags());
        let stop = start + payload.len();
        let (slot, new) = match self.index.get(&key) {
            Some(&slot) => (slot, false),
            None if self.index.len() >= self.limits.max_in_flight as usize => {
                return Taken::Dropped { reason: DropReason::FragTableFull, held: 0 };
            }
            None => {
                let slot = self.free.pop().unwrap_or_else(|| {
                    self.slots.push(Datagram::default());
                    self.slots.len() - 1
                });
                let d = &mut self.slots[slot];
                d.key = Some(key);
                d.serial = d.serial.wrapping_add(1);
                (slot, true)
            }
        };
        if let Err(reason) = self.add(slot, ip, start, stop, more) {
            let held = u64::from(self.slots[slot].fragments);
            self.release(slot);
            return Taken::Dropped { reason, held };
        }
        if new {
            // Only a datagram that took its first fragment is indexed and given a deadline:
            // refused first fragments leave nothing behind.
            self.index.insert(key, slot);
            self.deadlines.push_back((now.saturating_add(self.timeout), slot, self.slots[slot].serial));
            self.compact_deadlines();
        }
        if !self.slots[slot].complete() {
            return Taken::Held;
        }
        // The first fragment's header may be longer than the ones the bound was checked with.
        if self.datagram_len(slot) > self.limits.max_datagram as usize {
            let held = u64::from(self.slots[slot].fragments) - 1;
            self.release(slot);
            return Taken::Dropped { reason: DropReason::FragTooBig, held };
        }
        Taken::Complete(slot)
    }

    /// Datagrams that completed or were dropped leave their deadline behind until it reaches
    /// the front; past twice the table's size those are dropped at once, so the queue stays
    /// bounded however fast datagrams come and go.
    fn compact_deadlines(&mut self) {
        let bound = 2 * (self.limits.max_in_flight as usize).max(64);
        if self.deadlines.len() > bound {
            let slots = &self.slots;
            self.deadlines.retain(|&(_, slot, serial)| slots.get(slot).is_some_and(|d| d.serial == serial && d.key.is_some()));
        }
    }

    /// Copies the fragment's payload `[start, stop)` into the datagram in `slot`.
    fn add(&mut self, slot: usize, ip: &Ipv4Packet<&[u8]>, start: usize, stop: usize, more: bool) -> Result<(), DropReason> {
        use DropReason::*;
        let (header, payload) = (ip.header(), ip.payload());
        let header_len = header.len();
        let max_payload = (self.limits.max_datagram as usize).saturating_sub(header_len);
        // RFC 791: every fragment but the last carries a multiple of 8 bytes.
        if payload.is_empty() || (more && payload.len() % 8 != 0) {
            return Err(FragMalformed);
        }
        if stop > max_payload {
            return Err(FragTooBig);
        }
        let d = &mut self.slots[slot];
        if d.fragments >= MAX_FRAGMENTS {
            return Err(FragTooMany);
        }
        let seen = d.data.len();
        match (more, d.end) {
            (false, Some(end)) if end != stop => return Err(FragMalformed),
            (false, None) if seen > stop => return Err(FragMalformed),
            (true, Some(end)) if stop > end => return Err(FragMalformed),
            (false, _) => d.end = Some(stop),
            (true, _) => {}
        }
        // Overlaps must repeat the bytes we have (RFC 791 lets a retransmission overlap;
        // different bytes are an evasion or a corruption: RFC 5722's reasoning for IPv6).
        for &(a, b) in &d.ranges {
            let (lo, hi) = (a.max(start), b.min(stop));
            if lo < hi && d.data.get(lo..hi) != payload.get(lo - start..hi - start) {
                return Err(FragOverlap);
            }
        }
        if stop > seen {
            let grow = stop - seen;
            if self.memory + grow > self.limits.memory as usize {
                return Err(FragMemoryFull);
            }
            self.memory += grow;
            d.data.resize(stop, 0);
        }
        if let Some(dst) = d.data.get_mut(start..stop) {
            dst.copy_from_slice(payload);
        }
        insert_range(&mut d.ranges, start, stop);
        d.fragments += 1;
        d.ce |= ip.ecn() == crate::wire::ecn::CE;
        if start == 0 {
            if let Some(dst) = d.header.get_mut(..header_len) {
                dst.copy_from_slice(header);
                d.header_len = header_len;
            }
        }
        Ok(())
    }

    /// Length of the datagram in `slot` (header + payload), for sizing the buffer.
    pub(crate) fn datagram_len(&self, slot: usize) -> usize {
        let d = &self.slots[slot];
        d.header_len + d.end.unwrap_or(0)
    }

    /// Writes the complete datagram in `slot` into `out` (exactly
    /// [`datagram_len`](Self::datagram_len) bytes): the first fragment's header with the
    /// new total length, no fragment fields and its checksum, then the payload. Frees the
    /// slot; returns how many fragments it merged, the one in hand included.
    pub(crate) fn write_into(&mut self, slot: usize, out: &mut [u8]) -> u64 {
        let d = &self.slots[slot];
        let (hl, n) = (d.header_len, d.data.len());
        if let (Some(h), Some(p)) = (out.get_mut(..hl), d.header.get(..hl)) {
            h.copy_from_slice(p);
        }
        if let Some(p) = out.get_mut(hl..hl + n) {
            p.copy_from_slice(&d.data);
        }
        if out.len() >= hl.max(crate::wire::ipv4::HEADER_LEN) {
            let mut ip = Ipv4Packet::new_unchecked(out);
            ip.set_total_len((hl + n) as u16);
            ip.clear_flags();
            if d.ce {
                ip.set_ecn(crate::wire::ecn::CE);
            }
            ip.fill_checksum();
        }
        let merged = u64::from(d.fragments);
        self.release(slot);
        merged
    }

    /// Frees `slot` without writing it out; returns its fragment count.
    pub(crate) fn discard(&mut self, slot: usize) -> u64 {
        let n = self.slots.get(slot).map_or(0, |d| u64::from(d.fragments));
        self.release(slot);
        n
    }

    /// Drops the datagrams whose time is up.
    pub(crate) fn expire(&mut self, now: u64) -> Expired {
        let mut gone = Expired { datagrams: 0, fragments: 0 };
        while let Some(&(deadline, slot, serial)) = self.deadlines.front() {
            let live = self.slots.get(slot).is_some_and(|d| d.serial == serial && d.key.is_some());
            if live && deadline > now {
                break;
            }
            self.deadlines.pop_front();
            if live {
                gone.datagrams += 1;
                gone.fragments += u64::from(self.slots[slot].fragments);
                self.release(slot);
            }
        }
        gone
    }

    fn release(&mut self, slot: usize) {
        let d = &mut self.slots[slot];
        if let Some(key) = d.key.take() {
            self.index.remove(&key);
            self.memory -= d.data.len();
            // Keep the buffer's capacity for the next datagram: no allocation at steady state.
            d.data.clear();
            d.ranges.clear();
            d.end = None;
            d.header_len = 0;
            d.fragments = 0;
            d.ce = false;
            self.free.push(slot);
        }
    }
}

/// Inserts `[start, stop)` into sorted disjoint `ranges`, merging what it touches.
fn insert_range(ranges: &mut Vec<(usize, usize)>, start: usize, stop: usize) {
    let (mut lo, mut hi) = (start, stop);
    let first = ranges.partition_point(|&(_, b)| b < lo);
    let mut last = first;
    while let Some(&(a, b)) = ranges.get(last) {
        if a > hi {
            break;
        }
        lo = lo.min(a);
        hi = hi.max(b);
        last += 1;
    }
    ranges.splice(first..last, [(lo, hi)]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ip_proto;

    /// A fragment of datagram `ident`: `payload` at `offset`.
    fn fragment(ident: u16, offset: u16, more: bool, payload: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 20 + payload.len()];
        b[20..].copy_from_slice(payload);
        let mut ip = Ipv4Packet::new_unchecked(&mut b[..]);
        ip.set_version(4);
        ip.set_header_len(20);
        ip.set_total_len((20 + payload.len()) as u16);
        ip.set_ident(ident);
        ip.set_more_frags(more);
        ip.set_frag_offset(offset);
        ip.set_next_header(ip_proto::IPV6);
        b
    }

    /// Datagrams that come and go faster than they time out leave a bounded deadline queue.
    #[test]
    fn the_deadline_queue_stays_bounded() {
        let limits = ReassemblySettings { max_in_flight: 4, ..ReassemblySettings::default() };
        let mut r = Reassembly::new(limits, 1_000_000_000);
        for ident in 0..10_000u16 {
            let (a, b) = (fragment(ident, 0, true, &[7; 16]), fragment(ident, 16, false, &[7; 8]));
            assert_eq!(r.take(0, &Ipv4Packet::new_checked(&a[..]).expect("valid")), Taken::Held);
            let Taken::Complete(slot) = r.take(0, &Ipv4Packet::new_checked(&b[..]).expect("valid")) else { panic!("complete") };
            let mut out = vec![0; r.datagram_len(slot)];
            assert_eq!(r.write_into(slot, &mut out), 2);
            // Refused first fragments (malformed) leave nothing behind at all.
            let bad = fragment(ident, 0, true, &[7; 12]);
            assert_eq!(r.take(0, &Ipv4Packet::new_checked(&bad[..]).expect("valid")), Taken::Dropped { reason: DropReason::FragMalformed, held: 0 });
        }
        assert!(r.deadlines.len() <= 2 * 64, "{} deadlines queued", r.deadlines.len());
        assert_eq!((r.in_flight(), r.memory), (0, 0));
        assert!(r.slots.len() <= 4, "slots are reused: {}", r.slots.len());
    }

    #[test]
    fn ranges_merge_where_they_touch_or_overlap() {
        let mut r = Vec::new();
        insert_range(&mut r, 16, 24);
        insert_range(&mut r, 0, 8);
        assert_eq!(r, [(0, 8), (16, 24)]);
        insert_range(&mut r, 8, 16);
        assert_eq!(r, [(0, 24)]);
        insert_range(&mut r, 40, 48);
        insert_range(&mut r, 4, 44);
        assert_eq!(r, [(0, 48)]);
    }
}
