//! Single and burst lookups.

use super::family::Family;
use super::poptrie::{
    direct_hop, direct_index, direct_node_index, slot, slot_in_top, Node, Poptrie, DIRECT_NODE,
    INLINE, STRIDE,
};
use super::simd::{self, Avx512, Walking};
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

    /// Looks up `min(addrs.len(), out.len(), BURST)` addresses one trie level at a time for
    /// the whole burst, by `walk`, handing `prefetch` the next level's node (or leaf) of
    /// each lane as soon as it is known, so that the lanes' loads overlap.
    #[inline(never)]
    pub(super) fn lookup_burst(
        &self,
        addrs: &[F::Addr],
        out: &mut [u32],
        walk: Walk,
        prefetch: &impl Fn(*const u8),
    ) {
        let n = addrs.len().min(out.len()).min(BURST);
        let (addrs, out) = (&addrs[..n], &mut out[..n]);
        // Most lanes end in the direct table (every random destination outside the
        // allocated blocks), most of those on "no route", which the `empty` bitmap answers.
        // The others go on a packed list with the top half of their key, which is all that
        // nodes above bit 64 look at.
        let mut walking = Walking::new();
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
            } else {
                let at = direct_node_index(entry);
                walking.push(top, at, self.default, i);
                prefetch(self.nodes.as_ptr().wrapping_add(at as usize).cast());
            }
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
        if walking.len == 0 {
            return;
        }
        let mut external = Walking::new();
        let mut depth = F::DIRECT_BITS;
        if let Walk::Avx512(cpu) = walk {
            let arenas = (&self.nodes[..], &self.leaf_value[..]);
            depth = simd::walk(cpu, arenas, &mut walking, &mut external, depth, out, prefetch);
        }
        if walking.len != 0 {
            self.walk_burst(addrs, out, &walking, depth, prefetch);
        }
        for j in 0..external.len.min(BURST) {
            let (leaf, best) = (external.at[j] as usize, external.best[j] as u32);
            if let (Some(out), Some(&value)) =
                (out.get_mut(external.lane[j] as usize), self.leaf_value.get(leaf))
            {
                *out = or_best(value, best);
            }
        }
    }

    /// The node levels of `lookup_burst` from `depth` on, one lane at a time, for the lanes
    /// in `list`. Kept apart (not inlined) so that the direct-table loop keeps its few
    /// values in registers.
    #[inline(never)]
    fn walk_burst(
        &self,
        addrs: &[F::Addr],
        out: &mut [u32],
        list: &Walking,
        mut depth: u32,
        prefetch: &impl Fn(*const u8),
    ) {
        let mut top = [0u64; BURST];
        let mut at = [0u32; BURST];
        let mut best = [self.default; BURST];
        // Lane sets as bitmaps: iterating one costs a `tzcnt`, and building the next one
        // (`|=`) puts no lane's loads behind another's.
        let mut walking = 0u64;
        for j in 0..list.len.min(BURST) {
            let i = list.lane[j] as usize & (BURST - 1);
            top[i] = list.top[j];
            at[i] = list.at[j] as u32;
            best[i] = list.best[j] as u32;
            walking |= 1 << i;
        }
        let mut external = 0u64;
        while walking != 0 && depth < u32::from(F::BITS) {
            // Nearly every walk ends above bit 64, where the slot is in the key's top half.
            let (children, leaves) = if depth <= 64 - STRIDE {
                let slot = |i: usize| Some(slot_in_top(top[i], depth));
                self.walk_level(walking, slot, &mut at, &mut best, out, prefetch)
            } else {
                let slot = |i: usize| addrs.get(i).map(|a| slot(F::addr_key(a), depth));
                self.walk_level(walking, slot, &mut at, &mut best, out, prefetch)
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

/// How a burst lookup walks the node levels.
#[derive(Clone, Copy, Debug)]
pub enum Walk {
    /// One lane at a time: any CPU, and the reference for the vector walk.
    Scalar,
    /// Eight lanes at a time with AVX-512 (F and VPOPCNTDQ), where the CPU has it.
    Avx512(Avx512),
}

impl Walk {
    /// The fastest walk this CPU can run.
    pub fn fastest() -> Self {
        Avx512::detect().map_or(Self::Scalar, Self::Avx512)
    }

    /// Every walk this CPU can run, the scalar one first.
    pub fn available() -> impl Iterator<Item = Self> {
        [Some(Self::Scalar), Avx512::detect().map(Self::Avx512)]
            .into_iter()
            .flatten()
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Scalar => "scalar",
            Self::Avx512(_) => "AVX-512",
        }
    }
}

/// `value` unless it is `MISS`, then `best`. Whether a node has a cover is data: a branch
/// on it mispredicts a third of the time.
#[inline(always)]
fn or_best(value: u32, best: u32) -> u32 {
    core::hint::select_unpredictable(value != MISS, value, best)
}
