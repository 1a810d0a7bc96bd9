//! The HTTP side of the broker: the JSON API (`tunnels`), the HE-compatible endpoint update
//! (`nic`), the OpenAPI document built from the handlers (`openapi`), and the web page
//! (`crate::web`), all on one listener. `ops` holds what a signed-in user can do; the JSON API
//! and the web page both call it, so they cannot disagree.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;

use crate::broker::{Broker, BrokerError};
use crate::db::Role;

mod nic;
pub mod openapi;
pub mod ops;
mod tunnels;

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

    /// Refuses `ip` while it is over the failed-login limit: one limit for API tokens,
    /// `/nic/update` keys and the web page's passwords. `field` names what was refused.
    pub fn check_limit(&self, ip: IpAddr, field: &'static str) -> Result<(), ApiError> {
        if self.limited(ip) {
            return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too many failed logins; wait a minute", Some(field)));
        }
        Ok(())
    }

    /// Counts a failed authentication from `ip`.
    pub fn failed(&self, ip: IpAddr) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let e = f.entry(ip).or_insert((0, Instant::now()));
        if e.1.elapsed() >= WINDOW {
            *e = (0, Instant::now());
        }
        e.0 += 1;
    }
}

/// Who is asking: from an API token or a web session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub name: String,
    pub role: Role,
}

/// Every API error: `{"error": reason, "field": name or null}`. The web page shows the same
/// reason beside the same field.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: String,
    pub field: Option<&'static str>,
}

/// The body of every API error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Why the request was refused.
    #[schema(example = "192.168.1.1 is not a global unicast address")]
    error: String,
    /// The request field at fault, if one is.
    #[schema(example = "client_ipv4")]
    field: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>, field: Option<&'static str>) -> ApiError {
        ApiError { status, error: error.into(), field }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorBody { error: self.error, field: self.field })).into_response()
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

pub type Shared = Arc<App>;

/// The JSON API, `/nic/update`, `/api/openapi.json` and the web page.
pub fn router(app: Shared) -> Router {
    let (api, _doc) = openapi::api_router().split_for_parts();
    api.merge(crate::web::router())
        .fallback(crate::web::not_found)
        .with_state(app)
}

/// Serves the API and the web page on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, app: Shared) -> std::io::Result<()> {
    axum::serve(listener, router(app).into_make_service_with_connect_info::<SocketAddr>()).await
}

/// The same over TLS (`crate::tls::load`).
pub async fn serve_tls(listener: std::net::TcpListener, app: Shared, tls: axum_server::tls_rustls::RustlsConfig) -> std::io::Result<()> {
    axum_server::from_tcp_rustls(listener, tls)?.serve(router(app).into_make_service_with_connect_info::<SocketAddr>()).await
}

/// The caller of a JSON API call, authenticated by its bearer token, and the address the call
/// came from (for `auto` endpoints and the failed-login limit).
pub struct Caller {
    pub who: Who,
    pub peer: IpAddr,
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Caller, ApiError> {
        let peer = peer(parts)?;
        app.check_limit(peer, "authorization")?;
        let token = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        let Some(token) = token else {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "missing bearer token", Some("authorization")));
        };
        match app.broker.db.token_user(token.trim()).await? {
            Some((name, role)) => Ok(Caller { who: Who { name, role }, peer }),
            None => {
                app.failed(peer);
                Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown token", Some("authorization")))
            }
        }
    }
}

/// The request's source address (the listener records it: `serve`, `serve_tls`).
pub fn peer(parts: &Parts) -> Result<IpAddr, ApiError> {
    match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(a)) => Ok(a.ip()),
        None => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the request's source address is unknown", None)),
    }
}
