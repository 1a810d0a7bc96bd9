//! `Dir24` against the reference table: hand-written cases for its two levels (a /24 boundary,
//! groups made and folded back, the default route) and a long random run of inserts,
//! replacements and removes, every lookup compared.

use std::net::Ipv4Addr;

use super::dir24::{Dir24, MISS};
use super::reference::ReferenceLpm4;
use super::LpmError;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("test address literal")
}

fn at(t: &Dir24, s: &str) -> u32 {
    t.lookup(&ip(s).octets())
}

#[test]
fn first_level_second_level_and_folding_back() {
    let mut t = Dir24::new();
    assert_eq!(at(&t, "192.0.2.1"), MISS);
    t.insert(ip("192.0.0.0"), 16, 1).expect("/16");
    t.insert(ip("192.0.2.128"), 25, 2).expect("/25");
    t.insert(ip("192.0.2.200"), 32, 3).expect("/32");
    assert_eq!([at(&t, "192.0.1.1"), at(&t, "192.0.2.1"), at(&t, "192.0.2.129"), at(&t, "192.0.2.200"), at(&t, "192.1.0.0")], [1, 1, 2, 3, MISS]);
    // A shorter prefix over the group leaves the longer ones in it.
    t.insert(ip("192.0.2.0"), 24, 4).expect("/24");
    assert_eq!([at(&t, "192.0.2.1"), at(&t, "192.0.2.129"), at(&t, "192.0.2.200")], [4, 2, 3]);
    assert_eq!(t.remove(ip("192.0.2.200"), 32), Ok(Some(3)));
    assert_eq!(at(&t, "192.0.2.200"), 2, "the /25 covers it again");
    assert_eq!(t.remove(ip("192.0.2.128"), 25), Ok(Some(2)));
    assert_eq!(at(&t, "192.0.2.200"), 4, "the group folded back into the /24");
    assert_eq!(t.remove(ip("192.0.2.0"), 24), Ok(Some(4)));
    assert_eq!(at(&t, "192.0.2.1"), 1, "the /16 again");
    assert_eq!(t.routes(), vec![(ip("192.0.0.0"), 16, 1)]);
    // The group freed by the fold is used again.
    t.insert(ip("10.1.2.3"), 32, 5).expect("/32");
    assert_eq!(at(&t, "10.1.2.3"), 5);
    assert_eq!(format!("{t:?}"), "Dir24 { routes: 2, groups: 1 }");
}

#[test]
fn the_default_route_replacement_and_errors() {
    let mut t = Dir24::new();
    t.insert(ip("0.0.0.0"), 0, 7).expect("default");
    t.insert(ip("203.0.113.0"), 24, 8).expect("/24");
    assert_eq!([at(&t, "1.2.3.4"), at(&t, "203.0.113.9")], [7, 8]);
    assert_eq!(t.insert(ip("203.0.113.0"), 24, 9), Ok(Some(8)), "replaced");
    assert_eq!(at(&t, "203.0.113.9"), 9);
    assert_eq!(t.remove(ip("203.0.113.0"), 24), Ok(Some(9)));
    assert_eq!(at(&t, "203.0.113.9"), 7, "the default uncovered");
    assert_eq!(t.remove(ip("0.0.0.0"), 0), Ok(Some(7)));
    assert_eq!(at(&t, "203.0.113.9"), MISS);
    assert_eq!(t.insert(ip("10.0.0.0"), 33, 1), Err(LpmError::InvalidLength { len: 33, max: 32 }));
    assert_eq!(t.insert(ip("10.0.0.0"), 8, Dir24::MAX_NEXT_HOP + 1), Err(LpmError::InvalidNextHop(Dir24::MAX_NEXT_HOP + 1)));
    assert_eq!(t.remove(ip("10.0.0.0"), 8), Ok(None));
    assert!(t.is_empty());
}

/// xorshift: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_updates_agree_with_the_reference_everywhere() {
    let (mut t, mut r) = (Dir24::new(), ReferenceLpm4::new());
    let mut rng = Rng(0x2400_0008);
    // Prefixes clustered in a few /12s so that they nest, split groups and uncover each other.
    let bases = [0x0a00_0000u32, 0xc000_0200, 0xcb00_7100, 0x6440_0000];
    let mut live: Vec<(Ipv4Addr, u8)> = Vec::new();
    let mut probes: Vec<[u8; 4]> = Vec::new();
    for step in 0..6000 {
        let roll = rng.next();
        if roll % 4 == 0 && !live.is_empty() {
            let (p, l) = live.swap_remove((rng.next() as usize) % live.len());
            assert_eq!(t.remove(p, l), r.remove(p, l), "remove {p}/{l}");
        } else {
            let base = bases[(rng.next() % 4) as usize];
            let len = [0u8, 8, 12, 16, 20, 22, 23, 24, 24, 25, 26, 28, 30, 31, 32][(rng.next() % 15) as usize];
            let addr = base ^ ((rng.next() as u32) & 0x000f_ffff);
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            let p = Ipv4Addr::from(addr & mask);
            let hop = (rng.next() % 50) as u32;
            assert_eq!(t.insert(p, len, hop), r.insert(p, len, hop), "insert {p}/{len}");
            if !live.contains(&(p, len)) {
                live.push((p, len));
            }
            probes.push(addr.to_be_bytes());
            probes.push((addr & mask).to_be_bytes());
            probes.push((addr | !mask).to_be_bytes());
        }
        if step % 500 == 499 {
            for a in &probes {
                assert_eq!(t.lookup(a), r.lookup(a), "lookup {} after step {step}", Ipv4Addr::from(*a));
            }
            let mut bulk = vec![0u32; probes.len()];
            t.lookup_bulk(&probes, &mut bulk);
            assert!(bulk.iter().zip(&probes).all(|(&b, a)| b == r.lookup(a)), "bulk after step {step}");
            assert_eq!(t.routes(), r.routes());
        }
    }
    for (p, l) in live.drain(..) {
        assert_eq!(t.remove(p, l), r.remove(p, l));
    }
    assert!(probes.iter().all(|a| t.lookup(a) == MISS));
    assert_eq!(format!("{t:?}"), "Dir24 { routes: 0, groups: 0 }", "every group folded back");
}
