//! Hand-written update cases: covering prefixes removed and re-added, nodes growing and
//! shrinking, bulk builds against inserts, block reuse.

use std::net::Ipv6Addr;

use super::reference::ReferenceLpm6;
use super::tests::{assert_same, at, chain, chain_keys, ip, MISS};
use super::{Lpm6, V6};

#[test]
fn removing_and_readding_a_covering_prefix() {
    let mut table = Lpm6::new();
    table.insert(ip("2001::"), 16, 16).unwrap();
    table.insert(ip("2001:db8::"), 32, 32).unwrap();
    table.insert(ip("2001:db8:1::"), 48, 481).unwrap();
    table.insert(ip("2001:db8:ffff::"), 48, 482).unwrap();
    table.insert(ip("2001:db8:1:2::"), 64, 64).unwrap();
    let probes = [
        ("2001:db8:1::1", 481),
        ("2001:db8:1:2::1", 64),
        ("2001:db8:ffff::1", 482),
        ("2001:db8:2::1", 32),
        ("2001:db9::1", 16),
    ];
    for (s, hop) in probes {
        assert_eq!(at(&table, s), hop, "{s}");
    }
    assert_eq!(table.remove(ip("2001:db8::"), 32), Ok(Some(32)));
    assert_eq!(at(&table, "2001:db8:2::1"), 16);
    assert_eq!(at(&table, "2001:db8:1::1"), 481);
    assert_eq!(at(&table, "2001:db8:1:2::1"), 64);
    assert_eq!(table.remove(ip("2001::"), 16), Ok(Some(16)));
    assert_eq!(at(&table, "2001:db8:2::1"), MISS);
    assert_eq!(at(&table, "2001:db8:ffff::1"), 482);
    assert_eq!(table.insert(ip("2001:db8::"), 32, 32), Ok(None));
    assert_eq!(table.insert(ip("2001::"), 16, 16), Ok(None));
    for (s, hop) in probes {
        assert_eq!(at(&table, s), hop, "{s} after re-adding");
    }
}

#[test]
fn nodes_with_many_leaf_runs_grow_and_shrink() {
    // Every other /27 of one /20: a node at depth 20 with 20 runs, more than fit inline.
    let base = 0x2a00_1450_u128 << 96;
    let sub = |i: u128| Ipv6Addr::from(base | i << (128 - 27));
    let mut table = Lpm6::new();
    let mut reference = ReferenceLpm6::new();
    let keys: Vec<[u8; 16]> = (0..32)
        .map(|i| (base | i << (128 - 27) | 1).to_be_bytes())
        .collect();
    for i in (0..20).step_by(2) {
        table.insert(sub(i), 27, i as u32).unwrap();
        reference.insert(sub(i), 27, i as u32).unwrap();
    }
    assert!(table
        .trie
        .nodes
        .iter()
        .any(|n| n.runs() > super::poptrie::INLINE));
    assert_same(&table, &reference, &keys);
    for i in [6, 0, 18, 2, 10, 4, 16, 8, 14, 12] {
        table.remove(sub(i), 27).unwrap();
        reference.remove(sub(i), 27).unwrap();
        assert_same(&table, &reference, &keys);
    }
    assert!(table.trie.all_blocks_free());
}

#[test]
fn from_routes_matches_incremental_inserts() {
    let base = ip("2001:db8:5555:aaaa:5555:aaaa:5555:aaaa");
    let mut routes: Vec<(Ipv6Addr, u8, u32)> = chain::<V6>()
        .into_iter()
        .map(|len| (base, len, u32::from(len)))
        .collect();
    routes.push((ip("2001:db8::"), 32, 77)); // duplicate of the /32 above: the last one wins
    routes.push((ip("2400::"), 12, 12));
    routes.push((ip("2400:cb00::"), 32, 13));
    let built = Lpm6::from_routes(routes.iter().copied()).unwrap();
    let mut inserted = Lpm6::new();
    let mut reference = ReferenceLpm6::new();
    for &(prefix, len, hop) in &routes {
        inserted.insert(prefix, len, hop).unwrap();
        reference.insert(prefix, len, hop).unwrap();
    }
    assert_eq!(built.get(ip("2001:db8::"), 32), Some(77));
    assert_eq!(built.len(), routes.len() - 1);
    let mut keys = chain_keys::<V6>(base);
    keys.push(ip("2400:cb00::1").octets());
    keys.push(ip("2400:cb01::1").octets());
    assert_same(&built, &reference, &keys);
    assert_same(&inserted, &reference, &keys);
}

#[test]
fn churn_reuses_freed_blocks() {
    let routes: Vec<(Ipv6Addr, u8, u32)> = (0..200u32)
        .map(|i| {
            // Distinct /48s (7919 is odd, so i * 7919 mod 2^16 never repeats), some longer.
            let key =
                0x2001_0db8_u128 << 96 | u128::from(i * 7919 % 65536) << 80 | u128::from(i) << 64;
            (Ipv6Addr::from(key), [48, 56, 64, 60][i as usize % 4], i)
        })
        .collect();
    let mut table = Lpm6::new();
    let mut arena = None;
    for round in 0..4 {
        for &(prefix, len, hop) in &routes {
            table.insert(prefix, len, hop).unwrap();
        }
        assert_eq!(table.len(), 200);
        for (prefix, len, hop) in table.routes() {
            assert_eq!(table.remove(prefix, len), Ok(Some(hop)));
        }
        assert!(table.is_empty());
        assert_eq!(table.trie.node_count(), 0, "round {round}");
        assert!(table.trie.all_blocks_free(), "round {round}");
        assert!(
            table.trie.direct.iter().all(|&e| e == 0),
            "direct table back to 'no route'"
        );
        let sizes = (table.trie.nodes.len(), table.trie.leaf_value.len());
        // After the first round every block comes from a free list.
        assert_eq!(*arena.get_or_insert(sizes), sizes, "round {round}");
    }
}

#[test]
fn clones_are_independent() {
    let mut table = Lpm6::new();
    table.insert(ip("2001:db8::"), 32, 1).unwrap();
    let copy = table.clone();
    table.insert(ip("2001:db8::"), 48, 2).unwrap();
    assert_eq!(at(&copy, "2001:db8::1"), 1);
    assert_eq!(at(&table, "2001:db8::1"), 2);
}
