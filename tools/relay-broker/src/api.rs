//! The JSON HTTP API and the HE-compatible endpoint update (`/nic/update`, dyndns2).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Path, Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use crate::broker::{Broker, BrokerError};
use crate::clientconf::{self, Kind};
use crate::db::{Role, State, Tunnel};

/// Failed authentications allowed per source address and window.
const MAX_FAILURES: u32 = 10;
const WINDOW: Duration = Duration::from_secs(60);

pub struct App {
    pub broker: Broker,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl App {
    pub fn new(broker: Broker) -> Arc<App> {
        Arc::new(App { broker, failures: Mutex::new(HashMap::new()) })
    }

    fn limited(&self, ip: IpAddr) -> bool {
        let f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match f.get(&ip) {
            Some((n, since)) if since.elapsed() < WINDOW => *n >= MAX_FAILURES,
            _ => false,
        }
    }

    fn failed(&self, ip: IpAddr) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let e = f.entry(ip).or_insert((0, Instant::now()));
        if e.1.elapsed() >= WINDOW {
            *e = (0, Instant::now());
        }
        e.0 += 1;
    }
}

/// Every API error: `{"error": reason, "field": name or null}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: String,
    field: Option<&'static str>,
}

impl ApiError {
    fn new(status: StatusCode, error: impl Into<String>, field: Option<&'static str>) -> ApiError {
        ApiError { status, error: error.into(), field }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": self.error, "field": self.field}))).into_response()
    }
}

impl From<BrokerError> for ApiError {
    fn from(e: BrokerError) -> ApiError {
        match e {
            BrokerError::Field { field, reason } => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, reason, Some(field)),
            BrokerError::NoTunnel(_) => ApiError::new(StatusCode::NOT_FOUND, "no such tunnel", Some("id")),
            BrokerError::Db(crate::db::DbError::NoServer) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "every tunnel server is at capacity", None),
            BrokerError::Db(crate::db::DbError::PoolFull(p)) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("the {p} pool is exhausted"), None),
            BrokerError::Server { .. } => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), None),
            other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string(), None),
        }
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> ApiError {
        BrokerError::from(e).into()
    }
}

type Shared = Arc<App>;

pub fn router(app: Shared) -> Router {
    Router::new()
        .route("/api/tunnels", get(list).post(create))
        .route("/api/tunnels/{id}", get(show).delete(remove))
        .route("/api/tunnels/{id}/config/{kind}", get(config))
        .route("/nic/update", get(nic_update))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such endpoint", None) })
        .with_state(app)
}

/// Serves the API on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, app: Shared) -> std::io::Result<()> {
    axum::serve(listener, router(app).into_make_service_with_connect_info::<SocketAddr>()).await
}

async fn user(app: &App, peer: IpAddr, h: &HeaderMap) -> Result<(String, Role), ApiError> {
    if app.limited(peer) {
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too many failed logins; wait a minute", Some("authorization")));
    }
    let token = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "missing bearer token", Some("authorization")));
    };
    match app.broker.db.token_user(token.trim()).await? {
        Some(u) => Ok(u),
        None => {
            app.failed(peer);
            Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown token", Some("authorization")))
        }
    }
}

fn view(app: &App, t: &Tunnel) -> serde_json::Value {
    let server_v4 = app.broker.cfg.servers.iter().find(|s| s.name == t.server).map(|s| s.ipv4.to_string());
    let (s6, c6) = clientconf::link_addrs(t).map(|(a, b)| (Some(a.to_string()), Some(b.to_string()))).unwrap_or((None, None));
    json!({
        "id": t.id, "owner": t.owner, "server": t.server, "server_ipv4": server_v4, "server_ipv6": s6,
        "client_ipv4": t.client_ipv4.to_string(), "client_ipv6": c6, "link64": t.link64, "routed48": t.routed48,
        "state": t.state.as_str(), "lease_until": t.lease_until, "error": t.last_error,
    })
}

/// The tunnel if `who` may see it (its owner or an admin); else 404 (not 403: no probing).
async fn visible(app: &App, id: &str, who: &(String, Role)) -> Result<Tunnel, ApiError> {
    let nf = || ApiError::new(StatusCode::NOT_FOUND, "no such tunnel", Some("id"));
    let id: i64 = id.parse().map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, format!("`{id}` is not a tunnel id"), Some("id")))?;
    let t = app.broker.db.tunnel(id).await?.ok_or_else(nf)?;
    if who.1 != Role::Admin && t.owner != who.0 {
        return Err(nf());
    }
    Ok(t)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    client_ipv4: String,
    #[serde(default)]
    routed48: bool,
}

