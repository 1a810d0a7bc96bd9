//! What a signed-in user can do with tunnels: the one implementation behind both the JSON API
//! and the web page. Each takes the caller (`Who`) and answers with an `ApiError` naming the
//! field on bad input; visibility (own tunnels, an admin all) is decided here and only here.

use std::net::{IpAddr, Ipv4Addr};

use axum::http::StatusCode;
use serde::Serialize;

use super::{ApiError, App, Who};
use crate::clientconf::{self, Kind};
use crate::db::{Role, Tunnel};
use crate::relayd::Traffic;

/// A tunnel as the API answers it and the page shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TunnelView {
    #[schema(example = 1)]
    pub id: i64,
    #[schema(example = "alice")]
    pub owner: String,
    /// The tunnel server's name.
    #[schema(example = "tserv1")]
    pub server: String,
    /// The server's IPv4 endpoint (null only if the server left the configuration).
    #[schema(example = "198.51.100.20")]
    pub server_ipv4: Option<String>,
    /// ::1 of the link /64.
    #[schema(example = "2001:db8:1000::1")]
    pub server_ipv6: Option<String>,
    #[schema(example = "203.0.113.77")]
    pub client_ipv4: String,
    /// ::2 of the link /64.
    #[schema(example = "2001:db8:1000::2")]
    pub client_ipv6: Option<String>,
    #[schema(example = "2001:db8:1000::/64")]
    pub link64: String,
    #[schema(example = "2001:db8:8000::/48")]
    pub routed48: Option<String>,
    /// `active` (on its server, names in DNS), `pending` (see `error`; retried) or `expired`.
    #[schema(example = "active")]
    pub state: String,
    /// Seconds since the epoch when the lease ends unless renewed.
    pub lease_until: i64,
    /// Why the tunnel is pending.
    pub error: Option<String>,
}

impl Who {
    fn sees(&self, t: &Tunnel) -> bool {
        self.role == Role::Admin || t.owner == self.name
    }
}

pub fn view(app: &App, t: &Tunnel) -> TunnelView {
    let server_ipv4 = app.broker.cfg.servers.iter().find(|s| s.name == t.server).map(|s| s.ipv4.to_string());
    let (server_ipv6, client_ipv6) = match clientconf::link_addrs(t) {
        Ok((s, c)) => (Some(s.to_string()), Some(c.to_string())),
        Err(_) => (None, None),
    };
    TunnelView {
        id: t.id,
        owner: t.owner.clone(),
        server: t.server.clone(),
        server_ipv4,
        server_ipv6,
        client_ipv4: t.client_ipv4.to_string(),
        client_ipv6,
        link64: t.link64.clone(),
        routed48: t.routed48.clone(),
        state: t.state.as_str().into(),
        lease_until: t.lease_until,
        error: t.last_error.clone(),
    }
}

/// The IPv4 address a request came from (also when a dual-stack socket shows it IPv4-mapped).
pub fn peer_ipv4(peer: IpAddr) -> Option<Ipv4Addr> {
    match peer {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    }
}

/// The endpoint a user asked for: an IPv4 address, or `auto`, the address the request came
/// from (`peer`).
fn endpoint(client_ipv4: &str, peer: IpAddr) -> Result<Ipv4Addr, ApiError> {
    let bad = |reason: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, reason, Some("client_ipv4"));
    if client_ipv4 != "auto" {
        return client_ipv4.trim().parse().map_err(|_| bad(format!("`{client_ipv4}` is not an IPv4 address")));
    }
    peer_ipv4(peer).ok_or_else(|| bad("\"auto\": the request came over IPv6".into()))
}

/// Creates a tunnel for the caller; returns it and its update key (shown once).
pub async fn create(app: &App, who: &Who, peer: IpAddr, client_ipv4: &str, routed48: bool) -> Result<(Tunnel, String), ApiError> {
    let ip = endpoint(client_ipv4, peer)?;
    Ok(app.broker.create(&who.name, ip, routed48, crate::now()).await?)
}

/// The caller's tunnels (an admin's: everyone's), by id.
pub async fn list(app: &App, who: &Who) -> Result<Vec<Tunnel>, ApiError> {
    let owner = if who.role == Role::Admin { None } else { Some(who.name.as_str()) };
    Ok(app.broker.db.tunnels(owner).await?)
}

/// The tunnel `id` if the caller may see it; else 404 (not 403: no probing for others' ids).
pub async fn visible(app: &App, who: &Who, id: &str) -> Result<Tunnel, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "no such tunnel", Some("id"));
    let id: i64 = id.parse().map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, format!("`{id}` is not a tunnel id"), Some("id")))?;
    let t = app.broker.db.tunnel(id).await?.ok_or_else(not_found)?;
    if !who.sees(&t) {
        return Err(not_found());
    }
    Ok(t)
}

/// The tunnel `id`, its lease renewed (looking at a tunnel is using it).
pub async fn show(app: &App, who: &Who, id: &str) -> Result<Tunnel, ApiError> {
    let t = visible(app, who, id).await?;
    app.broker.db.renew(t.id, crate::now(), app.broker.cfg.lease_secs).await?;
    Ok(app.broker.db.tunnel(t.id).await?.unwrap_or(t))
}

/// The client configuration `kind` (relayd, iproute2, ios, freebsd) of a visible tunnel.
pub fn client_config(app: &App, t: &Tunnel, kind: &str) -> Result<String, ApiError> {
    let kind: Kind = kind.parse().map_err(|e: clientconf::ConfError| ApiError::new(StatusCode::NOT_FOUND, e.to_string(), Some("kind")))?;
    let server = app.broker.cfg.servers.iter().find(|s| s.name == t.server).map(|s| s.ipv4);
    let server = server.ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("server `{}` not configured", t.server), None))?;
    clientconf::render(kind, t, server).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), None))
}

/// Each tunnel's traffic counters from its server (`Broker::traffic`): `Ok(None)` for one its
/// server does not carry now, `Err` naming why its server could not answer.
pub async fn traffic(app: &App, tunnels: &[Tunnel]) -> Vec<Result<Option<Traffic>, String>> {
    app.broker.traffic(tunnels).await
}

/// One visible tunnel's counters, or why there are none.
pub async fn tunnel_traffic(app: &App, t: &Tunnel) -> Result<Traffic, ApiError> {
    match traffic(app, std::slice::from_ref(t)).await.pop() {
        Some(Ok(Some(c))) => Ok(c),
        Some(Ok(None)) | None => Err(ApiError::new(StatusCode::CONFLICT, format!("tunnel {} is not on its server now: no counters", t.id), Some("id"))),
        Some(Err(why)) => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, why, None)),
    }
}

/// Deletes the tunnel `id` if the caller may see it.
pub async fn delete(app: &App, who: &Who, id: &str) -> Result<(), ApiError> {
    let t = visible(app, who, id).await?;
    Ok(app.broker.delete(t.id, crate::now()).await?)
}
