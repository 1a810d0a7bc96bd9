//! The admin CLI, run as the real binary.

use std::io::Write;
use std::process::{Command, Stdio};

fn scratch() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("relay-broker-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn broker(cfg: &std::path::Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_relay-broker"))
        .arg("--config")
        .arg(cfg)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn relay-broker");
    c.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    let o = c.wait_with_output().expect("wait");
    (o.status.success(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn user_add_token_add_and_bad_config() {
    let d = scratch();
    let cfg = d.join("broker.toml");
    std::fs::write(
        &cfg,
        format!("database = \"sqlite://{}/b.db\"\n[pools]\nlink64 = \"2001:db8:1000::/48\"\nrouted48 = \"2001:db8:8000::/40\"\n", d.display()),
    )
    .expect("write config");
    assert_eq!(broker(&cfg, &["user", "add", "root", "--admin"], "pw\n"), (true, "user root added (admin)\n".into(), String::new()));
    let pwf = d.join("pw");
    std::fs::write(&pwf, "alicepw\n").expect("pw file");
    let pwf = pwf.to_string_lossy().into_owned();
    assert_eq!(broker(&cfg, &["user", "add", "alice", "--password-file", &pwf], ""), (true, "user alice added\n".into(), String::new()));
    assert_eq!(
        broker(&cfg, &["user", "add", "alice", "--password-file", &pwf], ""),
        (false, String::new(), "relay-broker: user `alice` already exists\n".into())
    );
    assert_eq!(broker(&cfg, &["user", "add", "eve"], ""), (false, String::new(), "relay-broker: the password is empty\n".into()));
    let (ok, tok, err) = broker(&cfg, &["token", "add", "alice"], "");
    assert_eq!((ok, tok.trim().len(), tok.trim().chars().all(|c| c.is_ascii_hexdigit()), err), (true, 32, true, String::new()));
    assert_eq!(broker(&cfg, &["token", "add", "ghost"], ""), (false, String::new(), "relay-broker: no user `ghost`\n".into()));

    let bad = d.join("bad.toml");
    std::fs::write(&bad, "colour = 1\n").expect("write bad");
    let (ok, out, err) = broker(&bad, &["token", "add", "alice"], "");
    assert_eq!((ok, out), (false, String::new()));
    assert!(err.contains("unknown field `colour`"), "{err}");
}

#[test]
fn serve_answers_json_errors() {
    use std::io::Read;
    let d = std::env::temp_dir().join(format!("relay-broker-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let cfg = d.join("broker.toml");
    std::fs::write(
        &cfg,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndatabase = \"sqlite://{}/b.db\"\n[pools]\nlink64 = \"2001:db8:1000::/48\"\nrouted48 = \"2001:db8:8000::/40\"\n",
            d.display()
        ),
    )
    .expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_relay-broker"))
        .arg("--config")
        .arg(&cfg)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let start = std::time::Instant::now();
    let mut answer = String::new();
    while start.elapsed() < std::time::Duration::from_secs(30) {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(b"GET /api/tunnels HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n").expect("send");
            s.read_to_string(&mut answer).expect("read");
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&d);
    assert!(answer.starts_with("HTTP/1.1 401 "), "{answer}");
    assert!(answer.ends_with("\r\n\r\n{\"error\":\"missing bearer token\",\"field\":\"authorization\"}"), "{answer}");
}
