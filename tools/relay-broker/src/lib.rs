//! relay-broker: a tunnel broker (RFC 3053) handing out configured tunnels (RFC 4213) on relayd
//! tunnel servers, with their names in DNS (RFC 2136). This library holds the configuration,
//! the storage and the operations; the binary is the admin CLI and the API server.

pub mod api;
pub mod broker;
pub mod clientconf;
pub mod config;
pub mod db;
pub mod dns;
pub mod relayd;
pub mod tls;
pub mod web;

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `secs` seconds after `now` (saturating: a huge configured lifetime means "never").
pub fn after(now: i64, secs: u64) -> i64 {
    now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX))
}
