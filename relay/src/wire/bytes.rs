//! Fixed-size views into packet bytes. One bounds check per header; the fields are then
//! read at constant offsets of a `[u8; N]`, which cannot go out of bounds.

#[inline(always)]
pub(crate) fn arr<const N: usize>(d: &[u8], off: usize) -> Option<&[u8; N]> {
    d.get(off..off.checked_add(N)?)?.try_into().ok()
}

#[inline(always)]
pub(crate) fn arr_mut<const N: usize>(d: &mut [u8], off: usize) -> Option<&mut [u8; N]> {
    d.get_mut(off..off.checked_add(N)?)?.try_into().ok()
}

#[inline(always)]
pub(crate) fn be16(b: [u8; 2]) -> u16 {
    u16::from_be_bytes(b)
}

#[inline(always)]
pub(crate) fn v4_at<const N: usize>(h: &[u8; N], off: usize) -> u32 {
    match arr::<4>(h, off) {
        Some(a) => u32::from_be_bytes(*a),
        None => 0,
    }
}

#[inline(always)]
pub(crate) fn v6_at<const N: usize>(h: &[u8; N], off: usize) -> u128 {
    match arr::<16>(h, off) {
        Some(a) => u128::from_be_bytes(*a),
        None => 0,
    }
}
