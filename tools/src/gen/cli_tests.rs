//! Command-line validation: what a good command line becomes, and the message each bad one
//! gets.
use clap::Parser;

use super::cli::{is_pci_address, plan, traffic, write_pcap_args, Cli, RateSpec, Traffic};
use super::mix::{Kind, Sizes};

fn cli(args: &[&str]) -> Cli {
    let mut v = vec!["relay-gen"];
    v.extend_from_slice(args);
    Cli::try_parse_from(v).expect("parses")
}

fn plan_err(args: &[&str]) -> String {
    plan(&cli(args)).expect_err("must be refused")
}

const TWO_MEMIF: [&str; 8] = [
    "--port",
    "lan=net_memif0,role=client,socket=/tmp/a.sock",
    "--port",
    "wan=net_memif1,role=client,socket=/tmp/b.sock",
    "--tx",
    "lan:encap+transit",
    "--rx",
    "wan",
];

#[test]
fn a_good_command_line_becomes_a_plan() {
    let mut args = TWO_MEMIF.to_vec();
    args.extend(["--rate-pps", "1000", "--count", "50", "--file-prefix", "g1", "--lcores", "0@0,1@0", "--", "--log-level=debug"]);
    let p = plan(&cli(&args)).unwrap();
    assert_eq!(p.ports.len(), 2);
    assert_eq!(p.ports[0].ethdev, "net_memif0");
    assert_eq!(p.ports[0].tx, Some(vec![Kind::Encap, Kind::Transit]));
    assert!(!p.ports[0].rx && p.ports[1].rx && p.ports[1].tx.is_none());
    assert_eq!((p.rate.clone(), p.count, p.duration), (RateSpec::Pps(1000), Some(50), None));
    assert_eq!(
        p.eal,
        vec![
            "relay-gen",
            "--lcores=0@0,1@0",
            "--file-prefix=g1",
            "--no-huge",
            "-m",
            "512",
            "--log-level=notice",
            "--no-pci",
            "--vdev=net_memif0,role=client,socket=/tmp/a.sock",
            "--vdev=net_memif1,role=client,socket=/tmp/b.sock",
            "--log-level=debug",
        ]
    );
    match p.traffic {
        Traffic::Generated { sizes, flows, src_mac_given, .. } => assert_eq!((sizes, flows, src_mac_given), (Sizes::Fixed(128), 64, false)),
        other => panic!("generated traffic expected, got {other:?}"),
    }
}

#[test]
fn pci_ports_are_allowed_and_listed_with_a() {
    let p = plan(&cli(&["--port", "x=0000:01:00.0", "--tx", "x", "--rx", "x", "--hugepages", "--file-prefix", "g"])).unwrap();
    assert!(p.ports[0].is_pci);
    assert_eq!(p.eal[3..], ["--log-level=notice", "-a", "0000:01:00.0"]);
    assert!(is_pci_address("01:00.1") && !is_pci_address("0000:01:00") && !is_pci_address("net_ring0"));
}

#[test]
fn bad_ports_and_roles_are_named() {
    assert_eq!(plan_err(&["--port", "a", "--tx", "a"]), "--port: \"a\" is not NAME=VALUE");
    assert!(plan_err(&["--port", "a=eth0", "--tx", "a"]).contains("neither a PCI address"));
    assert!(plan_err(&["--port", "a=net_ring0", "--port", "a=net_ring1", "--tx", "a"]).contains("port name \"a\" is used twice"));
    assert!(plan_err(&["--port", "a=net_ring0", "--port", "b=net_ring0,x=1", "--tx", "a"]).contains("net_ring0 is used by two ports"));
    assert_eq!(plan_err(&["--port", "a=net_ring0", "--tx", "b"]), "--tx: no --port named \"b\"");
    assert_eq!(plan_err(&["--port", "a=net_ring0", "--rx", "a"]), "--tx: at least one TX port is needed");
    assert!(plan_err(&["--port", "a=net_ring0", "--port", "b=net_ring1", "--tx", "a"]).contains("\"b\" is neither --tx nor --rx"));
    assert!(plan_err(&["--port", "a=net_ring0", "--tx", "a:bogus"]).contains("unknown kind \"bogus\""));
    assert!(plan_err(&["--port", "a=net_ring0", "--tx", "a", "--tx", "a"]).contains("given twice"));
    assert!(plan_err(&["--port", "a=net_ring0", "--tx", "a:decap", "--mix", "encap=100"]).contains("would send nothing"));
    assert!(plan_err(&["--port", "a=net_ring0", "--tx", "a", "--port-mac", "a=zz"]).starts_with("--port-mac:"));
    assert_eq!(plan_err(&["--port", "a=net_ring0", "--tx", "a", "--dst-mac", "b=02:00:00:00:00:05"]), "--dst-mac: no --port named \"b\"");
}

