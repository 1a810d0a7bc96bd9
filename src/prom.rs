//! A minimal Prometheus text endpoint (`GET /metrics`), served by the control core without
//! ever waiting on a client: the sockets are non-blocking, a connection's request head is read
//! as it arrives (at most `MAX_HEAD` bytes), answered and closed; at most `MAX_CONNS` are open
//! and one that has not finished within `TIMEOUT` is dropped. The endpoint has no
//! authentication: it listens on loopback unless the configuration names another address.
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

const MAX_CONNS: usize = 16;
const MAX_HEAD: usize = 8192;
const TIMEOUT: Duration = Duration::from_secs(5);
const ACCEPTS_PER_POLL: usize = 32;

pub struct Exporter {
    listener: TcpListener,
    conns: Vec<HttpConn>,
}

struct HttpConn {
    stream: TcpStream,
    head: Vec<u8>,
    out: Vec<u8>,
    sent: usize,
    since: Instant,
}

impl Exporter {
    pub fn bind(addr: SocketAddr) -> Result<Exporter, String> {
        let listener = TcpListener::bind(addr).map_err(|e| format!("prometheus endpoint {addr}: {e}"))?;
        listener.set_nonblocking(true).map_err(|e| format!("prometheus endpoint {addr}: {e}"))?;
        Ok(Exporter { listener, conns: Vec::new() })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Accepts what is waiting and moves every open request on; true if anything moved.
    pub fn poll(&mut self, render: impl Fn() -> String) -> bool {
        let now = Instant::now();
        let mut busy = false;
        for _ in 0..ACCEPTS_PER_POLL {
            let Ok((s, _)) = self.listener.accept() else { break };
            busy = true;
            if s.set_nonblocking(true).is_err() {
                continue;
            }
            if self.conns.len() >= MAX_CONNS {
                let _ = (&s).write_all(&response("503 Service Unavailable", "too many scrapes at once\n"));
                continue;
            }
            self.conns.push(HttpConn { stream: s, head: Vec::new(), out: Vec::new(), sent: 0, since: now });
        }
        self.conns.retain_mut(|c| {
            let (moved, open) = c.service(&render);
            busy |= moved;
            open && now.duration_since(c.since) < TIMEOUT
        });
        busy
    }
}

impl HttpConn {
    /// (whether a byte moved, whether to keep it open).
    fn service(&mut self, render: &impl Fn() -> String) -> (bool, bool) {
        let mut moved = false;
        if self.out.is_empty() {
            let mut eof = false;
            let mut buf = [0u8; 2048];
            while self.head.len() < MAX_HEAD {
                match self.stream.read(&mut buf) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => {
                        moved = true;
                        self.head.extend_from_slice(&buf[..n]);
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => return (moved, false),
                }
            }
            let complete = self.head.windows(4).any(|w| w == b"\r\n\r\n") || self.head.windows(2).any(|w| w == b"\n\n");
            if !(complete || eof || self.head.len() >= MAX_HEAD) {
                return (moved, true);
            }
            if self.head.is_empty() {
                return (moved, false);
            }
            // Read to the end of the head before answering: closing with unread bytes would
            // reset the connection and could lose the answer.
            let metrics = self.head.starts_with(b"GET /metrics") || self.head.starts_with(b"GET / ");
            self.out = if metrics { response("200 OK", &render()) } else { response("404 Not Found", "try GET /metrics\n") };
        }
        loop {
            match self.stream.write(&self.out[self.sent..]) {
                Ok(0) => return (moved, false),
                Ok(n) => {
                    moved = true;
                    self.sent += n;
                    if self.sent == self.out.len() {
                        let _ = self.stream.shutdown(std::net::Shutdown::Write);
                        return (moved, false);
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return (moved, true),
                Err(_) => return (moved, false),
            }
        }
    }
}

fn response(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.0 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
