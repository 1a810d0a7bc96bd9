//! The IPv4 tables under test: relay's `Lpm4` (poptrie) and `Dir24` (DIR-24-8, 16-bit
//! entries), and DPDK's `rte_lpm` (DIR-24-8, 32-bit entries).

use std::net::Ipv4Addr;

use relay::lpm::dir24::Dir24;
use relay::lpm::{Lpm4, V4};
use relay_benches::rte_tables::{heap_allocated, RteLpm};

use crate::measure::{self, time_bursts};
use crate::tables::{
    mismatches, relay_pass, BenchKind, BenchPass, BenchTable, Route, Scratch, Way,
};

const MISS: u32 = Lpm4::MISS;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind4 {
    Relay,
    Dir24,
    Lpm,
}

pub enum Table4 {
    /// Boxed: the table's header is a few hundred bytes, `rte_lpm`'s a pointer.
    Relay(Box<Lpm4>),
    Dir24(Box<Dir24>),
    Lpm(RteLpm),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Pass4 {
    RelayPrefetch,
    RelayBulk,
    RelaySingle,
    Dir24Prefetch,
    Dir24Single,
    LpmBulk,
    LpmX4,
}

impl BenchPass for Pass4 {
    type Kind = Kind4;

    fn name(self) -> &'static str {
        match self {
            Self::RelayPrefetch => "relay `Lpm4::lookup_bulk` (prefetching)",
            Self::RelayBulk => "relay `Lpm4::lookup_bulk_with_prefetch` (a no-op prefetch)",
            Self::RelaySingle => "relay `Lpm4::lookup` (one at a time)",
            Self::Dir24Prefetch => "relay `Dir24::lookup_bulk_with_prefetch` (`_mm_prefetch`)",
            Self::Dir24Single => "relay `Dir24::lookup` (one at a time)",
            Self::LpmBulk => "DPDK `rte_lpm_lookup_bulk`",
            Self::LpmX4 => "DPDK `rte_lpm_lookupx4` (SSE, as l3fwd)",
        }
    }

    fn kind(self) -> Kind4 {
        match self {
            Self::RelayPrefetch | Self::RelayBulk | Self::RelaySingle => Kind4::Relay,
            Self::Dir24Prefetch | Self::Dir24Single => Kind4::Dir24,
            Self::LpmBulk | Self::LpmX4 => Kind4::Lpm,
        }
    }
}

impl BenchKind for Kind4 {
    type Family = V4;
    type Table = Table4;
    type Pass = Pass4;
    /// `rte_lpm`'s tbl8 groups.
    type Sizing = usize;

    fn build(self, routes: &[Route<V4>], tbl8s: usize) -> Result<Table4, String> {
        Ok(match self {
            Kind4::Relay => {
                let table = Lpm4::from_routes(routes.iter().copied()).map_err(|e| e.to_string())?;
                Table4::Relay(Box::new(table))
            }
            Kind4::Dir24 => {
                // Shortest first: each later prefix paints only its own entries once.
                let mut sorted = routes.to_vec();
                sorted.sort_by_key(|r| r.1);
                let mut table = Box::new(Dir24::new());
                for (prefix, len, hop) in sorted {
                    table.insert(prefix, len, hop).map_err(|e| e.to_string())?;
                }
                Table4::Dir24(table)
            }
            Kind4::Lpm => {
                let mut lpm = RteLpm::new(routes.len() + 1024, tbl8s)?;
                for &(prefix, len, hop) in routes {
                    lpm.add(prefix, len, hop)?;
                }
                Table4::Lpm(lpm)
            }
        })
    }

    fn heap(self) -> usize {
        match self {
            Kind4::Relay | Kind4::Dir24 => measure::heap_live(),
            Kind4::Lpm => heap_allocated(),
        }
    }
}

impl BenchTable for Table4 {
    type Family = V4;
    type Pass = Pass4;

