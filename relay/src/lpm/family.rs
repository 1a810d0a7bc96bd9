//! The address families a poptrie serves: what differs between the IPv4 and IPv6 tables.
//!
//! Everything else (nodes, slots, updates, the burst walk) is one piece of code because a
//! key is always held the same way: the address's bits left-aligned in a `u128`, so that
//! an IPv4 address is its 32 bits followed by 96 zeros. A node's slot at depth `d` is then
//! bits `d..d + 7` of the key for either family, and the prefix masks are the same. The
//! burst walk reads only a key's top 64 bits above depth 57, which is all of an IPv4 key.

use core::fmt::Debug;
use core::ops::{Index, IndexMut};
use std::net::{Ipv4Addr, Ipv6Addr};

/// An address family's parameters for [`super::Lpm`]: [`V4`] or [`V6`]. Sealed.
pub trait Family: sealed::Sealed + Copy + Debug + Default + Send + Sync + 'static {
    /// Address length in bits: the longest prefix.
    const BITS: u8;
    /// Bits resolved by the direct table.
    const DIRECT_BITS: u32;
    /// The table's name in `Debug` output.
    const NAME: &'static str;
    /// Whether a burst's last step picks between a node's inline and external leaves by a
    /// select rather than a branch: right where that is a coin toss, as in an IPv4 table's
    /// /18 nodes, which hold a few prefixes each (+10–15 % in-table lookups at 1M
    /// prefixes). The IPv6 walk kept its speed in-table with it but lost 8 % of its random
    /// lookups (`lpm-bench`, 250k prefixes), so it keeps the branch.
    const SELECT_LEAF: bool;
    /// A prefix as the API takes it.
    type Prefix: Copy + Debug + Eq;
    /// An address as lookups take it: network byte order.
    type Addr: Copy;
    /// How the prefix set keys a prefix of up to 64 bits: the top bits of its key, as few
    /// as hold the family's prefixes (an IPv4 map entry is half of an IPv6 one).
    #[doc(hidden)]
    type Short: Copy + Eq + core::hash::Hash + Debug + Send + Sync + Into<u128> + 'static;
    /// The direct table, `[u32; 1 << DIRECT_BITS]`: a fixed size, so that indexing it by
    /// `DIRECT_BITS` bits of a key needs no bounds check.
    #[doc(hidden)]
    type Direct: sealed::Fixed<u32>;
    /// Its "no route" bitmap, one bit per entry.
    #[doc(hidden)]
    type Empty: sealed::Fixed<u64>;

    /// `prefix` as a left-aligned key.
    fn prefix_key(prefix: Self::Prefix) -> u128;
    /// The prefix of a left-aligned key (bits past `BITS` are dropped).
    fn key_prefix(key: u128) -> Self::Prefix;
    /// `addr` as a left-aligned key.
    fn addr_key(addr: &Self::Addr) -> u128;
    /// The top 64 bits of `addr`'s left-aligned key.
    fn addr_top(addr: &Self::Addr) -> u64;
    /// The address of a left-aligned key (bits past `BITS` are dropped).
    fn key_addr(key: u128) -> Self::Addr;
    /// The top bits of a left-aligned key, as the prefix set keys it.
    #[doc(hidden)]
    fn short_key(key: u128) -> Self::Short;
}

/// IPv4: an 18-bit direct level, as the Poptrie paper's best IPv4 variant ("Poptrie18"):
/// 1 MiB of direct entries, and a /24, most of a real table, found in the first node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct V4;

/// IPv6: a 20-bit direct level (the module docs say why).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct V6;

impl Family for V4 {
    const BITS: u8 = 32;
    const DIRECT_BITS: u32 = 18;
    const NAME: &'static str = "Lpm4";
    const SELECT_LEAF: bool = true;
    type Prefix = Ipv4Addr;
    type Addr = [u8; 4];
    type Short = u32;
    type Direct = [u32; 1 << 18];
    type Empty = [u64; (1 << 18) / 64];

    fn prefix_key(prefix: Ipv4Addr) -> u128 {
        u128::from(u32::from(prefix)) << 96
    }
    fn key_prefix(key: u128) -> Ipv4Addr {
        Ipv4Addr::from((key >> 96) as u32)
    }
    #[inline(always)]
    fn addr_key(addr: &[u8; 4]) -> u128 {
        u128::from(u32::from_be_bytes(*addr)) << 96
    }
    #[inline(always)]
    fn addr_top(addr: &[u8; 4]) -> u64 {
        u64::from(u32::from_be_bytes(*addr)) << 32
    }
    fn key_addr(key: u128) -> [u8; 4] {
        ((key >> 96) as u32).to_be_bytes()
    }
    fn short_key(key: u128) -> u32 {
        (key >> 96) as u32
    }
}

impl Family for V6 {
    const BITS: u8 = 128;
    const DIRECT_BITS: u32 = 20;
    const NAME: &'static str = "Lpm6";
    const SELECT_LEAF: bool = false;
    type Prefix = Ipv6Addr;
    type Addr = [u8; 16];
    type Short = u64;
    type Direct = [u32; 1 << 20];
    type Empty = [u64; (1 << 20) / 64];

    fn prefix_key(prefix: Ipv6Addr) -> u128 {
        u128::from(prefix)
    }
    fn key_prefix(key: u128) -> Ipv6Addr {
        Ipv6Addr::from(key)
    }
    #[inline(always)]
    fn addr_key(addr: &[u8; 16]) -> u128 {
        u128::from_be_bytes(*addr)
    }
    #[inline(always)]
    fn addr_top(addr: &[u8; 16]) -> u64 {
        let [a, b, c, d, e, f, g, h, ..] = *addr;
        u64::from_be_bytes([a, b, c, d, e, f, g, h])
    }
    fn key_addr(key: u128) -> [u8; 16] {
        key.to_be_bytes()
    }
    fn short_key(key: u128) -> u64 {
        (key >> 64) as u64
    }
}

/// `prefix/len`'s left-aligned mask (any family: the bits past its address are zero).
pub(super) fn prefix_mask(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

pub(super) mod sealed {
    use super::{Debug, Index, IndexMut};

    pub trait Sealed {}
    impl Sealed for super::V4 {}
    impl Sealed for super::V6 {}

    /// A fixed-size array of `T`.
    pub trait Fixed<T>:
        AsRef<[T]>
        + AsMut<[T]>
        + Index<usize, Output = T>
        + IndexMut<usize>
        + Clone
        + Debug
        + PartialEq
        + Send
        + Sync
        + 'static
    {
        /// Every entry `value`, allocated on the heap (never built on the stack).
        fn filled(value: T) -> Box<Self>;
    }

    impl<T: Copy + Debug + PartialEq + Send + Sync + 'static, const N: usize> Fixed<T> for [T; N] {
        fn filled(value: T) -> Box<Self> {
            let table: Box<[T]> = vec![value; N].into_boxed_slice();
            match table.try_into() {
                Ok(table) => table,
                Err(_) => unreachable!("allocated with N entries"),
            }
        }
    }
}
