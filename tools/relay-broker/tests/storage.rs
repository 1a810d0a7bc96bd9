//! Storage and configuration, on a real SQLite file and on a real PostgreSQL 15 cluster started
//! by the test (no mocks). Each case is one function of the database URL, run on both.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;

use relay_broker::config::{Config, ConfigError, Server};
use relay_broker::db::{Db, DbError, NewTunnel, Resources, Role, State, BROKER_TID_FIRST};

mod common;
use common::postgres::Postgres;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("relay-broker-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// A fresh SQLite database file for the case `name`.
fn sqlite(name: &str) -> String {
    format!("sqlite://{}/b.db", scratch(name).display())
}

fn config(url: &str, servers: &str) -> Config {
    let text = format!(
        "database = \"{url}\"\nlease_secs = 100\nquarantine_secs = 50\n[pools]\nlink64 = \"2001:db8:1000::/48\"\nrouted48 = \"2001:db8:8000::/40\"\n{servers}"
    );
    Config::parse("test.toml", &text).expect("config")
}

const TWO_SERVERS: &str = "[[server]]\nname = \"a\"\nipv4 = \"198.51.100.1\"\ncontrol = \"/tmp/a.sock\"\ncapacity = 1000\n\
[[server]]\nname = \"b\"\nipv4 = \"203.0.113.1\"\ncontrol = \"/tmp/b.sock\"\ncapacity = 1000\n";

fn res(cfg: &Config) -> Resources<'_> {
    Resources { servers: &cfg.servers, link: cfg.link_pool(), routed: cfg.routed_pool(), lease_secs: cfg.lease_secs }
}

async fn hundred_concurrent_allocations(url: &str) {
    let cfg = Arc::new(config(url, TWO_SERVERS));
    let db = Arc::new(Db::connect(&cfg.database).await.expect("db"));
    db.add_user("alice", "pw", Role::User).await.expect("user");
    let mut tasks = Vec::new();
    for i in 0..100u8 {
        let (db, cfg) = (db.clone(), cfg.clone());
        tasks.push(tokio::spawn(async move {
            let req = NewTunnel { owner: "alice", client_ipv4: Ipv4Addr::new(192, 0, 2, i), routed48: true };
            db.allocate(&req, &res(&cfg), 1000).await
        }));
    }
    let mut got = Vec::new();
    for t in tasks {
        got.push(t.await.expect("task").expect("allocation").0);
    }
    let ids: HashSet<_> = got.iter().map(|t| t.id).collect();
    let links: HashSet<_> = got.iter().map(|t| t.link64.clone()).collect();
    let routed: HashSet<_> = got.iter().map(|t| t.routed48.clone().expect("routed")).collect();
    let tids: HashSet<_> = got.iter().map(|t| (t.server.clone(), t.server_tid)).collect();
    assert_eq!((ids.len(), links.len(), routed.len(), tids.len()), (100, 100, 100, 100));
    // Least loaded first: the two servers share the load evenly.
    assert_eq!(got.iter().filter(|t| t.server == "a").count(), 50);
    // The pools are used from their start, densely.
    let all = db.tunnels(None).await.expect("list");
    assert_eq!(all.len(), 100);
    let mut idx: Vec<_> = all.iter().map(|t| t.link_index).collect();
    idx.sort_unstable();
    assert_eq!(idx, (0..100).collect::<Vec<i64>>());
    assert!(all.iter().all(|t| t.state == State::Pending && t.server_tid >= BROKER_TID_FIRST));
}

async fn first_prefixes_and_quarantine(url: &str) {
    let cfg = config(url, TWO_SERVERS);
    let db = Db::connect(&cfg.database).await.expect("db");
    db.add_user("bob", "pw", Role::User).await.expect("user");
    let req = NewTunnel { owner: "bob", client_ipv4: Ipv4Addr::new(192, 0, 2, 7), routed48: true };
    let (t, key) = db.allocate(&req, &res(&cfg), 1000).await.expect("alloc");
    assert_eq!((t.id, t.server.as_str(), t.server_tid), (1, "a", 32768));
    assert_eq!(t.link64, "2001:db8:1000::/64");
    assert_eq!(t.routed48.as_deref(), Some("2001:db8:8000::/48"));
    assert_eq!(t.lease_until, 1100);
    assert!(db.check_update_key(1, &key).await.expect("key"));
    assert!(!db.check_update_key(1, "wrong").await.expect("key"));

    db.release(1, 1050).await.expect("release");
    assert_eq!(
        db.quarantined(1000).await.expect("q"),
        vec![("2001:db8:1000::/64".to_string(), 1050), ("2001:db8:8000::/48".to_string(), 1050)]
    );
    // In quarantine: the next tunnel gets the next prefixes.
    let (t2, _) = db.allocate(&req, &res(&cfg), 1010).await.expect("alloc");
    assert_eq!(t2.link64, "2001:db8:1000:1::/64");
    assert_eq!(t2.routed48.as_deref(), Some("2001:db8:8001::/48"));
    // After quarantine the freed prefixes are handed out again.
    let (t3, _) = db.allocate(&req, &res(&cfg), 1060).await.expect("alloc");
    assert_eq!(t3.link64, "2001:db8:1000::/64");
    assert_eq!(t3.routed48.as_deref(), Some("2001:db8:8000::/48"));
    assert_eq!(db.quarantined(1060).await.expect("q"), vec![]);
}

