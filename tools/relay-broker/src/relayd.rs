//! The relayd control-socket client (docs/control-protocol.md): a request is one or more lines,
//! the answer zero or more body lines then `ok` or `error: <reason>`. A tunnel is pushed as one
//! `batch` (`tunnel set` + its routes), so relayd applies all of it or none.

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use crate::db::Tunnel;

/// How long one control request may take before the server counts as down.
const TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// relayd is down or not answering (the tunnel stays `pending` and is retried).
    #[error("control socket {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("control socket {0}: no answer within {1:?}")]
    Timeout(String, Duration),
    #[error("control socket {0}: answer ended without a status line")]
    NoStatus(String),
    /// relayd refused the request; a refused request changed nothing.
    #[error("relayd refused: {0}")]
    Refused(String),
}

/// Sends `text` (one request, possibly a multi-line batch) and returns the answer's body.
pub async fn request(socket: &Path, text: &str) -> Result<String, CtlError> {
    let path = socket.display().to_string();
    match tokio::time::timeout(TIMEOUT, request_inner(socket, text, &path)).await {
        Ok(r) => r,
        Err(_) => Err(CtlError::Timeout(path, TIMEOUT)),
    }
}

async fn request_inner(socket: &Path, text: &str, path: &str) -> Result<String, CtlError> {
    let io = |source| CtlError::Io { path: path.to_string(), source };
    let mut s = UnixStream::connect(socket).await.map_err(io)?;
    s.write_all(text.as_bytes()).await.map_err(io)?;
    if !text.ends_with('\n') {
        s.write_all(b"\n").await.map_err(io)?;
    }
    s.shutdown().await.map_err(io)?;
    let mut lines = BufReader::new(s).lines();
    let mut body = String::new();
    while let Some(line) = lines.next_line().await.map_err(io)? {
        if line == "ok" {
            return Ok(body);
        }
        if let Some(e) = line.strip_prefix("error: ") {
            return Err(CtlError::Refused(e.to_string()));
        }
        body.push_str(&line);
        body.push('\n');
    }
    Err(CtlError::NoStatus(path.to_string()))
}

/// The name the broker gives its tunnels on relayd: marks them as the broker's.
pub fn tunnel_name(t: &Tunnel) -> String {
    format!("broker-{}", t.id)
}

/// The `tunnel set` line for `t` on a server whose endpoint is `local`.
pub fn tunnel_line(t: &Tunnel, local: Ipv4Addr) -> String {
    format!("tunnel set {} local {local} remote {} name {}", t.server_tid, t.client_ipv4, tunnel_name(t))
}

/// The routes of `t`: its link /64 and its routed /48, through the tunnel.
pub fn route_lines(t: &Tunnel) -> Vec<String> {
    let mut v = vec![format!("route add {} tunnel {}", t.link64, t.server_tid)];
    if let Some(r) = &t.routed48 {
        v.push(format!("route add {r} tunnel {}", t.server_tid));
    }
    v
}

/// Puts `t` on its server (adds, or replaces its endpoint): one batch.
pub async fn push(socket: &Path, local: Ipv4Addr, t: &Tunnel) -> Result<(), CtlError> {
    let mut b = String::from("batch\n");
    b.push_str(&tunnel_line(t, local));
    b.push('\n');
    for r in route_lines(t) {
        b.push_str(&r);
        b.push('\n');
    }
    b.push_str("end\n");
    request(socket, &b).await.map(|_| ())
}

/// Takes `t` off its server: its routes, then the tunnel, in one batch.
pub async fn remove(socket: &Path, t: &Tunnel) -> Result<(), CtlError> {
    let mut b = format!("batch\nroute del {}\n", t.link64);
    if let Some(r) = &t.routed48 {
        b.push_str(&format!("route del {r}\n"));
    }
    b.push_str(&format!("tunnel del {}\nend\n", t.server_tid));
    request(socket, &b).await.map(|_| ())
}
