//! Hand-written cases for the IPv4 table: its level boundaries (direct table 1..=18, nodes
//! at depths 18 and 25), errors, bursts and updates. The node and update code is shared with
//! the IPv6 table, whose tests cover it in more depth.

use std::net::Ipv4Addr;

use super::reference::ReferenceLpm4;
use super::tests::{assert_same, chain, chain_keys, flip};
use super::{Family, Lpm4, LpmError, V4};

const MISS: u32 = Lpm4::MISS;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("test address literal")
}

fn at(table: &Lpm4, s: &str) -> u32 {
    table.lookup(&ip(s).octets())
}

#[test]
fn empty_table_misses_everything() {
    let mut table = Lpm4::new();
    assert!(table.is_empty());
    for s in ["0.0.0.0", "192.0.2.1", "255.255.255.255"] {
        assert_eq!(at(&table, s), MISS);
    }
    let mut out = [7u32; 3];
    table.lookup_bulk(&[[0; 4], [0xff; 4], [10, 0, 0, 1]], &mut out);
    assert_eq!(out, [MISS; 3]);
    assert_eq!(table.remove(ip("10.0.0.0"), 8), Ok(None));
    assert_eq!(table.trie.node_count(), 0);
}

#[test]
fn default_and_host_routes() {
    let mut table = Lpm4::new();
    assert_eq!(table.insert(ip("203.0.113.9"), 0, 9), Ok(None));
    assert_eq!(table.routes(), vec![(ip("0.0.0.0"), 0, 9)]);
    let host = ip("198.51.100.77");
    table.insert(host, 32, 4).unwrap();
    assert_eq!(table.lookup(&host.octets()), 4);
    for bit in 0..32 {
        assert_eq!(table.lookup(&flip::<V4>(host, bit)), 9, "bit {bit}");
    }
    assert_eq!(table.remove(ip("0.0.0.0"), 0), Ok(Some(9)));
    assert_eq!(at(&table, "198.51.100.76"), MISS);
    assert_eq!(table.remove(host, 32), Ok(Some(4)));
    assert_eq!(table.trie.node_count(), 0);
}

#[test]
fn every_length_covers_exactly_its_prefix() {
    let base = ip("170.85.170.85");
    for len in 0..=32u8 {
        let mut table = Lpm4::new();
        let hop = u32::from(len);
        table.insert(base, len, hop).unwrap();
        assert_eq!(table.lookup(&base.octets()), hop, "/{len}");
        if len > 0 {
            let outside = flip::<V4>(base, u32::from(len) - 1);
            assert_eq!(table.lookup(&outside), MISS, "/{len} last prefix bit");
        }
        if len < 32 {
            let inside = flip::<V4>(base, u32::from(len));
            assert_eq!(table.lookup(&inside), hop, "/{len} first host bit");
        }
        assert_eq!(table.remove(base, len), Ok(Some(hop)));
        assert_eq!(table.trie.node_count(), 0, "/{len} left nodes behind");
    }
}

#[test]
fn overlapping_chain_in_any_removal_order() {
    let base = ip("100.64.201.17");
    let mut table = Lpm4::new();
    let mut reference = ReferenceLpm4::new();
    let lens = chain::<V4>();
    assert_eq!(lens, [0, 1, 8, 15, 16, 17, 18, 19, 24, 25, 26, 32]);
    for &len in &lens {
        table.insert(base, len, 1000 + u32::from(len)).unwrap();
        reference.insert(base, len, 1000 + u32::from(len)).unwrap();
    }
    assert_eq!(table.lookup(&base.octets()), 1032);
    assert_eq!(table.lookup(&flip::<V4>(base, 25)), 1025);
    assert_eq!(table.lookup(&flip::<V4>(base, 18)), 1018);
    assert_same(&table, &reference, &chain_keys::<V4>(base));
    let n = lens.len();
    let mut order = lens;
    order.sort_by_key(|&len| (usize::from(len) * 7919) % n);
    for len in order {
        assert_eq!(table.remove(base, len), Ok(Some(1000 + u32::from(len))));
        reference.remove(base, len).unwrap();
        assert_same(&table, &reference, &chain_keys::<V4>(base));
    }
    assert!(table.trie.all_blocks_free());
}

#[test]
fn invalid_routes_are_rejected_without_change() {
    let mut table = Lpm4::new();
    table.insert(ip("10.0.0.0"), 8, 1).unwrap();
    let before = table.routes();
    let too_long = LpmError::InvalidLength { len: 33, max: 32 };
    assert_eq!(table.insert(ip("10.0.0.0"), 33, 1), Err(too_long));
    assert_eq!(table.remove(ip("10.0.0.0"), 33), Err(too_long));
    assert_eq!(
        table.insert(ip("10.0.0.0"), 255, 1),
        Err(LpmError::InvalidLength { len: 255, max: 32 })
    );
    assert_eq!(
        table.insert(ip("10.1.0.0"), 16, Lpm4::MAX_NEXT_HOP + 1),
        Err(LpmError::InvalidNextHop(Lpm4::MAX_NEXT_HOP + 1))
    );
    assert_eq!(table.get(ip("10.0.0.0"), 33), None);
    assert_eq!(table.routes(), before);
    assert_eq!(too_long.to_string(), "prefix length 33: must be 0..=32");
    let bad = [(ip("10.0.0.0"), 8, 1), (ip("10.1.0.0"), 40, 2)];
    assert_eq!(
        Lpm4::from_routes(bad).map(|t| t.len()),
        Err(LpmError::InvalidLength { len: 40, max: 32 })
    );
    assert_eq!(
        Lpm4::from_routes([(ip("10.0.0.0"), 8, MISS)]).map(|t| t.len()),
        Err(LpmError::InvalidNextHop(MISS))
    );
}