async fn create(
    AxState(app): AxState<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let who = user(&app, peer.ip(), &h).await?;
    let b: CreateBody = serde_json::from_slice(&body).map_err(|e| {
        let msg = e.to_string();
        let field = if msg.contains("client_ipv4") { Some("client_ipv4") } else if msg.contains("routed48") { Some("routed48") } else { Some("body") };
        ApiError::new(StatusCode::BAD_REQUEST, msg, field)
    })?;
    let ip: Ipv4Addr = if b.client_ipv4 == "auto" {
        match peer.ip() {
            IpAddr::V4(v4) => v4,
            IpAddr::V6(v6) => v6.to_ipv4_mapped().ok_or_else(|| {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "\"auto\": the request came over IPv6", Some("client_ipv4"))
            })?,
        }
    } else {
        b.client_ipv4.parse().map_err(|_| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("`{}` is not an IPv4 address", b.client_ipv4), Some("client_ipv4"))
        })?
    };
    let (t, key) = app.broker.create(&who.0, ip, b.routed48, crate::now()).await?;
    let mut v = view(&app, &t);
    v["update_key"] = json!(key);
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

async fn list(AxState(app): AxState<Shared>, ConnectInfo(peer): ConnectInfo<SocketAddr>, h: HeaderMap) -> Result<Response, ApiError> {
    let who = user(&app, peer.ip(), &h).await?;
    let owner = if who.1 == Role::Admin { None } else { Some(who.0.as_str()) };
    let ts = app.broker.db.tunnels(owner).await?;
    Ok(Json(ts.iter().map(|t| view(&app, t)).collect::<Vec<_>>()).into_response())
}

async fn show(
    AxState(app): AxState<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let who = user(&app, peer.ip(), &h).await?;
    let t = visible(&app, &id, &who).await?;
    app.broker.db.renew(t.id, crate::now(), app.broker.cfg.lease_secs).await?;
    let t = app.broker.db.tunnel(t.id).await?.unwrap_or(t);
    Ok(Json(view(&app, &t)).into_response())
}

async fn config(
    AxState(app): AxState<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    Path((id, kind)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let who = user(&app, peer.ip(), &h).await?;
    let t = visible(&app, &id, &who).await?;
    let kind: Kind = kind.parse().map_err(|e: clientconf::ConfError| ApiError::new(StatusCode::NOT_FOUND, e.to_string(), Some("kind")))?;
    let server = app.broker.cfg.servers.iter().find(|s| s.name == t.server).map(|s| s.ipv4);
    let server = server.ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("server `{}` not configured", t.server), None))?;
    let text = clientconf::render(kind, &t, server).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), None))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

async fn remove(
    AxState(app): AxState<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let who = user(&app, peer.ip(), &h).await?;
    let t = visible(&app, &id, &who).await?;
    app.broker.delete(t.id, crate::now()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct NicQuery {
    hostname: Option<String>,
    myip: Option<String>,
}

fn text(s: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], s).into_response()
}

/// dyndns2 / HE: `good IP`, `nochg IP`, `badauth`, `nohost`, `abuse` (rate-limited, or an
/// endpoint that is not global unicast), as plain text with status 200.
async fn nic_update(
    AxState(app): AxState<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    Query(q): Query<NicQuery>,
) -> Response {
    match nic_update_inner(&app, peer, &h, &q).await {
        Ok(s) => text(s),
        Err(e) => e.into_response(),
    }
}

async fn nic_update_inner(app: &App, peer: SocketAddr, h: &HeaderMap, q: &NicQuery) -> Result<String, ApiError> {
    if app.limited(peer.ip()) {
        return Ok("abuse".into());
    }
    let basic = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let Some((name, key)) = basic.as_deref().and_then(|b| b.split_once(':')) else {
        app.failed(peer.ip());
        return Ok("badauth".into());
    };
    let Some(id) = q.hostname.as_deref().and_then(|h| h.parse::<i64>().ok()) else { return Ok("nohost".into()) };
    let Some(t) = app.broker.db.tunnel(id).await? else { return Ok("nohost".into()) };
    if t.owner != name || !app.broker.db.check_update_key(id, key).await? {
        app.failed(peer.ip());
        return Ok("badauth".into());
    }
    let ip: Ipv4Addr = match q.myip.as_deref() {
        Some(s) => match s.parse() {
            Ok(ip) => ip,
            Err(_) => return Ok("abuse".into()),
        },
        None => match peer.ip() {
            IpAddr::V4(v4) => v4,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4,
                None => return Ok("abuse".into()),
            },
        },
    };
    if !relay::pipeline::model::addr::builtin_v4_ok(ip) {
        return Ok("abuse".into());
    }
    let now = crate::now();
    app.broker.db.renew(id, now, app.broker.cfg.lease_secs).await?;
    if ip == t.client_ipv4 && t.state == State::Active {
        return Ok(format!("nochg {ip}"));
    }
    app.broker.move_endpoint(&t, ip).await?;
    Ok(format!("good {ip}"))
}
