//! The tables under test behind one interface, so that runs can be interleaved: the traits
//! `bench_size` drives, and their IPv6 tables (`tables4.rs` has the IPv4 ones).

use std::net::Ipv6Addr;
use std::time::Duration;

use prefix_trie::PrefixMap;
use relay::lpm::{Family, Lpm, Lpm6, V6};

use relay_benches::rte_tables::{heap_allocated, Fib6Lookup, RteFib6, RteLpm6, FIB_MISS};
use crate::measure::{self, time_bursts};

const MISS: u32 = Lpm6::MISS;

/// A route of family `F`: prefix, length, next hop.
pub type Route<F> = (<F as Family>::Prefix, u8, u32);

/// A kind of table under test, for one address family.
pub trait BenchKind: Copy + PartialEq {
    type Family: Family;
    type Table: BenchTable<Family = Self::Family, Pass = Self::Pass>;
    type Pass: BenchPass<Kind = Self>;
    /// What the DPDK tables are created with (tbl8 groups), sized from the routes.
    type Sizing: Copy;

    /// Builds the full table route by route (`from_routes` for relay).
    fn build(self, routes: &[Route<Self::Family>], sizing: Self::Sizing)
        -> Result<Self::Table, String>;
    /// Bytes live on the heap the table's memory comes from: the Rust allocator or DPDK's.
    fn heap(self) -> usize;
}

/// One way of looking up a burst: a table and one of its entry points.
pub trait BenchPass: Copy + PartialEq {
    type Kind;
    fn name(self) -> &'static str;
    fn kind(self) -> Self::Kind;
}

/// A built table under test.
pub trait BenchTable {
    type Family: Family;
    type Pass;
    /// Whether `pass` can run here (DPDK may refuse a vector walk).
    fn supports(&mut self, pass: Self::Pass) -> bool;
    /// One timed pass over `keys` (repeated for at least `out.min_pass`); returns million
    /// lookups/s and the answers that differ from `expected`.
    fn lookup_pass(
        &mut self,
        pass: Self::Pass,
        keys: &[<Self::Family as Family>::Addr],
        expected: &[u32],
        out: &mut Scratch,
    ) -> (f64, usize);
    fn delete(&mut self, prefix: <Self::Family as Family>::Prefix, len: u8) -> Result<(), String>;
    fn insert(
        &mut self,
        prefix: <Self::Family as Family>::Prefix,
        len: u8,
        hop: u32,
    ) -> Result<(), String>;
}

/// tbl8 groups each DPDK table is created with.
#[derive(Clone, Copy)]
pub struct Tbl8s {
    pub lpm6: usize,
    pub fib6: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Relay,
    Lpm6,
    Fib6,
    PrefixTrie,
}

pub enum Table {
    Relay(Lpm6),
    Lpm6(RteLpm6),
    Fib6(RteFib6),
    PrefixTrie(PrefixMap<(u128, u8), u32>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    RelayPrefetch,
    RelayBulk,
    RelaySingle,
    Lpm6Bulk,
    Fib6Default,
    Fib6Avx512,
    PrefixTrie,
}

impl BenchPass for Pass {
    type Kind = Kind;

    fn name(self) -> &'static str {
        match self {
            Self::RelayPrefetch => "relay `Lpm6::lookup_bulk` (prefetching)",
            Self::RelayBulk => "relay `Lpm6::lookup_bulk_with_prefetch` (a no-op prefetch)",
            Self::RelaySingle => "relay `Lpm6::lookup` (one at a time)",
            Self::Lpm6Bulk => "DPDK `rte_lpm6_lookup_bulk_func`",
            Self::Fib6Default => "DPDK `rte_fib6_lookup_bulk` (trie, DPDK's default lookup)",
            Self::Fib6Avx512 => "DPDK `rte_fib6_lookup_bulk` (trie, AVX-512, opt-in)",
            Self::PrefixTrie => "`prefix-trie` 0.10 `PrefixMap::get_lpm`",
        }
    }

    fn kind(self) -> Kind {
        match self {
            Self::RelayPrefetch | Self::RelayBulk | Self::RelaySingle => Kind::Relay,
            Self::Lpm6Bulk => Kind::Lpm6,
            Self::Fib6Default | Self::Fib6Avx512 => Kind::Fib6,
            Self::PrefixTrie => Kind::PrefixTrie,
        }
    }
}

impl Pass {
    /// The `rte_fib6` lookup this pass selects (the default one for passes of other tables).
    fn fib6_lookup(self) -> Fib6Lookup {
        match self {
            Self::Fib6Avx512 => Fib6Lookup::Avx512,
            _ => Fib6Lookup::Default,
        }
    }
}

/// Output buffers in each table's native type.
pub struct Scratch {
    pub hops: Vec<u32>,
    lpm6: Vec<i32>,
    fib6: Vec<u64>,
    /// Addresses in host byte order, for `rte_lpm`.
    pub host_order: Vec<u32>,
    /// A timed pass repeats the set until at least this long has passed.
    pub min_pass: Duration,
}

impl Scratch {
    pub fn new(len: usize, min_pass: Duration) -> Self {
        Self {
            hops: vec![0; len],
            lpm6: vec![0; len],
            fib6: vec![0; len],
            host_order: Vec::with_capacity(len),
            min_pass,
        }
    }
}

/// relay's entry points, for either family.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Way {
    Prefetch,
    Bulk,
    Single,
}

