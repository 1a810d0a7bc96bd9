//! HTTPS in the broker itself (`[http] tls_cert/tls_key`, rustls): the real `relay-broker
//! serve` with a certificate made by `openssl`, spoken to by the real `curl`. The API and the
//! page answer over TLS, the page's cookies are `Secure`, the login works through it; plain HTTP
//! on that port gets nothing; bad files refuse to start, naming the field.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{free_port, one_server_config, request, scratch, Serve};

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// A self-signed P-256 certificate for 127.0.0.1 and its key.
fn certificate(dir: &Path, name: &str) {
    run(Command::new("openssl").current_dir(dir).args([
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", &format!("{name}.key"), "-out", &format!("{name}.pem"),
    ]));
}

/// curl over HTTPS trusting only `cert.pem`: (status line and headers, body).
fn curl(dir: &Path, args: &[&str]) -> (String, String) {
    let out = run(Command::new("curl").current_dir(dir).args(["-s", "-D", "-", "--cacert", "cert.pem", "-b", "jar", "-c", "jar"]).args(args));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_string(), body.to_string())
}

/// `relay-broker serve` with `config`, expected to refuse to start: its exit and stderr.
fn refused(dir: &Path, config: &str) -> String {
    std::fs::write(dir.join("bad.toml"), config).expect("bad.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_relay-broker")).current_dir(dir).args(["--config", "bad.toml", "serve"]).output().expect("serve");
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_by_rustls_when_configured() {
    let dir = scratch("tls");
    certificate(&dir, "cert");
    certificate(&dir, "other");
    let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let base = one_server_config(&dir);
    let tls = |cert: &str, key: &str| format!("listen = \"{addr}\"\n{base}[http]\ntls_cert = \"{cert}\"\ntls_key = \"{key}\"\n");
    let d = dir.display();
    std::fs::write(dir.join("broker.toml"), tls(&format!("{d}/cert.pem"), &format!("{d}/cert.key"))).expect("broker.toml");
    std::fs::write(dir.join("alice.pw"), "alice-pw\n").expect("password file");
    run(Command::new(env!("CARGO_BIN_EXE_relay-broker")).current_dir(&dir).args(["--config", "broker.toml", "user", "add", "alice", "--password-file", "alice.pw"]));
    let _serve = Serve::start(&dir.join("broker.toml"), &dir.join("serve.log"), addr).await;
    let log = std::fs::read_to_string(dir.join("serve.log")).expect("log");
    assert_eq!(log.lines().next(), Some(format!("relay-broker: listening on {addr} (https)").as_str()), "{log}");

    let url = |p: &str| format!("https://{addr}{p}");
    let (head, body) = curl(&dir, &[&url("/api/tunnels")]);
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    assert_eq!(body, r#"{"error":"missing bearer token","field":"authorization"}"#);

    // The login over TLS: both cookies are Secure, and the session opens the tunnel list.
    let (head, body) = curl(&dir, &[&url("/login")]);
    assert!(head.contains("\r\nset-cookie: relay_broker_login=") && head.contains("; Secure"), "{head}");
    let token = body.split("name=\"csrf\" value=\"").nth(1).and_then(|t| t.get(..32)).expect("the form's token").to_string();
    let origin = format!("Origin: https://{addr}");
    let form = format!("csrf={token}&user=alice&password=alice-pw");
    let (head, _) = curl(&dir, &["-H", &origin, "--data", &form, &url("/login")]);
    assert!(head.starts_with("HTTP/1.1 303"), "{head}");
    let session = head.lines().find(|l| l.starts_with("set-cookie: relay_broker_session=")).expect("session cookie");
    assert!(session.ends_with("; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=28800"), "{session}");
    let (head, body) = curl(&dir, &[&url("/tunnels")]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.contains("<h1>My tunnels</h1>"), "{body}");

    // Plain HTTP to the TLS port: no HTTP answer at all.
    assert_eq!(request(addr, "GET", "/api/tunnels", "", "").await, (0, String::new(), String::new()));

    // Bad files refuse to start, naming the field.
    let err = refused(&dir, &tls(&format!("{d}/none.pem"), &format!("{d}/cert.key")));
    assert_eq!(err, format!("relay-broker: bad.toml: field `http.tls_cert`: {d}/none.pem: No such file or directory (os error 2)\n"));
    let err = refused(&dir, &tls(&format!("{d}/cert.key"), &format!("{d}/cert.key")));
    assert_eq!(err, format!("relay-broker: bad.toml: field `http.tls_cert`: {d}/cert.key: no CERTIFICATE in it\n"));
    let err = refused(&dir, &tls(&format!("{d}/cert.pem"), &format!("{d}/cert.pem")));
    assert!(err.starts_with(&format!("relay-broker: bad.toml: field `http.tls_key`: {d}/cert.pem: ")), "{err}");
    let err = refused(&dir, &tls(&format!("{d}/cert.pem"), &format!("{d}/other.key")));
    assert!(err.starts_with(&format!("relay-broker: bad.toml: field `http.tls_key`: {d}/other.key: ")), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
