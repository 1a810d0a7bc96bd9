//! Hand-written cases: edges of the prefix-length range, overlap, errors, bursts; and the
//! helpers the other test files share.

use std::net::Ipv6Addr;

use super::poptrie::STRIDE;
use super::reference::{ReferenceLpm, ReferenceLpm6};
use super::{Family, V6};
use super::{Lpm, Lpm6, LpmError};

pub(super) const MISS: u32 = Lpm6::MISS;

pub(super) fn ip(s: &str) -> Ipv6Addr {
    s.parse().expect("test address literal")
}

pub(super) fn at(table: &Lpm6, s: &str) -> u32 {
    table.lookup(&ip(s).octets())
}

/// `addr` with bit `bit` (0 = most significant) flipped.
pub(super) fn flip<F: Family>(addr: F::Prefix, bit: u32) -> F::Addr {
    F::key_addr(F::prefix_key(addr) ^ (1u128 << (127 - bit)))
}

/// Lookups (single and bulk) on `keys` agree with the reference, and so do the routes.
pub(super) fn assert_same<F: Family>(
    table: &Lpm<F>,
    reference: &ReferenceLpm<F>,
    keys: &[F::Addr],
) {
    let mut bulk = vec![0; keys.len()];
    table.lookup_bulk(keys, &mut bulk);
    let mut unprefetched = vec![0; keys.len()];
    table.lookup_bulk_with_prefetch(keys, &mut unprefetched, |_| {});
    for ((key, &got), &plain) in keys.iter().zip(&bulk).zip(&unprefetched) {
        let want = reference.lookup(key);
        let shown = F::key_prefix(F::addr_key(key));
        assert_eq!(table.lookup(key), want, "lookup {shown:?}");
        assert_eq!(got, want, "lookup_bulk {shown:?}");
        assert_eq!(plain, want, "lookup_bulk_with_prefetch {shown:?}");
    }
    assert_eq!(table.routes(), reference.routes());
    assert_eq!(table.len(), reference.len());
}

#[test]
fn empty_table_misses_everything() {
    let mut table = Lpm6::new();
    assert!(table.is_empty());
    assert_eq!(table.len(), 0);
    for s in [
        "::",
        "2001:db8::1",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ] {
        assert_eq!(at(&table, s), MISS);
    }
    let mut out = [7u32; 3];
    table.lookup_bulk(&[[0; 16], [0xff; 16], [0x20; 16]], &mut out);
    assert_eq!(out, [MISS; 3]);
    assert_eq!(table.get(ip("::"), 0), None);
    assert_eq!(table.remove(ip("2001:db8::"), 32), Ok(None));
    assert_eq!(table.routes(), vec![]);
    assert_eq!(table.trie.node_count(), 0);
}

#[test]
fn default_route_matches_everything_until_removed() {
    let mut table = Lpm6::new();
    assert_eq!(table.insert(ip("2001:db8::1"), 0, 9), Ok(None));
    assert_eq!(table.routes(), vec![(ip("::"), 0, 9)]);
    for s in [
        "::",
        "2001:db8::1",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ] {
        assert_eq!(at(&table, s), 9);
    }
    table.insert(ip("2001:db8::"), 32, 1).unwrap();
    assert_eq!(at(&table, "2001:db8:1::"), 1);
    assert_eq!(at(&table, "2001:db9::"), 9);
    assert_eq!(table.remove(ip("::"), 0), Ok(Some(9)));
    assert_eq!(at(&table, "2001:db9::"), MISS);
    assert_eq!(at(&table, "2001:db8:1::"), 1);
}

#[test]
fn host_route_matches_only_its_address() {
    let mut table = Lpm6::new();
    let host = ip("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff");
    table.insert(host, 128, 4).unwrap();
    assert_eq!(table.lookup(&host.octets()), 4);
    for bit in 0..128 {
        assert_eq!(table.lookup(&flip::<V6>(host, bit)), MISS, "bit {bit}");
    }
    table.insert(host, 127, 5).unwrap();
    assert_eq!(table.lookup(&flip::<V6>(host, 127)), 5);
    assert_eq!(table.lookup(&host.octets()), 4);
    assert_eq!(table.remove(host, 128), Ok(Some(4)));
    assert_eq!(table.lookup(&host.octets()), 5);
}

#[test]
fn every_length_covers_exactly_its_prefix() {
    let base = ip("2001:db8:5555:aaaa:5555:aaaa:5555:aaaa");
    for len in 0..=128u8 {
        let mut table = Lpm6::new();
        table.insert(base, len, u32::from(len)).unwrap();
        assert_eq!(table.lookup(&base.octets()), u32::from(len), "/{len}");
        if len > 0 {
            let outside = flip::<V6>(base, u32::from(len) - 1);
            assert_eq!(table.lookup(&outside), MISS, "/{len} last prefix bit");
        }
        if len < 128 {
            let inside = flip::<V6>(base, u32::from(len));
            assert_eq!(
                table.lookup(&inside),
                u32::from(len),
                "/{len} first host bit"
            );
        }
        assert_eq!(table.remove(base, len), Ok(Some(u32::from(len))));
        assert_eq!(table.lookup(&base.octets()), MISS);
        assert_eq!(table.trie.node_count(), 0, "/{len} left nodes behind");
    }
}

