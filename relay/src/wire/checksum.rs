//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! Partial sums are `u32` values at most `0xFFFF` (already folded), so a caller can add
//! a pseudo-header sum and a payload sum and then [`fold`] once.

/// Bytes per block in [`sum`]: a `u64` adding 32-bit words cannot overflow within one.
const BLOCK: usize = 1 << 30;

/// One's-complement sum of `data` taken as big-endian 16-bit words (an odd trailing byte
/// is padded with zero), folded to at most `0xFFFF`.
#[inline]
pub fn sum(data: &[u8]) -> u32 {
    // 2^32 ≡ 1 (mod 2^16 - 1): summing 32-bit words into a wide accumulator and folding
    // gives the same one's-complement sum as 16-bit words, with half the additions.
    let mut total: u32 = 0;
    for block in data.chunks(BLOCK) {
        let mut acc: u64 = 0;
        let mut words = block.chunks_exact(4);
        for w in &mut words {
            acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
        }
        let rest = words.remainder();
        let mut tail = [0u8; 4];
        tail[..rest.len()].copy_from_slice(rest);
        acc += u64::from(u32::from_be_bytes(tail));
        total += u32::from(fold64(acc));
    }
    u32::from(fold(total))
}

/// An IPv4 header (`data`, `ihl` bytes) whose checksum verifies: its sum is 0xFFFF. Every
/// received packet asks, so the fixed 20 bytes are five words in registers, taken in
/// native byte order: that sums the byte-swapped words, which gives the byte-swapped sum
/// (RFC 1071 section 2(B)), and 0xFFFF is its own swap. Options go through [`sum`].
#[inline(always)]
pub fn ipv4_header_ok(data: &[u8]) -> bool {
    let Some((fixed, options)) = data.split_first_chunk::<20>() else { return fold(sum(data)) == 0xffff };
    let word = |i: usize| u64::from(u32::from_ne_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]));
    let native = fold64(word(0) + word(4) + word(8) + word(12) + word(16));
    if options.is_empty() {
        return native == 0xffff;
    }
    fold(u32::from(u16::from_be(native)) + sum(options)) == 0xffff
}

#[inline]
fn fold64(mut acc: u64) -> u16 {
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    fold(acc as u32)
}

