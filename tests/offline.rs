//! relayd offline mode: a mixed pcap through the real pipeline on net_pcap ports, outputs
//! decoded by an independent decoder (tshark, checksums verified), counters exact.
mod common;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::Command;

use common::*;
use etherparse::PacketBuilder;

const R_WAN: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa0];
const R_LAN: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa1];
const GW4: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x01];
const HOST: [u8; 6] = [0x02, 0, 0, 0, 0x02, 0x05];

fn v6(s: &str) -> [u8; 16] {
    s.parse::<Ipv6Addr>().unwrap().octets()
}
fn v4(s: &str) -> [u8; 4] {
    s.parse::<Ipv4Addr>().unwrap().octets()
}

/// An IPv6 UDP packet (no Ethernet) of `payload` bytes.
fn udp6(src: &str, dst: &str, hop: u8, payload: usize) -> Vec<u8> {
    let b = PacketBuilder::ipv6(v6(src), v6(dst), hop).udp(4000, 5000);
    let body = vec![0x5a; payload];
    let mut out = Vec::new();
    b.write(&mut out, &body).unwrap();
    out
}

fn lan_frame(ip6: &[u8]) -> Vec<u8> {
    [&R_LAN[..], &HOST, &[0x86, 0xdd], ip6].concat()
}

/// Protocol 41 from `src4` to R's WAN address, wrapping `ip6`.
fn wan_frame(src4: &str, ip6: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(GW4, R_WAN)
        .ipv4(v4(src4), v4("198.51.100.7"), 64)
        .write(&mut out, etherparse::IpNumber(41), ip6)
        .unwrap();
    out
}

fn echo6_request(src: &str, dst: &str, hop: u8) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ipv6(v6(src), v6(dst), hop).icmpv6_echo_request(7, 1).write(&mut out, b"relay-echo").unwrap();
    out
}

fn arp_request() -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&GW4);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&GW4);
    f.extend_from_slice(&v4("198.51.100.1"));
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&v4("198.51.100.7"));
    f.resize(60, 0);
    f
}

