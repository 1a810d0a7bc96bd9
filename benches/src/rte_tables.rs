//! DPDK 22.11's own tables, `rte_lpm6` and `rte_fib6` (trie) for IPv6 and `rte_lpm`
//! (DIR-24-8) for IPv4, behind small owning wrappers: the peers the relay's LPM is measured
//! against (benches/lpm-bench). They need an initialised [`Eal`](relay::runtime::Eal).
//! Bench-only: the product never links them, so they live with the benchmarks (their
//! `unsafe` FFI blocks each carry a `// SAFETY:` line).

use std::ffi::CString;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::raw::{c_int, c_uint};
use std::sync::atomic::{AtomicUsize, Ordering};

use dpdk_sys as sys;

/// `rte_fib6` answers misses with the configured default next hop; this is the largest
/// the 4-byte trie accepts (one bit marks extended entries).
pub const FIB_MISS: u64 = (1 << 31) - 1;

/// rte_memory.h's SOCKET_ID_ANY (a macro, so not in the bindings).
const SOCKET_ID_ANY: c_int = -1;

/// Bytes allocated from the DPDK heaps, all sockets.
pub fn heap_allocated() -> usize {
    // SAFETY: plain queries of the initialised EAL; stats is a valid out-pointer.
    unsafe {
        (0..sys::rte_socket_count())
            .map(|idx| {
                let mut stats = sys::rte_malloc_socket_stats::default();
                if sys::rte_malloc_get_socket_stats(sys::rte_socket_id_by_idx(idx), &mut stats) == 0
                {
                    stats.heap_allocsz_bytes
                } else {
                    0
                }
            })
            .sum()
    }
}

fn unique_name(kind: &str) -> CString {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    CString::new(format!("{kind}{n}")).unwrap_or_default()
}

/// An `rte_lpm6` table (owned; freed on drop).
pub struct RteLpm6 {
    raw: *mut sys::rte_lpm6,
}

impl RteLpm6 {
    pub fn new(max_rules: usize, tbl8s: usize) -> Result<Self, String> {
        let config = sys::rte_lpm6_config {
            max_rules: max_rules as u32,
            number_tbl8s: tbl8s as u32,
            flags: 0,
        };
        let name = unique_name("lpm6_");
        // SAFETY: name and config outlive the call; the EAL is initialised.
        let raw = unsafe { sys::rte_lpm6_create(name.as_ptr(), SOCKET_ID_ANY, &config) };
        if raw.is_null() {
            return Err(format!(
                "rte_lpm6_create({max_rules} rules, {tbl8s} tbl8s) failed: more EAL memory"
            ));
        }
        Ok(Self { raw })
    }

    pub fn add(&mut self, prefix: Ipv6Addr, len: u8, hop: u32) -> Result<(), String> {
        // SAFETY: self.raw is a live table; the address is 16 readable bytes.
        let rc = unsafe { sys::rte_lpm6_add(self.raw, prefix.octets().as_ptr(), len, hop) };
        if rc < 0 {
            return Err(format!("rte_lpm6_add {prefix}/{len}: {rc}"));
        }
        Ok(())
    }

    pub fn delete(&mut self, prefix: Ipv6Addr, len: u8) {
        // SAFETY: as in add.
        unsafe { sys::rte_lpm6_delete(self.raw, prefix.octets().as_ptr(), len) };
    }

    /// `out[i]`: next hop, -1 on a miss.
    pub fn lookup_bulk(&self, addrs: &[[u8; 16]], out: &mut [i32]) {
        let n = addrs.len().min(out.len());
        // SAFETY: n addresses and n outputs are valid; DPDK only reads the addresses
        // (the binding takes *mut for the C array type).
        unsafe {
            sys::rte_lpm6_lookup_bulk_func(
                self.raw,
                addrs.as_ptr().cast_mut(),
                out.as_mut_ptr(),
                n as c_uint,
            )
        };
    }
}

impl Drop for RteLpm6 {
    fn drop(&mut self) {
        // SAFETY: created by rte_lpm6_create and freed once.
        unsafe { sys::rte_lpm6_free(self.raw) }
    }
}

