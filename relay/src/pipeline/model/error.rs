//! The configuration's one error type: which field, and why. Every section's validation
//! (ports, roles, each mechanism's, router advertisements) returns it, so an operator
//! always reads `pipeline.isatap[0].prl[2]: …` and never a bare reason.
use std::fmt;

/// A bad configuration field: its path (`pipeline.interface[1].ipv4`) and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ConfigError {
    pub path: String,
    pub reason: String,
}

/// `Err` for field `path`.
pub(crate) fn err<T>(path: impl Into<String>, reason: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError { path: path.into(), reason: reason.into() })
}

/// `r`'s error as one of field `path`.
pub(crate) fn at<T, E: fmt::Display>(path: &str, r: Result<T, E>) -> Result<T, ConfigError> {
    r.map_err(|e| ConfigError { path: path.to_owned(), reason: e.to_string() })
}
