//! Differential property tests against [`ReferenceLpm`], for both families: random tables
//! with heavy overlap, random and table-derived keys, insert/remove sequences, bulk builds.

use core::ops::Range;

use proptest::prelude::*;
use proptest::sample::Index;

use super::family::prefix_mask;
use super::reference::ReferenceLpm;
use super::{Family, Lpm, V4, V6};

/// Prefixes grow around these (left-aligned keys), so random tables nest and overlap
/// heavily.
const BASES6: [u128; 4] = [
    0x2001_0db8_5555_aaaa_5555_aaaa_5555_aaaa,
    0x2a00_1450_4001_081c_0000_0000_0000_200e,
    0,
    u128::MAX,
];
const BASES4: [u128; 4] = [0xc0a8_55aa << 96, 0x0a00_0001 << 96, 0, 0xffff_ffff << 96];

/// Lengths at level boundaries come up often: IPv6's direct table 1..=20, nodes every 7
/// bits from there; IPv4's direct table 1..=18, nodes at 18 and 25.
const LENS6: [u8; 20] = [
    0, 1, 19, 20, 21, 27, 28, 32, 34, 35, 40, 41, 42, 44, 48, 64, 125, 126, 127, 128,
];
const LENS4: [u8; 13] = [0, 1, 8, 16, 17, 18, 19, 24, 25, 26, 30, 31, 32];

fn arb_len<F: Family>(boundaries: &[u8]) -> impl Strategy<Value = u8> {
    prop_oneof![0u8..=F::BITS, prop::sample::select(boundaries.to_vec())]
}

/// A prefix sharing a random number of leading bits with one of `bases`.
fn arb_prefix<F: Family>(
    bases: &'static [u128],
    lens: &[u8],
) -> impl Strategy<Value = (F::Prefix, u8)> {
    let bits = u32::from(F::BITS);
    (
        0..bases.len(),
        any::<u128>(),
        0u32..=bits,
        arb_len::<F>(lens),
    )
        .prop_map(move |(base, noise, shared, len)| {
            let keep = u128::MAX.checked_shl(128 - shared).unwrap_or(0);
            (F::key_prefix((bases[base] & keep) | (noise & !keep)), len)
        })
}

fn arb_route<F: Family>(
    bases: &'static [u128],
    lens: &[u8],
) -> impl Strategy<Value = (F::Prefix, u8, u32)> {
    // Few distinct next hops, so equal neighbours merge into runs.
    (arb_prefix::<F>(bases, lens), 0u32..6).prop_map(|((prefix, len), hop)| (prefix, len, hop))
}

type Routes<F> = Vec<(<F as Family>::Prefix, u8, u32)>;

fn arb_routes6(count: Range<usize>) -> impl Strategy<Value = Routes<V6>> {
    prop::collection::vec(arb_route::<V6>(&BASES6, &LENS6), count)
}

fn arb_routes4(count: Range<usize>) -> impl Strategy<Value = Routes<V4>> {
    prop::collection::vec(arb_route::<V4>(&BASES4, &LENS4), count)
}

/// Keys: inside each route (random host bits), twice in a row for every third route (the
/// burst's repeated-destination shortcut), next to it (last prefix bit flipped), elsewhere
/// in its direct-table slot (where shorter prefixes show through node covers), plus
/// uniformly random ones.
fn keys_for<F: Family>(routes: &[(F::Prefix, u8, u32)], noise: &[u128]) -> Vec<F::Addr> {
    let mut keys: Vec<F::Addr> = noise.iter().map(|&n| F::key_addr(n)).collect();
    for (i, &(prefix, len, _)) in routes.iter().enumerate() {
        let host = noise.get(i % noise.len().max(1)).copied().unwrap_or(0);
        let keep = prefix_mask(len);
        let inside = (F::prefix_key(prefix) & keep) | (host & !keep);
        keys.push(F::key_addr(inside));
        if i % 3 == 0 {
            keys.push(F::key_addr(inside));
        }
        if len > 0 {
            keys.push(F::key_addr(inside ^ (1u128 << (128 - u32::from(len)))));
        }
        let top = prefix_mask(F::DIRECT_BITS as u8);
        keys.push(F::key_addr(
            (F::prefix_key(prefix) & top) | (host.rotate_left(64) & !top),
        ));
    }
    keys
}

