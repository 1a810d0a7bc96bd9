//! The HE-compatible endpoint update, `GET /nic/update` (dyndns2): what ddclient speaks.

use std::net::{Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, Query, State as AxState};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;

use super::{ApiError, App, ErrorBody, Shared};
use crate::db::State;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NicQuery {
    /// The tunnel id.
    #[param(example = "1")]
    hostname: Option<String>,
    /// The new IPv4 endpoint; absent: the address the request came from.
    #[param(example = "203.0.113.80")]
    myip: Option<String>,
}

fn text(s: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], s).into_response()
}

/// dyndns2 / HE: `good IP`, `nochg IP`, `badauth`, `nohost`, `abuse` (rate-limited, or an
/// endpoint that is not global unicast), as plain text with status 200.
#[utoipa::path(get, path = "/nic/update", tag = "endpoint update", security(("basic" = [])), params(NicQuery),
    responses(
        (status = 200, description = "dyndns2 answer: `good IP`, `nochg IP`, `badauth`, `nohost` or `abuse`; \
            HTTP basic authentication is the account name and the tunnel's update key", content_type = "text/plain", body = String),
        (status = 500, description = "The database failed", body = ErrorBody),
    ))]
pub async fn nic_update(
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
    if app.check_limit(peer.ip(), "authorization").is_err() {
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
    let ip: Option<Ipv4Addr> = match q.myip.as_deref() {
        Some(s) => s.parse().ok(),
        None => super::ops::peer_ipv4(peer.ip()),
    };
    let Some(ip) = ip else { return Ok("abuse".into()) };
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
