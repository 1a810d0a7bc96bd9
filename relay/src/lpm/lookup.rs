//! Single and burst lookups.

use super::family::Family;
use super::poptrie::{
    direct_hop, direct_index, direct_node_index, slot, slot_in_top, Node, Poptrie, DIRECT_NODE,
    INLINE, STRIDE,
};
use super::MISS;

/// Lanes walked together by `lookup_burst`: relayd's burst. A lane's next node is
/// prefetched a whole level of lanes before it is read, and at 250k prefixes most of those
/// loads miss the caches: 64 lanes hide about 20 % more of that latency than 32 (probed:
/// 61 against 50 M in-table lookups/s); 128 did no better than 32.
pub(super) const BURST: usize = 64;

/// Where a lane's walk stopped in a node.
enum Step {
    Child(u32),
    Hop(u32),
    /// Index in `leaf_value`.
    External(u32),
}

impl<F: Family> Poptrie<F> {
    /// The step through `node` of a key whose slot there is `s`.
    #[inline(always)]
    fn step(node: &Node, s: u32) -> Step {
        if let Some(child) = node.child(s) {
            return Step::Child(child);
        }
        let run = node.run(s) as usize;
        if node.runs() <= INLINE {
            Step::Hop(node.leaves[run.min(INLINE - 1)])
        } else {
            Step::External(node.leaves[0] + run as u32)
        }
    }

    #[inline]
    pub(super) fn lookup(&self, key: u128) -> u32 {
        let mut best = self.default;
        let i = direct_index::<F>(key);
        if self.is_empty_direct(i) {
            return best;
        }
        let entry = self.direct[i];
        if entry & DIRECT_NODE == 0 {
            return or_best(direct_hop(entry), best);
        }
        let mut at = direct_node_index(entry);
        let mut depth = F::DIRECT_BITS;
        while depth < u32::from(F::BITS) {
            let node = &self.nodes[at as usize];
            best = or_best(node.cover, best);
            match Self::step(node, slot(key, depth)) {
                Step::Child(child) => at = child,
                Step::Hop(hop) => return or_best(hop, best),
                Step::External(leaf) => return or_best(self.leaf_value[leaf as usize], best),
            }
            depth += STRIDE;
        }
        best
    }

    /// Cache lines below the direct table that a lookup of `key` reads: its nodes and an
    /// external leaf block. (For benchmarks: what a lookup costs in memory.)
    pub(super) fn lines_read(&self, key: u128) -> usize {
        let i = direct_index::<F>(key);
        let entry = self.direct[i];
        if self.is_empty_direct(i) || entry & DIRECT_NODE == 0 {
            return 0;
        }
        let mut at = direct_node_index(entry);
        let mut depth = F::DIRECT_BITS;
        let mut lines = 0;
        while depth < u32::from(F::BITS) {
            lines += 1;
            match Self::step(&self.nodes[at as usize], slot(key, depth)) {
                Step::Child(child) => at = child,
                Step::Hop(_) => break,
                Step::External(_) => return lines + 1,
            }
            depth += STRIDE;
        }
        lines
    }

    /// Looks up `min(addrs.len(), out.len(), BURST)` addresses one trie level at a time for
    /// the whole burst, handing `prefetch` the next level's node (or leaf) of each lane as
    /// soon as it is known, so that the lanes' loads overlap.
    #[inline(never)]
    pub(super) fn lookup_burst(
        &self,
        addrs: &[F::Addr],
        out: &mut [u32],
        prefetch: &impl Fn(*const u8),
    ) {
        let n = addrs.len().min(out.len()).min(BURST);
        let (addrs, out) = (&addrs[..n], &mut out[..n]);
        // Most lanes end in the direct table (every random destination outside the
        // allocated blocks), most of those on "no route", which the `empty` bitmap answers.
        // They keep nothing. Walking lanes keep their node and the top half of their key,
        // which is all that nodes above bit 64 look at.
        let mut lanes = Lanes {
            top: [0; BURST],
            at: [0; BURST],
        };
        let mut walking = 0u64;
        // A lane whose address is the last walking lane's (packets of one flow, back to
        // back) takes that lane's answer instead of a walk of its own.
        let mut repeats = 0u64;
        let mut repeat_of = [0u8; BURST];
        let mut last: Option<(u64, usize)> = None;
        let mut lane = |i: usize, addr: &F::Addr, out: &mut u32| {
            let top = F::addr_top(addr);
            let index = (top >> (64 - F::DIRECT_BITS)) as usize;
            if self.is_empty_direct(index) {
                *out = self.default;
                return;
            }
            let entry = self.direct[index];
            if entry & DIRECT_NODE == 0 {
                *out = or_best(direct_hop(entry), self.default);
                return;
            }
            let i = i & (BURST - 1);
            if let Some((last_top, j)) = last {
                if last_top == top
                    && addrs
                        .get(j)
                        .is_some_and(|a| F::addr_key(a) == F::addr_key(addr))
                {
                    repeats |= 1 << i;
                    repeat_of[i] = j as u8;
                    return;
                }
            }
            last = Some((top, i));
            let at = direct_node_index(entry);
            lanes.at[i] = at;
            lanes.top[i] = top;
            let node = self.nodes.as_ptr().wrapping_add(at as usize);
            prefetch(node.cast());
            walking |= 1 << i;
        };
        // Four lanes at a time: the loop's own counting is a third of a lane's work.
        let quads = n & !3;
        let ((addrs4, rest), (out4, out_rest)) = (addrs.split_at(quads), out.split_at_mut(quads));
        for (q, (addrs, out)) in addrs4
            .chunks_exact(4)
            .zip(out4.chunks_exact_mut(4))
            .enumerate()
        {
            for (j, (addr, out)) in addrs.iter().zip(out).enumerate() {
                lane(4 * q + j, addr, out);
            }
        }
        for (j, (addr, out)) in rest.iter().zip(out_rest).enumerate() {
            lane(quads + j, addr, out);
        }
        if walking != 0 {
            self.walk_burst(addrs, out, walking, &mut lanes, prefetch);
        }
        while repeats != 0 {
            let i = repeats.trailing_zeros() as usize;
            repeats &= repeats - 1;
            if let (Some(&answer), true) = (out.get(usize::from(repeat_of[i & (BURST - 1)])), i < n)
            {
                out[i] = answer;
            }
        }
    }

