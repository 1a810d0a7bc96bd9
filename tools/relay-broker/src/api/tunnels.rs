//! The JSON API's tunnel calls: thin wrappers of `ops` that authenticate by bearer token and
//! answer JSON. Each carries its OpenAPI description (`utoipa::path`).

use axum::extract::{Path, State as AxState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::ops::{self, TunnelView};
use super::{ApiError, Caller, ErrorBody, Shared};
use crate::relayd::Traffic;

/// A new tunnel.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// The client's IPv4 endpoint (global unicast), or `auto`: the address the request came from.
    #[schema(example = "203.0.113.77")]
    client_ipv4: String,
    /// Also route a /48 to the tunnel.
    #[serde(default)]
    routed48: bool,
}

/// A created tunnel: its details and its endpoint-update key, shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    #[serde(flatten)]
    tunnel: TunnelView,
    /// The password of `/nic/update` for this tunnel; only its hash is kept.
    update_key: String,
}

#[utoipa::path(post, path = "/api/tunnels", tag = "tunnels", security(("bearer" = [])), request_body = CreateBody,
    responses(
        (status = 201, description = "Created: active, or pending with the reason in `error`", body = Created),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 422, description = "Bad endpoint", body = ErrorBody),
        (status = 429, description = "Too many failed logins from this address", body = ErrorBody),
        (status = 503, description = "No server or pool has room", body = ErrorBody),
    ))]
pub async fn create(AxState(app): AxState<Shared>, c: Caller, body: axum::body::Bytes) -> Result<Response, ApiError> {
    let b: CreateBody = serde_json::from_slice(&body).map_err(|e| {
        let msg = e.to_string();
        let field = if msg.contains("client_ipv4") {
            "client_ipv4"
        } else if msg.contains("routed48") {
            "routed48"
        } else {
            "body"
        };
        ApiError::new(StatusCode::BAD_REQUEST, msg, Some(field))
    })?;
    let (t, update_key) = ops::create(&app, &c.who, c.peer, &b.client_ipv4, b.routed48).await?;
    Ok((StatusCode::CREATED, Json(Created { tunnel: ops::view(&app, &t), update_key })).into_response())
}

#[utoipa::path(get, path = "/api/tunnels", tag = "tunnels", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's tunnels (an admin's: all), by id", body = [TunnelView]),
        (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn list(AxState(app): AxState<Shared>, c: Caller) -> Result<Response, ApiError> {
    let ts = ops::list(&app, &c.who).await?;
    Ok(Json(ts.iter().map(|t| ops::view(&app, t)).collect::<Vec<_>>()).into_response())
}

#[utoipa::path(get, path = "/api/tunnels/{id}", tag = "tunnels", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The tunnel's id")),
    responses(
        (status = 200, description = "The tunnel; its lease is renewed", body = TunnelView),
        (status = 400, description = "Not a tunnel id", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such tunnel, or another user's", body = ErrorBody),
    ))]
pub async fn show(AxState(app): AxState<Shared>, c: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let t = ops::show(&app, &c.who, &id).await?;
    Ok(Json(ops::view(&app, &t)).into_response())
}

#[utoipa::path(get, path = "/api/tunnels/{id}/config/{kind}", tag = "tunnels", security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The tunnel's id"),
        ("kind" = String, Path, description = "relayd, iproute2, ios or freebsd"),
    ),
    responses(
        (status = 200, description = "The client's configuration, ready to use", content_type = "text/plain", body = String),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such tunnel or kind", body = ErrorBody),
    ))]
pub async fn config(AxState(app): AxState<Shared>, c: Caller, Path((id, kind)): Path<(String, String)>) -> Result<Response, ApiError> {
    let t = ops::visible(&app, &c.who, &id).await?;
    let text = ops::client_config(&app, &t, &kind)?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

#[utoipa::path(get, path = "/api/tunnels/{id}/traffic", tag = "tunnels", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The tunnel's id")),
    responses(
        (status = 200, description = "Its counters on its server now: rx = IPv6 packets it took out of the tunnel \
            (sent by the client), tx = sent into it (to the client); bytes of the inner IPv6 packets", body = Traffic),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Its server does not carry it now (pending)", body = ErrorBody),
        (status = 503, description = "Its server could not answer", body = ErrorBody),
    ))]
pub async fn traffic(AxState(app): AxState<Shared>, c: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let t = ops::visible(&app, &c.who, &id).await?;
    Ok(Json(ops::tunnel_traffic(&app, &t).await?).into_response())
}

#[utoipa::path(delete, path = "/api/tunnels/{id}", tag = "tunnels", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The tunnel's id")),
    responses(
        (status = 204, description = "Off its server; its prefixes are in quarantine"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 503, description = "Its server is down; nothing changed", body = ErrorBody),
    ))]
pub async fn remove(AxState(app): AxState<Shared>, c: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    ops::delete(&app, &c.who, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
