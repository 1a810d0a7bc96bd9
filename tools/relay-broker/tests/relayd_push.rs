//! Pushing broker tunnels to a live relayd (release build, pcap ports, --no-huge, its own
//! --file-prefix) over its control socket, and removing them again. No mocks.

use std::net::Ipv4Addr;

use relay_broker::config::Config;
use relay_broker::db::{Db, NewTunnel, Resources, Role};
use relay_broker::relayd::{self, CtlError};

mod common;
use common::{one_server_config, Relayd};

#[tokio::test]
async fn push_and_remove_on_a_live_relayd() {
    let dir = std::env::temp_dir().join(format!("relay-broker-push-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    let mut r = Relayd::start(&dir);
    r.wait_up().await;

    let text = one_server_config(&dir);
    let cfg = Config::parse("t.toml", &text).expect("config");
    let db = Db::connect(&cfg.database).await.expect("db");
    db.add_user("alice", "pw", Role::User).await.expect("user");
    let res = Resources { servers: &cfg.servers, link: cfg.link_pool(), routed: cfg.routed_pool(), lease_secs: 100 };
    let req = NewTunnel { owner: "alice", client_ipv4: Ipv4Addr::new(203, 0, 113, 77), routed48: true };
    let (t, _) = db.allocate(&req, &res, 1000).await.expect("alloc");
    let sock = &cfg.servers[0].control;

    relayd::push(sock, cfg.servers[0].ipv4, &t).await.expect("push");
    assert_eq!(
        relayd::request(sock, "tunnels").await.expect("tunnels"),
        "0 local 198.51.100.20 remote 203.0.113.50 name operator\n32768 local 198.51.100.20 remote 203.0.113.77 name broker-1\n"
    );
    assert_eq!(relayd::request(sock, "routes").await.expect("routes"), "2001:db8:20::/64 port 1 origin static\n2001:db8:50::/48 tunnel 0 origin static\n2001:db8:1000::/64 tunnel 32768 origin static\n2001:db8:8000::/48 tunnel 32768 origin static\n");

    // The endpoint moves: the same push replaces the tunnel's remote.
    let mut moved = t.clone();
    moved.client_ipv4 = Ipv4Addr::new(203, 0, 113, 78);
    relayd::push(sock, cfg.servers[0].ipv4, &moved).await.expect("push moved");
    assert_eq!(
        relayd::request(sock, "tunnels").await.expect("tunnels"),
        "0 local 198.51.100.20 remote 203.0.113.50 name operator\n32768 local 198.51.100.20 remote 203.0.113.78 name broker-1\n"
    );

    relayd::remove(sock, &moved).await.expect("remove");
    assert_eq!(relayd::request(sock, "tunnels").await.expect("tunnels"), "0 local 198.51.100.20 remote 203.0.113.50 name operator\n");
    assert_eq!(relayd::request(sock, "routes").await.expect("routes"), "2001:db8:20::/64 port 1 origin static\n2001:db8:50::/48 tunnel 0 origin static\n");

    // Removing what is not there is refused, and a refused batch changed nothing.
    assert!(matches!(relayd::remove(sock, &moved).await, Err(CtlError::Refused(_))));
    assert_eq!(relayd::request(sock, "tunnels").await.expect("tunnels"), "0 local 198.51.100.20 remote 203.0.113.50 name operator\n");

    // A relayd that is down is an Io error (the broker's `pending` case), not a panic.
    drop(r);
    assert!(matches!(relayd::push(sock, cfg.servers[0].ipv4, &t).await, Err(CtlError::Io { .. })));
    let _ = std::fs::remove_dir_all(&dir);
}
