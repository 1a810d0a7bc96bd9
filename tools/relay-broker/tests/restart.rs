//! Reconcile on a broker restart, with the real `relay-broker serve`: a tunnel made through its
//! API; the broker is killed, relayd is killed and comes back with its static configuration
//! only; the broker started again puts the tunnel back at its first tick (the one at start).

use std::time::{Duration, Instant};

use relay_broker::db::{Db, Role};
use relay_broker::relayd;

mod common;
use common::{http, LiveServer, Relayd, Serve};

const OPERATOR: &str = "0 local 198.51.100.20 remote 203.0.113.50 name operator\n";
const BASE_ROUTES: &str = "2001:db8:20::/64 port 1 origin static\n2001:db8:50::/48 tunnel 0 origin static\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_broker_pushes_its_tunnels_back() {
    let live = LiveServer::start("restart").await;
    let (dir, addr, cfg_file, cfg) = (live.dir.clone(), live.addr, live.cfg_file.clone(), live.cfg.clone());
    let sock = cfg.servers[0].control.clone();
    let mut r = live.relayd;
    let token = {
        let db = Db::connect(&cfg.database).await.expect("db");
        db.add_user("alice", "pw", Role::User).await.expect("user");
        db.add_token("alice", 0).await.expect("token")
    };
    let auth = format!("Authorization: Bearer {token}\r\n");
    let log = dir.join("serve.log");

    let serve = Serve::start(&cfg_file, &log, addr).await;
    let (st, body) = http(addr, "POST", "/api/tunnels", &auth, r#"{"client_ipv4": "203.0.113.61", "routed48": true}"#).await;
    assert_eq!(st, 201, "{body}");
    let with = format!("{OPERATOR}32768 local 198.51.100.20 remote 203.0.113.61 name broker-1\n");
    let with_routes = format!("{BASE_ROUTES}2001:db8:1000::/64 tunnel 32768 origin static\n2001:db8:8000::/48 tunnel 32768 origin static\n");
    assert_eq!(relayd::request(&sock, "tunnels").await.expect("tunnels"), with);

    // Both go down hard; relayd comes back with its static configuration only.
    drop(serve);
    r.kill9();
    drop(r);
    let mut r = Relayd::start(&dir);
    r.wait_up().await;
    assert_eq!(relayd::request(&sock, "tunnels").await.expect("tunnels"), OPERATOR);

    let log2 = dir.join("serve2.log");
    let _serve = Serve::start(&cfg_file, &log2, addr).await;
    // The first tick runs at start; serve logs what it did once it is done.
    let start = Instant::now();
    let done = "relay-broker: reconcile: Reconciled { pushed: [1], removed: [], unreachable: [] }\n";
    while !std::fs::read_to_string(&log2).unwrap_or_default().contains(done) {
        assert!(start.elapsed() < Duration::from_secs(30), "no reconcile: {}", std::fs::read_to_string(&log2).unwrap_or_default());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Only these two lines, in either order (the tick runs beside the listener).
    let mut lines: Vec<String> = std::fs::read_to_string(&log2).expect("log").lines().map(String::from).collect();
    lines.sort();
    assert_eq!(lines, vec![format!("relay-broker: listening on {addr}"), done.trim_end().to_string()]);
    assert_eq!(relayd::request(&sock, "tunnels").await.expect("tunnels"), with);
    assert_eq!(relayd::request(&sock, "routes").await.expect("routes"), with_routes);
    drop(r);
    let _ = std::fs::remove_dir_all(&dir);
}
