//! The DPDK runtime on virtual ports: one EAL per test process (shared by every test here).
#![cfg(feature = "dpdk")]
use std::mem::MaybeUninit;
use std::sync::OnceLock;

use relay::pipeline::PacketBuf;
use relay::runtime::{Eal, Mbuf, Mempool, Port, PortSpec, TxBuffer};

fn eal() -> Eal {
    static EAL: OnceLock<Eal> = OnceLock::new();
    *EAL.get_or_init(|| {
        Eal::init(&[
            "relay-runtime-test",
            "--no-huge",
            "-m",
            "256",
            "--no-pci",
            "--file-prefix=relay-runtime-test",
            "--log-level=warning",
            "--lcores=0@0,1@0",
            "--vdev=net_null0",
            "--vdev=net_ring0",
        ])
        .expect("EAL init on virtual ports")
    })
}

fn pool(name: &str, n: u32) -> Mempool {
    eal();
    Mempool::new(name, n, 0, -1).expect("mempool")
}

fn spec(name: &str) -> PortSpec {
    PortSpec { name: name.into(), rx_queues: 1, tx_queues: 1, rx_desc: 64, tx_desc: 64, mac: None, promiscuous: false }
}

fn drain(port: u16) -> usize {
    let mut burst: [MaybeUninit<Mbuf>; 32] = [const { MaybeUninit::uninit() }; 32];
    let mut total = 0;
    loop {
        let n = Port::rx_burst(port, 0, &mut burst);
        if n == 0 {
            return total;
        }
        for slot in &mut burst[..n] {
            // SAFETY: rx_burst initialised the first n slots; dropping frees to the pool.
            drop(unsafe { slot.assume_init_read() });
        }
        total += n;
    }
}

#[test]
fn eal_sees_the_vdevs_and_lcores() {
    let e = eal();
    assert_eq!(e.port_count(), 2);
    assert_eq!(e.main_lcore(), 0);
    assert_eq!(e.worker_lcores(), vec![1]);
}

#[test]
fn mempool_alloc_free_round_trip() {
    let p = pool("rt_roundtrip", 511);
    assert_eq!(p.available(), 511);
    let held: Vec<Mbuf> = (0..100).map(|_| p.alloc().expect("mbuf")).collect();
    assert_eq!(p.available(), 411);
    assert_eq!(p.in_use(), 100);
    drop(held);
    assert_eq!(p.available(), 511);
}

#[test]
fn mbuf_is_a_packet_buffer_with_headroom() {
    let p = pool("rt_mbuf", 63);
    let mut m = p.alloc().expect("mbuf");
    assert!(m.extend_from_slice(&[0xab; 60]));
    assert_eq!(m.headroom(), 128);
    assert!(m.prepend(20));
    assert_eq!(m.data().len(), 80);
    m.data_mut()[..20].copy_from_slice(&[0x45; 20]);
    assert_eq!(&m.data()[19..21], &[0x45, 0xab]);
    assert!(m.adj(20));
    assert_eq!(m.data(), &[0xab; 60][..]);
    assert!(!m.prepend(129), "more than the headroom");
    assert!(!m.adj(61), "more than the data");
    assert!(m.trim(10));
    assert_eq!(m.data().len(), 50);
    assert!(!m.trim(51));
    assert_eq!(m.data().len(), 50, "failed operations change nothing");
    // The tail grows up to the data room (2048 after the headroom), no further.
    assert!(PacketBuf::append(&mut m, 1998));
    assert_eq!(m.data().len(), 2048);
    assert!(!PacketBuf::append(&mut m, 1));
    assert_eq!(m.data().len(), 2048);
}

/// Pools for reassembled datagrams larger than DPDK's default data room: the room follows the
/// frame, capped by the 16-bit field.
#[test]
fn mempool_mbufs_hold_the_frame_room_asked_for() {
    assert_eq!(Mempool::data_room_for(0), 2176);
    assert_eq!(Mempool::data_room_for(1538), 2176);
    assert_eq!(Mempool::data_room_for(4038), 4166);
    assert_eq!(Mempool::data_room_for(65553), u16::MAX);
    eal();
    let p = Mempool::with_frame_room("rt_big_room", 63, 0, -1, 4038).expect("mempool");
    let mut m = p.alloc().expect("mbuf");
    assert!(PacketBuf::append(&mut m, 4038));
    assert!(!PacketBuf::append(&mut m, 1));
}

#[test]
fn null_port_rx_to_tx_returns_every_mbuf() {
    let p = pool("rt_null", 1023);
    let port = Port::open(&spec("net_null0"), &p).expect("open net_null0");
    let mut burst: [MaybeUninit<Mbuf>; 32] = [const { MaybeUninit::uninit() }; 32];
    let mut tx = TxBuffer::new(port.id(), 0);
    let mut sent = 0;
    for _ in 0..10 {
        let n = Port::rx_burst(port.id(), 0, &mut burst);
        assert_eq!(n, 32, "net_null fills every burst");
        for slot in &mut burst[..n] {
            // SAFETY: rx_burst initialised the first n slots.
            let (s, d) = tx.push(unsafe { slot.assume_init_read() });
            sent += s;
            assert_eq!(d, 0);
        }
    }
    sent += tx.flush();
    assert_eq!(sent, 320);
    assert_eq!(port.stats().opackets, 320);
    port.close();
    assert_eq!(p.available(), p.size(), "every mbuf is back after close");
}

#[test]
fn tx_keeps_what_the_driver_refuses() {
    // net_ring0 loops its tx ring (1023 usable slots) into its rx ring: once it is full the
    // driver refuses more, and the buffer must keep those packets, neither leak nor free them.
    let p = pool("rt_ring", 2047);
    let port = Port::open(&spec("net_ring0"), &p).expect("open net_ring0");
    let mut tx = TxBuffer::new(port.id(), 0);
    let mut sent = 0;
    let mut dropped = 0;
    for _ in 0..1040 {
        let mut m = p.alloc().expect("mbuf");
        assert!(m.extend_from_slice(&[1; 60]));
        let (s, d) = tx.push(m);
        sent += s;
        dropped += d;
    }
    sent += tx.flush();
    assert_eq!(sent, 1023, "the ring takes 1023");
    assert_eq!(dropped, 0);
    assert_eq!(tx.len(), 1040 - 1023, "the rest stays owned by the buffer");
    assert_eq!(p.in_use(), 1040);

    assert_eq!(drain(port.id()), 1023);
    assert_eq!(tx.flush(), 1040 - 1023, "the kept packets leave once there is room");
    assert!(tx.is_empty());
    assert_eq!(drain(port.id()), 17);
    port.close();
    assert_eq!(p.available(), p.size());
}

#[test]
fn tx_buffer_frees_and_counts_on_drop_all() {
    let p = pool("rt_dropall", 127);
    let mut tx = TxBuffer::new(0, 0);
    for _ in 0..5 {
        // Below a burst: nothing is sent yet.
        assert_eq!(tx.push(p.alloc().expect("mbuf")), (0, 0));
    }
    assert_eq!(p.in_use(), 5);
    assert_eq!(tx.drop_all(), 5);
    assert_eq!(p.in_use(), 0);
}