fn config(dir: &Scratch) -> std::path::PathBuf {
    dir.write(
        "relayd.toml",
        &format!(
            r#"
[eal]
file_prefix = "offline-mixed"
memory_mb = 256
[[port]]
name = "wan"
device = "net_pcap0,rx_pcap={d}/wan-in.pcap,tx_pcap={d}/wan-out.pcap"
[[port]]
name = "lan"
device = "net_pcap1,rx_pcap={d}/lan-in.pcap,tx_pcap={d}/lan-out.pcap"
[control]
socket = "{d}/ctl.sock"
[pipeline]
[[pipeline.interface]]
port = 0
mac = "02:00:00:00:00:a0"
ipv4 = "198.51.100.7/24"
gateway = "198.51.100.1"
[[pipeline.interface]]
port = 1
mac = "02:00:00:00:00:a1"
ipv6 = ["2002:c633:6407:1::1/64"]
[pipeline.router]
ipv4 = "198.51.100.7"
lan_ports = [1]
[[pipeline.neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"
[[pipeline.neighbour]]
ip = "2002:c633:6407:1::5"
mac = "02:00:00:00:02:05"
[[pipeline.route]]
add = "::/0 via 2002:c058:6301::"
"#,
            d = dir.0.display()
        ),
    )
}

/// tshark's view of a pcap: one line per packet with the fields asked for, checksums verified.
fn tshark(path: &std::path::Path, fields: &[&str]) -> Vec<String> {
    let mut args = vec![
        "-r".to_string(),
        path.display().to_string(),
        "-o".into(),
        "ip.check_checksum:TRUE".into(),
        "-o".into(),
        "udp.check_checksum:TRUE".into(),
        "-T".into(),
        "fields".into(),
        "-E".into(),
        "separator=|".into(),
        "-E".into(),
        "occurrence=f".into(), // the outer header, not the packet an ICMP error quotes
    ];
    for f in fields {
        args.push("-e".into());
        args.push(f.to_string());
    }
    let out = Command::new("tshark").args(&args).output().expect("tshark (apt-get install tshark)");
    assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

/// Frames tshark flags as malformed or with a checksum/expert error.
fn tshark_problems(path: &std::path::Path) -> Vec<String> {
    let out = Command::new("tshark")
        .args(["-r", path.to_str().unwrap(), "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"])
        .args(["-Y", "_ws.malformed || _ws.expert.severity >= \"error\" || ip.checksum.status == \"Bad\" || icmpv6.checksum.status == \"Bad\" || udp.checksum.status == \"Bad\""])
        .output()
        .expect("tshark");
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

#[test]
fn mixed_pcap_through_the_pipeline() {
    let dir = Scratch::new("offline");
    let lan_in = vec![
        lan_frame(&udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 100)), // encap to V2
        lan_frame(&udp6("2002:c633:6407:1::5", "2001:db8::77", 64, 100)),      // native: via the relay
        lan_frame(&udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 1, 100)),  // hop limit → Time Exceeded
        lan_frame(&udp6("2002:c633:6407:1::5", "2002:a00:1::1", 64, 100)),     // martian V 10.0.0.1
        lan_frame(&udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 1452)), // 1500 > 1480 → PTB
        lan_frame(&echo6_request("2002:c633:6407:1::5", "2002:c633:6407:1::1", 64)), // echo to us
    ];
    let wan_in = vec![
        wan_frame("203.0.113.1", &udp6("2002:cb00:7101::5", "2002:c633:6407:1::5", 64, 100)), // decap
        wan_frame("203.0.113.99", &udp6("2002:cb00:7101::5", "2002:c633:6407:1::5", 64, 100)), // spoofed V
        wan_frame("203.0.113.1", &udp6("2001:db8::1", "2001:db8::2", 64, 100)), // native→native inside
        arp_request(),
    ];
    write_pcap(&dir.path("lan-in.pcap"), &lan_in);
    write_pcap(&dir.path("wan-in.pcap"), &wan_in);
    let run = run_relayd(&["-c", config(&dir).to_str().unwrap(), "--offline"]);
    run.assert_clean();

    assert_eq!(run.counter("rx_packets"), 10);
    assert_eq!(run.counter("pipeline.encapsulated"), 2, "{}", run.stdout);
    assert_eq!(run.counter("pipeline.decapsulated"), 1);
    assert_eq!(run.counter("pipeline.icmp6_time_exceeded"), 1);
    assert_eq!(run.counter("pipeline.icmp6_packet_too_big"), 1);
    assert_eq!(run.counter("pipeline.drop_hop_limit_exceeded"), 1, "the reason is counted though an error is sent");
    assert_eq!(run.counter("pipeline.drop_mtu_exceeded"), 1);
    assert_eq!(run.counter("pipeline.drop_ipv6_dst_martian"), 1);
    assert_eq!(run.counter("pipeline.drop_decap_src_v4_mismatch"), 1);
    assert_eq!(run.counter("pipeline.drop_decap_native_to_native"), 1);
    assert_eq!(run.counter("punted"), 2, "echo and ARP go to the slow path");
    assert_eq!(run.counter("injected"), 2, "and their replies come back");
    assert_eq!(run.counter("slowpath.arp_replies"), 1);
    assert_eq!(run.counter("slowpath.echo6_replies"), 1);
    assert_eq!(run.counter("tx_dropped"), 0);

    let wan_out = dir.path("wan-out.pcap");
    let lan_out = dir.path("lan-out.pcap");
    assert_eq!(tshark_problems(&wan_out), Vec::<String>::new(), "malformed or bad checksum on the WAN");
    assert_eq!(tshark_problems(&lan_out), Vec::<String>::new(), "malformed or bad checksum on the LAN");

    let mut wan = tshark(&wan_out, &["eth.dst", "ip.src", "ip.dst", "ip.proto", "ipv6.src", "ipv6.dst", "ipv6.hlim", "arp.opcode"]);
    wan.sort();
    assert_eq!(
        wan,
        vec![
            "02:00:00:00:01:01|198.51.100.7|192.88.99.1|41|2002:c633:6407:1::5|2001:db8::77|63|",
            "02:00:00:00:01:01|198.51.100.7|203.0.113.1|41|2002:c633:6407:1::5|2002:cb00:7101::5|63|",
            "02:00:00:00:01:01|||||||2",
        ],
        "one 6to4 packet straight to V2, one to the relay, one ARP reply"
    );

    let mut lan = tshark(&lan_out, &["eth.dst", "ipv6.src", "ipv6.dst", "ipv6.hlim", "icmpv6.type", "icmpv6.code", "icmpv6.mtu"]);
    lan.sort();
    assert_eq!(
        lan,
        vec![
            "02:00:00:00:02:05|2002:c633:6407:1::1|2002:c633:6407:1::5|64|129|0|".to_string(),
            "02:00:00:00:02:05|2002:c633:6407:1::1|2002:c633:6407:1::5|64|2|0|1480".to_string(),
            "02:00:00:00:02:05|2002:c633:6407:1::1|2002:c633:6407:1::5|64|3|0|".to_string(),
            "02:00:00:00:02:05|2002:cb00:7101::5|2002:c633:6407:1::5|63|||".to_string(),
        ]
    );
}

/// IPv4 fragment `[start, stop)` of the protocol-41 datagram carrying `ip6` from `src4` to
/// R's WAN address (`more`: MF set), in a frame from the gateway.
fn wan_fragment(src4: &str, id: u16, ip6: &[u8], start: usize, stop: usize, more: bool) -> Vec<u8> {
    let piece = &ip6[start..stop];
    let mut h = etherparse::Ipv4Header::new(piece.len() as u16, 64, etherparse::IpNumber(41), v4(src4), v4("198.51.100.7")).unwrap();
    h.identification = id;
    h.more_fragments = more;
    h.fragment_offset = etherparse::IpFragOffset::try_new((start / 8) as u16).unwrap();
    h.header_checksum = h.calc_header_checksum();
    [&R_WAN[..], &GW4, &[0x08, 0x00], &h.to_bytes()[..], piece].concat()
}

/// RFC 4213 3.6 on real mbufs: tunnel packets that arrive in IPv4 fragments leave the LAN
/// port whole and bit-exact; an overlap with different bytes and a datagram that never
/// completes are counted; every mbuf is back in the pool at exit ("no leak"). With
/// `max_datagram` above DPDK's default data room, relayd sizes its mbufs to hold it.
#[test]
fn fragmented_tunnel_packets_are_reassembled_on_real_mbufs() {
    for (extra, size) in [("", 1500), ("[pipeline.reassembly]\nmax_datagram = 4020\n", 4000)] {
        // The big datagram leaves by a jumbo LAN.
        let lan_mtu = if size > 1500 { "mtu = 9000\n" } else { "" };
        let dir = Scratch::new("offline-frag");
        let six = udp6("2002:cb00:7101::5", "2002:c633:6407:1::5", 64, size - 48);
        let mut forged = six.clone();
        forged[995] ^= 0xff; // inside the 8 bytes the two fragments share
        let last = six.len();
        let mut wan_in = vec![
            // Datagram 1, in order.
            wan_fragment("203.0.113.1", 1, &six, 0, 1480, true),
            wan_fragment("203.0.113.1", 1, &six, 1480.min(last - 8) / 8 * 8, last, false),
            // Datagram 2: an overlap with other bytes.
            wan_fragment("203.0.113.1", 2, &six, 0, 1000, true),
            wan_fragment("203.0.113.1", 2, &forged, 992, last, false),
            // Datagram 3: its last fragment never comes.
            wan_fragment("203.0.113.1", 3, &six, 0, 1000, true),
        ];
        if size > 2960 {
            // The big datagram in three pieces: replace datagram 1's with them.
            wan_in.splice(0..2, [
                wan_fragment("203.0.113.1", 1, &six, 0, 1480, true),
                wan_fragment("203.0.113.1", 1, &six, 1480, 2960, true),
                wan_fragment("203.0.113.1", 1, &six, 2960, last, false),
            ]);
        }
        let sent = wan_in.len() as u64;
        write_pcap(&dir.path("wan-in.pcap"), &wan_in);
        write_pcap(&dir.path("lan-in.pcap"), &[]);
        let cfg = std::fs::read_to_string(config(&dir))
            .unwrap()
            .replace("file_prefix = \"offline-mixed\"", "file_prefix = \"offline-frag\"")
            .replace("ipv6 = [\"2002:c633:6407:1::1/64\"]\n", &format!("ipv6 = [\"2002:c633:6407:1::1/64\"]\n{lan_mtu}"))
            + extra;
        let path = dir.write("relayd.toml", &cfg);
        let run = run_relayd(&["-c", path.to_str().unwrap(), "--offline"]);
        run.assert_clean();

        let mut hop = six.clone();
        hop[7] -= 1;
        let expected = [&HOST[..], &R_LAN, &[0x86, 0xdd], &hop].concat();
        let lan = read_pcap(&dir.path("lan-out.pcap"));
        assert_eq!(lan.len(), 1, "size {size}: {}", run.stdout);
        assert!(lan[0] == expected, "size {size}: the LAN frame differs from the whole packet");
        assert_eq!(tshark_problems(&dir.path("lan-out.pcap")), Vec::<String>::new());
        let merged = sent - 4; // datagram 1's fragments but the one that carried it on
        assert_eq!(run.counter("rx_packets"), sent);
        assert_eq!(run.counter("pipeline.frag_reassembled"), 1);
        assert_eq!(run.counter("pipeline.frag_merged"), merged);
        assert_eq!(run.counter("pipeline.drop_frag_overlap"), 2, "the overlapping fragment and the one held before it");
        assert_eq!(run.counter("frag_held"), merged + 2, "datagram 2's first and datagram 3's");
        assert_eq!(run.counter("pipeline_dropped"), 1);
        assert_eq!(run.counter("tx_packets"), 1);
        assert_eq!(run.counter("rx_packets"), run.counter("tx_packets") + run.counter("pipeline_dropped") + run.counter("frag_held"));
    }
}

/// An IPv4 header (etherparse, checksum right) with `payload`, then `edit` applied to the
/// whole IPv4 packet (to break it on purpose), in a frame from the gateway to R's WAN.
fn wan_ipv4(src4: &str, proto: u8, payload: &[u8], edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut h = etherparse::Ipv4Header::new(payload.len() as u16, 64, etherparse::IpNumber(proto), v4(src4), v4("198.51.100.7")).unwrap();
    h.header_checksum = h.calc_header_checksum();
    let mut ip = [&h.to_bytes()[..], payload].concat();
    edit(&mut ip);
    [&R_WAN[..], &GW4, &[0x08, 0x00], &ip].concat()
}

/// Recomputes the IPv4 header checksum of `ip` (after an edit that should not be caught by it).
fn refresh_checksum(ip: &mut [u8]) {
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    ip[10..12].copy_from_slice(&[0, 0]);
    let sum: u32 = ip[..ihl.min(ip.len())].chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]))).sum();
    let sum = (sum & 0xffff) + (sum >> 16);
    ip[10..12].copy_from_slice(&(!((sum & 0xffff) + (sum >> 16)) as u16).to_be_bytes());
}

