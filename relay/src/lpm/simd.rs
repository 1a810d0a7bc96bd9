//! The one module of `lpm` with `unsafe`: the x86-64 instructions safe Rust cannot name
//! (software prefetch, AVX-512 gathers), each behind a safe function. Everything here has a
//! scalar twin in `lookup.rs`, which is the fallback on other CPUs and the reference the
//! tests hold this walk to.
//!
//! The AVX-512 walk steps eight lanes of a burst through their nodes at once: the node
//! fields a step reads are gathered (one gather per field for eight nodes), the slot's rank
//! is one `vpopcntq`, and the lanes that go on to a child are packed to the front of the
//! next level's list with `vpcompressq`, so that no vector slot is spent on a finished lane.

use core::mem::offset_of;

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

use super::lookup::BURST;
use super::poptrie::{Node, INLINE, STRIDE};
use super::MISS;

/// Entries of a [`Walking`] list: a burst, and room for a full vector store past its end.
const LIST: usize = BURST + 8;

/// Lanes still walking, packed at the front.
#[derive(Clone)]
#[repr(C, align(64))]
pub(super) struct Walking {
    pub len: usize,
    /// The top 64 bits of the lane's key.
    pub top: [u64; LIST],
    /// Node index while walking; index in `leaf_value` in the list of external leaves.
    pub at: [u64; LIST],
    /// The longest match so far (a node's `cover`), `MISS` if none.
    pub best: [u64; LIST],
    /// The lane's index in the burst.
    pub lane: [u64; LIST],
}

impl Walking {
    pub(super) const fn new() -> Self {
        Self {
            len: 0,
            top: [0; LIST],
            at: [0; LIST],
            best: [0; LIST],
            lane: [0; LIST],
        }
    }

    /// Appends a lane (at most [`BURST`]: the caller's burst).
    #[inline(always)]
    pub(super) fn push(&mut self, top: u64, at: u32, best: u32, lane: usize) {
        let i = self.len.min(BURST - 1);
        self.top[i] = top;
        self.at[i] = u64::from(at);
        self.best[i] = u64::from(best);
        self.lane[i] = lane as u64;
        self.len = i + 1;
    }
}

