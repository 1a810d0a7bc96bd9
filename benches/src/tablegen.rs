//! Synthetic IPv6 BGP tables and destination sets for the LPM benchmarks.
//!
//! # Prefix-length mix
//!
//! [`LENGTH_MIX`] follows the shape of the global IPv6 table as published in public BGP
//! table reports (Geoff Huston's yearly "BGP in 20xx" reviews on the APNIC blog and the
//! bgp.potaroo.net IPv6 prefix-length histograms, 2023–2025): /48 is a little under half of
//! all prefixes, then /32 (RIR minimum allocations), /44, /40, /36, /29, /46, /47, /42 and
//! a thin tail of /33–/47, with almost nothing shorter than /28 or longer than /48. The
//! shares are rounded by hand from those reports, not copied from a dump; the mean length
//! comes out at about 42.8.
//!
//! # Where prefixes sit
//!
//! Lookups cost what the table's *shape* makes them cost, so prefixes nest the way real
//! ones do: allocations (/16–/32) are drawn inside the RIR blocks (2001::/16, 2400::/12,
//! 2600::/12, 2800::/12, 2a00::/12, 2c00::/12, weighted by their share of the table);
//! longer prefixes go under an announced allocation (60 %, skewed so that a few
//! allocations carry many more-specifics, as large providers' /32s do), under an
//! announced /33–/47 (20 %, nested deaggregation) or under unannounced PI blocks (20 %).
//! Everything is deterministic for a given seed.

use std::collections::HashSet;
use std::net::Ipv6Addr;

/// Share (percent, before normalising) of each prefix length.
pub const LENGTH_MIX: &[(u8, f64)] = &[
    (16, 0.02),
    (17, 0.01),
    (18, 0.01),
    (19, 0.01),
    (20, 0.05),
    (21, 0.05),
    (22, 0.10),
    (23, 0.05),
    (24, 0.20),
    (25, 0.05),
    (26, 0.05),
    (27, 0.05),
    (28, 0.60),
    (29, 2.80),
    (30, 0.50),
    (31, 0.40),
    (32, 11.00),
    (33, 1.20),
    (34, 1.30),
    (35, 0.80),
    (36, 3.20),
    (37, 0.60),
    (38, 1.00),
    (39, 0.80),
    (40, 7.50),
    (41, 0.80),
    (42, 1.60),
    (43, 0.80),
    (44, 8.50),
    (45, 1.40),
    (46, 2.40),
    (47, 2.20),
    (48, 44.50),
    (49, 0.05),
    (50, 0.05),
    (51, 0.03),
    (52, 0.07),
    (53, 0.03),
    (54, 0.03),
    (55, 0.03),
    (56, 0.20),
    (57, 0.02),
    (58, 0.02),
    (60, 0.04),
    (61, 0.01),
    (62, 0.01),
    (63, 0.01),
    (64, 0.15),
];

/// RIR blocks that allocations are drawn from, with their weight.
const RIR_BLOCKS: &[(u128, u8, f64)] = &[
    (0x2001 << 112, 16, 0.05), // mixed early allocations
    (0x2400 << 112, 12, 0.27), // APNIC
    (0x2600 << 112, 12, 0.25), // ARIN
    (0x2800 << 112, 12, 0.10), // LACNIC
    (0x2a00 << 112, 12, 0.31), // RIPE NCC
    (0x2c00 << 112, 12, 0.02), // AFRINIC
];

/// Distinct next hops in a generated table (peers of an ISP edge router).
pub const NEXT_HOPS: u32 = 64;

/// SplitMix64: small, fast and good enough for workload generation.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn next_u128(&mut self) -> u128 {
        u128::from(self.next_u64()) << 64 | u128::from(self.next_u64())
    }

    /// Uniform in `0..n` (`n > 0`), by Lemire's multiply-shift.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Bits `0..len` set.