/// Issue 18 §3 (the short test): valid 6to4 traffic both ways, interleaved with every class
/// of bad input — truncated and lying headers, bad checksums, martians, hop limits, broken
/// fragment sets, ICMPv4 errors quoting garbage, lying ARP, oversize frames, 802.1Q stacks.
/// Every valid packet leaves bit-exact (tshark verifies every checksum), every bad one is
/// counted under its own reason exactly as many times as it was sent, nothing else happens.
#[test]
fn malformed_traffic_beside_valid_traffic_is_counted_by_reason() {
    const COPIES: usize = 5;
    const VALID: usize = 20;
    let dir = Scratch::new("offline-malformed");
    let good_in = |i: usize| udp6(&format!("2002:cb00:7101::{:x}", i + 1), "2002:c633:6407:1::5", 64, 100);
    let good_out = |i: usize| udp6("2002:c633:6407:1::5", &format!("2002:cb00:7101::{:x}", i + 1), 64, 100);
    let inner = udp6("2002:cb00:7101::5", "2002:c633:6407:1::5", 64, 100);
    let quote_garbage = {
        // An ICMPv4 unreachable quoting 28 random-looking bytes that are no packet of ours.
        let mut m = vec![3, 1, 0, 0, 0, 0, 0, 0];
        m.extend((0..28u8).map(|i| i.wrapping_mul(37)));
        let sum: u32 = m.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum();
        let c = !(((sum & 0xffff) + (sum >> 16)) as u16);
        m[2..4].copy_from_slice(&c.to_be_bytes());
        m
    };
    // (reason, one bad frame, the port it arrives on: 0 WAN, 1 LAN)
    let mut arp_lie = arp_request();
    arp_lie[38..42].copy_from_slice(&v4("198.51.100.77")); // asks for an address not ours
    let mut arp_bad = arp_request();
    arp_bad[14..16].copy_from_slice(&[0, 6]); // hardware type IEEE 802, not Ethernet
    let mut vlan = lan_frame(&good_out(0));
    vlan.splice(12..12, [0x81, 0x00, 0x00, 0x64]);
    let mut qinq = lan_frame(&good_out(0));
    qinq.splice(12..12, [0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x65]);
    let frag = |id: u16, start: usize, stop: usize, more: bool| wan_fragment("203.0.113.1", id, &inner, start, stop, more);
    let bad: Vec<(&str, Vec<Vec<u8>>, u16)> = vec![
        ("l2_truncated", vec![[&R_WAN[..], &GW4].concat()], 0),
        ("ipv4_malformed", vec![wan_ipv4("203.0.113.1", 41, &inner, |ip| ip.truncate(12))], 0),
        ("ipv4_malformed", vec![wan_ipv4("203.0.113.1", 41, &inner, |ip| { ip[0] = 0x44; refresh_checksum(ip) })], 0),
        ("ipv4_malformed", vec![wan_ipv4("203.0.113.1", 41, &inner, |ip| { ip[2..4].copy_from_slice(&400u16.to_be_bytes()); refresh_checksum(ip) })], 0),
        ("ipv4_bad_checksum", vec![wan_ipv4("203.0.113.1", 41, &inner, |ip| ip[10] ^= 0x55)], 0),
        ("decap_inner_malformed", vec![wan_ipv4("203.0.113.1", 41, &inner, |ip| ip[24..26].copy_from_slice(&900u16.to_be_bytes()))], 0),
        ("ipv4_src_martian", vec![wan_frame("10.1.2.3", &inner)], 0),
        ("decap_src_v4_mismatch", vec![wan_frame("203.0.113.99", &inner)], 0),
        ("ipv6_malformed", vec![{ let mut p = good_out(0); p[4..6].copy_from_slice(&2000u16.to_be_bytes()); lan_frame(&p) }], 1),
        ("ipv6_dst_martian", vec![lan_frame(&udp6("2002:c633:6407:1::5", "2002:a00:1::1", 64, 100))], 1),
        ("hop_limit_exceeded", vec![lan_frame(&udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 1, 100))], 1),
        ("hop_limit_exceeded", vec![lan_frame(&udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 0, 100))], 1),
        ("mtu_exceeded", vec![lan_frame(&udp6("2002:c633:6407:1::5", "2002:cb00:7101::5", 64, 1452))], 1),
        ("frag_overlap", vec![frag(100, 0, 64, true), { let mut f = frag(100, 56, inner.len(), false); f[34] ^= 0xff; f }], 0),
        ("frag_malformed", vec![frag(101, 0, 60, true)], 0),
        ("frag_not_tunnel", vec![wan_ipv4("203.0.113.1", 17, &[0x11; 64], |ip| { ip[6] = 0x20; refresh_checksum(ip) })], 0),
        ("icmp4_not_ours", vec![wan_ipv4("203.0.113.1", 1, &quote_garbage, |_| ())], 0),
        ("arp_not_for_us", vec![arp_lie], 0),
        ("arp_malformed", vec![arp_bad], 0),
        ("vlan_mismatch", vec![vlan], 1),
        ("unknown_ethertype", vec![qinq], 1),
    ];
    // Valid and bad frames interleaved on each port.
    let (mut wan_in, mut lan_in) = (Vec::new(), Vec::new());
    for i in 0..VALID {
        wan_in.push(wan_frame("203.0.113.1", &good_in(i)));
        lan_in.push(lan_frame(&good_out(i)));
        let copy = i / (VALID / COPIES);
        if i % (VALID / COPIES) == 0 && copy < COPIES {
            for (_, frames, port) in &bad {
                let port_in = if *port == 0 { &mut wan_in } else { &mut lan_in };
                for f in frames {
                    let mut f = f.clone();
                    let fragment = f.len() > 40 && f[12..14] == [0x08, 0x00] && f[23] == 41 && u16::from_be_bytes([f[20], f[21]]) & 0x3fff != 0;
                    if fragment {
                        // Each copy of a fragment set is its own datagram.
                        let id = u16::from_be_bytes([f[18], f[19]]).wrapping_add((copy * 1000) as u16);
                        f[18..20].copy_from_slice(&id.to_be_bytes());
                        refresh_checksum(&mut f[14..]);
                    }
                    port_in.push(f);
                }
            }
        }
    }
    write_pcap(&dir.path("wan-in.pcap"), &wan_in);
    write_pcap(&dir.path("lan-in.pcap"), &lan_in);
    let cfg = std::fs::read_to_string(config(&dir)).unwrap().replace("file_prefix = \"offline-mixed\"", "file_prefix = \"offline-malformed\"");
    let path = dir.write("relayd.toml", &cfg);
    let run = run_relayd(&["-c", path.to_str().unwrap(), "--offline"]);
    run.assert_clean();

    // Every bad class: exactly its count, under its reason.
    let mut expected: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for (reason, frames, _) in &bad {
        // A datagram drop counts each of its fragments.
        *expected.entry(format!("pipeline.drop_{reason}")).or_default() += (frames.len() * COPIES) as u64;
    }
    let got: std::collections::BTreeMap<String, u64> =
        run.counters.iter().filter(|(k, _)| k.starts_with("pipeline.drop_")).map(|(k, v)| (k.clone(), *v)).collect();
    assert_eq!(got, expected, "{}", run.stdout);
    // The valid part: all forwarded, decapsulated bit-exact onto the LAN.
    let mut lan: Vec<Vec<u8>> = read_pcap(&dir.path("lan-out.pcap"));
    let mut want: Vec<Vec<u8>> = (0..VALID)
        .map(|i| {
            let mut p = good_in(i);
            p[7] -= 1;
            [&HOST[..], &R_LAN, &[0x86, 0xdd], &p].concat()
        })
        .collect();
    let errors = lan.len() - lan.iter().filter(|f| f[20] == 17).count();
    lan.retain(|f| f[20] == 17);
    lan.sort();
    want.sort();
    assert!(lan == want, "{} valid decapsulated packets arrived bit-exact out of {VALID}", lan.iter().filter(|f| want.contains(f)).count());
    assert_eq!(errors as u64, run.counter("pipeline.icmp6_time_exceeded") + run.counter("pipeline.icmp6_packet_too_big"));
    assert_eq!(run.counter("pipeline.encap_6to4"), VALID as u64);
    assert_eq!(run.counter("pipeline.decap_6to4"), VALID as u64);
    assert_eq!(tshark_problems(&dir.path("lan-out.pcap")), Vec::<String>::new());
    assert_eq!(tshark_problems(&dir.path("wan-out.pcap")), Vec::<String>::new());
    let sent = (wan_in.len() + lan_in.len()) as u64;
    assert_eq!(run.counter("rx_packets"), sent);
    // Nothing unaccounted: an ICMP error leaves in its packet's buffer (a tx), a held fragment
    // is a verdict of its own.
    let c = |n: &str| run.counter(n);
    assert_eq!(c("rx_packets") + c("injected"), c("tx_packets") + c("tx_dropped") + c("pipeline_dropped") + c("punted") + c("frag_held"));
}
