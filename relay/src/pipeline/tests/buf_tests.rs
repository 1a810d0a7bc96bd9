//! The test buffer behaves like a single-segment mbuf.
use super::*;

#[test]
fn headroom_prepend_adj_trim() {
    let mut b = TestBuf::new(3, &[1, 2, 3, 4]);
    assert_eq!((b.rx_port(), b.headroom(), b.data()), (3, 128, &[1u8, 2, 3, 4][..]));
    assert!(b.adj(1));
    assert_eq!(b.data(), &[2, 3, 4]);
    assert!(b.trim(1));
    assert_eq!(b.data(), &[2, 3]);
    assert!(b.prepend(129));
    assert_eq!(b.data().len(), 131);
    assert!(!b.prepend(1), "no headroom left");
    assert!(!b.adj(132) && !b.trim(132), "longer than the data");
    assert_eq!(b.data().len(), 131, "failed calls change nothing");
    b.data_mut()[0] = 9;
    assert_eq!(b.to_vec()[0], 9);
}

#[test]
fn grow_tail_moves_the_frame_forward() {
    let mut b = TestBuf::with_headroom(0, &[1, 2, 3], 4);
    assert!(crate::pipeline::model::grow_tail(&mut b, 2));
    assert_eq!(&b.data()[..3], &[1, 2, 3]);
    assert_eq!(b.data().len(), 5);
    assert!(!crate::pipeline::model::grow_tail(&mut b, 3));
    assert_eq!(&b.data()[..3], &[1, 2, 3]);
}
