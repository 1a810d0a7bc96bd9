//! DNS registration against a real BIND 9 started by the test (tests/common/bind.rs) and a live
//! relayd: names on create, gone on delete and expiry, put back and cleaned by reconcile, never
//! touching the zone's other records; a wrong TSIG secret or key, or a server that is down,
//! leaves the tunnel pending with the reason, and a retry finishes it. Answers read with `dig`.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use relay_broker::api;
use relay_broker::broker::Broker;
use relay_broker::config::Config;
use relay_broker::db::{Db, Role, State};
use relay_broker::dns::DnsReconciled;

mod common;
use common::bind::{free_port, Named, KEY, REVERSE, SECRET, ZONE};
use common::postgres::Postgres;
use common::Relayd;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rbk-dns-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("named")).expect("scratch");
    d
}

fn dns_section(port: u16, key: &str, secret: &str) -> String {
    format!(
        "[dns]\nserver = \"127.0.0.1:{port}\"\nzone = \"{ZONE}\"\nreverse_zones = [\"{}\", \"{}\"]\n\
         tsig_key = \"{key}\"\ntsig_algorithm = \"hmac-sha256\"\ntsig_secret = \"{secret}\"\nttl = 600\n",
        REVERSE[0], REVERSE[1]
    )
}

fn sqlite(dir: &Path, file: &str) -> String {
    format!("sqlite://{}/{file}", dir.display())
}

/// A broker on `url` (a database of its own), the relayd of `dir`, and `[dns]`.
async fn broker(dir: &Path, url: &str, dns: &str) -> Broker {
    let text = common::live_config(dir, url, dns);
    let cfg = Config::parse("t.toml", &text).expect("config");
    let db = Db::connect(&cfg.database).await.expect("db");
    db.add_user("alice", "pw", Role::User).await.expect("user");
    Broker::new(cfg, db)
}

const CLIENT: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 77);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_on_create_gone_on_delete_and_expiry_reconciled() {
    let dir = scratch("life");
    names_on(&dir, &sqlite(&dir, "b.db")).await;
}

/// The same with the owned records in PostgreSQL 15 (a cluster of the test's own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_names_on_create_gone_on_delete_and_expiry_reconciled() {
    let dir = scratch("life-pg");
    let pg = Postgres::start("dns");
    names_on(&dir, &pg.database("broker")).await;
}