/// Folds a 32-bit sum into 16 bits with end-around carry.
#[inline]
pub fn fold(sum: u32) -> u16 {
    let s = (sum & 0xffff) + (sum >> 16);
    let s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// The checksum to store for `data` whose checksum field is zero.
#[inline]
pub fn internet_checksum(data: &[u8]) -> u16 {
    !fold(sum(data))
}

/// Sum of the IPv4 pseudo-header (RFC 768 / RFC 793) for an upper-layer message.
#[inline]
pub fn pseudo_header_v4(src: &[u8; 4], dst: &[u8; 4], protocol: u8, upper_len: u16) -> u32 {
    let words = [
        u16::from_be_bytes([src[0], src[1]]),
        u16::from_be_bytes([src[2], src[3]]),
        u16::from_be_bytes([dst[0], dst[1]]),
        u16::from_be_bytes([dst[2], dst[3]]),
        u16::from(protocol),
        upper_len,
    ];
    u32::from(fold(words.iter().map(|&w| u32::from(w)).sum()))
}

/// Sum of the IPv6 pseudo-header (RFC 8200 section 8.1) for an upper-layer message.
#[inline]
pub fn pseudo_header_v6(src: &[u8; 16], dst: &[u8; 16], next_header: u8, upper_len: u32) -> u32 {
    let addrs = sum(src) + sum(dst);
    let len = (upper_len >> 16) + (upper_len & 0xffff);
    u32::from(fold(addrs + len + u32::from(next_header)))
}

/// RFC 1624 eqn. 3: the new checksum after one 16-bit word of the covered data changes
/// from `old_word` to `new_word`. `HC' = ~(~HC + ~m + m')`.
#[inline]
pub fn update16(old_csum: u16, old_word: u16, new_word: u16) -> u16 {
    !fold(u32::from(!old_csum) + u32::from(!old_word) + u32::from(new_word))
}

/// [`update16`] for a 32-bit aligned field (an IPv4 address) changing from `old` to `new`.
#[inline]
pub fn update32(old_csum: u16, old: u32, new: u32) -> u16 {
    let removed = u32::from(!(old >> 16) as u16) + u32::from(!(old as u16));
    let added = (new >> 16) + (new & 0xffff);
    !fold(u32::from(!old_csum) + removed + added)
}

/// [`update16`] for a run of bytes starting at an even offset of the covered data
/// (e.g. a 16-byte IPv6 address) changing from `old` to `new` (same length).
#[inline]
pub fn update_bytes(old_csum: u16, old: &[u8], new: &[u8]) -> u16 {
    let removed = !fold(sum(old));
    !fold(u32::from(!old_csum) + u32::from(removed) + sum(new))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reference: plain 16-bit word loop, as in RFC 1071 section 4.1.
    fn reference_sum(data: &[u8]) -> u16 {
        let mut acc: u64 = 0;
        for pair in data.chunks(2) {
            let hi = u64::from(pair[0]) << 8;
            let lo = pair.get(1).map_or(0, |&b| u64::from(b));
            acc += hi | lo;
        }
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(sum(&data), 0xddf2);
        assert_eq!(internet_checksum(&data), 0x220d);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(&[0x12]), 0x1200);
        assert_eq!(sum(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
        // 0xffff + 0xffff + 0x0100 folds to 0x0100.
        assert_eq!(sum(&[0xff, 0xff, 0xff, 0xff, 0x01]), 0x0100);
        assert_eq!(sum(&[]), 0);
    }

    #[test]
    fn known_ipv4_header() {
        // A real header (Wikipedia's worked example): checksum b861.
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(internet_checksum(&h), 0xb861);
        h[10..12].copy_from_slice(&0xb861u16.to_be_bytes());
        assert_eq!(fold(sum(&h)), 0xffff);
    }

    #[test]
    fn rfc1624_section3_example() {
        // m = 0x5555 -> m' = 0x3285; the other header words sum to 0xCD7A.
        let hc = !fold(0xcd7a + 0x5555);
        assert_eq!(hc, 0xdd2f);
        let recomputed = !fold(0xcd7a + 0x3285);
        assert_eq!(recomputed, 0x0000);
        // Eqn. 3 gives the recomputed value, where RFC 1141's eqn. 2 gave 0xFFFF.
        assert_eq!(update16(0xdd2f, 0x5555, 0x3285), 0x0000);
    }

    #[test]
    fn update32_matches_two_update16() {
        let c = 0xb861;
        let (old, new) = (0xc0a8_0001u32, 0xcb00_7105u32);
        let twice = update16(update16(c, 0xc0a8, 0xcb00), 0x0001, 0x7105);
        assert_eq!(update32(c, old, new), twice);
    }

    #[test]
    fn pseudo_header_v4_matches_byte_layout() {
        let (src, dst) = ([198, 51, 100, 7], [203, 0, 113, 1]);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&src);
        bytes.extend_from_slice(&dst);
        bytes.extend_from_slice(&[0, 17, 0x01, 0x2c]);
        assert_eq!(pseudo_header_v4(&src, &dst, 17, 300), sum(&bytes));
    }

    #[test]
    fn pseudo_header_v6_matches_byte_layout() {
        let src = [
            0x20, 0x02, 0xc6, 0x33, 0x64, 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        ];
        let dst = [
            0x20, 0x02, 0xcb, 0x00, 0x71, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5,
        ];
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&src);
        bytes.extend_from_slice(&dst);
        bytes.extend_from_slice(&0x0001_0040u32.to_be_bytes());
        bytes.extend_from_slice(&[0, 0, 0, 58]);
        assert_eq!(pseudo_header_v6(&src, &dst, 58, 0x0001_0040), sum(&bytes));
    }

    proptest! {
        #[test]
        fn sum_matches_reference(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(sum(&data), u32::from(reference_sum(&data)));
        }

        #[test]
        fn ipv4_header_ok_is_the_sum_check(data in proptest::collection::vec(any::<u8>(), 0..80), fill in any::<bool>()) {
            let mut data = data;
            if fill && data.len() >= 12 {
                data[10..12].copy_from_slice(&[0, 0]);
                let c = internet_checksum(&data);
                data[10..12].copy_from_slice(&c.to_be_bytes());
            }
            prop_assert_eq!(ipv4_header_ok(&data), fold(sum(&data)) == 0xffff);
        }

        #[test]
        fn filled_checksum_verifies(data in proptest::collection::vec(any::<u8>(), 2..200)) {
            let mut data = data;
            data[0] = 0;
            data[1] = 0;
            let c = internet_checksum(&data);
            data[..2].copy_from_slice(&c.to_be_bytes());
            prop_assert_eq!(fold(sum(&data)), 0xffff);
        }

        #[test]
        fn update16_equals_recomputation(
            data in proptest::collection::vec(any::<u8>(), 4..128),
            at in any::<prop::sample::Index>(),
            new_word in any::<u16>(),
        ) {
            // Word 0 holds the checksum; change any other aligned word.
            let mut data = data;
            let words = data.len() / 2;
            let w = 1 + at.index(words - 1);
            data[0] = 0;
            data[1] = 0;
            let old_csum = internet_checksum(&data);
            let old_word = u16::from_be_bytes([data[2 * w], data[2 * w + 1]]);
            data[2 * w..2 * w + 2].copy_from_slice(&new_word.to_be_bytes());
            prop_assert_eq!(update16(old_csum, old_word, new_word), internet_checksum(&data));
        }

        #[test]
        fn update32_and_bytes_equal_recomputation(
            data in proptest::collection::vec(any::<u8>(), 40..80),
            new4 in any::<u32>(),
            new16 in any::<[u8; 16]>(),
        ) {
            let mut data = data;
            data[0] = 0;
            data[1] = 0;
            let c0 = internet_checksum(&data);
            let old4 = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
            data[4..8].copy_from_slice(&new4.to_be_bytes());
            let c1 = internet_checksum(&data);
            prop_assert_eq!(update32(c0, old4, new4), c1);

            let old16: [u8; 16] = super::super::array(&data[20..36]);
            data[20..36].copy_from_slice(&new16);
            prop_assert_eq!(update_bytes(c1, &old16, &new16), internet_checksum(&data));
        }
    }
}
