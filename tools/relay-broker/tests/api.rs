//! The HTTP API and /nic/update over real TCP against a live relayd.

use std::path::PathBuf;

use base64::Engine;
use relay_broker::api;
use relay_broker::broker::Broker;
use relay_broker::config::Config;
use relay_broker::db::{Db, Role};
use relay_broker::relayd;

mod common;
use common::{http, one_server_config, Relayd};

const OPERATOR: &str = "0 local 198.51.100.20 remote 203.0.113.50 name operator\n";

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_and_nic_update_on_a_live_relayd() {
    let dir: PathBuf = std::env::temp_dir().join(format!("rbk-api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    let mut r = Relayd::start(&dir);
    r.wait_up().await;
    let text = one_server_config(&dir);
    let cfg = Config::parse("t.toml", &text).expect("config");
    let sock = cfg.servers[0].control.clone();
    let db = Db::connect(&cfg.database).await.expect("db");
    db.add_user("alice", "pw", Role::User).await.expect("user");
    db.add_user("bob", "pw", Role::User).await.expect("user");
    let alice = format!("Authorization: Bearer {}\r\n", db.add_token("alice", 0).await.expect("token"));
    let bob = format!("Authorization: Bearer {}\r\n", db.add_token("bob", 0).await.expect("token"));
    let app = api::App::new(Broker::new(cfg, db));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(api::serve(listener, app));

    // Errors are JSON naming the field.
    let (st, b) = http(addr, "POST", "/api/tunnels", "", "{}").await;
    assert_eq!((st, json(&b)), (401, serde_json::json!({"error": "missing bearer token", "field": "authorization"})));
    let (st, b) = http(addr, "POST", "/api/tunnels", &alice, r#"{"client_ipv4": "192.168.1.1"}"#).await;
    assert_eq!((st, json(&b)), (422, serde_json::json!({"error": "192.168.1.1 is not a global unicast address", "field": "client_ipv4"})));
    let (st, b) = http(addr, "POST", "/api/tunnels", &alice, r#"{"client_ipv4": "nope"}"#).await;
    assert_eq!((st, json(&b)), (422, serde_json::json!({"error": "`nope` is not an IPv4 address", "field": "client_ipv4"})));
    // "auto" is the request's source: 127.0.0.1 here, which is not global.
    let (st, b) = http(addr, "POST", "/api/tunnels", &alice, r#"{"client_ipv4": "auto"}"#).await;
    assert_eq!((st, json(&b)["field"].as_str()), (422, Some("client_ipv4")));

    let (st, b) = http(addr, "POST", "/api/tunnels", &alice, r#"{"client_ipv4": "203.0.113.77", "routed48": true}"#).await;
    assert_eq!(st, 201, "{b}");
    let t = json(&b);
    assert_eq!(t["id"], 1);
    assert_eq!(t["state"], "active");
    assert_eq!(t["server_ipv4"], "198.51.100.20");
    assert_eq!(t["client_ipv6"], "2001:db8:1000::2");
    assert_eq!(t["routed48"], "2001:db8:8000::/48");
    let key = t["update_key"].as_str().expect("update key").to_string();
    assert_eq!(
        relayd::request(&sock, "tunnels").await.expect("tunnels"),
        format!("{OPERATOR}32768 local 198.51.100.20 remote 203.0.113.77 name broker-1\n")
    );

    // Own tunnels only.
    let (st, b) = http(addr, "GET", "/api/tunnels", &bob, "").await;
    assert_eq!((st, b.as_str()), (200, "[]"));
    let (st, b) = http(addr, "GET", "/api/tunnels/1", &bob, "").await;
    assert_eq!((st, json(&b)), (404, serde_json::json!({"error": "no such tunnel", "field": "id"})));
    let (st, b) = http(addr, "GET", "/api/tunnels", &alice, "").await;
    assert_eq!((st, json(&b).as_array().map(Vec::len)), (200, Some(1)));
    // Its counters on relayd (no traffic on these ports), as the page shows them.
    let (st, b) = http(addr, "GET", "/api/tunnels/1/traffic", &alice, "").await;
    assert_eq!((st, b.as_str()), (200, r#"{"rx_packets":0,"rx_bytes":0,"tx_packets":0,"tx_bytes":0}"#));
    assert_eq!(http(addr, "GET", "/api/tunnels/1/traffic", &bob, "").await.0, 404);
    let (st, b) = http(addr, "GET", "/api/tunnels/1/config/iproute2", &alice, "").await;
    assert_eq!(st, 200);
    assert!(b.contains("ip tunnel add broker1 mode sit remote 198.51.100.20 local 203.0.113.77 ttl 255\n"), "{b}");

    // Endpoint update, HE style.
    let basic = |user: &str, key: &str| {
        format!("Authorization: Basic {}\r\n", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{key}")))
    };
    let nic = |q: &str| format!("/nic/update?{q}");
    assert_eq!(http(addr, "GET", &nic("hostname=1&myip=203.0.113.77"), &basic("alice", &key), "").await, (200, "nochg 203.0.113.77".into()));
    assert_eq!(http(addr, "GET", &nic("hostname=1&myip=203.0.113.80"), &basic("alice", &key), "").await, (200, "good 203.0.113.80".into()));
    assert_eq!(
        relayd::request(&sock, "tunnels").await.expect("tunnels"),
        format!("{OPERATOR}32768 local 198.51.100.20 remote 203.0.113.80 name broker-1\n")
    );
    assert_eq!(http(addr, "GET", &nic("hostname=1&myip=203.0.113.81"), &basic("alice", "wrong"), "").await, (200, "badauth".into()));
    assert_eq!(http(addr, "GET", &nic("hostname=1&myip=203.0.113.81"), &basic("bob", &key), "").await, (200, "badauth".into()));
    assert_eq!(http(addr, "GET", &nic("hostname=9&myip=203.0.113.81"), &basic("alice", &key), "").await, (200, "nohost".into()));
    assert_eq!(http(addr, "GET", &nic("hostname=1&myip=10.0.0.1"), &basic("alice", &key), "").await, (200, "abuse".into()));

    // Delete frees everything on the server.
    let (st, _) = http(addr, "DELETE", "/api/tunnels/1", &alice, "").await;
    assert_eq!(st, 204);
    assert_eq!(relayd::request(&sock, "tunnels").await.expect("tunnels"), OPERATOR);
    assert_eq!(relayd::request(&sock, "routes").await.expect("routes"), "2001:db8:20::/64 port 1 origin static\n2001:db8:50::/48 tunnel 0 origin static\n");

    // Failed logins are limited: after 10 failures (2 above), the 11th attempt is refused even with a good token.
    for _ in 0..8 {
        assert_eq!(http(addr, "GET", "/api/tunnels", "Authorization: Bearer bad\r\n", "").await.0, 401);
    }
    let (st, b) = http(addr, "GET", "/api/tunnels", &alice, "").await;
    assert_eq!((st, json(&b)), (429, serde_json::json!({"error": "too many failed logins; wait a minute", "field": "authorization"})));
    assert_eq!(http(addr, "GET", &nic("hostname=1&myip=203.0.113.81"), &basic("alice", &key), "").await, (200, "abuse".into()));
    drop(r);
    let _ = std::fs::remove_dir_all(&dir);
}