    /// The node levels of `lookup_burst` for the lanes in `walking`. Kept apart (not
    /// inlined) so that the direct-table loop above keeps its few values in registers.
    #[inline(never)]
    fn walk_burst(
        &self,
        addrs: &[F::Addr],
        out: &mut [u32],
        mut walking: u64,
        lanes: &mut Lanes,
        prefetch: &impl Fn(*const u8),
    ) {
        let Lanes { top, at } = lanes;
        let mut best = [self.default; BURST];
        // Lane sets as bitmaps: iterating one costs a `tzcnt`, and building the next one
        // (`|=`) puts no lane's loads behind another's.
        let mut external = 0u64;
        let mut depth = F::DIRECT_BITS;
        while walking != 0 && depth < u32::from(F::BITS) {
            // Nearly every walk ends above bit 64, where the slot is in the key's top half.
            let (children, leaves) = if depth <= 64 - STRIDE {
                let slot = |i: usize| Some(slot_in_top(top[i], depth));
                self.walk_level(walking, slot, at, &mut best, out, prefetch)
            } else {
                let slot = |i: usize| addrs.get(i).map(|a| slot(F::addr_key(a), depth));
                self.walk_level(walking, slot, at, &mut best, out, prefetch)
            };
            walking = children;
            external |= leaves;
            depth += STRIDE;
        }
        // `walking` is empty here (no node of the last level has children).
        while external != 0 {
            let i = external.trailing_zeros() as usize & (BURST - 1);
            external &= external - 1;
            if let Some(out) = out.get_mut(i) {
                *out = or_best(self.leaf_value[at[i] as usize], best[i]);
            }
        }
    }

    /// One level of `walk_burst`: a step through its node for each lane in `level`, whose
    /// slot there `slot(lane)` gives. Returns the lanes that go on to a child and those
    /// whose leaf is external.
    #[inline(always)]
    fn walk_level(
        &self,
        mut level: u64,
        slot: impl Fn(usize) -> Option<u32>,
        at: &mut [u32; BURST],
        best: &mut [u32; BURST],
        out: &mut [u32],
        prefetch: &impl Fn(*const u8),
    ) -> (u64, u64) {
        let (mut walking, mut external) = (0u64, 0u64);
        while level != 0 {
            // The mask: the compiler cannot see a lane number stays below `n`.
            let i = level.trailing_zeros() as usize & (BURST - 1);
            level &= level - 1;
            let Some(s) = slot(i) else { continue };
            let node = &self.nodes[at[i] as usize];
            best[i] = or_best(node.cover, best[i]);
            if let Some(child) = node.child(s) {
                at[i] = child;
                prefetch(self.nodes.as_ptr().wrapping_add(child as usize).cast());
                walking |= 1 << i;
                continue;
            }
            let run = node.run(s);
            let is_external = node.runs() > INLINE;
            // `at` now indexes `leaf_value` (unused for an inline lane).
            let leaf = node.leaves[0].wrapping_add(run);
            let block = self
                .leaf_value
                .as_ptr()
                .wrapping_add(leaf as usize)
                .cast::<u8>();
            let inline = node.leaves[(run as usize).min(INLINE - 1)];
            if F::SELECT_LEAF {
                // Both answers, and the lane joins the external pass by a select: an inline
                // answer is final, an external lane's is overwritten by that pass.
                if let Some(out) = out.get_mut(i) {
                    *out = or_best(inline, best[i]);
                }
                at[i] = leaf;
                let node = (node as *const Node).cast::<u8>();
                prefetch(core::hint::select_unpredictable(is_external, block, node));
                external |= u64::from(is_external) << i;
            } else if is_external {
                at[i] = leaf;
                prefetch(block);
                external |= 1 << i;
            } else if let Some(out) = out.get_mut(i) {
                *out = or_best(inline, best[i]);
            }
        }
        (walking, external)
    }
}

/// Per-lane state of a burst's walk below the direct table.
struct Lanes {
    /// The top 64 bits of the lane's key.
    top: [u64; BURST],
    /// Node index while walking; index in `leaf_value` once the lane's leaf is external.
    at: [u32; BURST],
}

/// `value` unless it is `MISS`, then `best`. Whether a node has a cover is data: a branch
/// on it mispredicts a third of the time.
#[inline(always)]
fn or_best(value: u32, best: u32) -> u32 {
    core::hint::select_unpredictable(value != MISS, value, best)
}
