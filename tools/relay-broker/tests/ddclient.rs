//! The real ddclient (Debian 12's 3.10) against the broker's `/nic/update` and a live relayd:
//! the endpoint moves on the server; the same address again is `nochg` and changes nothing.
//!
//! ddclient runs as a child process polled from the async runtime, never waited for blocking
//! the runtime's thread: the broker answering it runs there too, and a broker that cannot
//! answer leaves ddclient reading for its whole `timeout` (a silent 120 s by default). Its
//! address is given in its configuration (`usev4=ipv4`), so it never looks anything up; it is
//! killed after 30 s, its output in the failure message.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use relay_broker::api;
use relay_broker::broker::Broker;
use relay_broker::config::Config;
use relay_broker::db::{Db, Role, State};
use relay_broker::relayd;

mod common;
use common::{one_server_config, Relayd};

const OPERATOR: &str = "0 local 198.51.100.20 remote 203.0.113.50 name operator\n";
const LIMIT: Duration = Duration::from_secs(30);

/// The client configuration of docs/broker.md, for tunnel `id` with its update key.
fn ddclient_conf(server: SocketAddr, id: i64, user: &str, key: &str, ip: Ipv4Addr) -> String {
    format!(
        "daemon=0\nssl=no\nprotocol=dyndns2\nserver={server}\nuse=no, usev4=ipv4, ipv4={ip}\nlogin={user}\npassword='{key}'\n{id}\n"
    )
}

/// Runs ddclient once in the foreground; its exit status and its output (stdout and stderr).
async fn ddclient(dir: &Path, conf: &str, force: bool) -> (bool, String) {
    let file = dir.join("ddclient.conf");
    // Owner only, as ddclient wants for a file holding a password (else it warns and chmods).
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&file).expect("ddclient.conf");
    f.write_all(conf.as_bytes()).expect("ddclient.conf");
    drop(f);
    let out: PathBuf = dir.join("ddclient.out");
    let log = std::fs::File::create(&out).expect("ddclient.out");
    // -timeout: a broker that takes the connection but never answers shows as ddclient's own
    // `TIMEOUT` well inside LIMIT (its default is a silent 120 s read).
    let mut args = vec!["-daemon=0", "-foreground", "-noquiet", "-verbose", "-timeout", "10"];
    if force {
        args.push("-force");
    }
    let cache = dir.join("ddclient.cache");
    let mut child = Command::new("ddclient")
        .args(&args)
        .args(["-file", file.to_str().expect("utf-8"), "-cache", cache.to_str().expect("utf-8")])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start ddclient (./scripts/setup.sh installs it)");
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("wait ddclient") {
            return (st.success(), std::fs::read_to_string(&out).unwrap_or_default());
        }
        if start.elapsed() > LIMIT {
            // SIGKILL: ddclient catches SIGTERM and SIGINT and keeps reading.
            let _ = child.kill();
            let _ = child.wait();
            panic!("ddclient still running after {LIMIT:?}; its output:\n{}", std::fs::read_to_string(&out).unwrap_or_default());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddclient_moves_the_endpoint_then_nochg() {
    let dir = std::env::temp_dir().join(format!("rbk-ddclient-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    let mut r = Relayd::start(&dir);
    r.wait_up().await;
    let cfg = Config::parse("t.toml", &one_server_config(&dir)).expect("config");
    let sock = cfg.servers[0].control.clone();
    let db = Db::connect(&cfg.database).await.expect("db");
    db.add_user("alice", "pw", Role::User).await.expect("user");
    let broker = Broker::new(cfg, db);
    let (t, key) = broker.create("alice", Ipv4Addr::new(203, 0, 113, 77), false, relay_broker::now()).await.expect("create");
    assert_eq!(t.state, State::Active);
    let app = api::App::new(broker);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(api::serve(listener, app.clone()));

    let moved = Ipv4Addr::new(192, 0, 2, 44);
    let conf = ddclient_conf(addr, t.id, "alice", &key, moved);
    let (ok, out) = ddclient(&dir, &conf, false).await;
    assert!(ok, "ddclient failed:\n{out}");
    assert!(out.contains(&format!("SUCCESS:  updating {}: good: IP address set to {moved}", t.id)), "{out}");
    assert!(out.contains(&format!("RECEIVE:  good {moved}")), "{out}");
    assert!(!out.contains("WARNING"), "{out}");
    let now = app.broker.db.tunnel(t.id).await.expect("get").expect("tunnel");
    assert_eq!((now.client_ipv4, now.state), (moved, State::Active));
    let line = format!("{OPERATOR}32768 local 198.51.100.20 remote {moved} name broker-1\n");
    assert_eq!(relayd::request(&sock, "tunnels").await.expect("tunnels"), line);

    // The same address again (forced: ddclient's cache alone would skip the request).
    let (ok, out) = ddclient(&dir, &conf, true).await;
    assert!(ok, "ddclient failed:\n{out}");
    assert!(out.contains(&format!("RECEIVE:  nochg {moved}")), "{out}");
    assert!(out.contains(&format!("WARNING:  updating {}: nochg: No update required", t.id)), "{out}");
    let again = app.broker.db.tunnel(t.id).await.expect("get").expect("tunnel");
    assert_eq!((again.client_ipv4, again.state, again.server_tid), (moved, State::Active, now.server_tid));
    assert_eq!(relayd::request(&sock, "tunnels").await.expect("tunnels"), line);
    drop(r);
    let _ = std::fs::remove_dir_all(&dir);
}
