//! Single and burst lookups.

use super::poptrie::{slot, through, Poptrie, DIRECT_BITS, DIRECT_NODE, STRIDE};
use super::Lpm6;

/// Lanes walked together by `lookup_burst`.
pub(super) const BURST: usize = 32;
const MISS: u32 = Lpm6::MISS;

impl Poptrie {
    #[inline]
    pub(super) fn lookup(&self, key: u128) -> u32 {
        let mut best = self.default;
        let entry = self.direct[(key >> (128 - DIRECT_BITS)) as usize];
        if entry & DIRECT_NODE == 0 {
            return or_best(entry as u32, best);
        }
        let mut at = entry as u32 as usize;
        let mut depth = DIRECT_BITS;
        while depth < 128 {
            let node = &self.nodes[at];
            if node.cover != MISS {
                best = node.cover;
            }
            let s = slot(key, depth);
            let upto = through(s);
            if node.children >> s & 1 == 0 {
                let leaf = node.leaf_base + (node.leafvec & upto).count_ones() - 1;
                return or_best(self.leaf_value[leaf as usize], best);
            }
            at = (node.child_base + (node.children & upto).count_ones() - 1) as usize;
            depth += STRIDE;
        }
        best
    }

    /// Looks up `min(addrs.len(), out.len(), BURST)` addresses, one trie level at a time
    /// for the whole burst so that the lanes' node loads overlap.
    pub(super) fn lookup_burst(&self, addrs: &[[u8; 16]], out: &mut [u32]) {
        let n = addrs.len().min(out.len()).min(BURST);
        let mut key = [0u128; BURST];
        let mut best = [self.default; BURST];
        // Node index while descending, then leaf index once the lane reaches a leaf.
        let mut at = [0u32; BURST];
        // Lanes still descending, and lanes that stopped on a node leaf.
        let mut walking = [0u8; BURST];
        let mut n_walking = 0;
        let mut on_leaf = [0u8; BURST];
        let mut n_on_leaf = 0;

        for i in 0..n {
            key[i] = u128::from_be_bytes(addrs[i]);
            let entry = self.direct[(key[i] >> (128 - DIRECT_BITS)) as usize];
            at[i] = entry as u32;
            out[i] = or_best(entry as u32, best[i]);
            walking[n_walking] = i as u8;
            n_walking += (entry >> 32) as usize & 1;
        }

        let mut depth = DIRECT_BITS;
        while n_walking > 0 && depth < 128 {
            let mut still = 0;
            for w in 0..n_walking {
                let i = usize::from(walking[w]);
                let node = &self.nodes[at[i] as usize];
                if node.cover != MISS {
                    best[i] = node.cover;
                }
                let s = slot(key[i], depth);
                let is_child = (node.children >> s & 1) as usize;
                let (bits, base) = if is_child == 1 {
                    (node.children, node.child_base)
                } else {
                    (node.leafvec, node.leaf_base)
                };
                at[i] = base.wrapping_add((bits & through(s)).count_ones()).wrapping_sub(1);
                walking[still] = i as u8;
                still += is_child;
                on_leaf[n_on_leaf] = i as u8;
                n_on_leaf += 1 - is_child;
            }
            n_walking = still;
            depth += STRIDE;
        }
        // Unreachable (no node below depth 124 has children), but never leave a node index
        // in `out`.
        for &i in &walking[..n_walking] {
            out[usize::from(i)] = best[usize::from(i)];
        }

        for &i in &on_leaf[..n_on_leaf] {
            let i = usize::from(i);
            out[i] = or_best(self.leaf_value[at[i] as usize], best[i]);
        }
    }
}

#[inline(always)]
fn or_best(value: u32, best: u32) -> u32 {
    if value != MISS {
        value
    } else {
        best
    }
}
