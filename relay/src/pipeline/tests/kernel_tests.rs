//! The control TAP's share of the pipeline (issue 16): what is for us and relayd does not
//! answer goes to the kernel, policed per class; ARP and ND reach the kernel as copies; the
//! kernel's own answers that repeat relayd's never leave.
use super::pkt::*;
use super::*;
use crate::pipeline::{kernel_egress, kernel_wants_copy};

const BCAST: [u8; 6] = [0xff; 6];

const CONFIG: &str = r#"
[[interface]]
port = 0
ipv4 = "198.51.100.9/24"
ipv6 = ["2001:db8:ff::9/64"]
control_tap = "cp0"

[[interface]]
port = 1
ipv6 = ["2001:db8:1::9/64"]

[control_plane]
peers = ["198.51.100.1", "2001:db8:ff::1"]
peer_rate_pps = 10
peer_burst = 2
other_rate_pps = 10
other_burst = 3
"#;

fn tcp4(src: &str, dst: &str) -> Vec<u8> {
    // A SYN to port 179: 20 bytes of TCP header (relayd never reads past the IPv4 header).
    let mut syn = vec![0u8; 20];
    syn[2..4].copy_from_slice(&179u16.to_be_bytes());
    syn[12] = 5 << 4;
    syn[13] = 0x02;
    ipv4(V4 { proto: 6, ..V4::p41(src, dst) }, &syn)
}

#[test]
fn ipv4_for_us_goes_to_the_kernel_within_its_class_budget() {
    let mut lab = Lab::new(CONFIG);
    let flood = eth(PORT0, HOST, ET_IPV4, &tcp4("198.51.100.77", "198.51.100.9"));
    let verdicts: Vec<Verdict> = (0..5).map(|_| lab.run(0, &flood).0).collect();
    let policed = Verdict::Drop(DropReason::KernelPolicedOther);
    assert_eq!(verdicts, [Verdict::Kernel, Verdict::Kernel, Verdict::Kernel, policed, policed]);
    // The flood spent the other bucket, not the peers': the BGP neighbour still gets through.
    let bgp = eth(PORT0, GW4, ET_IPV4, &tcp4("198.51.100.1", "198.51.100.9"));
    let verdicts: Vec<Verdict> = (0..3).map(|_| lab.run(0, &bgp).0).collect();
    assert_eq!(verdicts, [Verdict::Kernel, Verdict::Kernel, Verdict::Drop(DropReason::KernelPolicedPeer)]);
    assert_eq!(
        lab.nonzero().into_iter().filter(|(n, _)| n.contains("kernel")).collect::<Vec<_>>(),
        [("to_kernel", 5), ("drop_kernel_policed_peer", 1), ("drop_kernel_policed_other", 2)]
    );
    // Tokens come back with time: 10 per second, one every 100 ms.
    assert_eq!(lab.run_at(100_000_000, 0, &flood).0, Verdict::Kernel);
}

#[test]
fn ipv6_for_us_goes_to_the_kernel_and_echo_stays_with_relayd() {
    let mut lab = Lab::new(CONFIG);
    let udp = eth(PORT0, GW4, ET_IPV6, &udp6("2001:db8:ff::1", "2001:db8:ff::9", 64, 60));
    assert_eq!(lab.run(0, &udp), (Verdict::Kernel, udp.clone()), "unchanged, to the kernel");
    let echo = eth(PORT0, GW4, ET_IPV6, &echo6("2001:db8:ff::1", "2001:db8:ff::9", 64, 8));
    assert_eq!(lab.run(0, &echo).0, Verdict::Punt, "relayd answers echo itself");
    // A port without a control TAP drops it, as before.
    let udp1 = eth(PORT1, HOST, ET_IPV6, &udp6("2001:db8:1::5", "2001:db8:1::9", 64, 60));
    lab.expect_drop(1, &udp1, DropReason::LocalUnsupported);
}