/// Which `rte_fib6` bulk lookup runs: see [`RteFib6::select`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fib6Lookup {
    /// `RTE_FIB6_LOOKUP_DEFAULT`, as DPDK chooses it for an application.
    Default,
    /// `RTE_FIB6_LOOKUP_TRIE_VECTOR_AVX512`: AVX-512 gathers.
    Avx512,
}

/// The EAL's current limit on SIMD width, in bits (DPDK's vector paths check it).
pub fn max_simd_bitwidth() -> u16 {
    // SAFETY: a plain query of the EAL's configuration.
    unsafe { sys::rte_vect_get_max_simd_bitwidth() }
}

/// An `rte_fib6` trie (owned; freed on drop).
pub struct RteFib6 {
    raw: *mut sys::rte_fib6,
}

impl RteFib6 {
    /// A trie FIB with 4-byte next hops (31 usable bits).
    pub fn new(max_routes: usize, tbl8s: usize) -> Result<Self, String> {
        let mut conf = sys::rte_fib6_conf {
            type_: sys::RTE_FIB6_TRIE,
            default_nh: FIB_MISS,
            max_routes: max_routes as c_int,
            rib_ext_sz: 0,
            ..Default::default()
        };
        conf.__bindgen_anon_1.trie = sys::rte_fib6_conf__bindgen_ty_1__bindgen_ty_1 {
            nh_sz: sys::RTE_FIB6_TRIE_4B,
            num_tbl8: tbl8s as u32,
        };
        let name = unique_name("fib6_");
        // SAFETY: name and conf outlive the call; the EAL is initialised.
        let raw = unsafe { sys::rte_fib6_create(name.as_ptr(), SOCKET_ID_ANY, &mut conf) };
        if raw.is_null() {
            return Err(format!(
                "rte_fib6_create({max_routes} routes, {tbl8s} tbl8s) failed: more EAL memory"
            ));
        }
        Ok(Self { raw })
    }

    /// Picks the bulk lookup; false if DPDK refuses it (a CPU or build without AVX-512).
    ///
    /// `Default` is what an application gets from `RTE_FIB6_LOOKUP_DEFAULT` at the EAL's
    /// SIMD limit: the AVX-512 walk only where that limit is 512 bits, which DPDK does not
    /// set by default (`RTE_VECT_DEFAULT_SIMD_BITWIDTH` is 256 on x86). `Avx512` raises the
    /// limit for this call only, as `--force-max-simd-bitwidth=512` would for the whole
    /// process, so a later `Default` still sees DPDK's own limit.
    pub fn select(&mut self, lookup: Fib6Lookup) -> bool {
        let kind = match lookup {
            Fib6Lookup::Default => sys::RTE_FIB6_LOOKUP_DEFAULT,
            Fib6Lookup::Avx512 => sys::RTE_FIB6_LOOKUP_TRIE_VECTOR_AVX512,
        };
        let limit = max_simd_bitwidth();
        let raise = lookup == Fib6Lookup::Avx512 && u32::from(limit) < sys::RTE_VECT_SIMD_512;
        // SAFETY: self.raw is a live FIB; the SIMD limit is a plain EAL setting, put back
        // before returning (setting it fails only where the command line forced it).
        unsafe {
            if raise {
                sys::rte_vect_set_max_simd_bitwidth(sys::RTE_VECT_SIMD_512 as u16);
            }
            let selected = sys::rte_fib6_select_lookup(self.raw, kind) == 0;
            if raise {
                sys::rte_vect_set_max_simd_bitwidth(limit);
            }
            selected
        }
    }

    pub fn add(&mut self, prefix: Ipv6Addr, len: u8, hop: u32) -> Result<(), String> {
        // SAFETY: self.raw is a live FIB; the address is 16 readable bytes.
        let rc =
            unsafe { sys::rte_fib6_add(self.raw, prefix.octets().as_ptr(), len, u64::from(hop)) };
        if rc < 0 {
            return Err(format!("rte_fib6_add {prefix}/{len}: {rc}"));
        }
        Ok(())
    }

    pub fn delete(&mut self, prefix: Ipv6Addr, len: u8) {
        // SAFETY: as in add.
        unsafe { sys::rte_fib6_delete(self.raw, prefix.octets().as_ptr(), len) };
    }