async fn expiry(url: &str) {
    let cfg = config(url, TWO_SERVERS);
    let db = Db::connect(&cfg.database).await.expect("db");
    db.add_user("carol", "pw", Role::User).await.expect("user");
    let req = NewTunnel { owner: "carol", client_ipv4: Ipv4Addr::new(192, 0, 2, 9), routed48: false };
    db.allocate(&req, &res(&cfg), 1000).await.expect("alloc");
    db.allocate(&req, &res(&cfg), 1000).await.expect("alloc");
    db.renew(2, 1050, cfg.lease_secs).await.expect("renew");
    let gone = db.expire_due(1101).await.expect("expire");
    assert_eq!(gone.iter().map(|t| t.id).collect::<Vec<_>>(), vec![1]);
    assert_eq!(db.tunnel(2).await.expect("get").expect("t2").state, State::Pending);
}

async fn full_server(url: &str) {
    let one = "[[server]]\nname = \"a\"\nipv4 = \"198.51.100.1\"\ncontrol = \"/tmp/a.sock\"\ncapacity = 1\n";
    let cfg = config(url, one);
    let db = Db::connect(&cfg.database).await.expect("db");
    db.add_user("dave", "pw", Role::User).await.expect("user");
    let req = NewTunnel { owner: "dave", client_ipv4: Ipv4Addr::new(192, 0, 2, 9), routed48: false };
    db.allocate(&req, &res(&cfg), 1000).await.expect("alloc");
    assert!(matches!(db.allocate(&req, &res(&cfg), 1000).await, Err(DbError::NoServer)));
}

async fn users_passwords_and_tokens(url: &str) {
    let cfg = config(url, TWO_SERVERS);
    let db = Db::connect(&cfg.database).await.expect("db");
    db.add_user("root", "s3cret", Role::Admin).await.expect("user");
    assert!(matches!(db.add_user("root", "x", Role::User).await, Err(DbError::UserExists(n)) if n == "root"));
    assert_eq!(db.check_password("root", "s3cret").await.expect("check"), Some(Role::Admin));
    assert_eq!(db.check_password("root", "S3cret").await.expect("check"), None);
    assert_eq!(db.check_password("nobody", "s3cret").await.expect("check"), None);
    let tok = db.add_token("root", 5).await.expect("token");
    assert_eq!(tok.len(), 32);
    assert_eq!(db.token_user(&tok).await.expect("lookup"), Some(("root".to_string(), Role::Admin)));
    assert_eq!(db.token_user("0000").await.expect("lookup"), None);
    assert!(matches!(db.add_token("ghost", 5).await, Err(DbError::NoUser(n)) if n == "ghost"));
}

/// Web sessions: found by their secret only, with the user's current role; they end at
/// logout, at expiry (`expires` is the first second they are gone), and with their user.
async fn sessions(url: &str) {
    let cfg = config(url, TWO_SERVERS);
    let db = Db::connect(&cfg.database).await.expect("db");
    db.add_user("erin", "pw", Role::User).await.expect("user");
    let (secret, s) = db.add_session("erin", 1000, 600).await.expect("session");
    assert_eq!((secret.len(), s.csrf.len(), s.expires, s.user.as_str(), s.role), (32, 32, 1600, "erin", Role::User));
    assert_ne!(secret, s.csrf);
    assert_eq!(db.session(&secret, 1599).await.expect("lookup"), Some(s.clone()));
    assert_eq!(db.session(&secret, 1600).await.expect("lookup"), None);
    assert_eq!(db.session(&s.csrf, 1000).await.expect("lookup"), None);
    assert!(matches!(db.add_session("ghost", 1000, 600).await, Err(DbError::NoUser(n)) if n == "ghost"));
    // A second session, ended by logout; the first is purged once it has expired.
    let (other, _) = db.add_session("erin", 1000, 6000).await.expect("session");
    db.end_session(&other).await.expect("logout");
    assert_eq!(db.session(&other, 1001).await.expect("lookup"), None);
    let (third, _) = db.add_session("erin", 1000, 6000).await.expect("session");
    assert_eq!(db.purge_sessions(1599).await.expect("purge"), 0);
    assert_eq!(db.purge_sessions(1600).await.expect("purge"), 1);
    assert_eq!(db.session(&third, 1600).await.expect("lookup").map(|s| s.expires), Some(7000));
}

