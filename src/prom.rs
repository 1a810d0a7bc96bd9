//! A minimal Prometheus text endpoint (`GET /metrics`), served by the control core without
//! blocking: accept what is waiting, answer, close.
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

pub struct Exporter {
    listener: TcpListener,
}

impl Exporter {
    pub fn bind(addr: SocketAddr) -> Result<Exporter, String> {
        let listener = TcpListener::bind(addr).map_err(|e| format!("prometheus endpoint {addr}: {e}"))?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        Ok(Exporter { listener })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    pub fn poll(&self, render: impl Fn() -> String) {
        while let Ok((mut s, _)) = self.listener.accept() {
            let _ = s.set_nonblocking(false);
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            let mut req = [0u8; 1024];
            let n = s.read(&mut req).unwrap_or(0);
            let head = String::from_utf8_lossy(&req[..n]);
            let (status, body) = if head.starts_with("GET /metrics") || head.starts_with("GET / ") {
                ("200 OK", render())
            } else {
                ("404 Not Found", String::from("try GET /metrics\n"))
            };
            let _ = write!(
                s,
                "HTTP/1.0 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    }
}