/// Lengths at every level boundary (the last bit of a level and the first of the next:
/// the direct table, then a node every 7 bits) plus common ones.
pub(super) fn chain<F: Family>() -> Vec<u8> {
    let mut lens = vec![0, 1, 8, 15, 16, 17, 24, 32, 47, 48, 64, 100, 127, 128];
    let mut depth = F::DIRECT_BITS;
    while depth < u32::from(F::BITS) {
        lens.extend([depth as u8, depth as u8 + 1]);
        depth += STRIDE;
    }
    lens.retain(|&len| len <= F::BITS);
    lens.sort_unstable();
    lens.dedup();
    lens
}

/// `base` and its neighbours at every bit.
pub(super) fn chain_keys<F: Family>(base: F::Prefix) -> Vec<F::Addr> {
    let mut keys: Vec<F::Addr> = (0..u32::from(F::BITS))
        .map(|bit| flip::<F>(base, bit))
        .collect();
    keys.push(F::key_addr(F::prefix_key(base)));
    keys
}

#[test]
fn overlapping_chain_longest_prefix_wins() {
    let base = ip("2a00:1450:4001:81c::200e");
    let mut table = Lpm6::new();
    let mut reference = ReferenceLpm6::new();
    for len in chain::<V6>() {
        table.insert(base, len, 1000 + u32::from(len)).unwrap();
        reference.insert(base, len, 1000 + u32::from(len)).unwrap();
    }
    assert_eq!(table.lookup(&base.octets()), 1128);
    // Flipping bit b leaves the prefixes no longer than b.
    assert_eq!(table.lookup(&flip::<V6>(base, 47)), 1047);
    assert_eq!(table.lookup(&flip::<V6>(base, 20)), 1020);
    assert_eq!(table.lookup(&flip::<V6>(base, 0)), 1000);
    assert_same(&table, &reference, &chain_keys::<V6>(base));
    // Remove in a scrambled order (covering prefixes before and after the ones they cover),
    // checking the uncovered slots each time.
    let mut order = chain::<V6>();
    let n = order.len();
    order.sort_by_key(|&len| (usize::from(len) * 7919) % n);
    for len in order {
        assert_eq!(table.remove(base, len), Ok(Some(1000 + u32::from(len))));
        reference.remove(base, len).unwrap();
        assert_same(&table, &reference, &chain_keys::<V6>(base));
    }
    assert!(table.is_empty());
    assert_eq!(table.trie.node_count(), 0);
}

#[test]
fn short_prefixes_cover_direct_table_nodes() {
    let mut table = Lpm6::new();
    table.insert(ip("2001:db8::"), 48, 48).unwrap();
    table.insert(ip("2000::"), 3, 3).unwrap();
    assert_eq!(at(&table, "2001:db8::1"), 48);
    assert_eq!(at(&table, "2001:db8:1::1"), 3);
    assert_eq!(at(&table, "3fff::"), 3);
    assert_eq!(at(&table, "4000::"), MISS);
    table.insert(ip("2000::"), 7, 7).unwrap();
    assert_eq!(at(&table, "2001:db8:1::1"), 7);
    table.remove(ip("2000::"), 7).unwrap();
    assert_eq!(at(&table, "2001:db8:1::1"), 3);
    table.remove(ip("2001:db8::"), 48).unwrap();
    assert_eq!(at(&table, "2001:db8::1"), 3);
    assert_eq!(table.trie.node_count(), 0);
}

#[test]
fn insert_reports_the_replaced_next_hop() {
    let mut table = Lpm6::new();
    assert_eq!(table.insert(ip("2001:db8::"), 32, 1), Ok(None));
    assert_eq!(table.insert(ip("2001:db8::"), 32, 1), Ok(Some(1)));
    assert_eq!(table.insert(ip("2001:db8::"), 32, 2), Ok(Some(1)));
    assert_eq!(at(&table, "2001:db8::1"), 2);
    assert_eq!(table.len(), 1);
    assert_eq!(table.get(ip("2001:db8::"), 32), Some(2));
    assert_eq!(
        table.get(ip("2001:db8::"), 33),
        None,
        "get is exact, not longest match"
    );
}