pub(crate) fn mask(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

/// A random prefix of length `len` inside `parent` (`parent.1 <= len`).
pub(crate) fn inside(rng: &mut Rng, parent: (u128, u8), len: u8) -> u128 {
    (parent.0 & mask(parent.1)) | (rng.next_u128() & !mask(parent.1) & mask(len))
}

fn weighted<T: Copy>(rng: &mut Rng, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|&(_, w)| w).sum();
    let mut x = rng.unit() * total;
    for &(item, w) in items {
        if x < w {
            return item;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

/// How many prefixes of each length a `count`-route table gets (sums to `count`).
pub fn length_counts(count: usize) -> Vec<(u8, usize)> {
    counts_of(LENGTH_MIX, 48, count)
}

/// `count` shared out by `mix`; rounding is absorbed by the `largest` length.
pub(crate) fn counts_of(mix: &[(u8, f64)], largest: u8, count: usize) -> Vec<(u8, usize)> {
    let total: f64 = mix.iter().map(|&(_, w)| w).sum();
    let mut counts: Vec<(u8, usize)> = mix
        .iter()
        .map(|&(len, w)| (len, (count as f64 * w / total).round() as usize))
        .collect();
    let sum: usize = counts.iter().map(|&(_, n)| n).sum();
    if let Some(main) = counts.iter_mut().find(|(len, _)| *len == largest) {
        main.1 = (main.1 + count).saturating_sub(sum);
    }
    counts
}

/// A `count`-route table (distinct prefixes, next hops in `0..NEXT_HOPS`), in random order.
pub fn generate(count: usize, seed: u64) -> Vec<(Ipv6Addr, u8, u32)> {
    let mut rng = Rng::new(seed);
    let blocks: Vec<((u128, u8), f64)> = RIR_BLOCKS.iter().map(|&(k, l, w)| ((k, l), w)).collect();
    // Unannounced PI blocks: /29s whose more-specifics are announced without them.
    let pi: Vec<(u128, u8)> = (0..(count / 400).max(1))
        .map(|_| {
            let block = weighted(&mut rng, &blocks);
            (inside(&mut rng, block, 29), 29)
        })
        .collect();
    let mut seen = HashSet::with_capacity(count);
    let mut allocations: Vec<(u128, u8)> = Vec::new();
    let mut mids: Vec<(u128, u8)> = Vec::new();
    let mut routes = Vec::with_capacity(count);
    // Ascending lengths, so that parents exist before their more-specifics.
    for (len, n) in length_counts(count) {
        let shorter_mids = mids.len();
        for _ in 0..n {
            let mut tries = 0;
            let key = loop {
                tries += 1;
                let parent = if tries > 16 {
                    // This corner of the mix is full (there are only 81 /16s in the RIR
                    // blocks): widen to all of global unicast.
                    (0x2000 << 112, 3)
                } else if len <= 32 {
                    let block = weighted(&mut rng, &blocks);
                    if block.1 <= len {
                        block
                    } else {
                        (0x2000 << 112, 3)
                    }
                } else {
                    let roll = rng.unit();
                    if roll < 0.2 && shorter_mids > 0 {
                        mids[rng.below(shorter_mids)]
                    } else if roll < 0.8 && !allocations.is_empty() {
                        // Skewed: the square of a uniform favours the first allocations.
                        let u = rng.unit();
                        allocations[(u * u * allocations.len() as f64) as usize]
                    } else {
                        pi[rng.below(pi.len())]
                    }
                };
                let key = inside(&mut rng, parent, len);
                if seen.insert((key, len)) {
                    break key;
                }
            };
            match len {
                ..=32 => allocations.push((key, len)),
                33..=47 => mids.push((key, len)),
                _ => {}
            }
            routes.push((
                Ipv6Addr::from(key),
                len,
                rng.below(NEXT_HOPS as usize) as u32,
            ));
        }
    }
    shuffle(&mut rng, &mut routes);
    routes
}

pub fn shuffle<T>(rng: &mut Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

/// `count` destinations uniform over global unicast, 2000::/3.
pub fn random_destinations(count: usize, seed: u64) -> Vec<[u8; 16]> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| ((0b001u128 << 125) | (rng.next_u128() >> 3)).to_be_bytes())
        .collect()
}

/// `count` destinations inside the table: a random route, random host bits.
pub fn table_destinations(
    routes: &[(Ipv6Addr, u8, u32)],
    count: usize,
    seed: u64,
) -> Vec<[u8; 16]> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| {
            let (prefix, len, _) = routes[rng.below(routes.len())];
            inside(&mut rng, (u128::from(prefix), len), 128).to_be_bytes()
        })
        .collect()
}

