//! The page handlers. Each signed-in one finds the session, checks CSRF on a POST before
//! anything else, then calls `api::ops` as the JSON API does and renders the answer.

use std::net::SocketAddr;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::views::{self, ClientConfig, Counters, CreateValues, Login, Problem, Row, TunnelPage, Tunnels};
use super::{bad_form, cookie, csrf_ok, csrf_refused, set_cookie, signed_in, Csrf, Posted, Signed};
use super::{LOGIN_COOKIE, LOGIN_FORM_SECS, SESSION_COOKIE};
use crate::api::{ops, ApiError, App, Shared};
use crate::clientconf::Kind;
use crate::db::new_secret;

impl Csrf for CsrfForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl Csrf for CreateForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn login_page(csrf: String, user: String, problem: Option<Problem>, status: StatusCode) -> Response {
    views::render(&Login { nav: None, csrf, user, problem }, status)
}

pub async fn login_form(AxState(app): AxState<Shared>, h: HeaderMap) -> Response {
    if let Ok(Some(_)) = signed_in(&app, &h).await {
        return Redirect::to("/tunnels").into_response();
    }
    let token = new_secret();
    let c = set_cookie(&app, LOGIN_COOKIE, token.clone(), "/login", LOGIN_FORM_SECS);
    ([c], login_page(token, String::new(), None, StatusCode::OK)).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
}

pub async fn login(
    AxState(app): AxState<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let f = match form {
        Ok(Form(f)) => f,
        Err(e) => return views::error_page(None, bad_form(e)),
    };
    // Login CSRF (a victim signed into the attacker's account): the form's token must be the
    // one its own cookie carries, which another site can neither read nor set.
    if !csrf_ok(&h, &f.csrf, &cookie(&h, LOGIN_COOKIE).unwrap_or_default()) {
        return views::error_page(None, csrf_refused());
    }
    let refuse = |e: ApiError| login_page(f.csrf.clone(), f.user.clone(), Some(Problem::of(&e)), e.status);
    if let Err(e) = app.check_limit(peer.ip(), "password") {
        return refuse(e);
    }
    let role = match app.broker.db.check_password(&f.user, &f.password).await {
        Ok(r) => r,
        Err(e) => return refuse(e.into()),
    };
    if role.is_none() {
        app.failed(peer.ip());
        // One answer for an unknown user and a wrong password: no probing for names.
        return refuse(ApiError::new(StatusCode::UNAUTHORIZED, "wrong user name or password", Some("password")));
    }
    match app.broker.db.add_session(&f.user, crate::now(), app.broker.cfg.http.session_secs).await {
        Ok((secret, s)) => {
            let secs = s.expires - crate::now();
            let session = set_cookie(&app, SESSION_COOKIE, secret, "/", secs);
            let done = set_cookie(&app, LOGIN_COOKIE, String::new(), "/login", 0);
            // Two Set-Cookie headers: appended, not one replacing the other.
            (AppendHeaders([session, done]), Redirect::to("/tunnels")).into_response()
        }
        Err(e) => refuse(e.into()),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(AxState(app): AxState<Shared>, Posted(s, _): Posted<CsrfForm>) -> Response {
    if let Err(e) = app.broker.db.end_session(&s.secret).await {
        return views::error_page(Some(s.nav()), e.into());
    }
    ([set_cookie(&app, SESSION_COOKIE, String::new(), "/", 0)], Redirect::to("/login")).into_response()
}

/// The tunnel list with the create form (holding `form`, and `problem` after a refusal).
async fn list_page(app: &App, s: &Signed, peer: SocketAddr, form: CreateValues, problem: Option<Problem>, status: StatusCode) -> Response {
    let tunnels = match ops::list(app, &s.who()).await {
        Ok(t) => t,
        Err(e) => return views::error_page(Some(s.nav()), e),
    };
    let traffic = ops::traffic(app, &tunnels).await;
    let rows = tunnels
        .iter()
        .zip(traffic)
        .map(|(t, c)| Row { t: ops::view(app, t), lease: views::utc(t.lease_until), traffic: Counters::of(c) })
        .collect();
    let peer = ops::peer_ipv4(peer.ip()).map_or_else(|| peer.ip().to_string(), |v4| v4.to_string());
    let page = Tunnels { admin: s.nav().admin, nav: Some(s.nav()), rows, peer, form, problem };
    views::render(&page, status)
}

pub async fn tunnels(AxState(app): AxState<Shared>, ConnectInfo(peer): ConnectInfo<SocketAddr>, s: Signed) -> Response {
    let empty = CreateValues { auto: false, client_ipv4: String::new(), routed48: false };
    list_page(&app, &s, peer, empty, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    /// `auto` (the address the request came from) or `address` (`client_ipv4`).
    #[serde(default)]
    endpoint: String,
    #[serde(default)]
    client_ipv4: String,
    /// A checkbox: present when ticked.
    routed48: Option<String>,
}

pub async fn create(AxState(app): AxState<Shared>, ConnectInfo(peer): ConnectInfo<SocketAddr>, Posted(s, f): Posted<CreateForm>) -> Response {
    let auto = f.endpoint == "auto";
    let asked = if auto { "auto" } else { f.client_ipv4.as_str() };
    match ops::create(&app, &s.who(), peer.ip(), asked, f.routed48.is_some()).await {
        Ok((t, key)) => tunnel_page(&app, &s, &t, Some(key), StatusCode::CREATED).await,
        Err(e) => {
            let values = CreateValues { auto, client_ipv4: f.client_ipv4, routed48: f.routed48.is_some() };
            list_page(&app, &s, peer, values, Some(Problem::of(&e)), e.status).await
        }
    }
}

async fn tunnel_page(app: &App, s: &Signed, t: &crate::db::Tunnel, update_key: Option<String>, status: StatusCode) -> Response {
    let mut configs = Vec::new();
    for kind in Kind::ALL {
        match ops::client_config(app, t, kind.as_str()) {
            Ok(text) => configs.push(ClientConfig { kind: kind.as_str(), title: views::config_title(kind), text }),
            Err(e) => return views::error_page(Some(s.nav()), e),
        }
    }
    let traffic = Counters::of(ops::traffic(app, std::slice::from_ref(t)).await.pop().unwrap_or(Ok(None)));
    let page = TunnelPage { nav: Some(s.nav()), t: ops::view(app, t), lease: views::utc(t.lease_until), traffic, update_key, configs };
    views::render(&page, status)
}

pub async fn tunnel(AxState(app): AxState<Shared>, s: Signed, Path(id): Path<String>) -> Response {
    match ops::show(&app, &s.who(), &id).await {
        Ok(t) => tunnel_page(&app, &s, &t, None, StatusCode::OK).await,
        Err(e) => views::error_page(Some(s.nav()), e),
    }
}

pub async fn delete(AxState(app): AxState<Shared>, Path(id): Path<String>, Posted(s, _): Posted<CsrfForm>) -> Response {
    match ops::delete(&app, &s.who(), &id).await {
        Ok(()) => Redirect::to("/tunnels").into_response(),
        Err(e) => views::error_page(Some(s.nav()), e),
    }
}