fn check<F: Family>(
    table: &Lpm<F>,
    reference: &ReferenceLpm<F>,
    keys: &[F::Addr],
) -> Result<(), TestCaseError> {
    let mut bulk = vec![0; keys.len()];
    table.lookup_bulk(keys, &mut bulk);
    let mut unprefetched = vec![0; keys.len()];
    table.lookup_bulk_with_prefetch(keys, &mut unprefetched, |_| {});
    for ((key, &got), &plain) in keys.iter().zip(&bulk).zip(&unprefetched) {
        let want = reference.lookup(key);
        let shown = F::key_prefix(F::addr_key(key));
        prop_assert_eq!(table.lookup(key), want, "lookup {:?}", shown);
        prop_assert_eq!(got, want, "lookup_bulk {:?}", shown);
        prop_assert_eq!(plain, want, "lookup_bulk_with_prefetch {:?}", shown);
    }
    Ok(())
}

fn random_tables_match_reference<F: Family>(
    routes: &[(F::Prefix, u8, u32)],
    noise: &[u128],
) -> Result<(), TestCaseError> {
    let mut table = Lpm::<F>::new();
    let mut reference = ReferenceLpm::<F>::new();
    for &(prefix, len, hop) in routes {
        prop_assert_eq!(
            table.insert(prefix, len, hop),
            reference.insert(prefix, len, hop)
        );
    }
    let keys = keys_for::<F>(routes, noise);
    check(&table, &reference, &keys)?;
    prop_assert_eq!(table.routes(), reference.routes());
    for &(prefix, len, _) in routes {
        prop_assert_eq!(table.get(prefix, len), reference.get(prefix, len));
    }

    let built = Lpm::<F>::from_routes(routes.iter().copied()).unwrap();
    prop_assert_eq!(built.routes(), reference.routes());
    check(&built, &reference, &keys)
}

fn update_sequences_match_reference<F: Family>(
    pool: &[(F::Prefix, u8, u32)],
    ops: &[(bool, Index, u32)],
    noise: &[u128],
    start_built: u8,
) -> Result<(), TestCaseError> {
    let keys = keys_for::<F>(pool, noise);
    // The table starts as a bulk build of part of the pool, so updates run on built
    // nodes as well as on inserted ones.
    let mut reference = ReferenceLpm::<F>::new();
    for &(prefix, len, hop) in &pool[..pool.len() * usize::from(start_built) / 2] {
        reference.insert(prefix, len, hop).unwrap();
    }
    let mut table = Lpm::<F>::from_routes(reference.routes()).unwrap();
    check(&table, &reference, &keys)?;
    for (step, &(insert, pick, hop)) in ops.iter().enumerate() {
        let (prefix, len, _) = pool[pick.index(pool.len())];
        if insert {
            prop_assert_eq!(
                table.insert(prefix, len, hop),
                reference.insert(prefix, len, hop)
            );
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
    let built = Lpm::<F>::from_routes(table.routes()).unwrap();
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
    Ok(())
}

fn arb_ops() -> impl Strategy<Value = Vec<(bool, Index, u32)>> {
    prop::collection::vec((any::<bool>(), any::<Index>(), 0u32..6), 1..150)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_tables_match_reference6(
        routes in arb_routes6(0..120),
        noise in prop::collection::vec(any::<u128>(), 1..40),
    ) {
        random_tables_match_reference::<V6>(&routes, &noise)?;
    }

    #[test]
    fn random_tables_match_reference4(
        routes in arb_routes4(0..120),
        noise in prop::collection::vec(any::<u128>(), 1..40),
    ) {
        random_tables_match_reference::<V4>(&routes, &noise)?;
    }

    #[test]
    fn update_sequences_match_reference6(
        pool in arb_routes6(1..40),
        ops in arb_ops(),
        noise in prop::collection::vec(any::<u128>(), 1..16),
        start_built in 0u8..=2,
    ) {
        update_sequences_match_reference::<V6>(&pool, &ops, &noise, start_built)?;
    }

    #[test]
    fn update_sequences_match_reference4(
        pool in arb_routes4(1..40),
        ops in arb_ops(),
        noise in prop::collection::vec(any::<u128>(), 1..16),
        start_built in 0u8..=2,
    ) {
        update_sequences_match_reference::<V4>(&pool, &ops, &noise, start_built)?;
    }
}
