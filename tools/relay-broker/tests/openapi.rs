//! The OpenAPI document served at /api/openapi.json: every route of the JSON API is in it,
//! each of its operations is answered by a handler of the running broker (not the fallback),
//! and every call docs/broker.md shows with curl is one of them.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use relay_broker::api;
use relay_broker::broker::Broker;
use relay_broker::config::Config;
use relay_broker::db::Db;

mod common;
use common::{one_server_config, request, scratch};

/// The JSON API's routes, as the handlers in src/api serve them.
const ROUTES: [(&str, &str); 8] = [
    ("get", "/api/tunnels"),
    ("post", "/api/tunnels"),
    ("get", "/api/tunnels/{id}"),
    ("delete", "/api/tunnels/{id}"),
    ("get", "/api/tunnels/{id}/config/{kind}"),
    ("get", "/api/tunnels/{id}/traffic"),
    ("get", "/nic/update"),
    ("get", "/api/openapi.json"),
];

/// `template` (with `{param}` segments) matches `path`.
fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

/// The calls docs/broker.md shows: (method, path) of each `curl … http://127.0.0.1:8053/…`.
fn documented_calls() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/broker.md")).expect("docs/broker.md");
    let mut calls = Vec::new();
    for line in doc.lines().filter(|l| l.trim_start().starts_with("curl ")) {
        let Some(at) = line.find("http://127.0.0.1:8053/") else { continue };
        let url = line[at + "http://127.0.0.1:8053".len()..].split(|c: char| c == '\'' || c.is_whitespace()).next().unwrap_or("");
        let path = url.split('?').next().unwrap_or("").to_string();
        let method = if line.contains("-X DELETE") {
            "delete"
        } else if line.contains(" -d ") {
            "post"
        } else {
            "get"
        };
        calls.push((method.to_string(), path));
    }
    calls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_lists_every_route_and_each_is_served() {
    let dir = scratch("openapi");
    let cfg = Config::parse("t.toml", &one_server_config(&dir)).expect("config");
    let db = Db::connect(&cfg.database).await.expect("db");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    tokio::spawn(api::serve(listener, api::App::new(Broker::new(cfg, db))));

    let (st, head, body) = request(addr, "GET", "/api/openapi.json", "", "").await;
    assert_eq!(st, 200);
    assert!(head.contains("\r\ncontent-type: application/json"), "{head}");
    let doc: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "relay-broker");

    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            ops.insert((method.clone(), path.clone()));
        }
    }
    let want: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(ops, want);

    // Each operation reaches its handler: unauthenticated, each answers as that handler does,
    // never the fallback's 404 `no such endpoint` nor a 405.
    for (method, path) in &ops {
        let concrete = path.replace("{id}", "1").replace("{kind}", "iproute2");
        let (st, _, body) = request(addr, &method.to_uppercase(), &concrete, "", "").await;
        let expected = match path.as_str() {
            "/api/openapi.json" => (200, body.clone()),
            "/nic/update" => (200, "badauth".to_string()),
            _ => (401, r#"{"error":"missing bearer token","field":"authorization"}"#.to_string()),
        };
        assert_eq!((st, body), expected, "{method} {path}");
    }
    let (st, _, body) = request(addr, "GET", "/api/nothing", "", "").await;
    assert_eq!((st, body.as_str()), (404, r#"{"error":"no such endpoint","field":null}"#));

    // The schemas and the two ways to authenticate are described.
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for s in ["CreateBody", "Created", "ErrorBody", "Traffic", "TunnelView"] {
        assert!(schemas.contains_key(s), "schema {s} missing");
    }
    let sec = &doc["components"]["securitySchemes"];
    assert_eq!((sec["bearer"]["scheme"].as_str(), sec["basic"]["scheme"].as_str()), (Some("bearer"), Some("basic")));

    // Every call docs/broker.md shows is an operation of the document.
    let calls = documented_calls();
    assert!(calls.len() >= 7, "{calls:?}");
    for (method, path) in &calls {
        assert!(ops.iter().any(|(m, t)| m == method && matches(t, path)), "docs/broker.md: {method} {path} is not in the document");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
