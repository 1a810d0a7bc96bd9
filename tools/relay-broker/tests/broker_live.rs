//! The broker's operations against a live relayd: create (active / pending), martian endpoint
//! refused naming the field, delete, expiry with quarantine, kill -9 + restart + reconcile;
//! each on SQLite and on PostgreSQL.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use relay_broker::broker::{Broker, BrokerError, Reconciled};
use relay_broker::config::Config;
use relay_broker::db::{Db, Role, State};
use relay_broker::relayd;

mod common;
use common::postgres::Postgres;
use common::Relayd;

const OPERATOR: &str = "0 local 198.51.100.20 remote 203.0.113.50 name operator\n";
const BASE_ROUTES: &str = "2001:db8:20::/64 port 1 origin static\n2001:db8:50::/48 tunnel 0 origin static\n";

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rbk-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch");
    d
}

/// A broker on `url` (a database of its own) with the relayd of `dir` as its one server.
async fn broker(dir: &Path, url: &str) -> Broker {
    let text = common::live_config(dir, url, "");
    let cfg = Config::parse("t.toml", &text).expect("config");
    let db = Db::connect(&cfg.database).await.expect("db");
    db.add_user("alice", "pw", Role::User).await.expect("user");
    Broker::new(cfg, db)
}

async fn ask(b: &Broker, what: &str) -> String {
    relayd::request(&b.cfg.servers[0].control, what).await.expect(what)
}

fn sqlite(dir: &Path) -> String {
    format!("sqlite://{}/b.db", dir.display())
}

#[tokio::test]
async fn create_delete_martian_and_expiry() {
    let dir = scratch("life");
    create_delete_martian_and_expiry_on(&dir, &sqlite(&dir)).await;
}

/// The same on PostgreSQL 15 (a cluster of the test's own, see tests/common/postgres.rs).
#[tokio::test]
async fn postgresql_create_delete_martian_and_expiry() {
    let dir = scratch("life-pg");
    let pg = Postgres::start("life");
    create_delete_martian_and_expiry_on(&dir, &pg.database("broker")).await;
}

async fn create_delete_martian_and_expiry_on(dir: &Path, url: &str) {
    let mut r = Relayd::start(dir);
    r.wait_up().await;
    let b = broker(dir, url).await;

    let e = b.create("alice", Ipv4Addr::new(10, 1, 2, 3), false, 1000).await;
    assert!(matches!(&e, Err(BrokerError::Field { field: "client_ipv4", reason }) if reason == "10.1.2.3 is not a global unicast address"), "{e:?}");
    assert_eq!(b.db.tunnels(None).await.expect("list"), vec![]);

    let (t, _) = b.create("alice", Ipv4Addr::new(203, 0, 113, 77), true, 1000).await.expect("create");
    assert_eq!(t.state, State::Active);
    assert_eq!(ask(&b, "tunnels").await, format!("{OPERATOR}32768 local 198.51.100.20 remote 203.0.113.77 name broker-1\n"));
    assert_eq!(ask(&b, "routes").await, format!("{BASE_ROUTES}2001:db8:1000::/64 tunnel 32768 origin static\n2001:db8:8000::/48 tunnel 32768 origin static\n"));
    let (t2, _) = b.create("alice", Ipv4Addr::new(203, 0, 113, 78), false, 1000).await.expect("create");
    assert_eq!(t2.server_tid, 32769);

    b.delete(t.id, 1010).await.expect("delete");
    assert_eq!(ask(&b, "tunnels").await, format!("{OPERATOR}32769 local 198.51.100.20 remote 203.0.113.78 name broker-2\n"));
    assert_eq!(ask(&b, "routes").await, format!("{BASE_ROUTES}2001:db8:1000:1::/64 tunnel 32769 origin static\n"));
    assert_eq!(
        b.db.quarantined(1010).await.expect("q"),
        vec![("2001:db8:1000::/64".to_string(), 1060), ("2001:db8:8000::/48".to_string(), 1060)]
    );

    // Lease 100 s from 1000: expired at 1101, off the server, quarantined until 1151.
    assert_eq!(b.expire(1100).await.expect("expire"), Vec::<i64>::new());
    assert_eq!(b.expire(1101).await.expect("expire"), vec![2]);
    assert_eq!(ask(&b, "tunnels").await, OPERATOR);
    assert_eq!(ask(&b, "routes").await, BASE_ROUTES);
    assert_eq!(b.db.quarantined(1101).await.expect("q"), vec![("2001:db8:1000:1::/64".to_string(), 1151)]);
    assert_eq!(b.db.tunnels(None).await.expect("list"), vec![]);
    drop(r);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn pending_while_down_then_kill9_and_reconcile() {
    let dir = scratch("recon");
    pending_then_kill9_and_reconcile_on(&dir, &sqlite(&dir)).await;
}

#[tokio::test]
async fn postgresql_pending_while_down_then_kill9_and_reconcile() {
    let dir = scratch("recon-pg");
    let pg = Postgres::start("recon");
    pending_then_kill9_and_reconcile_on(&dir, &pg.database("broker")).await;
}

async fn pending_then_kill9_and_reconcile_on(dir: &Path, url: &str) {
    let b = broker(dir, url).await;
    // No relayd yet: the tunnel is allocated but pending, nothing half-made.
    let (t, _) = b.create("alice", Ipv4Addr::new(203, 0, 113, 90), true, 1000).await.expect("create");
    assert_eq!(t.state, State::Pending);
    let mut r = Relayd::start(dir);
    r.wait_up().await;
    assert_eq!(b.retry_pending().await.expect("retry").active, vec![1]);
    assert_eq!(b.db.tunnel(1).await.expect("get").expect("t").state, State::Active);
    let with = format!("{OPERATOR}32768 local 198.51.100.20 remote 203.0.113.90 name broker-1\n");
    assert_eq!(ask(&b, "tunnels").await, with);

    // relayd dies hard and comes back with its static config only.
    r.kill9();
    drop(r);
    let mut r = Relayd::start(dir);
    r.wait_up().await;
    assert_eq!(ask(&b, "tunnels").await, OPERATOR);
    // A stray tunnel in the broker's range that the database does not know, and an operator's.
    ask(&b, "batch\ntunnel set 40000 local 198.51.100.20 remote 203.0.113.99 name stray\nroute add 2001:db8:77::/48 tunnel 40000\nend\n").await;
    ask(&b, "tunnel set 5 local 198.51.100.20 remote 203.0.113.5 name op5").await;

    let rec = b.reconcile().await.expect("reconcile");
    assert_eq!(rec, Reconciled { pushed: vec![1], removed: vec![("t1".into(), 40000)], unreachable: vec![] });
    assert_eq!(
        ask(&b, "tunnels").await,
        format!("{OPERATOR}5 local 198.51.100.20 remote 203.0.113.5 name op5\n32768 local 198.51.100.20 remote 203.0.113.90 name broker-1\n")
    );
    assert_eq!(ask(&b, "routes").await, format!("{BASE_ROUTES}2001:db8:1000::/64 tunnel 32768 origin static\n2001:db8:8000::/48 tunnel 32768 origin static\n"));
    // A second pass has nothing to do.
    assert_eq!(b.reconcile().await.expect("reconcile"), Reconciled::default());

    // A server that is down is reported, not an error.
    r.kill9();
    assert_eq!(b.reconcile().await.expect("reconcile").unreachable, vec!["t1".to_string()]);
    drop(r);
    let _ = std::fs::remove_dir_all(dir);
}
