//! Synthetic IPv4 BGP tables (the default-free zone's shape) and destination sets for the
//! `Lpm4` benchmark.
//!
//! # Prefix-length mix
//!
//! [`LENGTH_MIX`] follows the IPv4 table as the public BGP table reports publish it (Geoff
//! Huston's yearly "BGP in 20xx" reviews on the APNIC blog, and the CIDR Report /
//! bgp.potaroo.net prefix-length distribution, 2023–2025, about a million entries): /24 is
//! about 60 % of all prefixes, then /22 and /23 (about 12 % and 10 %), /21, /20, /19, /16,
//! /18 and /17, and few shorter than /16 (a handful of /8s). Longer than /24 is filtered
//! in the DFZ; a thin tail (0.25 %) stays in, as a relay's own and its upstreams' internal
//! routes would, so that the tables' second levels (`rte_lpm`'s tbl8 groups) are used. The
//! shares are rounded by hand from those reports, not copied from a dump.
//!
//! # Where prefixes sit
//!
//! Prefixes are drawn in ascending length inside the unicast /8s (1–223 without 10 and
//! 127). About half of a real table are more-specifics of another announced prefix
//! (Huston's reports), so 55 % of the /17s and longer go under an already announced shorter
//! prefix (skewed, so that a few large providers' blocks carry many of them) and the rest
//! anywhere in unicast space (more-specifics of unannounced legacy and PI space).
//! Deterministic for a given seed.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use crate::tablegen::{counts_of, inside, shuffle, Rng, NEXT_HOPS};

/// Share (percent, before normalising) of each prefix length.
pub const LENGTH_MIX: &[(u8, f64)] = &[
    (8, 0.002),
    (9, 0.002),
    (10, 0.005),
    (11, 0.01),
    (12, 0.03),
    (13, 0.06),
    (14, 0.10),
    (15, 0.15),
    (16, 1.40),
    (17, 0.80),
    (18, 1.50),
    (19, 3.30),
    (20, 4.50),
    (21, 4.90),
    (22, 11.70),
    (23, 9.80),
    (24, 60.50),
    (25, 0.05),
    (26, 0.05),
    (27, 0.03),
    (28, 0.03),
    (29, 0.02),
    (30, 0.02),
    (32, 0.05),
];

/// How many prefixes of each length a `count`-route table gets (sums to `count`).
pub fn length_counts(count: usize) -> Vec<(u8, usize)> {
    counts_of(LENGTH_MIX, 24, count)
}

/// A left-aligned 128-bit key (what `tablegen`'s helpers draw) as an address.
fn addr(key: u128) -> Ipv4Addr {
    Ipv4Addr::from((key >> 96) as u32)
}

/// The unicast /8s, as left-aligned keys of length 8.
fn unicast_blocks() -> Vec<(u128, u8)> {
    (1u128..=223)
        .filter(|&a| a != 10 && a != 127)
        .map(|a| (a << 120, 8))
        .collect()
}

/// A `count`-route table (distinct prefixes, next hops in `0..NEXT_HOPS`), in random order.
pub fn generate(count: usize, seed: u64) -> Vec<(Ipv4Addr, u8, u32)> {
    let mut rng = Rng::new(seed);
    let blocks = unicast_blocks();
    let mut seen = HashSet::with_capacity(count);
    let mut announced: Vec<(u128, u8)> = Vec::new();
    let mut routes = Vec::with_capacity(count);
    for (len, n) in length_counts(count) {
        let shorter = announced.len();
        for _ in 0..n {
            let key = loop {
                let parent = if len > 16 && shorter > 0 && rng.unit() < 0.55 {
                    // Skewed: the square of a uniform favours the first (shortest) ones.
                    let u = rng.unit();
                    announced[(u * u * shorter as f64) as usize]
                } else {
                    blocks[rng.below(blocks.len())]
                };
                let key = inside(&mut rng, parent, len);
                if seen.insert((key, len)) {
                    break key;
                }
            };
            announced.push((key, len));
            routes.push((addr(key), len, rng.below(NEXT_HOPS as usize) as u32));
        }
    }
    shuffle(&mut rng, &mut routes);
    routes
}

/// `count` destinations uniform over all IPv4 addresses.
pub fn random_destinations(count: usize, seed: u64) -> Vec<[u8; 4]> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| (rng.next_u64() as u32).to_be_bytes())
        .collect()
}

/// `count` destinations inside the table: a random route, random host bits.
pub fn table_destinations(routes: &[(Ipv4Addr, u8, u32)], count: usize, seed: u64) -> Vec<[u8; 4]> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| {
            let (prefix, len, _) = routes[rng.below(routes.len())];
            let key = u128::from(u32::from(prefix)) << 96;
            addr(inside(&mut rng, (key, len), 32)).octets()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tablegen::mask;

    #[test]
    fn tables_have_the_requested_size_and_mix() {
        let routes = generate(50_000, 7);
        assert_eq!(routes.len(), 50_000);
        let distinct: HashSet<(Ipv4Addr, u8)> = routes.iter().map(|&(p, l, _)| (p, l)).collect();
        assert_eq!(distinct.len(), 50_000);
        let share = |len: u8| routes.iter().filter(|r| r.1 == len).count() as f64 / 500.0;
        assert!((60.0..63.0).contains(&share(24)), "/24: {} %", share(24));
        assert!((11.0..13.0).contains(&share(22)), "/22: {} %", share(22));
        assert!(routes.iter().all(|&(p, l, h)| {
            let key = u128::from(u32::from(p)) << 96;
            key & !mask(l) == 0 && h < NEXT_HOPS && (1..=223).contains(&p.octets()[0])
        }));
        assert_eq!(generate(50_000, 7), routes, "same seed, same table");
    }

    #[test]
    fn destinations_fall_where_asked() {
        let routes = generate(1000, 1);
        for d in table_destinations(&routes, 1000, 3) {
            let addr = u32::from_be_bytes(d);
            assert!(routes.iter().any(|&(p, l, _)| {
                let m = u32::MAX.checked_shl(32 - u32::from(l)).unwrap_or(0);
                addr & m == u32::from(p)
            }));
        }
        let random = random_destinations(1000, 2);
        assert!(
            random.iter().any(|d| d[0] >= 224),
            "all of the space, not just unicast"
        );
    }
}