/// [`BenchTable::lookup_pass`] for a relay table.
pub fn relay_pass<F: Family>(
    table: &Lpm<F>,
    way: Way,
    keys: &[F::Addr],
    expected: &[u32],
    out: &mut Scratch,
) -> (f64, usize) {
    let d = match way {
        Way::Prefetch => time_bursts(keys, out.min_pass, &mut out.hops, |k, o| table.lookup_bulk(k, o)),
        Way::Bulk => time_bursts(keys, out.min_pass, &mut out.hops, |k, o| {
            table.lookup_bulk_with_prefetch(k, o, |_| {})
        }),
        Way::Single => time_bursts(keys, out.min_pass, &mut out.hops, |k, o| {
            for (key, hop) in k.iter().zip(o) {
                *hop = table.lookup(key);
            }
        }),
    };
    (d, mismatches(&out.hops, expected, |v| v))
}

pub fn mismatches<T: Copy>(got: &[T], expected: &[u32], normalise: impl Fn(T) -> u32) -> usize {
    got.iter()
        .zip(expected)
        .filter(|&(&g, &e)| normalise(g) != e)
        .count()
}

fn fib6_hop(v: u64) -> u32 {
    if v == FIB_MISS {
        MISS
    } else {
        v as u32
    }
}

impl BenchKind for Kind {
    type Family = V6;
    type Table = Table;
    type Pass = Pass;
    type Sizing = Tbl8s;

    fn build(self, routes: &[Route<V6>], tbl8s: Tbl8s) -> Result<Table, String> {
        Ok(match self {
            Kind::Relay => {
                Table::Relay(Lpm6::from_routes(routes.iter().copied()).map_err(|e| e.to_string())?)
            }
            Kind::Lpm6 => {
                let mut lpm = RteLpm6::new(routes.len() + 1024, tbl8s.lpm6)?;
                for &(prefix, len, hop) in routes {
                    lpm.add(prefix, len, hop)?;
                }
                Table::Lpm6(lpm)
            }
            Kind::Fib6 => {
                let mut fib = RteFib6::new(routes.len() + 1024, tbl8s.fib6)?;
                for &(prefix, len, hop) in routes {
                    fib.add(prefix, len, hop)?;
                }
                Table::Fib6(fib)
            }
            Kind::PrefixTrie => {
                let mut map = PrefixMap::new();
                for &(prefix, len, hop) in routes {
                    map.insert((u128::from(prefix), len), hop);
                }
                Table::PrefixTrie(map)
            }
        })
    }

    fn heap(self) -> usize {
        match self {
            Kind::Relay | Kind::PrefixTrie => measure::heap_live(),
            Kind::Lpm6 | Kind::Fib6 => heap_allocated(),
        }
    }
}

impl BenchTable for Table {
    type Family = V6;
    type Pass = Pass;

    fn supports(&mut self, pass: Pass) -> bool {
        match (self, pass) {
            (Table::Fib6(fib), Pass::Fib6Avx512) => fib.select(pass.fib6_lookup()),
            (table, pass) => {
                let kind = match table {
                    Table::Relay(_) => Kind::Relay,
                    Table::Lpm6(_) => Kind::Lpm6,
                    Table::Fib6(_) => Kind::Fib6,
                    Table::PrefixTrie(_) => Kind::PrefixTrie,
                };
                kind == pass.kind()
            }
        }
    }

    fn lookup_pass(
        &mut self,
        pass: Pass,
        keys: &[[u8; 16]],
        expected: &[u32],
        out: &mut Scratch,
    ) -> (f64, usize) {
        let min = out.min_pass;
        match (self, pass) {
            (Table::Relay(t), Pass::RelayPrefetch) => relay_pass(t, Way::Prefetch, keys, expected, out),
            (Table::Relay(t), Pass::RelayBulk) => relay_pass(t, Way::Bulk, keys, expected, out),
            (Table::Relay(t), Pass::RelaySingle) => relay_pass(t, Way::Single, keys, expected, out),
            (Table::Lpm6(t), _) => {
                let d = time_bursts(keys, min, &mut out.lpm6, |k, o| t.lookup_bulk(k, o));
                (
                    d,
                    mismatches(&out.lpm6, expected, |v| u32::try_from(v).unwrap_or(MISS)),
                )
            }
            (Table::Fib6(t), pass) => {
                t.select(pass.fib6_lookup());
                let d = time_bursts(keys, min, &mut out.fib6, |k, o| t.lookup_bulk(k, o));
                (d, mismatches(&out.fib6, expected, fib6_hop))
            }
            (Table::PrefixTrie(t), _) => {
                let d = time_bursts(keys, min, &mut out.hops, |k, o| {
                    for (key, hop) in k.iter().zip(o) {
                        *hop = t
                            .get_lpm(&(u128::from_be_bytes(*key), 128))
                            .map_or(MISS, |(_, &v)| v);
                    }
                });
                (d, mismatches(&out.hops, expected, |v| v))
            }
            (Table::Relay(_), _) => (0.0, keys.len()),
        }
    }

    fn delete(&mut self, prefix: Ipv6Addr, len: u8) -> Result<(), String> {
        match self {
            Table::Relay(t) => {
                t.remove(prefix, len).map_err(|e| e.to_string())?;
            }
            Table::Lpm6(t) => t.delete(prefix, len),
            Table::Fib6(t) => t.delete(prefix, len),
            Table::PrefixTrie(t) => {
                t.remove(&(u128::from(prefix), len));
            }
        }
        Ok(())
    }

    fn insert(&mut self, prefix: Ipv6Addr, len: u8, hop: u32) -> Result<(), String> {
        match self {
            Table::Relay(t) => t
                .insert(prefix, len, hop)
                .map(drop)
                .map_err(|e| e.to_string()),
            Table::Lpm6(t) => t.add(prefix, len, hop),
            Table::Fib6(t) => t.add(prefix, len, hop),
            Table::PrefixTrie(t) => {
                t.insert((u128::from(prefix), len), hop);
                Ok(())
            }
        }
    }
}
