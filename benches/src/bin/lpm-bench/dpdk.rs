//! Sizing of the DPDK tables under test (the tables themselves are
//! `relay_benches::rte_tables`, where the FFI lives).

use std::net::{Ipv4Addr, Ipv6Addr};

/// tbl8 groups `rte_lpm` needs for `routes`: one per /24 that a longer prefix extends.
pub fn lpm_tbl8s(routes: &[(Ipv4Addr, u8, u32)]) -> usize {
    let groups: std::collections::HashSet<u32> = routes
        .iter()
        .filter(|r| r.1 > 24)
        .map(|r| u32::from(r.0) >> 8)
        .collect();
    groups.len()
}

/// tbl8 groups `rte_lpm6` needs for `routes`: one per distinct 24-, 32-, 40-… bit path that
/// a longer prefix extends.
pub fn lpm6_tbl8s(routes: &[(Ipv6Addr, u8, u32)]) -> usize {
    let mut groups = std::collections::HashSet::new();
    for &(prefix, len, _) in routes {
        let key = u128::from(prefix);
        let mut depth = 24u32;
        while depth < u32::from(len) {
            groups.insert((depth, key >> (128 - depth)));
            depth += 8;
        }
    }
    groups.len()
}

/// tbl8 groups `rte_fib6`'s trie must be configured with for `routes`: it refuses an add
/// unless it can reserve the groups the prefix could need on its own (one per byte past
/// /24, less what a covering prefix already holds; `trie_modify` in DPDK's trie.c), so the
/// bound is that count with no sharing.
pub fn fib6_tbl8s(routes: &[(Ipv6Addr, u8, u32)]) -> usize {
    routes
        .iter()
        .map(|&(_, len, _)| (usize::from(len).div_ceil(8) * 8).saturating_sub(24) / 8)
        .sum()
}