async fn names_on(dir: &Path, url: &str) {
    let mut named = Named::start(&dir.join("named"), free_port());
    let mut r = Relayd::start(dir);
    r.wait_up().await;
    let b = broker(dir, url, &dns_section(named.port, KEY, SECRET)).await;

    let (t1, _) = b.create("alice", CLIENT, true, 1000).await.expect("create");
    assert_eq!((t1.state, t1.last_error.as_deref()), (State::Active, None));
    let (t2, _) = b.create("alice", Ipv4Addr::new(203, 0, 113, 78), false, 1000).await.expect("create");
    assert_eq!(t2.state, State::Active);
    assert_eq!(named.dig(&["AAAA", "t1.tunnels.example.net"]), "2001:db8:1000::2\n");
    assert_eq!(named.dig(&["-x", "2001:db8:1000::2"]), "t1.tunnels.example.net.\n");
    assert_eq!(named.dig(&["AAAA", "p1.tunnels.example.net"]), "2001:db8:8000::1\n");
    assert_eq!(named.dig(&["-x", "2001:db8:8000::1"]), "p1.tunnels.example.net.\n");
    assert_eq!(named.dig(&["AAAA", "t2.tunnels.example.net"]), "2001:db8:1000:1::2\n");
    assert_eq!(named.dig(&["-x", "2001:db8:1000:1::2"]), "t2.tunnels.example.net.\n");
    assert_eq!(named.dig(&["AAAA", "p2.tunnels.example.net"]), "");
    assert_eq!(b.reconcile_dns().await.expect("reconcile"), DnsReconciled::default());

    // Removed behind the broker's back: reconcile puts it back, and only it.
    named.nsupdate("update delete t2.tunnels.example.net. AAAA");
    assert_eq!(named.dig(&["AAAA", "t2.tunnels.example.net"]), "");
    let rec = b.reconcile_dns().await.expect("reconcile");
    let added = vec!["t2.tunnels.example.net. AAAA 2001:db8:1000:1::2".to_string()];
    assert_eq!(rec, DnsReconciled { added, ..Default::default() });
    assert_eq!(named.dig(&["AAAA", "t2.tunnels.example.net"]), "2001:db8:1000:1::2\n");

    // Delete: its four names go; the zone's own records stay.
    b.delete(t1.id, 1010).await.expect("delete");
    for q in [["AAAA", "t1.tunnels.example.net"], ["-x", "2001:db8:1000::2"], ["AAAA", "p1.tunnels.example.net"], ["-x", "2001:db8:8000::1"]] {
        assert_eq!(named.dig(&q), "", "{q:?}");
    }
    assert_eq!(named.dig(&["TXT", "t1.tunnels.example.net"]), "\"operator note\"\n");
    assert_eq!(named.dig(&["AAAA", "gw.tunnels.example.net"]), "2001:db8:1000::1\n");

    // Expiry while the DNS server is down: the tunnel goes, its names stay (the broker's, listed)
    // until a reconcile finds the server back.
    named.stop();
    assert_eq!(b.expire(1101).await.expect("expire"), vec![t2.id]);
    let rec = b.reconcile_dns().await.expect("reconcile");
    assert_eq!(rec.failed.len(), 1, "{rec:?}");
    assert!(rec.failed[0].starts_with(&format!("dns server 127.0.0.1:{}: ", named.port)), "{rec:?}");
    let named = Named::start(&dir.join("named"), named.port);
    assert_eq!(named.dig(&["AAAA", "t2.tunnels.example.net"]), "2001:db8:1000:1::2\n");
    let rec = b.reconcile_dns().await.expect("reconcile");
    let removed = vec![
        "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.0.1.8.b.d.0.1.0.0.2.ip6.arpa. PTR t2.tunnels.example.net.".to_string(),
        "t2.tunnels.example.net. AAAA 2001:db8:1000:1::2".to_string(),
    ];
    assert_eq!(rec, DnsReconciled { removed, ..Default::default() });
    assert_eq!(named.dig(&["AAAA", "t2.tunnels.example.net"]), "");
    assert_eq!(named.dig(&["-x", "2001:db8:1000:1::2"]), "");
    assert_eq!(named.dig(&["TXT", "t1.tunnels.example.net"]), "\"operator note\"\n");
    assert_eq!(b.reconcile_dns().await.expect("reconcile"), DnsReconciled::default());
    drop(named);
    drop(r);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_key_or_down_server_leaves_the_tunnel_pending_then_retried() {
    let dir = scratch("refused");
    let port = free_port();
    let mut r = Relayd::start(&dir);
    r.wait_up().await;

    // Nothing listens yet: pending, and why.
    let b = broker(&dir, &sqlite(&dir, "b.db"), &dns_section(port, KEY, SECRET)).await;
    let (t, _) = b.create("alice", CLIENT, false, 1000).await.expect("create");
    assert_eq!(t.state, State::Pending);
    let why = t.last_error.clone().expect("reason");
    assert_eq!(why, format!("dns server 127.0.0.1:{port}: io error: Connection refused (os error 111)"));
    assert_eq!(b.db.tunnel(t.id).await.expect("get").expect("tunnel").last_error, Some(why));

    let named = Named::start(&dir.join("named"), port);
    // The right key name with another secret: BIND answers NOTAUTH, TSIG error BADSIG (zones
    // are updated in name order, so the first refusal is the link pool's reverse zone's).
    let wrong = broker(&dir, &sqlite(&dir, "wrong.db"), &dns_section(port, KEY, "d3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmc=")).await;
    let (w, _) = wrong.create("alice", Ipv4Addr::new(203, 0, 113, 90), false, 1000).await.expect("create");
    let badsig = format!("dns server 127.0.0.1:{port}: update of zone {}. refused: NOTAUTH (TSIG BADSIG)", REVERSE[0]);
    assert_eq!((w.state, w.last_error.as_deref()), (State::Pending, Some(badsig.as_str())));
    let again = wrong.retry_pending().await.expect("retry");
    assert_eq!((again.active, again.pending), (vec![], vec![(w.id, badsig.clone())]));
    // The API shows why.
    let token = format!("Authorization: Bearer {}\r\n", wrong.db.add_token("alice", 0).await.expect("token"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(api::serve(listener, api::App::new(wrong)));
    let (st, body) = common::http(addr, "GET", &format!("/api/tunnels/{}", w.id), &token, "").await;
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!((st, &v["state"], &v["error"]), (200, &serde_json::json!("pending"), &serde_json::json!(badsig)));
    // A key the server does not know: BADKEY.
    let unknown = broker(&dir, &sqlite(&dir, "unknown.db"), &dns_section(port, "nobody", SECRET)).await;
    let (u, _) = unknown.create("alice", Ipv4Addr::new(203, 0, 113, 91), false, 1000).await.expect("create");
    let badkey = format!("dns server 127.0.0.1:{port}: update of zone {}. refused: NOTAUTH (TSIG BADKEY)", REVERSE[0]);
    assert_eq!((u.state, u.last_error.as_deref()), (State::Pending, Some(badkey.as_str())));
    // Neither wrote anything (their tunnels are t1 too, in databases of their own).
    assert_eq!(named.dig(&["AAAA", "t1.tunnels.example.net"]), "");
    assert_eq!(named.dig(&["-x", "2001:db8:1000::2"]), "");

    // The server is up now: the retry registers the first broker's tunnel and makes it active.
    let done = b.retry_pending().await.expect("retry");
    assert_eq!((done.active, done.pending), (vec![t.id], vec![]));
    let now = b.db.tunnel(t.id).await.expect("get").expect("tunnel");
    assert_eq!((now.state, now.last_error), (State::Active, None));
    assert_eq!(named.dig(&["AAAA", "t1.tunnels.example.net"]), "2001:db8:1000::2\n");
    assert_eq!(named.dig(&["-x", "2001:db8:1000::2"]), "t1.tunnels.example.net.\n");
    drop(named);
    drop(r);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_dns_configs_are_refused_naming_the_field() {
    let base = "[pools]\nlink64 = \"2001:db8:1000::/48\"\nrouted48 = \"2001:db8:8000::/40\"\n";
    let msg = |dns: &str| match Config::parse("f.toml", &format!("{base}{dns}")) {
        Err(e) => e.to_string(),
        Ok(_) => "accepted".into(),
    };
    let good = dns_section(53, KEY, SECRET);
    let ok = Config::parse("f.toml", &format!("{base}{good}")).expect("good [dns]");
    let dns = ok.dns.expect("checked");
    assert_eq!((dns.zone.to_ascii(), dns.key_name.to_ascii(), dns.ttl), ("tunnels.example.net.".into(), "relay-broker.".into(), 600));
    assert!(Config::parse("f.toml", base).expect("no [dns]").dns.is_none());
    // The secret is never printed with the configuration.
    let printed = format!("{:?}", Config::parse("f.toml", &format!("{base}{good}")).expect("good"));
    assert!(printed.contains("tsig_key: \"relay-broker\"") && !printed.contains(SECRET), "{printed}");
    assert_eq!(
        msg(&good.replace(SECRET, "not*base64")),
        "f.toml: field `dns.tsig_secret`: not base64: Invalid symbol 42, offset 3."
    );
    assert_eq!(
        msg(&good.replace("hmac-sha256", "hmac-md5")),
        "f.toml: field `dns.tsig_algorithm`: `hmac-md5` is not supported: hmac-sha256, hmac-sha384 or hmac-sha512"
    );
    assert_eq!(msg(&good.replace(ZONE, "tunnels..example.net")), "f.toml: field `dns.zone`: `tunnels..example.net` is not a domain name");
    assert_eq!(msg(&good.replace(ZONE, "bad zone")), "f.toml: field `dns.zone`: `bad zone` is not a domain name");
    assert_eq!(
        msg(&good.replace(REVERSE[1], "8.b.d.0.1.0.0.3.ip6.arpa")),
        "f.toml: field `dns.reverse_zones`: no zone covers the routed48 pool 2001:db8:8000::/40"
    );
    assert_eq!(
        msg(&good.replace(REVERSE[0], "10.0.0.1.ip6.arpa")),
        "f.toml: field `dns.reverse_zones`: `10.0.0.1.ip6.arpa` is not an ip6.arpa zone (hex nibbles, then ip6.arpa)"
    );
    assert_eq!(msg(&good.replace("ttl = 600", "ttl = 0")), "f.toml: field `dns.ttl`: 0 is not in 1..=2147483647");
    assert!(msg(&good.replace("ttl = 600", "tll = 600")).contains("unknown field `tll`"));
}
