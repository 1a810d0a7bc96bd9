//! The relayd control-socket client (docs/control-protocol.md): a request is one or more lines,
//! the answer zero or more body lines then `ok` or `error: <reason>`. A tunnel is pushed as one
//! `batch` (`tunnel set` + its routes), so relayd applies all of it or none.

use std::collections::BTreeMap;
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
    /// An answer line the broker cannot read (a relayd of another version).
    #[error("control socket {path}: unexpected answer line `{line}`")]
    Malformed { path: String, line: String },
}

/// One tunnel's counters in `tunnel stats`: IPv6 packets taken out of the tunnel (rx: what the
/// client sent) and sent into it (tx: what the client was sent), and their inner bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Traffic {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
}

/// The relayd's `tunnel stats`, by relayd tunnel id.
pub async fn tunnel_stats(socket: &Path) -> Result<BTreeMap<i64, Traffic>, CtlError> {
    let body = request(socket, "tunnel stats").await?;
    body.lines()
        .map(|line| stats_line(line).ok_or_else(|| CtlError::Malformed { path: socket.display().to_string(), line: line.to_string() }))
        .collect()
}

/// `<id> rx_packets N rx_bytes N tx_packets N tx_bytes N`.
fn stats_line(line: &str) -> Option<(i64, Traffic)> {
    let w: Vec<&str> = line.split_whitespace().collect();
    let [id, "rx_packets", rp, "rx_bytes", rb, "tx_packets", tp, "tx_bytes", tb] = w.as_slice() else { return None };
    let n = |s: &str| s.parse::<u64>().ok();
    Some((id.parse().ok()?, Traffic { rx_packets: n(rp)?, rx_bytes: n(rb)?, tx_packets: n(tp)?, tx_bytes: n(tb)? }))
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

#[cfg(test)]
mod tests {
    use super::{stats_line, Traffic};

    #[test]
    fn stats_lines_are_read_exactly() {
        let t = Traffic { rx_packets: 16, rx_bytes: 1024, tx_packets: 3, tx_bytes: 312 };
        assert_eq!(stats_line("32768 rx_packets 16 rx_bytes 1024 tx_packets 3 tx_bytes 312"), Some((32768, t)));
        assert_eq!(stats_line("0 rx_packets 0 rx_bytes 0 tx_packets 0 tx_bytes 0"), Some((0, Traffic::default())));
        assert_eq!(stats_line("1 rx_packets 16 rx_bytes 1024 tx_packets 3"), None);
        assert_eq!(stats_line("1 rx_packets -1 rx_bytes 1024 tx_packets 3 tx_bytes 312"), None);
        assert_eq!(stats_line("1 tx_packets 3 tx_bytes 312 rx_packets 16 rx_bytes 1024"), None);
        assert_eq!(stats_line("x rx_packets 16 rx_bytes 1024 tx_packets 3 tx_bytes 312"), None);
    }
}
