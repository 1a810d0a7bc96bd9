//! The one module of `lpm` with `unsafe`: the x86-64 instruction safe Rust cannot name, a
//! software prefetch, behind a safe function, so that [`super::Lpm::lookup_bulk`] prefetches
//! without a callback. (An AVX-512 walk of eight lanes per step by gathers was measured
//! here and dropped: `mod.rs`, "SIMD".)

/// Prefetches the cache line at `p` into every cache level.
#[inline(always)]
pub(super) fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of x86-64, so the instruction exists on every CPU this builds
    // for; a prefetch is a hint that never faults and reads nothing the program sees, so
    // any address, in bounds or not, is sound.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