    fn supports(&mut self, pass: Pass4) -> bool {
        let kind = match self {
            Table4::Relay(_) => Kind4::Relay,
            Table4::Dir24(_) => Kind4::Dir24,
            Table4::Lpm(_) => Kind4::Lpm,
        };
        kind == pass.kind()
    }

    fn lookup_pass(
        &mut self,
        pass: Pass4,
        keys: &[[u8; 4]],
        expected: &[u32],
        out: &mut Scratch,
    ) -> (f64, usize) {
        let (t, way) = match (self, pass) {
            (Table4::Relay(t), Pass4::RelayPrefetch) => (t, Way::Prefetch),
            (Table4::Relay(t), Pass4::RelayBulk) => (t, Way::Bulk),
            (Table4::Relay(t), Pass4::RelaySingle) => (t, Way::Single),
            (Table4::Dir24(t), pass) => return dir24_pass(t, pass, keys, expected, out),
            (Table4::Lpm(t), pass) => return rte_lpm_pass(t, pass, keys, expected, out),
            (Table4::Relay(_), _) => return (0.0, keys.len()),
        };
        relay_pass(t, way, keys, expected, out)
    }

    fn delete(&mut self, prefix: Ipv4Addr, len: u8) -> Result<(), String> {
        match self {
            Table4::Relay(t) => {
                t.remove(prefix, len).map_err(|e| e.to_string())?;
            }
            Table4::Dir24(t) => {
                t.remove(prefix, len).map_err(|e| e.to_string())?;
            }
            Table4::Lpm(t) => t.delete(prefix, len),
        }
        Ok(())
    }

    fn insert(&mut self, prefix: Ipv4Addr, len: u8, hop: u32) -> Result<(), String> {
        match self {
            Table4::Relay(t) => t
                .insert(prefix, len, hop)
                .map(drop)
                .map_err(|e| e.to_string()),
            Table4::Dir24(t) => t.insert(prefix, len, hop).map(drop).map_err(|e| e.to_string()),
            Table4::Lpm(t) => t.add(prefix, len, hop),
        }
    }
}

/// A pass of relay's `Dir24`.
fn dir24_pass(table: &Dir24, pass: Pass4, keys: &[[u8; 4]], expected: &[u32], out: &mut Scratch) -> (f64, usize) {
    let rate = if pass == Pass4::Dir24Single {
        time_bursts(keys, out.min_pass, &mut out.hops, |k, o| {
            for (key, hop) in k.iter().zip(o) {
                *hop = table.lookup(key);
            }
        })
    } else {
        time_bursts(keys, out.min_pass, &mut out.hops, |k, o| table.lookup_bulk_with_prefetch(k, o, measure::prefetch))
    };
    (rate, mismatches(&out.hops, expected, |v| v))
}

/// A pass of `rte_lpm`, which takes addresses in host byte order: converted before the
/// clock starts (on a packet, a byte swap of the destination).
fn rte_lpm_pass(
    table: &RteLpm,
    pass: Pass4,
    keys: &[[u8; 4]],
    expected: &[u32],
    out: &mut Scratch,
) -> (f64, usize) {
    let mut host = std::mem::take(&mut out.host_order);
    host.clear();
    host.extend(keys.iter().map(|&k| u32::from_be_bytes(k)));
    let rate = if pass == Pass4::LpmX4 {
        time_bursts(&host, out.min_pass, &mut out.hops, |k, o| {
            table.lookup_x4(k, o, MISS)
        })
    } else {
        time_bursts(&host, out.min_pass, &mut out.hops, |k, o| {
            table.lookup_bulk(k, o)
        })
    };
    out.host_order = host;
    let wrong = if pass == Pass4::LpmX4 {
        mismatches(&out.hops, expected, |v| v)
    } else {
        mismatches(&out.hops, expected, |v| RteLpm::hop(v).unwrap_or(MISS))
    };
    (rate, wrong)
}
