//! HTTPS in the broker itself (`[http] tls_cert`, `tls_key`): rustls with aws-lc-rs. Loaded once at
//! start; a file that cannot be read or parsed, or a key that does not match, refuses to start
//! naming the field.

use std::path::Path;
use std::sync::Arc;

use axum_server::tls_rustls::RustlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::Http;

#[derive(Debug, thiserror::Error)]
#[error("field `{field}`: {reason}")]
pub struct TlsError {
    pub field: &'static str,
    pub reason: String,
}

fn read(field: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError { field, reason: format!("{}: {e}", path.display()) })
}

/// The server's TLS configuration, or `None` for plain HTTP (neither file configured).
pub fn load(http: &Http) -> Result<Option<RustlsConfig>, TlsError> {
    let (Some(cert_path), Some(key_path)) = (&http.tls_cert, &http.tls_key) else { return Ok(None) };
    let bad = |field, what: &dyn std::fmt::Display| TlsError { field, reason: what.to_string() };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&read("http.tls_cert", cert_path)?)
        .collect::<Result<_, _>>()
        .map_err(|e| bad("http.tls_cert", &format!("{}: {e}", cert_path.display())))?;
    if certs.is_empty() {
        return Err(bad("http.tls_cert", &format!("{}: no CERTIFICATE in it", cert_path.display())));
    }
    let key = PrivateKeyDer::from_pem_slice(&read("http.tls_key", key_path)?)
        .map_err(|e| bad("http.tls_key", &format!("{}: {e}", key_path.display())))?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("http.tls_cert", &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad("http.tls_key", &format!("{}: {e}", key_path.display())))?;
    // The router speaks HTTP/1.1 only (axum's http1 feature).
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(RustlsConfig::from_config(Arc::new(cfg))))
}
