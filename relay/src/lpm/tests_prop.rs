//! Differential property tests against [`ReferenceLpm6`]: random tables with heavy
//! overlap, random and table-derived keys, insert/remove sequences, bulk builds.

use std::net::Ipv6Addr;

use proptest::prelude::*;
use proptest::sample::Index;

use super::poptrie::DIRECT_BITS;
use super::reference::ReferenceLpm6;
use super::Lpm6;

/// Prefixes grow around these, so random tables nest and overlap heavily.
const BASES: [u128; 4] = [
    0x2001_0db8_5555_aaaa_5555_aaaa_5555_aaaa,
    0x2a00_1450_4001_081c_0000_0000_0000_200e,
    0,
    u128::MAX,
];

/// Lengths at level boundaries (direct table 1..=20, nodes every 7 bits) come up often.
fn arb_len() -> impl Strategy<Value = u8> {
    prop_oneof![
        0u8..=128,
        prop::sample::select(vec![
            0u8, 1, 19, 20, 21, 27, 28, 32, 34, 35, 40, 41, 42, 44, 48, 64, 125, 126, 127, 128
        ]),
    ]
}

/// A prefix sharing a random number of leading bits with one of `BASES`.
fn arb_prefix() -> impl Strategy<Value = (Ipv6Addr, u8)> {
    (0..BASES.len(), any::<u128>(), 0u32..=128, arb_len()).prop_map(|(base, noise, shared, len)| {
        let keep = u128::MAX.checked_shl(128 - shared).unwrap_or(0);
        (Ipv6Addr::from((BASES[base] & keep) | (noise & !keep)), len)
    })
}

fn arb_route() -> impl Strategy<Value = (Ipv6Addr, u8, u32)> {
    // Few distinct next hops, so equal neighbours merge into runs.
    (arb_prefix(), 0u32..6).prop_map(|((prefix, len), hop)| (prefix, len, hop))
}

/// Keys: inside each route (random host bits), next to it (last prefix bit flipped),
/// elsewhere in its direct-table slot (where shorter prefixes show through node covers),
/// plus uniformly random ones.
fn keys_for(routes: &[(Ipv6Addr, u8, u32)], noise: &[u128]) -> Vec<[u8; 16]> {
    let mut keys: Vec<[u8; 16]> = noise.iter().map(|n| n.to_be_bytes()).collect();
    for (i, &(prefix, len, _)) in routes.iter().enumerate() {
        let host = noise.get(i % noise.len().max(1)).copied().unwrap_or(0);
        let keep = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
        let inside = (u128::from(prefix) & keep) | (host & !keep);
        keys.push(inside.to_be_bytes());
        if len > 0 {
            keys.push((inside ^ (1u128 << (128 - u32::from(len)))).to_be_bytes());
        }
        let top = u128::MAX << (128 - DIRECT_BITS);
        keys.push(((u128::from(prefix) & top) | (host.rotate_left(64) & !top)).to_be_bytes());
    }
    keys
}

fn check(table: &Lpm6, reference: &ReferenceLpm6, keys: &[[u8; 16]]) -> Result<(), TestCaseError> {
    let mut bulk = vec![0; keys.len()];
    table.lookup_bulk(keys, &mut bulk);
    for (key, &got) in keys.iter().zip(&bulk) {
        let want = reference.lookup(key);
        prop_assert_eq!(table.lookup(key), want, "lookup {}", Ipv6Addr::from(*key));
        prop_assert_eq!(got, want, "lookup_bulk {}", Ipv6Addr::from(*key));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_tables_match_reference(
        routes in prop::collection::vec(arb_route(), 0..120),
        noise in prop::collection::vec(any::<u128>(), 1..40),
    ) {
        let mut table = Lpm6::new();
        let mut reference = ReferenceLpm6::new();
        for &(prefix, len, hop) in &routes {
            prop_assert_eq!(table.insert(prefix, len, hop), reference.insert(prefix, len, hop));
        }
        check(&table, &reference, &keys_for(&routes, &noise))?;
        prop_assert_eq!(table.routes(), reference.routes());
        for &(prefix, len, _) in &routes {
            prop_assert_eq!(table.get(prefix, len), reference.get(prefix, len));
        }

        let built = Lpm6::from_routes(routes.iter().copied()).unwrap();
        prop_assert_eq!(built.routes(), reference.routes());
        check(&built, &reference, &keys_for(&routes, &noise))?;
    }

    #[test]
    fn update_sequences_match_reference(
        pool in prop::collection::vec(arb_route(), 1..40),
        ops in prop::collection::vec((any::<bool>(), any::<Index>(), 0u32..6), 1..150),
        noise in prop::collection::vec(any::<u128>(), 1..16),
        start_built in 0u8..=2,
    ) {
        let keys = keys_for(&pool, &noise);
        // The table starts as a bulk build of part of the pool, so updates run on built
        // nodes as well as on inserted ones.
        let mut reference = ReferenceLpm6::new();
        for &(prefix, len, hop) in &pool[..pool.len() * usize::from(start_built) / 2] {
            reference.insert(prefix, len, hop).unwrap();
        }
        let mut table = Lpm6::from_routes(reference.routes()).unwrap();
        check(&table, &reference, &keys)?;
        for (step, &(insert, pick, hop)) in ops.iter().enumerate() {
            let (prefix, len, _) = pool[pick.index(pool.len())];
            if insert {
                prop_assert_eq!(table.insert(prefix, len, hop), reference.insert(prefix, len, hop));
            } else {
                prop_assert_eq!(table.remove(prefix, len), reference.remove(prefix, len));
            }
            // Every step on a sample, everything at the end.
            let sample = &keys[step % keys.len()..];
            check(&table, &reference, &sample[..sample.len().min(8)])?;
        }
        check(&table, &reference, &keys)?;
        prop_assert_eq!(table.routes(), reference.routes());
        prop_assert!(table.trie.empty_is_exact());

        // A clean copy built in bulk answers the same as the updated table.
        let built = Lpm6::from_routes(table.routes()).unwrap();
        check(&built, &reference, &keys)?;

        // Removing what is left (a covering prefix first, when one is there) frees every node.
        for (prefix, len, hop) in table.routes() {
            prop_assert_eq!(table.remove(prefix, len), Ok(Some(hop)));
            reference.remove(prefix, len).unwrap();
            check(&table, &reference, &keys[..keys.len().min(8)])?;
        }
        prop_assert!(table.is_empty());
        prop_assert!(table.trie.empty_is_exact());
        prop_assert_eq!(table.trie.node_count(), 0);
        prop_assert!(table.trie.all_blocks_free());
    }
}
