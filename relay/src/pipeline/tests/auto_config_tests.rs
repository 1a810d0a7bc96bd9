//! Configuration of the automatic mechanisms and of configured tunnels' own settings:
//! what validates, what it implies, and errors naming the field.
use std::net::Ipv4Addr;

use super::*;

/// Every mechanism on one box, each on its own IPv4 address (RFC 3964 6.1).
pub const ALL: &str = wan_lan_box!(r#"
[relay]
ipv4 = "198.51.100.9"

[ipv4_compatible]
ipv4 = "198.51.100.21"

[[isatap]]
ipv4 = "198.51.100.22"
prefixes = ["2001:db8:5e::/64"]
prl = ["198.51.100.40"]

[[6rd]]
br = "198.51.100.23"
prefix = "2001:db8:6400::/48"
ipv4_prefix = "198.51.100.0/24"

[[6over4]]
port = 0
prefixes = ["2001:db8:64::/64"]

[[tunnel]]
id = 0
local = "198.51.100.20"
remote = "203.0.113.50"
name = "to-b"
mtu = 1400
ttl = 32
dscp = 46

[[route]]
add = "2001:db8:50::/48 tunnel 0"

[[neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"

[[neighbour]]
ip = "198.51.100.7"
mac = "02:00:00:00:07:07"

[[neighbour]]
ip = "198.51.100.50"
mac = "02:00:00:00:50:50"

[[neighbour]]
ip = "2001:db8:20::5"
mac = "02:00:00:00:02:05"
"#);

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn every_mechanism_validates() {
    let s = Config::from_toml(ALL).unwrap().validate(2).unwrap();
    let a = &s.automatic;
    assert_eq!(a.ipv4_compatible, Some(v4("198.51.100.21")));
    assert_eq!(a.isatap, vec![IsatapSettings { ipv4: v4("198.51.100.22"), prefixes: vec!["2001:db8:5e::/64".parse().unwrap()], prl: vec![v4("198.51.100.40")] }]);
    assert_eq!(a.sixrd, vec![SixRdDomain::new(v4("198.51.100.23"), "2001:db8:6400::/48".parse().unwrap(), "198.51.100.0/24".parse().unwrap()).unwrap()]);
    assert_eq!(a.sixover4, vec![SixOver4Settings { port: 0, ipv4: v4("198.51.100.20"), prefixes: vec!["2001:db8:64::/64".parse().unwrap()], ttl: 8 }]);
    assert_eq!(a.locals(), [v4("198.51.100.20"), v4("198.51.100.21"), v4("198.51.100.22"), v4("198.51.100.23")]);
    assert_eq!(
        s.own_v4(),
        [v4("198.51.100.9"), v4("198.51.100.20"), v4("198.51.100.21"), v4("198.51.100.22"), v4("198.51.100.23")]
    );
    let t = Tables::new(&s).unwrap();
    assert_eq!(
        t.routes_text(),
        "::/96 ipv4-compatible\n\
         2001:db8:20::/64 port 1\n\
         2001:db8:50::/48 tunnel 0\n\
         2001:db8:5e::/64 isatap 198.51.100.22\n\
         2001:db8:64::/64 6over4 198.51.100.20\n\
         2001:db8:6400::/48 6rd 2001:db8:6400::/48\n\
         2002::/16 6to4\n"
    );
    assert_eq!(t.tunnels_text(), "0 local 198.51.100.20 remote 203.0.113.50 name to-b mtu 1400 ttl 32 dscp 46\n");
    // The text form reads back what it prints.
    for line in t.routes_text().lines() {
        let u = parse_route(&format!("add {line}")).unwrap();
        assert_eq!(u.to_string(), format!("route add {line}"));
        assert_eq!(parse_update(&u.to_string()).unwrap(), u);
    }
    let u = TableUpdate::TunnelSet { id: 0, tunnel: t.tunnels()[0].1 };
    assert_eq!(u.to_string(), format!("tunnel set {}", t.tunnels_text().trim_end()));
    assert_eq!(parse_update(&u.to_string()).unwrap(), u);
}

#[test]
fn all_off_by_default() {
    let s = Config::from_toml("[[interface]]\nport = 0\n").unwrap().validate(1).unwrap();
    assert_eq!(s.automatic, AutomaticSettings::default());
    assert!(s.automatic.locals().is_empty() && s.automatic.implicit_routes().is_empty());
}

/// A change to a mechanism is more than tables: a reload refuses it.
#[test]
fn mechanisms_are_forwarding_settings() {
    let a = Config::from_toml(ALL).unwrap().validate(2).unwrap();
    let b = Config::from_toml(&ALL.replace("198.51.100.40", "198.51.100.41")).unwrap().validate(2).unwrap();
    assert!(!a.same_forwarding(&b));
    let c = Config::from_toml(&ALL.replace("mtu = 1400", "mtu = 1300")).unwrap().validate(2).unwrap();
    assert!(a.same_forwarding(&c), "configured tunnels are tables");
}

fn error(toml: &str) -> String {
    Config::from_toml(toml).unwrap().validate(2).unwrap_err().to_string()
}

#[test]
fn errors_name_the_field() {
    let base = "[[interface]]\nport = 0\nipv4 = \"198.51.100.20/24\"\n[[interface]]\nport = 1\nipv6 = [\"3fff:20::1/64\"]\n";
    let rd = |body: &str| format!("{base}[[6rd]]\nbr = \"198.51.100.30\"\n{body}");
    let isatap = |body: &str| format!("{base}[[isatap]]\nipv4 = \"198.51.100.22\"\n{body}");
    let tunnel = |body: &str| format!("{base}[[tunnel]]\nid = 0\nlocal = \"198.51.100.20\"\nremote = \"203.0.113.50\"\n{body}");
    let one_per_address = "one automatic mechanism per IPv4 address (RFC 3964 6.1)";
    let cases: Vec<(String, String)> = vec![
        (rd("prefix = \"2001:db8::/48\"\nipv4_mask_len = 8\n"), "pipeline.6rd[0].prefix: 6rdPrefixLen 48 + (32 - IPv4MaskLen 8) = 72 is over 64 (RFC 5969 section 7)".into()),
        (rd("prefix = \"2001:db8::/32\"\nipv4_prefix = \"0.0.0.0/0\"\n\n[[6rd]]\nbr = \"198.51.100.31\"\nprefix = \"2001:db8::/40\"\nipv4_mask_len = 0\n"), "pipeline.6rd[1].prefix: 6rdPrefixLen 40 + (32 - IPv4MaskLen 0) = 72 is over 64 (RFC 5969 section 7)".into()),
        (rd("prefix = \"2001:db8::/32\"\nipv4_mask_len = 8\nipv4_prefix = \"10.0.0.0/8\"\n"), "pipeline.6rd[0].ipv4_prefix: give ipv4_mask_len or ipv4_prefix, not both".into()),
        (rd("prefix = \"2001:db8::/32\"\n"), "pipeline.6rd[0]: give ipv4_mask_len (RFC 5969 IPv4MaskLen) or ipv4_prefix".into()),
        (rd("prefix = \"2001:db8::/32\"\nipv4_mask_len = 33\n"), "pipeline.6rd[0].ipv4_mask_len: 33: IPv4MaskLen is 0..=32".into()),
        (rd("prefix = \"2001:db8::/32\"\nipv4_prefix = \"10.1.0.0/8\"\n"), "pipeline.6rd[0].ipv4_prefix: 10.1.0.0/8 has host bits set (the network is 10.0.0.0/8)".into()),
        (rd("prefix = \"ff00::/8\"\nipv4_mask_len = 8\n"), "pipeline.6rd[0].prefix: ff00::/8 is not a global unicast prefix".into()),
        (rd("prefix = \"2001:db8::1/32\"\nipv4_mask_len = 8\n"), "pipeline.6rd[0].prefix: 2001:db8::1/32 has host bits set (the network is 2001:db8::/32)".into()),
        (format!("{base}[[6rd]]\nbr = \"224.0.0.1\"\nprefix = \"2001:db8::/32\"\nipv4_mask_len = 8\n"), "pipeline.6rd[0].br: 224.0.0.1 is not a unicast IPv4 address".into()),
        (rd("prefix = \"2001:db8::/32\"\nipv4_mask_len = 8\n[[6rd]]\nbr = \"198.51.100.30\"\nprefix = \"2001:db8:1::/48\"\nipv4_mask_len = 24\n"), "pipeline.6rd[1].prefix: 2001:db8:1::/48 overlaps 2001:db8::/32 (pipeline.6rd[0].prefix)".into()),
        (format!("[router]\nipv4 = \"198.51.100.7\"\n{}", rd("prefix = \"2002:100::/24\"\nipv4_mask_len = 0\n")), "pipeline.6rd[0].prefix: 2002:100::/24 overlaps 2002::/16 (6to4)".into()),
        (rd("prefix = \"3fff:20::/48\"\nipv4_mask_len = 16\n"), "pipeline.6rd[0].prefix: 3fff:20::/48 overlaps 3fff:20::/64 (pipeline.interface[1].ipv6[0])".into()),
        (format!("[relay]\nipv4 = \"198.51.100.22\"\n{}", isatap("prefixes = [\"2001:db8:5e::/64\"]\n")), format!("pipeline.isatap[0].ipv4: 198.51.100.22 already terminates 6to4 (pipeline.relay): {one_per_address}")),
        (format!("{}[[6rd]]\nbr = \"198.51.100.22\"\nprefix = \"2001:db8:6400::/48\"\nipv4_mask_len = 24\n", isatap("prefixes = [\"2001:db8:5e::/64\"]\n")), format!("pipeline.6rd[0].br: 198.51.100.22 already terminates ISATAP (pipeline.isatap[0].ipv4): {one_per_address}")),
        (format!("{}[[isatap]]\nipv4 = \"198.51.100.22\"\nprefixes = [\"2001:db8:5f::/64\"]\n", isatap("prefixes = [\"2001:db8:5e::/64\"]\n")), format!("pipeline.isatap[1].ipv4: 198.51.100.22 already terminates ISATAP (pipeline.isatap[0].ipv4): {one_per_address}")),
        (isatap("prefixes = [\"2001:db8:5e::/48\"]\n"), "pipeline.isatap[0].prefixes[0]: 2001:db8:5e::/48: a link prefix is a /64 (the interface identifier embeds the IPv4 address)".into()),
        (isatap(""), "pipeline.isatap[0].prefixes: the link needs at least one /64 prefix".into()),
        (isatap("prefixes = [\"2001:db8:5e::/64\"]\nprl = [\"198.51.100.22\"]\n"), "pipeline.isatap[0].prl[0]: 198.51.100.22 is this router's own ISATAP address".into()),
        (isatap("prefixes = [\"2001:db8:5e::/64\"]\nprl = [\"0.0.0.1\"]\n"), "pipeline.isatap[0].prl[0]: 0.0.0.1 is not a unicast IPv4 address".into()),
        (isatap("prefixes = [\"3fff:20::/64\"]\n"), "pipeline.isatap[0].prefixes[0]: 3fff:20::/64 overlaps 3fff:20::/64 (pipeline.interface[1].ipv6[0])".into()),
        (format!("{base}[ipv4_compatible]\nipv4 = \"10.0.0.1\"\n"), "pipeline.ipv4_compatible.ipv4: 10.0.0.1 is not a global unicast IPv4 address (an IPv4-compatible address embeds one)".into()),
        (format!("{base}[[6over4]]\nport = 1\nprefixes = [\"2001:db8:64::/64\"]\n"), "pipeline.6over4[0].port: port 1 has no IPv4 address for 6over4".into()),
        (format!("{base}[[6over4]]\nport = 5\nprefixes = [\"2001:db8:64::/64\"]\n"), "pipeline.6over4[0].port: port 5 has no [[pipeline.interface]]".into()),
        (format!("{base}[[6over4]]\nport = 0\nprefixes = [\"2001:db8:64::/64\"]\n[[6over4]]\nport = 0\nprefixes = [\"2001:db8:65::/64\"]\n"), "pipeline.6over4[1].port: port 0 already has a 6over4 link (pipeline.6over4[0])".into()),
        (format!("[router]\nipv4 = \"198.51.100.20\"\n{base}[[6over4]]\nport = 0\nprefixes = [\"2001:db8:64::/64\"]\n"), format!("pipeline.6over4[0].port: 198.51.100.20 already terminates 6to4 (pipeline.router.ipv4): {one_per_address}")),
        (tunnel("mtu = 1500\n"), "pipeline.tunnel[0].mtu: 1500: the tunnel MTU must be 1280..=1480".into()),
        (tunnel("mtu = 1279\n"), "pipeline.tunnel[0].mtu: 1279: the tunnel MTU must be 1280..=1480".into()),
        (tunnel("ttl = 0\n"), "pipeline.tunnel[0].ttl: 0: the outer TTL must be 1..=255".into()),
        (tunnel("dscp = 64\n"), "pipeline.tunnel[0].dscp: 64: a DSCP value is 0..=63".into()),
        (tunnel("dscp = \"ef\"\n"), "pipeline.tunnel[0].dscp: \"ef\": expected \"copy\" or a DSCP value 0..=63".into()),
        (tunnel("name = \"to b\"\n"), "pipeline.tunnel[0].name: tunnel name \"to b\" may hold only letters, digits, '-', '_' and '.'".into()),
        (tunnel("name = \"a-very-long-name-1\"\n"), "pipeline.tunnel[0].name: tunnel name \"a-very-long-name-1\" must be 1 to 15 characters".into()),
        (format!("{}[[tunnel]]\nid = 1\nlocal = \"198.51.100.20\"\nremote = \"203.0.113.51\"\nname = \"to-b\"\n", tunnel("name = \"to-b\"\n")), "pipeline.tunnel[1]: tunnel 0 is already named to-b".into()),
        (format!("{}[[route]]\nadd = \"2001:db8:77::/48 isatap 198.51.100.22\"\n", isatap("prefixes = [\"2001:db8:5e::/64\"]\n")), "pipeline.route[0].add: 2001:db8:77::/48 is not within a prefix of the ISATAP link on 198.51.100.22".into()),
        (format!("{base}[[route]]\nadd = \"2001:db8:77::/48 isatap 198.51.100.22\"\n"), "pipeline.route[0].add: no ISATAP link on 198.51.100.22".into()),
        (format!("{base}[[route]]\nadd = \"2001:db8:99::/48 6rd 2001:db8:99::/48\"\n"), "pipeline.route[0].add: no 6rd domain 2001:db8:99::/48".into()),
        (format!("{base}[[route]]\nadd = \"2001:db8:99::/48 6over4 198.51.100.20\"\n"), "pipeline.route[0].add: no 6over4 link on 198.51.100.20".into()),
        (format!("{base}[ipv4_compatible]\nipv4 = \"198.51.100.21\"\n[[route]]\nadd = \"::/64 ipv4-compatible\"\n"), "pipeline.route[0].add: ::/64 is not within ::/96".into()),
    ];
    let mut wrong = Vec::new();
    for (toml, want) in &cases {
        let got = error(toml);
        if got != *want {
            wrong.push(format!("{toml}\n  got:  {got}\n  want: {want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn unknown_fields_are_rejected() {
    for toml in [
        "[[isatap]]\nipv4 = \"198.51.100.22\"\nprefix = [\"2001:db8:5e::/64\"]\n",
        "[[6rd]]\nbr = \"198.51.100.30\"\nprefix = \"2001:db8::/32\"\nmask_len = 8\n",
        "[ipv4_compatible]\nipv4 = \"198.51.100.21\"\nenabled = true\n",
        "[[6over4]]\nport = 0\nipv4 = \"198.51.100.20\"\n",
        "[[tunnel]]\nid = 0\nlocal = \"198.51.100.20\"\nremote = \"203.0.113.50\"\nhop_limit = 3\n",
    ] {
        let err = Config::from_toml(toml).unwrap_err();
        assert!(err.contains("unknown field"), "{toml}: {err}");
    }
}

/// Nested in relayd's file as `[pipeline]`: `[[pipeline.6rd]]`, `[[pipeline.6over4]]`.
#[test]
fn nests_under_a_pipeline_table() {
    #[derive(serde::Deserialize)]
    struct File {
        pipeline: Config,
    }
    let text = ALL
        .replace("[[", "[[pipeline.")
        .replace("[relay]", "[pipeline.relay]")
        .replace("[ipv4_compatible]", "[pipeline.ipv4_compatible]");
    let file: File = toml::from_str(&format!("[pipeline]\n{text}")).unwrap();
    assert_eq!(file.pipeline, Config::from_toml(ALL).unwrap());
}