#[test]
fn host_bits_past_the_length_are_ignored() {
    let mut table = Lpm6::new();
    table.insert(ip("2001:db8:ffff:ffff::1"), 32, 1).unwrap();
    assert_eq!(table.routes(), vec![(ip("2001:db8::"), 32, 1)]);
    assert_eq!(table.get(ip("2001:db8:1::"), 32), Some(1));
    assert_eq!(table.remove(ip("2001:db8::abcd"), 32), Ok(Some(1)));
    assert!(table.is_empty());
}

#[test]
fn invalid_routes_are_rejected_without_change() {
    let mut table = Lpm6::new();
    table.insert(ip("2001:db8::"), 32, 1).unwrap();
    let before = table.routes();
    assert_eq!(
        table.insert(ip("2001:db8::"), 129, 1),
        Err(LpmError::InvalidLength { len: 129, max: 128 })
    );
    assert_eq!(
        table.insert(ip("2001:db8::"), 48, MISS),
        Err(LpmError::InvalidNextHop(MISS))
    );
    assert_eq!(
        table.insert(ip("2001:db8::"), 48, Lpm6::MAX_NEXT_HOP + 1),
        Err(LpmError::InvalidNextHop(Lpm6::MAX_NEXT_HOP + 1))
    );
    assert_eq!(
        table.remove(ip("2001:db8::"), 200),
        Err(LpmError::InvalidLength { len: 200, max: 128 })
    );
    assert_eq!(table.get(ip("2001:db8::"), 129), None);
    assert_eq!(table.routes(), before);
    assert_eq!(at(&table, "2001:db8::1"), 1);
    assert_eq!(
        LpmError::InvalidLength { len: 129, max: 128 }.to_string(),
        "prefix length 129: must be 0..=128"
    );
    assert_eq!(
        LpmError::InvalidNextHop(MISS).to_string(),
        "next hop 4294967295: must be at most 2147483646 (MAX_NEXT_HOP; 4294967295 is 'no route')"
    );
    let bad = [(ip("2001:db8::"), 32, 1), (ip("2001:db9::"), 130, 2)];
    assert_eq!(
        Lpm6::from_routes(bad).map(|t| t.len()),
        Err(LpmError::InvalidLength { len: 130, max: 128 })
    );
    let bad = [(ip("2001:db8::"), 32, MISS)];
    assert_eq!(
        Lpm6::from_routes(bad).map(|t| t.len()),
        Err(LpmError::InvalidNextHop(MISS))
    );
}

#[test]
fn bulk_lookup_handles_any_burst_length() {
    let base = ip("2a00:1450:4001:81c::200e");
    let mut table = Lpm6::new();
    for len in chain::<V6>() {
        table.insert(base, len, u32::from(len)).unwrap();
    }
    let keys = chain_keys::<V6>(base);
    let single: Vec<u32> = keys.iter().map(|k| table.lookup(k)).collect();
    for n in [0, 1, 31, 32, 33, 64, 100, keys.len()] {
        let mut out = vec![0; n];
        table.lookup_bulk(&keys[..n], &mut out);
        assert_eq!(out, single[..n], "burst of {n}");
    }
    // Mismatched lengths: only the common prefix is written.
    let mut out = vec![0; 40];
    table.lookup_bulk(&keys[..10], &mut out);
    assert_eq!(out[..10], single[..10]);
    assert_eq!(out[10..], [0; 30]);
    let mut out = vec![0; 5];
    table.lookup_bulk(&keys, &mut out);
    assert_eq!(out, single[..5]);
}

#[test]
fn repeated_destinations_in_a_burst_get_their_own_answers() {
    let mut table = Lpm6::new();
    table.insert(ip("2001:db8::"), 48, 1).unwrap();
    table.insert(ip("2001:db8::1:0:0"), 96, 2).unwrap();
    table.insert(ip("2001:db8::1:0:7"), 128, 3).unwrap();
    table.insert(ip("2001:db9::"), 32, 4).unwrap();
    // Back-to-back repeats, a repeat across a lane answered in the direct table (3000::),
    // and neighbours that share their top 64 bits but not their answer.
    let lanes = [
        "2001:db8::5",
        "2001:db8::5",
        "2001:db8::5",
        "3000::1",
        "2001:db8::5",
        "2001:db8::1:0:7",
        "2001:db8::1:0:7",
        "2001:db8::1:0:8",
        "2001:db8::1:0:7",
        "2001:db8::2:0:7",
        "2001:db9::1",
        "2001:db9::1",
        "2001:db8::5",
    ];
    let keys: Vec<[u8; 16]> = lanes.iter().map(|s| ip(s).octets()).collect();
    let want = [1, 1, 1, MISS, 1, 3, 3, 2, 3, 1, 4, 4, 1];
    let mut out = vec![0; keys.len()];
    table.lookup_bulk(&keys, &mut out);
    assert_eq!(out, want);
    // The same burst from a later offset, so repeats sit at other lane numbers.
    let mut shifted = vec![[0x30; 16]; 60];
    shifted.extend(&keys);
    let mut out = vec![0; shifted.len()];
    table.lookup_bulk(&shifted, &mut out);
    assert_eq!(out[60..], want);
}