#[tokio::test]
async fn sqlite_sessions_end_at_logout_and_expiry() {
    sessions(&sqlite("sessions")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_hundred_concurrent_allocations_never_share_a_prefix_or_id() {
    hundred_concurrent_allocations(&sqlite("concurrent")).await;
}

#[tokio::test]
async fn sqlite_first_tunnel_gets_the_first_prefixes_and_release_quarantines_them() {
    first_prefixes_and_quarantine(&sqlite("quarantine")).await;
}

#[tokio::test]
async fn sqlite_expiry_marks_only_ended_leases() {
    expiry(&sqlite("expiry")).await;
}

#[tokio::test]
async fn sqlite_full_servers_and_pools_are_typed_errors() {
    full_server(&sqlite("full")).await;
}

#[tokio::test]
async fn sqlite_users_passwords_and_tokens() {
    users_passwords_and_tokens(&sqlite("users")).await;
}

/// The same cases on PostgreSQL 15, one cluster, one fresh database per case; first the
/// migration itself: the schema it makes, and that a second start leaves it as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_migration_and_every_storage_case() {
    let pg = Postgres::start("storage");
    let url = pg.database("migration");
    Db::connect(&url).await.expect("migrate");
    Db::connect(&url).await.expect("migrate again");
    let tables = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename";
    assert_eq!(pg.psql("migration", tables), "_sqlx_migrations\napi_tokens\ndns_records\nquarantine\nsessions\ntunnels\nusers\n");
    assert_eq!(pg.psql("migration", "SELECT version, success FROM _sqlx_migrations ORDER BY version"), "1|t\n2|t\n3|t\n");

    hundred_concurrent_allocations(&pg.database("concurrent")).await;
    first_prefixes_and_quarantine(&pg.database("quarantine")).await;
    expiry(&pg.database("expiry")).await;
    full_server(&pg.database("full")).await;
    users_passwords_and_tokens(&pg.database("users")).await;
    sessions(&pg.database("sessions")).await;
}

#[test]
fn bad_configs_are_refused_naming_the_field() {
    let base = "[pools]\nlink64 = \"2001:db8:1000::/48\"\nrouted48 = \"2001:db8:8000::/40\"\n";
    let msg = |t: &str| match Config::parse("f.toml", t) {
        Err(e) => e.to_string(),
        Ok(_) => "accepted".into(),
    };
    assert!(msg(&format!("listen_addr = \"x\"\n{base}")).contains("unknown field `listen_addr`"));
    assert!(msg("database = \"sqlite://x\"\n").contains("missing field `pools`"));
    assert_eq!(
        msg("[pools]\nlink64 = \"2001:db8:1000::/65\"\nrouted48 = \"2001:db8:8000::/40\"\n"),
        "f.toml: field `pools.link64`: a /65 pool cannot hold /64 prefixes"
    );
    assert_eq!(
        msg(&format!("{base}[[server]]\nname = \"a\"\nipv4 = \"10.0.0.1\"\ncontrol = \"/s\"\ncapacity = 5\n")),
        "f.toml: field `server[0].ipv4`: 10.0.0.1 is not a global unicast address"
    );
    assert_eq!(msg(&format!("database = \"mysql://x\"\n{base}")), "f.toml: field `database`: `mysql://x` is neither sqlite:… nor postgres://…");
    assert_eq!(msg(&format!("{base}[http]\ntls_cert = \"/c.pem\"\n")), "f.toml: field `http.tls_key`: missing: tls_cert needs its key");
    assert_eq!(msg(&format!("{base}[http]\ntls_key = \"/k.pem\"\n")), "f.toml: field `http.tls_cert`: missing: tls_key needs its certificate");
    assert_eq!(msg(&format!("{base}[http]\nsession_secs = 0\n")), "f.toml: field `http.session_secs`: must be more than 0");
    assert!(msg(&format!("{base}[http]\ncookie = 1\n")).contains("unknown field `cookie`"));
    let ok = Config::parse("f.toml", base).map_err(|e: ConfigError| e.to_string()).expect("defaults");
    assert_eq!(ok.listen.to_string(), "127.0.0.1:8053");
    assert_eq!((ok.http.session_secs, ok.http.tls_cert.is_none()), (8 * 3600, true));
    let _unused: Vec<Server> = ok.servers;
}
