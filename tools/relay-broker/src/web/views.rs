//! The pages' templates (`templates/*.html`, askama: compiled with the crate, HTML-escaped)
//! and what each shows.

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::api::ops::TunnelView;
use crate::api::ApiError;
use crate::clientconf::Kind;
use crate::relayd::Traffic;

/// The header of a signed-in page: who, and the token of its logout form.
pub struct Nav {
    pub user: String,
    pub admin: bool,
    pub csrf: String,
}

/// An error shown on a page: the field at fault (if one is) and why.
pub struct Problem {
    pub field: &'static str,
    pub reason: String,
}

impl Problem {
    pub fn of(e: &ApiError) -> Problem {
        Problem { field: e.field.unwrap_or(""), reason: e.error.clone() }
    }

    /// Whether the input named `field` is the one at fault (marked on the form).
    pub fn is(&self, field: &str) -> bool {
        self.field == field
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct Login {
    pub nav: Option<Nav>,
    pub csrf: String,
    pub user: String,
    pub problem: Option<Problem>,
}

/// A tunnel's traffic as the page shows it.
pub enum Counters {
    /// From its server: rx is what the user sent through the tunnel, tx what they were sent.
    Shown(Traffic),
    /// Its server does not carry it now (pending).
    NotOnServer,
    /// Its server could not answer: why.
    Unavailable(String),
}

impl Counters {
    pub fn of(answer: Result<Option<Traffic>, String>) -> Counters {
        match answer {
            Ok(Some(t)) => Counters::Shown(t),
            Ok(None) => Counters::NotOnServer,
            Err(why) => Counters::Unavailable(why),
        }
    }
}

/// `n` bytes for a reader: exact below 1 KiB, else in binary units with one decimal.
/// (A reference: what the template's `match` binds.)
pub fn bytes(n: &u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if *n < 1024 {
        return format!("{n} B");
    }
    let mut v = *n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// One line of the tunnel list.
pub struct Row {
    pub t: TunnelView,
    pub lease: String,
    pub traffic: Counters,
}

/// What the create form holds (again, after a refusal).
pub struct CreateValues {
    pub auto: bool,
    pub client_ipv4: String,
    pub routed48: bool,
}

#[derive(Template)]
#[template(path = "tunnels.html")]
pub struct Tunnels {
    pub nav: Option<Nav>,
    pub admin: bool,
    pub rows: Vec<Row>,
    /// The address this request came from (what `auto` would use).
    pub peer: String,
    pub form: CreateValues,
    pub problem: Option<Problem>,
}

/// One ready configuration on a tunnel's page.
pub struct ClientConfig {
    pub kind: &'static str,
    pub title: &'static str,
    pub text: String,
}

pub fn config_title(kind: Kind) -> &'static str {
    match kind {
        Kind::Relayd => "relayd as your router (TOML)",
        Kind::Iproute2 => "Linux (iproute2)",
        Kind::Ios => "Cisco IOS",
        Kind::Freebsd => "FreeBSD (gif)",
    }
}

#[derive(Template)]
#[template(path = "tunnel.html")]
pub struct TunnelPage {
    pub nav: Option<Nav>,
    pub t: TunnelView,
    pub lease: String,
    pub traffic: Counters,
    /// Right after creation only: the key is kept hashed and cannot be shown again.
    pub update_key: Option<String>,
    pub configs: Vec<ClientConfig>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub nav: Option<Nav>,
    pub title: String,
    pub problem: Option<Problem>,
}

/// The page with `status`; a template that fails to render is a 500 naming why.
pub fn render(page: &impl Template, status: StatusCode) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("rendering the page: {e}"))
            .into_response(),
    }
}

pub fn error_page(nav: Option<Nav>, e: ApiError) -> Response {
    let title = e.status.canonical_reason().unwrap_or("Error").to_string();
    render(&ErrorPage { nav, title, problem: Some(Problem::of(&e)) }, e.status)
}

/// A lease end as a date and time in UTC (the page says UTC beside it).
pub fn utc(secs: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(fmt).ok())
        .unwrap_or_else(|| format!("{secs} s after the epoch"))
}

#[cfg(test)]
mod tests {
    use super::bytes;

    #[test]
    fn byte_counts_for_a_reader() {
        let shown: Vec<String> = [0, 500, 1023, 1024, 1536, 10 << 30, u64::MAX].iter().map(bytes).collect();
        assert_eq!(shown, ["0 B", "500 B", "1023 B", "1.0 KiB", "1.5 KiB", "10.0 GiB", "16.0 EiB"]);
    }
}