    /// `out[i]`: next hop, `FIB_MISS` on a miss.
    pub fn lookup_bulk(&self, addrs: &[[u8; 16]], out: &mut [u64]) {
        let n = addrs.len().min(out.len());
        // SAFETY: n addresses and n outputs are valid; DPDK only reads the addresses.
        unsafe {
            sys::rte_fib6_lookup_bulk(
                self.raw,
                addrs.as_ptr().cast_mut(),
                out.as_mut_ptr(),
                n as c_int,
            )
        };
    }
}

impl Drop for RteFib6 {
    fn drop(&mut self) {
        // SAFETY: created by rte_fib6_create and freed once.
        unsafe { sys::rte_fib6_free(self.raw) }
    }
}

/// `rte_lpm`'s flag on a bulk lookup's result: the low 24 bits are a next hop.
const LPM_LOOKUP_SUCCESS: u32 = 0x0100_0000;

/// An `rte_lpm` table (owned; freed on drop). Addresses are in host byte order, as
/// `rte_lpm` takes them.
pub struct RteLpm {
    raw: *mut sys::rte_lpm,
}

impl RteLpm {
    /// The largest next hop `rte_lpm` keeps (24 bits).
    pub const MAX_NEXT_HOP: u32 = (1 << 24) - 1;

    pub fn new(max_rules: usize, tbl8s: usize) -> Result<Self, String> {
        let config = sys::rte_lpm_config {
            max_rules: max_rules as u32,
            number_tbl8s: tbl8s as u32,
            flags: 0,
        };
        let name = unique_name("lpm4_");
        // SAFETY: name and config outlive the call; the EAL is initialised.
        let raw = unsafe { sys::rte_lpm_create(name.as_ptr(), SOCKET_ID_ANY, &config) };
        if raw.is_null() {
            return Err(format!(
                "rte_lpm_create({max_rules} rules, {tbl8s} tbl8s) failed: more EAL memory"
            ));
        }
        Ok(Self { raw })
    }

    pub fn add(&mut self, prefix: Ipv4Addr, len: u8, hop: u32) -> Result<(), String> {
        // SAFETY: self.raw is a live table.
        let rc = unsafe { sys::rte_lpm_add(self.raw, u32::from(prefix), len, hop) };
        if rc < 0 {
            return Err(format!("rte_lpm_add {prefix}/{len}: {rc}"));
        }
        Ok(())
    }

    pub fn delete(&mut self, prefix: Ipv4Addr, len: u8) {
        // SAFETY: as in add.
        unsafe { sys::rte_lpm_delete(self.raw, u32::from(prefix), len) };
    }

    /// `rte_lpm_lookup_bulk`: `out[i]` is the raw result, see [`RteLpm::hop`].
    pub fn lookup_bulk(&self, addrs: &[u32], out: &mut [u32]) {
        let n = addrs.len().min(out.len());
        // SAFETY: n addresses and n outputs are valid; the table is live.
        unsafe {
            sys::relay_lpm_lookup_bulk(self.raw, addrs.as_ptr(), out.as_mut_ptr(), n as c_uint)
        };
    }

    /// `rte_lpm_lookupx4` four at a time: `out[i]` is the next hop, `miss` if none.
    pub fn lookup_x4(&self, addrs: &[u32], out: &mut [u32], miss: u32) {
        let n = addrs.len().min(out.len());
        // SAFETY: as in lookup_bulk.
        unsafe {
            sys::relay_lpm_lookupx4_bulk(
                self.raw,
                addrs.as_ptr(),
                out.as_mut_ptr(),
                n as c_uint,
                miss,
            )
        };
    }

    /// The next hop in a [`RteLpm::lookup_bulk`] result, `None` on a miss.
    pub fn hop(result: u32) -> Option<u32> {
        (result & LPM_LOOKUP_SUCCESS != 0).then_some(result & Self::MAX_NEXT_HOP)
    }
}

impl Drop for RteLpm {
    fn drop(&mut self) {
        // SAFETY: created by rte_lpm_create and freed once.
        unsafe { sys::rte_lpm_free(self.raw) }
    }
}