/// A software prefetch of the line at `p` into every cache level.
#[inline(always)]
pub(super) fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of x86-64; a prefetch is a hint that never faults, whatever the
    // address, and reads nothing the program sees.
    unsafe {
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Proof that this CPU has the AVX-512 subsets the vector walk uses (F for gathers,
/// compress and masks; VPOPCNTDQ for the rank): only [`Avx512::detect`] makes one.
#[derive(Clone, Copy, Debug)]
pub struct Avx512(());

impl Avx512 {
    #[cfg(target_arch = "x86_64")]
    pub fn detect() -> Option<Self> {
        (std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512vpopcntdq"))
        .then_some(Self(()))
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub fn detect() -> Option<Self> {
        None
    }
}

// Where the walk finds a node's fields: in 64-bit words (children, leafvec, child bases) and
// 32-bit words (leaves) of its 64-byte line.
const CHILDREN: i64 = (offset_of!(Node, children) / 8) as i64;
const LEAFVEC: i64 = (offset_of!(Node, leafvec) / 8) as i64;
const CHILD_BASE: i64 = (offset_of!(Node, child_base) / 8) as i64;
const COVER: i64 = (offset_of!(Node, cover) / 8) as i64;
const LEAVES: i64 = (offset_of!(Node, leaves) / 4) as i64;
const _: () = {
    assert!(core::mem::size_of::<Node>() == 64 && core::mem::align_of::<Node>() == 64);
    // `cover` is the low half of its word, `leaves[0]` the high half of the same word.
    assert!(offset_of!(Node, cover) % 8 == 0);
    assert!(offset_of!(Node, leaves) == offset_of!(Node, cover) + 4);
    assert!(offset_of!(Node, child_base) % 8 == 0);
};

/// Walks the lanes of `walking` (at depth `depth`) down the node levels eight at a time,
/// writing the answers of lanes that end in an inline leaf to `out` and collecting those
/// whose leaf is external in `external` (`at` their index in `leaf_value`). Stops below bit
/// 64 (depth > 64 - STRIDE), where the slot is no longer in a key's top half: returns the
/// depth it stopped at with `walking` holding the lanes left, for the scalar walk.
#[cfg(target_arch = "x86_64")]
pub(super) fn walk(
    cpu: Avx512,
    arenas: (&[Node], &[u32]),
    walking: &mut Walking,
    external: &mut Walking,
    mut depth: u32,
    out: &mut [u32],
    prefetch: &impl Fn(*const u8),
) -> u32 {
    let _ = cpu;
    let (nodes, leaf_value) = arenas;
    // No lane walks into an empty arena (a direct entry names a node only once there is
    // one); the clamping below needs a last node.
    if nodes.is_empty() {
        return depth;
    }
    let mut next = Walking::new();
    while walking.len != 0 && depth <= 64 - STRIDE {
        next.len = 0;
        let external_before = external.len;
        // SAFETY: `cpu` exists only where `Avx512::detect` found AVX-512F and VPOPCNTDQ.
        unsafe { level(nodes, walking, &mut next, external, depth, out, prefetch) };
        for &leaf in &external.at[external_before.min(external.len)..external.len] {
            prefetch(leaf_value.as_ptr().wrapping_add(leaf as usize).cast());
        }
        core::mem::swap(walking, &mut next);
        depth += STRIDE;
    }
    depth
}

#[cfg(not(target_arch = "x86_64"))]
pub(super) fn walk(
    cpu: Avx512,
    _: (&[Node], &[u32]),
    _: &mut Walking,
    _: &mut Walking,
    depth: u32,
    _: &mut [u32],
    _: &impl Fn(*const u8),
) -> u32 {
    match cpu.0 {}
}

/// One level of [`walk`] for every lane of `from`; the lanes that descend go to `to`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
fn level(
    nodes: &[Node],
    from: &Walking,
    to: &mut Walking,
    external: &mut Walking,
    depth: u32,
    out: &mut [u32],
    prefetch: &impl Fn(*const u8),
) {
    let words = nodes.as_ptr().cast::<i64>();
    let dwords = nodes.as_ptr().cast::<i32>();
    // Every node index is clamped to the arena (`nodes` is not empty: see `walk`), so no
    // gather below can read outside it whatever the table holds.
    let last = _mm512_set1_epi64(nodes.len() as i64 - 1);
    let ones = _mm512_set1_epi64(-1);
    let one = _mm512_set1_epi64(1);
    let low32 = _mm512_set1_epi64(0xffff_ffff);
    let miss = _mm512_set1_epi64(i64::from(MISS));
    let at_depth = _mm512_set1_epi64(i64::from(depth));
    let word = |k: __mmask8, base: __m512i, field: i64| {
        let at = _mm512_add_epi64(base, _mm512_set1_epi64(field));
        // SAFETY: `base` is a clamped node index times 8 (a node is eight 64-bit words)
        // and `field` is below 8 (`half` adds at most 1 to CHILDREN = 0, LEAFVEC + 1 = 3):
        // every word read is inside `nodes`; lanes outside `k` read nothing.
        unsafe { _mm512_mask_i64gather_epi64::<8>(_mm512_setzero_si512(), k, at, words) }
    };
    let mut done = [0u64; 8];
    let mut lanes = [0u64; 8];
    let len = from.len.min(BURST);
    let mut i = 0;
    while i < len {
        let k: __mmask8 = if len - i >= 8 { 0xff } else { (1u8 << (len - i)) - 1 };
        // SAFETY: `i < len <= BURST` and the lists have `BURST + 8` entries: the eight
        // entries from `i` are inside each array.
        let (top, at, best, lane) = unsafe {
            (
                _mm512_loadu_epi64(from.top.as_ptr().add(i).cast()),
                _mm512_loadu_epi64(from.at.as_ptr().add(i).cast()),
                _mm512_loadu_epi64(from.best.as_ptr().add(i).cast()),
                _mm512_loadu_epi64(from.lane.as_ptr().add(i).cast()),
            )
        };
        let at = _mm512_min_epu64(at, last);
        let slot = _mm512_srli_epi64::<{ 64 - STRIDE }>(_mm512_sllv_epi64(top, at_depth));
        let half = _mm512_srli_epi64::<6>(slot);
        let bit = _mm512_and_si512(slot, _mm512_set1_epi64(63));
        let base = _mm512_slli_epi64::<3>(at);
        let children = word(k, _mm512_add_epi64(base, half), CHILDREN);
        let child_base = word(k, base, CHILD_BASE);
        let cover_word = word(k, base, COVER);
        let cover = _mm512_and_si512(cover_word, low32);
        let best = _mm512_mask_mov_epi64(best, _mm512_cmpneq_epi64_mask(cover, miss), cover);
        // Slots 0..=bit of the slot's half.
        let upto = _mm512_srlv_epi64(ones, _mm512_sub_epi64(_mm512_set1_epi64(63), bit));
        let descends = _mm512_mask_test_epi64_mask(k, children, _mm512_sllv_epi64(one, bit));
        {
            let rank = _mm512_popcnt_epi64(_mm512_and_si512(children, upto));
            let base_of_half = _mm512_and_si512(
                _mm512_srlv_epi64(child_base, _mm512_slli_epi64::<5>(half)),
                low32,
            );
            let child = _mm512_sub_epi64(_mm512_add_epi64(base_of_half, rank), one);
            let n = to.len.min(BURST);
            // SAFETY: `to` holds lanes of `from` before `i`, so `n <= i < BURST` and the
            // eight entries written from `n` are inside each array.
            unsafe {
                _mm512_storeu_epi64(
                    to.top.as_mut_ptr().add(n).cast(),
                    _mm512_maskz_compress_epi64(descends, top),
                );
                _mm512_storeu_epi64(
                    to.at.as_mut_ptr().add(n).cast(),
                    _mm512_maskz_compress_epi64(descends, child),
                );
                _mm512_storeu_epi64(
                    to.best.as_mut_ptr().add(n).cast(),
                    _mm512_maskz_compress_epi64(descends, best),
                );
                _mm512_storeu_epi64(
                    to.lane.as_mut_ptr().add(n).cast(),
                    _mm512_maskz_compress_epi64(descends, lane),
                );
            }
            to.len = n + descends.count_ones() as usize;
            for &child in &to.at[n..to.len] {
                prefetch(nodes.as_ptr().wrapping_add(child as usize).cast());
            }
        }
        let leaf = k & !descends;
        {
            let leafvec = [word(leaf, base, LEAFVEC), word(leaf, base, LEAFVEC + 1)];
            let upper = _mm512_cmpneq_epi64_mask(half, _mm512_setzero_si512());
            let in_lower = _mm512_popcnt_epi64(leafvec[0]);
            let runs = _mm512_add_epi64(in_lower, _mm512_popcnt_epi64(leafvec[1]));
            let own_half = _mm512_mask_blend_epi64(upper, leafvec[0], leafvec[1]);
            let run = _mm512_sub_epi64(
                _mm512_add_epi64(
                    _mm512_maskz_mov_epi64(upper, in_lower),
                    _mm512_popcnt_epi64(_mm512_and_si512(own_half, upto)),
                ),
                one,
            );
            let max_inline = _mm512_set1_epi64(INLINE as i64);
            let inline = leaf & _mm512_cmple_epu64_mask(runs, max_inline);
            let external_lanes = leaf & !inline;
            {
                let pick = _mm512_min_epu64(run, _mm512_set1_epi64(INLINE as i64 - 1));
                let at = _mm512_add_epi64(
                    _mm512_slli_epi64::<1>(base),
                    _mm512_add_epi64(_mm512_set1_epi64(LEAVES), pick),
                );
                // SAFETY: `base * 2` is the clamped node's first 32-bit word and
                // `LEAVES + pick <= LEAVES + INLINE - 1`, its last: inside `nodes`.
                let value = unsafe {
                    _mm512_mask_i64gather_epi32::<4>(
                        _mm256_set1_epi32(MISS as i32),
                        inline,
                        at,
                        dwords,
                    )
                };
                let value = _mm512_cvtepu32_epi64(value);
                let answer =
                    _mm512_mask_mov_epi64(best, _mm512_cmpneq_epi64_mask(value, miss), value);
                // SAFETY: both arrays hold eight 64-bit words.
                unsafe {
                    _mm512_storeu_epi64(done.as_mut_ptr().cast(), answer);
                    _mm512_storeu_epi64(lanes.as_mut_ptr().cast(), lane);
                }
                let mut set = inline;
                while set != 0 {
                    let j = set.trailing_zeros() as usize & 7;
                    set &= set - 1;
                    if let Some(out) = out.get_mut(lanes[j] as usize) {
                        *out = done[j] as u32;
                    }
                }
            }
            {
                let block = _mm512_srli_epi64::<32>(cover_word);
                let leaf_at = _mm512_add_epi64(block, run);
                let n = external.len.min(BURST);
                // SAFETY: `external` holds lanes of this burst that ended before these, so
                // `n < BURST` and the eight entries written from `n` are inside each array.
                unsafe {
                    _mm512_storeu_epi64(
                        external.at.as_mut_ptr().add(n).cast(),
                        _mm512_maskz_compress_epi64(external_lanes, leaf_at),
                    );
                    _mm512_storeu_epi64(
                        external.best.as_mut_ptr().add(n).cast(),
                        _mm512_maskz_compress_epi64(external_lanes, best),
                    );
                    _mm512_storeu_epi64(
                        external.lane.as_mut_ptr().add(n).cast(),
                        _mm512_maskz_compress_epi64(external_lanes, lane),
                    );
                }
                external.len = n + external_lanes.count_ones() as usize;
            }
        }
        i += 8;
    }
}