#[test]
fn host_bits_are_ignored_and_get_is_exact() {
    let mut table = Lpm4::new();
    assert_eq!(table.insert(ip("192.0.2.200"), 24, 1), Ok(None));
    assert_eq!(table.insert(ip("192.0.2.0"), 24, 2), Ok(Some(1)));
    assert_eq!(table.routes(), vec![(ip("192.0.2.0"), 24, 2)]);
    assert_eq!(table.get(ip("192.0.2.1"), 24), Some(2));
    assert_eq!(table.get(ip("192.0.2.0"), 25), None);
    assert_eq!(table.remove(ip("192.0.2.99"), 24), Ok(Some(2)));
    assert!(table.is_empty());
}

#[test]
fn bulk_lookup_handles_any_burst_length() {
    let base = ip("100.64.201.17");
    let mut table = Lpm4::new();
    for len in chain::<V4>() {
        table.insert(base, len, u32::from(len)).unwrap();
    }
    // More keys than a burst: the chain's, then every /26 of the /18.
    let mut keys = chain_keys::<V4>(base);
    keys.extend((0..256u32).map(|i| (u32::from(base) & !0x3fff | i << 6).to_be_bytes()));
    let single: Vec<u32> = keys.iter().map(|k| table.lookup(k)).collect();
    for n in [0, 1, 31, 32, 33, 64, 65, 100, keys.len()] {
        let mut out = vec![0; n];
        table.lookup_bulk(&keys[..n], &mut out);
        assert_eq!(out, single[..n], "burst of {n}");
    }
    let mut out = vec![0; 40];
    table.lookup_bulk(&keys[..10], &mut out);
    assert_eq!((&out[..10], &out[10..]), (&single[..10], &[0; 30][..]));
}

#[test]
fn debug_memory_and_structure() {
    let mut table = Lpm4::new();
    table.insert(ip("192.0.2.0"), 24, 1).unwrap();
    // A /24 is in the node at depth 18, a /28 one node further.
    assert_eq!(table.trie.node_count(), 1);
    table.insert(ip("192.0.2.16"), 28, 2).unwrap();
    assert_eq!(table.trie.node_count(), 2);
    let text = format!("{table:?}");
    assert!(
        text.starts_with("Lpm4 { routes: 2, nodes: 2, memory_bytes: "),
        "{text}"
    );
    // The direct table and its bitmap: 1 MiB + 32 KiB, and little else.
    let direct = (4 << V4::DIRECT_BITS) + (1 << V4::DIRECT_BITS) / 8;
    assert!(table.memory_bytes() > direct);
    assert!(table.memory_bytes() < direct + (1 << V4::DIRECT_BITS) + 64 * 1024);
}

#[test]
fn from_routes_matches_incremental_inserts_and_churn_reuses_blocks() {
    // Distinct /24s inside 10/8 (odd multiplier, so no repeats), some longer, one /12 and a
    // default covering them.
    let mut routes: Vec<(Ipv4Addr, u8, u32)> = (0..300u32)
        .map(|i| {
            let key = 0x0a00_0000 | (i * 7919 % 65536) << 8 | (i % 4) << 6;
            (Ipv4Addr::from(key), [24, 26, 25, 32][i as usize % 4], i % 7)
        })
        .collect();
    routes.extend([(ip("10.16.0.0"), 12, 12), (ip("0.0.0.0"), 0, 100)]);
    let built = Lpm4::from_routes(routes.iter().copied()).unwrap();
    let mut table = Lpm4::new();
    let mut reference = ReferenceLpm4::new();
    for &(prefix, len, hop) in &routes {
        table.insert(prefix, len, hop).unwrap();
        reference.insert(prefix, len, hop).unwrap();
    }
    let mut keys: Vec<[u8; 4]> = routes.iter().map(|r| r.0.octets()).collect();
    keys.extend(
        routes
            .iter()
            .map(|r| flip::<V4>(r.0, u32::from(r.1.max(1)) - 1)),
    );
    keys.extend([[10, 17, 1, 1], [11, 0, 0, 1]]);
    assert_same(&built, &reference, &keys);
    assert_same(&table, &reference, &keys);
    let mut arena = None;
    for round in 0..3 {
        for (prefix, len, hop) in table.routes() {
            assert_eq!(table.remove(prefix, len), Ok(Some(hop)));
        }
        assert!(table.trie.all_blocks_free(), "round {round}");
        assert!(table.trie.direct.iter().all(|&e| e == 0), "round {round}");
        let sizes = (table.trie.nodes.len(), table.trie.leaf_value.len());
        assert_eq!(*arena.get_or_insert(sizes), sizes, "round {round}");
        for &(prefix, len, hop) in &routes {
            table.insert(prefix, len, hop).unwrap();
        }
        assert_same(&table, &reference, &keys);
    }
}

#[test]
fn the_no_route_bitmap_follows_short_prefixes_and_nodes() {
    let mut table = Lpm4::new();
    table.insert(ip("10.0.0.0"), 8, 8).unwrap();
    table.insert(ip("10.1.2.0"), 24, 24).unwrap();
    assert!(table.trie.empty_is_exact());
    assert_eq!((at(&table, "10.1.2.3"), at(&table, "10.1.3.3")), (24, 8));
    table.remove(ip("10.0.0.0"), 8).unwrap();
    assert_eq!((at(&table, "10.1.2.3"), at(&table, "10.1.3.3")), (24, MISS));
    assert!(table.trie.empty_is_exact());
    table.remove(ip("10.1.2.0"), 24).unwrap();
    assert!(table.trie.empty_is_exact());
    assert_eq!(
        table
            .trie
            .empty
            .iter()
            .map(|w| w.count_zeros())
            .sum::<u32>(),
        0
    );
}