#[test]
fn debug_is_a_summary() {
    let mut table = Lpm6::new();
    table.insert(ip("2001:db8::"), 48, 1).unwrap();
    let text = format!("{table:?}");
    // A /48 below the 20-bit direct table: nodes at depths 20, 27, 34 and 41.
    assert!(
        text.starts_with("Lpm6 { routes: 1, nodes: 4, memory_bytes: "),
        "{text}"
    );
    assert!(text.len() < 80, "{text}");
    assert!(table.memory_bytes() > (1 << V6::DIRECT_BITS) * 4);
}

#[test]
fn routes_are_sorted_by_prefix_then_length() {
    let mut table = Lpm6::new();
    for (s, len) in [
        ("2001:db8::", 48),
        ("::", 0),
        ("2001:db8::", 32),
        ("2001::", 16),
        ("fe80::", 10),
    ] {
        table.insert(ip(s), len, u32::from(len)).unwrap();
    }
    let got: Vec<(Ipv6Addr, u8)> = table.routes().into_iter().map(|(p, l, _)| (p, l)).collect();
    let want = [
        ("::", 0),
        ("2001::", 16),
        ("2001:db8::", 32),
        ("2001:db8::", 48),
        ("fe80::", 10),
    ];
    assert_eq!(got, want.map(|(s, l)| (ip(s), l)));
}

#[test]
fn lpm6_is_send_and_sync() {
    fn check<T: Send + Sync + Clone + Default + std::fmt::Debug>() {}
    check::<Lpm6>();
}

#[test]
fn the_largest_next_hop_survives_every_level() {
    let mut table = Lpm6::new();
    let top = Lpm6::MAX_NEXT_HOP;
    table.insert(ip("2001::"), 16, top).unwrap();
    table.insert(ip("2001:db8::"), 32, top - 1).unwrap();
    table.insert(ip("2001:db8:1::"), 48, 0).unwrap();
    table.insert(ip("::"), 0, top - 2).unwrap();
    assert_eq!(at(&table, "2001:1::1"), top, "direct-table leaf");
    assert_eq!(at(&table, "2001:db8:2::1"), top - 1, "node leaf");
    assert_eq!(at(&table, "2001:db8:1::1"), 0);
    assert_eq!(at(&table, "3fff::1"), top - 2, "default");
    let built = Lpm6::from_routes(table.routes()).unwrap();
    for a in ["2001:1::1", "2001:db8:2::1", "2001:db8:1::1", "3fff::1"] {
        assert_eq!(at(&built, a), at(&table, a), "{a}");
    }
}

/// The next hop for `s` by a single and by a bulk lookup, which must agree.
fn both(table: &Lpm6, s: &str) -> u32 {
    let mut out = [0];
    table.lookup_bulk(&[ip(s).octets()], &mut out);
    assert_eq!(out[0], at(table, s), "bulk and single lookup of {s}");
    out[0]
}

#[test]
fn the_no_route_bitmap_follows_short_prefixes_and_nodes() {
    let mut table = Lpm6::new();
    // Direct entries of 2000::/12 go from "no route" to a /16 leaf, a /12 leaf, a node and
    // back; bulk lookups read the bitmap first, single ones too.
    assert_eq!(both(&table, "2001::1"), MISS);
    table.insert(ip("2001::"), 16, 7).unwrap();
    assert_eq!(both(&table, "2001::1"), 7);
    assert_eq!(both(&table, "2002::1"), MISS);
    table.insert(ip("2000::"), 12, 3).unwrap();
    assert_eq!((both(&table, "2001::1"), both(&table, "2002::1")), (7, 3));
    table.remove(ip("2001::"), 16).unwrap();
    assert_eq!((both(&table, "2001::1"), both(&table, "2002::1")), (3, 3));
    table.insert(ip("2003:1::"), 32, 9).unwrap();
    assert_eq!(
        (both(&table, "2003:1::1"), both(&table, "2003:2::1")),
        (9, 3)
    );
    assert!(table.trie.empty_is_exact());
    table.remove(ip("2003:1::"), 32).unwrap();
    table.remove(ip("2000::"), 12).unwrap();
    assert_eq!(
        (both(&table, "2003:1::1"), both(&table, "2002::1")),
        (MISS, MISS)
    );
    assert!(table.trie.empty_is_exact());
    let built = Lpm6::from_routes([(ip("2003:1::"), 32, 9), (ip("2400::"), 12, 4)]).unwrap();
    assert!(built.trie.empty_is_exact());
    assert_eq!(
        (both(&built, "2400:1::1"), both(&built, "2003:1::1")),
        (4, 9)
    );
}
