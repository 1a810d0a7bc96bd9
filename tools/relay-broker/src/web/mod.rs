//! The web page (RFC 3053's broker is used through one): log in, my tunnels, create, a
//! tunnel's page with its ready configurations, delete, log out. Server-rendered HTML (askama
//! templates in `templates/`), no script. Every page calls `api::ops`, as the JSON API does.
//!
//! Sessions live in the database (`db::sessions`); the cookie holds only a random secret, is
//! HttpOnly and SameSite=Strict. Every state-changing POST carries the session's CSRF token and
//! must not come from another origin (`Origin`, `Sec-Fetch-Site`); the login form, before any
//! session, carries a token matched against a cookie of its own. docs/broker.md says why.

use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::de::DeserializeOwned;
use cookie::{Cookie, SameSite};
use subtle::ConstantTimeEq;

use crate::api::{ApiError, App, Shared, Who};
use crate::db::{Role, Session};

mod pages;
mod views;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "relay_broker_session";
/// The login form's own token cookie (there is no session yet to hold one).
const LOGIN_COOKIE: &str = "relay_broker_login";
/// How long a login form may wait before it is sent.
const LOGIN_FORM_SECS: i64 = 3600;

/// What every page's response carries: no framing (clickjacking), no script, no inline style,
/// forms only to this site, no caching of pages that hold tokens.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/tunnels") }))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/tunnels", get(pages::tunnels).post(pages::create))
        .route("/tunnels/{id}", get(pages::tunnel))
        .route("/tunnels/{id}/delete", post(pages::delete))
        .route("/static/style.css", get(style))
        .layer(axum::middleware::map_response(security_headers))
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../../static/style.css")).into_response()
}

async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Anything no route took: JSON under `/api/` and `/nic/` (what API clients parse), a page
/// elsewhere.
pub async fn not_found(uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || path.starts_with("/nic/") {
        return ApiError::new(StatusCode::NOT_FOUND, "no such endpoint", None).into_response();
    }
    security_headers(views::error_page(None, ApiError::new(StatusCode::NOT_FOUND, "no such page", None))).await
}

/// The value of cookie `name` in the request.
fn cookie(h: &HeaderMap, name: &str) -> Option<String> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, on `path`; `max_age` 0 deletes it.
/// `Secure` when the broker itself speaks TLS.
fn set_cookie(app: &App, name: &'static str, value: String, path: &'static str, max_age: i64) -> (header::HeaderName, String) {
    let c = Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(app.broker.cfg.http.tls_cert.is_some())
        .max_age(cookie::time::Duration::seconds(max_age));
    (header::SET_COOKIE, c.to_string())
}

/// A signed-in request: its session and the cookie secret naming it.
struct Signed {
    secret: String,
    session: Session,
}

impl Signed {
    fn who(&self) -> Who {
        Who { name: self.session.user.clone(), role: self.session.role }
    }

    fn nav(&self) -> views::Nav {
        views::Nav { user: self.session.user.clone(), admin: self.session.role == Role::Admin, csrf: self.session.csrf.clone() }
    }
}

impl FromRequestParts<Shared> for Signed {
    /// Not signed in: to the login page; the database failing: a page naming why.
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Signed, Response> {
        match signed_in(app, &parts.headers).await {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Err(to_login()),
            Err(e) => Err(views::error_page(None, e)),
        }
    }
}

/// A form that carries a CSRF token.
trait Csrf {
    fn csrf(&self) -> &str;
}

/// A signed-in POST: its session and its form, once the form passed the CSRF check. Nothing of
/// a handler taking it runs before that.
struct Posted<F>(Signed, F);

impl<F: Csrf + DeserializeOwned + Send> FromRequest<Shared> for Posted<F> {
    type Rejection = Response;

    async fn from_request(req: Request, app: &Shared) -> Result<Posted<F>, Response> {
        let (mut parts, body) = req.into_parts();
        let s = Signed::from_request_parts(&mut parts, app).await?;
        let headers = parts.headers.clone();
        let f = match Form::<F>::from_request(Request::from_parts(parts, body), app).await {
            Ok(Form(f)) => f,
            Err(e) => return Err(views::error_page(Some(s.nav()), bad_form(e))),
        };
        if !csrf_ok(&headers, f.csrf(), &s.session.csrf) {
            return Err(views::error_page(Some(s.nav()), csrf_refused()));
        }
        Ok(Posted(s, f))
    }
}

/// The request's session, if its cookie names one that has not ended.
async fn signed_in(app: &App, h: &HeaderMap) -> Result<Option<Signed>, ApiError> {
    let Some(secret) = cookie(h, SESSION_COOKIE) else { return Ok(None) };
    Ok(app.broker.db.session(&secret, crate::now()).await?.map(|session| Signed { secret, session }))
}

/// Whether a state-changing request was sent by a page of this site: a browser names the page's
/// origin in `Origin` (and the relation in `Sec-Fetch-Site`) on every POST, and a page elsewhere
/// cannot make it lie. Requests without them (non-browser clients) are left to the token.
fn same_origin(h: &HeaderMap) -> bool {
    if let Some(site) = h.get("sec-fetch-site") {
        if site.as_bytes() != b"same-origin" {
            return false;
        }
    }
    let Some(origin) = h.get(header::ORIGIN) else { return true };
    let authority = origin.to_str().ok().and_then(|o| o.strip_prefix("http://").or_else(|| o.strip_prefix("https://")));
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

/// The CSRF check of a state-changing POST: same origin, and the form's token equal (in
/// constant time) to the one expected.
fn csrf_ok(h: &HeaderMap, sent: &str, expected: &str) -> bool {
    same_origin(h) && !expected.is_empty() && bool::from(sent.as_bytes().ct_eq(expected.as_bytes()))
}

fn csrf_refused() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "the form's CSRF token is missing or wrong, or it came from another site: reload the page", Some("csrf"))
}

/// A form body that did not parse, named like any other bad input.
fn bad_form(e: FormRejection) -> ApiError {
    ApiError::new(e.status(), e.body_text(), Some("body"))
}

/// Where a request not signed in goes.
fn to_login() -> Response {
    Redirect::to("/login").into_response()
}