#[test]
fn destination_macs_common_and_per_port() {
    let p = plan(&cli(&[
        "--port", "a=net_ring0", "--port", "b=net_ring1", "--tx", "a", "--tx", "b",
        "--dst-mac", "02:00:00:00:00:07", "--dst-mac", "b=02:00:00:00:00:08",
    ]))
    .unwrap();
    assert_eq!((p.ports[0].dst_mac, p.ports[1].dst_mac), (None, Some([2, 0, 0, 0, 0, 8])));
    match p.traffic {
        Traffic::Generated { addrs, .. } => assert_eq!(addrs.dst_mac, [2, 0, 0, 0, 0, 7]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_numbers_are_named() {
    let base = ["--port", "a=net_ring0", "--tx", "a"];
    let with = |extra: &[&str]| {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        plan_err(&v)
    };
    assert_eq!(with(&["--rate-pps", "0"]), "--rate-pps: must be at least 1");
    assert_eq!(with(&["--rate-percent", "150"]), "--rate-percent: 150 is not in (0, 100]");
    assert_eq!(with(&["--rate-percent", "0"]), "--rate-percent: 0 is not in (0, 100]");
    assert_eq!(with(&["--count", "0"]), "--count: must be at least 1");
    assert!(with(&["--duration=-1"]).starts_with("--duration:"));
    assert!(with(&["--duration", "NaN"]).starts_with("--duration:"));
    assert!(with(&["--size", "40"]).contains("outside 64..=1518"));
    assert!(with(&["--mix", "encap=90"]).starts_with("--mix: the percentages add up to 90"));
    assert_eq!(with(&["--flows", "0"]), "--flows: must be at least 1");
    assert_eq!(with(&["--desc", "100"]), "--desc: must be a power of two, at least 64");
    assert!(with(&["--dst-mac", "1:2:3"]).starts_with("--dst-mac:"));
    assert!(with(&["--sites", "300.0.0.0/8"]).starts_with("--sites:"));
    assert!(with(&["--native-src", "2001:db8::g"]).starts_with("--native-src:"));
    assert!(with(&["--relay-v4", "x"]).starts_with("--relay-v4:"));
    assert_eq!(with(&["--ttl", "0"]), "--ttl: must be at least 1");
    assert_eq!(with(&["--file-prefix", "a/b"]), "--file-prefix: must be a non-empty name without '/'");
    assert_eq!(with(&["--memory-mb", "16"]), "--memory-mb: at least 64 MiB without hugepages");
}

#[test]
fn clap_refuses_conflicting_options() {
    for args in [
        vec!["relay-gen", "--size", "64", "--imix"],
        vec!["relay-gen", "--rate-pps", "1", "--rate-percent", "5"],
        vec!["relay-gen", "--pcap", "x.pcap", "--imix"],
        vec!["relay-gen", "--write-pcap", "only-a-file"],
        vec!["relay-gen", "--rate-pps", "many"],
    ] {
        assert!(Cli::try_parse_from(&args).is_err(), "{args:?}");
    }
}

#[test]
fn traffic_and_write_pcap_options() {
    let c = cli(&["--imix", "--src-mac", "02:00:00:00:00:99", "--write-pcap", "/tmp/x.pcap", "100"]);
    match traffic(&c).unwrap() {
        Traffic::Generated { sizes, addrs, src_mac_given, .. } => {
            assert_eq!((sizes, addrs.src_mac, src_mac_given), (Sizes::Imix, [2, 0, 0, 0, 0, 0x99], true));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(write_pcap_args(&c), Ok(Some(("/tmp/x.pcap".into(), 100))));
    assert_eq!(write_pcap_args(&cli(&[])), Ok(None));
    assert!(write_pcap_args(&cli(&["--write-pcap", "f", "many"])).unwrap_err().contains("not a packet count"));
    assert!(matches!(traffic(&cli(&["--pcap", "in.pcap"])), Ok(Traffic::Replay { .. })));
}