#[test]
fn the_kernel_gets_copies_of_arp_and_nd_on_its_port_only() {
    let lab = Lab::new(CONFIG);
    let host = lab.pipe.host();
    let request = eth(BCAST, GW4, ET_ARP, &arp(1, GW4, "198.51.100.1", [0; 6], "198.51.100.9"));
    assert!(kernel_wants_copy(host, 0, &request));
    let ns0 = eth(PORT0, GW4, ET_IPV6, &ns("2001:db8:ff::1", "2001:db8:ff::9", "2001:db8:ff::9", Some(GW4), 255));
    assert!(kernel_wants_copy(host, 0, &ns0));
    let echo = eth(PORT0, GW4, ET_IPV6, &echo6("2001:db8:ff::1", "2001:db8:ff::9", 64, 8));
    assert!(!kernel_wants_copy(host, 0, &echo), "relayd's own business");
    let ns1 = eth(PORT1, HOST, ET_IPV6, &ns("2001:db8:1::5", "2001:db8:1::9", "2001:db8:1::9", Some(HOST), 255));
    assert!(!kernel_wants_copy(host, 1, &ns1), "no TAP on port 1");
}

#[test]
fn the_kernels_answers_that_repeat_relayds_are_dropped_its_requests_leave() {
    let lab = Lab::new(CONFIG);
    let host = lab.pipe.host();
    let reply = eth(GW4, PORT0, ET_ARP, &arp(2, PORT0, "198.51.100.9", GW4, "198.51.100.1"));
    assert_eq!(kernel_egress(host, 0, &reply), Err(DropReason::KernelDuplicateAnswer));
    let request = eth(BCAST, PORT0, ET_ARP, &arp(1, PORT0, "198.51.100.9", [0; 6], "198.51.100.1"));
    assert_eq!(kernel_egress(host, 0, &request), Ok(()));
    let advert = eth(GW4, PORT0, ET_IPV6, &na("2001:db8:ff::9", "2001:db8:ff::1", 0x60, PORT0));
    assert_eq!(kernel_egress(host, 0, &advert), Err(DropReason::KernelDuplicateAnswer));
    let solicit = eth(BCAST, PORT0, ET_IPV6, &ns("2001:db8:ff::9", "ff02::1:ff00:1", "2001:db8:ff::1", Some(PORT0), 255));
    assert_eq!(kernel_egress(host, 0, &solicit), Ok(()));
    let bgp = eth(GW4, PORT0, ET_IPV4, &tcp4("198.51.100.9", "198.51.100.1"));
    assert_eq!(kernel_egress(host, 0, &bgp), Ok(()));
    assert_eq!(kernel_egress(host, 0, &bgp[..10]), Err(DropReason::L2Truncated));
}

#[test]
fn control_tap_and_policing_settings_are_validated() {
    for (bad, field) in [
        ("control_tap = \"\"", "pipeline.interface[0].control_tap"),
        ("control_tap = \"sixteen-bytes-xx\"", "pipeline.interface[0].control_tap"),
        ("control_tap = \"cp 0\"", "pipeline.interface[0].control_tap"),
    ] {
        let toml = format!("[[interface]]\nport = 0\n{bad}\n");
        let e = Config::from_toml(&toml).expect("parses").validate(1).expect_err(bad);
        assert_eq!(e.path, field, "{bad}: {e}");
    }
    let twice = "[[interface]]\nport = 0\ncontrol_tap = \"cp0\"\n[[interface]]\nport = 1\ncontrol_tap = \"cp0\"\n";
    assert_eq!(Config::from_toml(twice).expect("parses").validate(2).expect_err("twice").path, "pipeline.interface[1].control_tap");
    let peer = "[[interface]]\nport = 0\n[control_plane]\npeers = [\"bgp.example\"]\n";
    assert_eq!(Config::from_toml(peer).expect("parses").validate(1).expect_err("peer").path, "pipeline.control_plane.peers[0]");
    let burst = "[[interface]]\nport = 0\n[control_plane]\nother_burst = 0\n";
    assert_eq!(Config::from_toml(burst).expect("parses").validate(1).expect_err("burst").path, "pipeline.control_plane.other_burst");
}
