//! The web page in a real headless Chromium (WebDriver, fantoccini) against the real
//! `relay-broker serve` and a live relayd tunnel server on TAP ports: log in (a wrong password
//! first), create a tunnel with a /48, see it active, send real traffic through it and see its
//! counters, read its iproute2 configuration, delete it, log out; a
//! POST without the CSRF token or from another origin changes nothing; another user neither
//! sees nor deletes it; an admin sees it; the login limit holds on the page too.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use relay_broker::db::{Db, Role};
use relay_broker::relayd;
use relay_broker::web::SESSION_COOKIE;

mod common;
use common::browser::Chromedriver;
use common::{http, request, LiveServer, Serve};

const OPERATOR: &str = "0 local 198.51.100.20 remote 203.0.113.50 name operator\n";
const BASE_ROUTES: &str = "2001:db8:20::/64 port 1 origin static\n2001:db8:50::/48 tunnel 0 origin static\n";

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).text().await.expect("text")
}

async fn path(c: &Client) -> String {
    c.current_url().await.expect("url").path().to_string()
}

async fn type_into(c: &Client, css: &str, value: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    e.clear().await.expect("clear");
    e.send_keys(value).await.expect("type");
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).click().await.expect("click");
}

/// Clicks what loads a page (a form button, a link), and waits until that page is shown: the old
/// page's root element gone (stale), the new one loaded. A click only starts the navigation.
async fn click_to_page(c: &Client, css: &str) {
    let old = c.find(Locator::Css("html")).await.expect("page");
    click(c, css).await;
    let start = Instant::now();
    while old.tag_name().await.is_ok() {
        assert!(start.elapsed() < Duration::from_secs(20), "{css}: no new page after 20 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    c.wait().for_element(Locator::Css("body")).await.expect("the new page");
    while c.execute("return document.readyState", vec![]).await.expect("readyState") != "complete" {
        assert!(start.elapsed() < Duration::from_secs(20), "{css}: the new page did not load in 20 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn log_in(c: &Client, base: &str, user: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.expect("login page");
    type_into(c, "#user-name", user).await;
    type_into(c, "#password", password).await;
    click_to_page(c, "#login").await;
}

/// The session cookie the browser holds, and the CSRF token of the page it shows.
async fn session_and_token(c: &Client) -> (String, String) {
    let cookie = c.get_named_cookie(SESSION_COOKIE).await.expect("session cookie").value().to_string();
    let token = c.find(Locator::Css("form.logout input[name=csrf]")).await.expect("csrf").attr("value").await.expect("value");
    (cookie, token.expect("token"))
}

/// A form POST from a plain HTTP client (no browser): `extra` header lines, then the session.
async fn post(addr: SocketAddr, path: &str, cookie: &str, extra: &str, body: &str) -> (u16, String) {
    let headers = format!("{extra}Cookie: {SESSION_COOKIE}={cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n");
    let (st, _, body) = request(addr, "POST", path, &headers, body).await;
    (st, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_page_through_the_whole_flow_in_headless_chromium() {
    let started = Instant::now();
    let live = LiveServer::with_traffic("web").await;
    let (dir, addr, cfg) = (&live.dir, live.addr, &live.cfg);
    let sock = cfg.servers[0].control.clone();
    let token = {
        let db = Db::connect(&cfg.database).await.expect("db");
        db.add_user("alice", "alice-pw", Role::User).await.expect("user");
        db.add_user("bob", "bob-pw", Role::User).await.expect("user");
        db.add_user("root", "root-pw", Role::Admin).await.expect("user");
        db.add_token("alice", 0).await.expect("token")
    };
    let bearer = format!("Authorization: Bearer {token}\r\n");
    let _serve = Serve::start(&live.cfg_file, &dir.join("serve.log"), addr).await;
    let driver = Chromedriver::start(&dir.join("chromedriver.log")).await;
    let c = driver.session(&dir.join("profile")).await;
    let base = format!("http://{addr}");
    println!("setup (relayd, broker, chromedriver, browser): {:?}", started.elapsed());

    // Not signed in: the page sends the browser to the login form.
    c.goto(&format!("{base}/tunnels")).await.expect("goto");
    assert_eq!(path(&c).await, "/login");

    // A wrong password: the error names the field.
    log_in(&c, &base, "alice", "wrong").await;
    assert_eq!(text(&c, "#error").await, "password: wrong user name or password");
    assert_eq!(c.find(Locator::Css("#password")).await.expect("field").attr("aria-invalid").await.expect("attr").as_deref(), Some("true"));

    log_in(&c, &base, "alice", "alice-pw").await;
    assert_eq!(path(&c).await, "/tunnels");
    assert_eq!(text(&c, "#user").await, "alice");
    assert_eq!(text(&c, "h1").await, "My tunnels");
    assert_eq!(text(&c, "#tunnels tbody").await, "No tunnels yet.");

    // "The address this request came from" is 127.0.0.1 here: refused, naming the field.
    click(&c, "#endpoint-auto").await;
    click_to_page(&c, "#create-tunnel").await;
    assert_eq!(text(&c, "#error").await, "client_ipv4: 127.0.0.1 is not a global unicast address");

    // Create with a /48: the tunnel's page, active, and the tunnel on relayd.
    click(&c, "#endpoint-address").await;
    type_into(&c, "#client_ipv4", "203.0.113.77").await;
    click(&c, "#routed48").await;
    click_to_page(&c, "#create-tunnel").await;
    assert_eq!(text(&c, "h1").await, "Tunnel 1 active");
    assert_eq!(text(&c, "#state").await, "active");
    assert_eq!(text(&c, "#routed48").await, "2001:db8:8000::/48");
    assert_eq!(text(&c, "#client-ipv6").await, "2001:db8:1000::2");
    let key = text(&c, "#update-key").await;
    assert!(key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()), "update key `{key}`");
    let with_tunnel = format!("{OPERATOR}32768 local 198.51.100.20 remote 203.0.113.77 name broker-1\n");
    let with_routes = format!("{BASE_ROUTES}2001:db8:1000::/64 tunnel 32768 origin static\n2001:db8:8000::/48 tunnel 32768 origin static\n");
    assert_eq!(relayd::request(&sock, "tunnels").await.expect("tunnels"), with_tunnel);
    assert_eq!(relayd::request(&sock, "routes").await.expect("routes"), with_routes);
    assert_eq!(text(&c, "#rx").await, "0 packets, 0 bytes");
    assert_eq!(text(&c, "#tx").await, "0 packets, 0 bytes");

    // Real traffic: the client sends 5 echo requests of 100 bytes through the tunnel, the LAN
    // host's kernel answers each, and the answers go back into the tunnel.
    let traffic_started = Instant::now();
    live.relayd.client_pings("203.0.113.77", "198.51.100.20", "2001:db8:1000::2", 5, 100);
    let want = r#"{"rx_packets":5,"rx_bytes":500,"tx_packets":5,"tx_bytes":500}"#;
    loop {
        let (st, body) = http(addr, "GET", "/api/tunnels/1/traffic", &bearer, "").await;
        assert_eq!(st, 200, "{body}");
        if body == want {
            break;
        }
        assert!(traffic_started.elapsed() < Duration::from_secs(20), "the tunnel's counters after 20 s: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("5 echo requests and their replies through the tunnel, counted: {:?}", traffic_started.elapsed());

    // The list shows it active, with its traffic; the picture for docs/broker.md.
    c.goto(&format!("{base}/tunnels")).await.expect("goto");
    assert_eq!(text(&c, "#tunnel-1 td.state").await, "active");
    assert_eq!(text(&c, "#tunnel-1 td.routed48").await, "2001:db8:8000::/48");
    assert_eq!(text(&c, "#tunnel-1 td.traffic").await, "5 pkts, 500 B · 5 pkts, 500 B");
    let png = c.screenshot().await.expect("screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    std::fs::write(dir.join("tunnels.png"), &png).expect("png");
    if let Some(to) = std::env::var_os("BROKER_SCREENSHOT") {
        std::fs::write(Path::new(&to), &png).expect("BROKER_SCREENSHOT");
    }

    // Its page shows the iproute2 configuration exactly as the API gives it.
    click_to_page(&c, "#tunnel-1 a").await;
    assert_eq!(path(&c).await, "/tunnels/1");
    assert_eq!(text(&c, "#rx").await, "5 packets, 500 bytes");
    assert_eq!(text(&c, "#tx").await, "5 packets, 500 bytes");
    let shown = c.find(Locator::Id("config-iproute2")).await.expect("pre").prop("textContent").await.expect("text");
    let (st, api) = http(addr, "GET", "/api/tunnels/1/config/iproute2", &bearer, "").await;
    assert_eq!(st, 200);
    assert_eq!(shown.as_deref(), Some(api.as_str()));
    assert!(api.contains("ip tunnel add broker1 mode sit remote 198.51.100.20 local 203.0.113.77 ttl 255\n"), "{api}");

    // CSRF: alice's own session, from a plain HTTP client.
    let (alice, alice_csrf) = session_and_token(&c).await;
    let (st, body) = post(addr, "/tunnels/1/delete", &alice, "", "").await;
    assert_eq!(st, 403, "{body}");
    assert!(body.contains("the form&#39;s CSRF token is missing or wrong"), "{body}");
    assert_eq!(post(addr, "/tunnels", &alice, "", "endpoint=address&client_ipv4=203.0.113.78").await.0, 403);
    // The right token, sent by a page of another site.
    let evil = "Origin: http://evil.example\r\n";
    assert_eq!(post(addr, "/tunnels/1/delete", &alice, evil, &format!("csrf={alice_csrf}")).await.0, 403);
    let cross = "Sec-Fetch-Site: cross-site\r\n";
    assert_eq!(post(addr, "/tunnels/1/delete", &alice, cross, &format!("csrf={alice_csrf}")).await.0, 403);
    assert_eq!(relayd::request(&sock, "tunnels").await.expect("tunnels"), with_tunnel);
    let (_, list) = http(addr, "GET", "/api/tunnels", &bearer, "").await;
    assert_eq!(serde_json::from_str::<serde_json::Value>(&list).expect("json").as_array().map(Vec::len), Some(1));

    // Log out: the session is gone from the server, not only from the browser.
    click_to_page(&c, "#logout").await;
    assert_eq!(path(&c).await, "/login");
    let (st, head, _) = request(addr, "GET", "/tunnels", &format!("Cookie: {SESSION_COOKIE}={alice}\r\n"), "").await;
    assert_eq!((st, head.contains("\r\nlocation: /login")), (303, true), "{head}");

    // Bob sees nothing of alice's, and cannot delete it even with his own valid form token.
    log_in(&c, &base, "bob", "bob-pw").await;
    assert_eq!(text(&c, "#tunnels tbody").await, "No tunnels yet.");
    c.goto(&format!("{base}/tunnels/1")).await.expect("goto");
    assert_eq!(text(&c, "#error").await, "id: no such tunnel");
    let (bob, bob_csrf) = session_and_token(&c).await;
    let (st, body) = post(addr, "/tunnels/1/delete", &bob, &format!("Origin: {base}\r\n"), &format!("csrf={bob_csrf}")).await;
    assert_eq!(st, 404, "{body}");
    assert_eq!(relayd::request(&sock, "tunnels").await.expect("tunnels"), with_tunnel);
    click_to_page(&c, "#logout").await;

    // The admin sees every tunnel, with its owner.
    log_in(&c, &base, "root", "root-pw").await;
    assert_eq!(text(&c, "h1").await, "All tunnels");
    assert_eq!(text(&c, "#tunnel-1 td.owner").await, "alice");
    click_to_page(&c, "#logout").await;

    // Alice deletes it from its page: gone from the list and from relayd.
    log_in(&c, &base, "alice", "alice-pw").await;
    c.goto(&format!("{base}/tunnels/1")).await.expect("goto");
    click_to_page(&c, "#delete").await;
    assert_eq!(path(&c).await, "/tunnels");
    assert_eq!(text(&c, "#tunnels tbody").await, "No tunnels yet.");
    assert_eq!(relayd::request(&sock, "tunnels").await.expect("tunnels"), OPERATOR);
    assert_eq!(relayd::request(&sock, "routes").await.expect("routes"), BASE_ROUTES);
    click_to_page(&c, "#logout").await;
    assert_eq!(path(&c).await, "/login");

    // The login limit is the API's: one wrong password above, nine more, then even the right
    // password is refused on the page, and the API token too.
    for _ in 0..9 {
        log_in(&c, &base, "alice", "wrong").await;
    }
    log_in(&c, &base, "alice", "alice-pw").await;
    assert_eq!(text(&c, "#error").await, "password: too many failed logins; wait a minute");
    assert_eq!(http(addr, "GET", "/api/tunnels", &bearer, "").await.0, 429);

    c.close().await.expect("close the browser");
    drop(driver);
    drop(live.relayd);
    println!("web flow in Chromium: {:?} (goal: well under a minute)", started.elapsed());
    let _ = std::fs::remove_dir_all(dir);
}
