//! The authoritative prefix set: one hash map per prefix length.
//!
//! The trie holds what lookups need, not every prefix (a prefix hidden under longer ones
//! leaves no slot behind), so exact-match `get`, `routes` and "what does a removed prefix
//! uncover" are answered here. Prefixes up to /64 (nearly all of a real IPv6 table) are
//! keyed by their top 64 bits, which halves the map entries; IPv4 prefixes by their 32.

use std::collections::HashMap;

use super::family::{prefix_mask, Family};

/// Keys are masked prefixes. Index = prefix length.
#[derive(Clone, Debug)]
pub(super) struct RouteSet<F: Family> {
    short: Vec<HashMap<F::Short, u32>>,
    long: Vec<HashMap<u128, u32>>,
    count: usize,
}

const SHORT_MAX: u8 = 64;

impl<F: Family> Default for RouteSet<F> {
    fn default() -> Self {
        let bits = F::BITS;
        Self {
            short: vec![HashMap::new(); usize::from(bits.min(SHORT_MAX)) + 1],
            long: vec![HashMap::new(); usize::from(bits.saturating_sub(SHORT_MAX))],
            count: 0,
        }
    }
}

impl<F: Family> RouteSet<F> {
    /// Builds from routes already validated, masked and free of duplicates.
    pub(super) fn from_sorted(routes: &[(u128, u8, u32)]) -> Self {
        let mut set = Self::default();
        let mut per_len = [0usize; 129];
        for &(_, len, _) in routes {
            if let Some(n) = per_len.get_mut(usize::from(len)) {
                *n += 1;
            }
        }
        for (len, &n) in per_len.iter().enumerate() {
            if let Some(map) = set.short.get_mut(len) {
                map.reserve(n);
            } else if let Some(map) = set
                .long
                .get_mut(len.wrapping_sub(usize::from(SHORT_MAX) + 1))
            {
                map.reserve(n);
            }
        }
        for &(key, len, hop) in routes {
            set.insert(key, len, hop);
        }
        set
    }

    pub(super) fn len(&self) -> usize {
        self.count
    }

    pub(super) fn get(&self, key: u128, len: u8) -> Option<u32> {
        if len <= SHORT_MAX {
            self.short
                .get(usize::from(len))?
                .get(&F::short_key(key))
                .copied()
        } else {
            self.long
                .get(usize::from(len - SHORT_MAX - 1))?
                .get(&key)
                .copied()
        }
    }

    /// Returns the replaced next hop.
    pub(super) fn insert(&mut self, key: u128, len: u8, hop: u32) -> Option<u32> {
        let old = if len <= SHORT_MAX {
            self.short
                .get_mut(usize::from(len))?
                .insert(F::short_key(key), hop)
        } else {
            self.long
                .get_mut(usize::from(len - SHORT_MAX - 1))?
                .insert(key, hop)
        };
        if old.is_none() {
            self.count += 1;
        }
        old
    }

    pub(super) fn remove(&mut self, key: u128, len: u8) -> Option<u32> {
        let old = if len <= SHORT_MAX {
            self.short
                .get_mut(usize::from(len))?
                .remove(&F::short_key(key))
        } else {
            self.long
                .get_mut(usize::from(len - SHORT_MAX - 1))?
                .remove(&key)
        };
        if old.is_some() {
            self.count -= 1;
        }
        old
    }

    /// The longest prefix covering `key` with a length in `floor + 1 .. below`, as
    /// `(next_hop, len)`.
    pub(super) fn longest_covering(&self, key: u128, floor: u8, below: u8) -> Option<(u32, u8)> {
        (floor.saturating_add(1)..below).rev().find_map(|len| {
            let masked = key & prefix_mask(len);
            self.get(masked, len).map(|hop| (hop, len))
        })
    }

    /// Every route as `(key, len, next_hop)`, sorted by key then length.
    pub(super) fn sorted(&self) -> Vec<(u128, u8, u32)> {
        let mut out = Vec::with_capacity(self.count);
        for (len, map) in (0u8..).zip(&self.short) {
            let shift = 128 - 8 * core::mem::size_of::<F::Short>() as u32;
            out.extend(map.iter().map(|(&k, &hop)| (k.into() << shift, len, hop)));
        }
        for (len, map) in (SHORT_MAX + 1..).zip(&self.long) {
            out.extend(map.iter().map(|(&k, &hop)| (k, len, hop)));
        }
        out.sort_unstable_by_key(|&(key, len, _)| (key, len));
        out
    }

    /// Heap bytes, estimated from each map's capacity: hashbrown keeps a power-of-two
    /// number of buckets at up to 7/8 load, each a (key, value) slot plus a control byte.
    pub(super) fn memory_bytes(&self) -> usize {
        fn map_bytes<K, V>(map: &HashMap<K, V>) -> usize {
            if map.capacity() == 0 {
                return 0;
            }
            let buckets = (map.capacity() * 8 / 7).next_power_of_two();
            buckets * (core::mem::size_of::<(K, V)>() + 1)
        }
        let maps = self.short.iter().map(map_bytes).sum::<usize>()
            + self.long.iter().map(map_bytes).sum::<usize>();
        maps + (self.short.capacity() + self.long.capacity())
            * core::mem::size_of::<HashMap<u128, u32>>()
    }
}