/// Mean prefix length of `routes`.
pub fn mean_length(routes: &[(Ipv6Addr, u8, u32)]) -> f64 {
    routes
        .iter()
        .map(|&(_, len, _)| f64::from(len))
        .sum::<f64>()
        / routes.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_the_requested_size_and_mix() {
        let routes = generate(20_000, 7);
        assert_eq!(routes.len(), 20_000);
        let distinct: HashSet<(Ipv6Addr, u8)> = routes.iter().map(|&(p, l, _)| (p, l)).collect();
        assert_eq!(distinct.len(), 20_000);
        let slash48 = routes.iter().filter(|r| r.1 == 48).count();
        assert_eq!(
            slash48,
            length_counts(20_000)
                .iter()
                .find(|c| c.0 == 48)
                .map_or(0, |c| c.1)
        );
        assert!(
            (42.0..44.0).contains(&mean_length(&routes)),
            "{}",
            mean_length(&routes)
        );
        assert!(routes
            .iter()
            .all(|&(p, l, h)| u128::from(p) & !mask(l) == 0 && h < NEXT_HOPS));
        assert!(routes
            .iter()
            .all(|&(p, _, _)| u128::from(p) >> 125 == 0b001));
        assert_eq!(generate(20_000, 7), routes, "same seed, same table");
    }

    /// Every entry point of `Lpm6` answers as the reference on a realistic table, built in
    /// one pass and then changed route by route.
    #[test]
    fn lpm_matches_the_reference_on_a_realistic_table_and_after_updates() {
        use relay::lpm::reference::ReferenceLpm6;
        use relay::lpm::Lpm6;

        fn check(table: &Lpm6, reference: &ReferenceLpm6, keys: &[[u8; 16]]) {
            let mut bulk = vec![0; keys.len()];
            table.lookup_bulk(keys, &mut bulk);
            let mut plain = vec![0; keys.len()];
            table.lookup_bulk_with_prefetch(keys, &mut plain, |_| {});
            for (i, key) in keys.iter().enumerate() {
                let want = reference.lookup(key);
                let shown = Ipv6Addr::from(*key);
                assert_eq!(table.lookup(key), want, "lookup {shown}");
                assert_eq!(bulk[i], want, "lookup_bulk {shown}");
                assert_eq!(plain[i], want, "lookup_bulk_with_prefetch {shown}");
            }
        }

        let routes = generate(20_000, 11);
        let mut table = Lpm6::from_routes(routes.iter().copied()).unwrap();
        let mut reference = ReferenceLpm6::new();
        for &(prefix, len, hop) in &routes {
            reference.insert(prefix, len, hop).unwrap();
        }
        // In-table destinations with repeats back to back, as a flow's packets come.
        let mut keys = table_destinations(&routes, 6000, 12);
        keys.extend(table_destinations(&routes, 500, 13).iter().flat_map(|k| [*k; 3]));
        keys.extend(random_destinations(4000, 14));
        check(&table, &reference, &keys);

        // A third of the routes withdrawn, and as many new ones (of a second table) added.
        let mut rng = Rng::new(15);
        let mut gone = routes.clone();
        shuffle(&mut rng, &mut gone);
        gone.truncate(routes.len() / 3);
        let fresh = generate(routes.len() / 3, 16);
        for (&(prefix, len, _), &(new, new_len, hop)) in gone.iter().zip(&fresh) {
            assert_eq!(table.remove(prefix, len), reference.remove(prefix, len));
            assert_eq!(table.insert(new, new_len, hop), reference.insert(new, new_len, hop));
        }
        keys.extend(table_destinations(&fresh, 4000, 17));
        check(&table, &reference, &keys);
        assert_eq!(table.routes(), reference.routes());
    }

    #[test]
    fn destinations_fall_where_asked() {
        let routes = generate(1000, 1);
        for d in random_destinations(1000, 2) {
            assert_eq!(d[0] >> 5, 0b001);
        }
        for d in table_destinations(&routes, 1000, 3) {
            let addr = u128::from_be_bytes(d);
            assert!(routes
                .iter()
                .any(|&(p, l, _)| addr & mask(l) == u128::from(p)));
        }
    }
}
