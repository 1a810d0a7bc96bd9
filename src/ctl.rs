//! The control socket: a Unix stream socket speaking a small line protocol (see
//! docs/control-protocol.md). One request per connection or several in a row; each request is
//! answered by body lines and one status line, `ok` or `error: <reason>`.
//!
//! The control core serves it between its other duties, so clients get short timeouts and a
//! bounded request size: a stuck client cannot stall the slow path.
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Help,
    Ping,
    Stats,
    Routes,
    Neigh,
    /// The configured tunnels.
    Tunnels,
    Generation,
    Audit,
    Reload,
    /// `route add|del …` or `tunnel set|del …`, as text for the pipeline's grammar.
    Route(String),
    /// Several route and tunnel changes applied all-or-nothing.
    Batch(Vec<String>),
}

pub const HELP: &str = "\
commands:
  ping                      liveness check
  stats                     counters: runtime, pipeline (drop reasons), workers, ports
  routes                    the IPv6 route table
  neigh                     the neighbour tables
  tunnels                   the configured tunnels
  generation                control generation sent / applied by every worker
  audit                     check every worker's tables equal the control copy
  route add <prefix> <nexthop>   add or replace a route (see docs/control-protocol.md)
  route del <prefix>        delete a route
  tunnel set <id> local <v4> remote <v4> [name N] [mtu M] [ttl T] [dscp copy|D]
                            add or replace a configured tunnel (RFC 4213)
  tunnel del <id>           delete a configured tunnel no route uses
  batch                     then one `route …` or `tunnel …` per line, then `end`: all or nothing
  reload                    re-read the config file's tables (routes, neighbours)";

/// Max bytes of one request line; max lines of one batch.
const MAX_LINE: usize = 4096;
const MAX_BATCH: usize = 1_000_000;

pub fn parse_request(first: &str, mut more: impl FnMut() -> Option<String>) -> Result<Request, String> {
    let line = first.trim();
    let mut words = line.split_whitespace();
    let cmd = words.next().unwrap_or("");
    let rest: Vec<&str> = words.collect();
    let no_args = |r: Request| if rest.is_empty() { Ok(r) } else { Err(format!("{cmd} takes no arguments")) };
    match cmd {
        "help" => no_args(Request::Help),
        "ping" => no_args(Request::Ping),
        "stats" => no_args(Request::Stats),
        "routes" => no_args(Request::Routes),
        "neigh" => no_args(Request::Neigh),
        "tunnels" => no_args(Request::Tunnels),
        "generation" => no_args(Request::Generation),
        "audit" => no_args(Request::Audit),
        "reload" => no_args(Request::Reload),
        "route" => match rest.first() {
            Some(&"add") | Some(&"del") => Ok(Request::Route(line.to_string())),
            _ => Err("usage: route add <prefix> <nexthop> | route del <prefix>".into()),
        },
        "tunnel" => match rest.first() {
            Some(&"set") | Some(&"del") => Ok(Request::Route(line.to_string())),
            _ => Err("usage: tunnel set <id> local <v4> remote <v4> [options] | tunnel del <id>".into()),
        },
        "batch" => {
            if !rest.is_empty() {
                return Err("batch takes no arguments".into());
            }
            let mut lines = Vec::new();
            loop {
                let Some(l) = more() else { return Err("batch: connection ended before `end`".into()) };
                let l = l.trim().to_string();
                if l == "end" {
                    break;
                }
                if l.is_empty() {
                    continue;
                }
                if !l.starts_with("route ") && !l.starts_with("tunnel ") {
                    return Err(format!("batch line {}: only `route add|del` and `tunnel set|del` may be batched", lines.len() + 1));
                }
                if lines.len() == MAX_BATCH {
                    return Err(format!("batch: more than {MAX_BATCH} lines"));
                }
                lines.push(l);
            }
            Ok(Request::Batch(lines))
        }
        "" => Err("empty request; try `help`".into()),
        other => Err(format!("unknown command {other:?}; try `help`")),
    }
}

/// The answer to one request.
pub struct Response {
    pub body: String,
    pub result: Result<(), String>,
}

impl Response {
    pub fn ok(body: impl Into<String>) -> Response {
        Response { body: body.into(), result: Ok(()) }
    }
    pub fn error(reason: impl Into<String>) -> Response {
        Response { body: String::new(), result: Err(reason.into()) }
    }
}

pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlSocket {
    pub fn bind(path: &Path) -> Result<ControlSocket, String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("control socket dir {}: {e}", dir.display()))?;
        }
        if UnixStream::connect(path).is_ok() {
            return Err(format!("control socket {} is in use by a running relayd", path.display()));
        }
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).map_err(|e| format!("control socket {}: {e}", path.display()))?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        Ok(ControlSocket { listener, path: path.to_path_buf() })
    }

    /// Serves every client waiting now, each until it closes or goes quiet.
    /// Serves every waiting connection; true if there was one.
    pub fn poll(&self, mut handle: impl FnMut(Request) -> Response) -> bool {
        let mut served = false;
        while let Ok((stream, _)) = self.listener.accept() {
            served = true;
            let _ = serve(stream, &mut handle);
        }
        served
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve(stream: UnixStream, handle: &mut impl FnMut(Request) -> Response) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_millis(500)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = std::io::BufWriter::new(stream);
    let read_line = |r: &mut BufReader<UnixStream>| -> Option<String> {
        let mut line = String::new();
        match Read::by_ref(r).take(MAX_LINE as u64 + 1).read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) if line.len() > MAX_LINE => Some(String::from("\u{0}too-long")),
            Ok(_) => Some(line),
        }
    };
    while let Some(first) = read_line(&mut reader) {
        if first.trim().is_empty() {
            continue;
        }
        let response = if first.starts_with('\u{0}') {
            Response::error(format!("request longer than {MAX_LINE} bytes"))
        } else {
            match parse_request(&first, || read_line(&mut reader)) {
                Ok(req) => handle(req),
                Err(e) => Response::error(e),
            }
        };
        out.write_all(response.body.as_bytes())?;
        if !response.body.is_empty() && !response.body.ends_with('\n') {
            out.write_all(b"\n")?;
        }
        match response.result {
            Ok(()) => out.write_all(b"ok\n")?,
            Err(e) => writeln!(out, "error: {}", e.replace('\n', " "))?,
        }
        out.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Request, String> {
        let mut lines = s.lines().map(str::to_string);
        let first = lines.next().unwrap_or_default();
        parse_request(&first, || lines.next())
    }

    #[test]
    fn parses_commands() {
        assert_eq!(parse("stats"), Ok(Request::Stats));
        assert_eq!(parse("tunnels"), Ok(Request::Tunnels));
        assert_eq!(parse("tunnel del 3"), Ok(Request::Route("tunnel del 3".into())));
        assert_eq!(
            parse("batch\ntunnel set 1 local 198.51.100.7 remote 203.0.113.9\nroute add 2001:db8::/32 tunnel 1\nend"),
            Ok(Request::Batch(vec!["tunnel set 1 local 198.51.100.7 remote 203.0.113.9".into(), "route add 2001:db8::/32 tunnel 1".into()]))
        );
        assert_eq!(parse("route add 2001:db8::/32 via fe80::1 port 1"), Ok(Request::Route("route add 2001:db8::/32 via fe80::1 port 1".into())));
        assert_eq!(
            parse("batch\nroute add ::/0 6to4\n\nroute del ::/0\nend"),
            Ok(Request::Batch(vec!["route add ::/0 6to4".into(), "route del ::/0".into()]))
        );
    }

    #[test]
    fn rejects_bad_commands_with_reasons() {
        assert_eq!(parse(""), Err("empty request; try `help`".into()));
        assert_eq!(parse("frobnicate"), Err("unknown command \"frobnicate\"; try `help`".into()));
        assert_eq!(parse("stats now"), Err("stats takes no arguments".into()));
        assert_eq!(parse("route flip"), Err("usage: route add <prefix> <nexthop> | route del <prefix>".into()));
        assert_eq!(parse("batch\nroute add ::/0 6to4"), Err("batch: connection ended before `end`".into()));
        assert_eq!(parse("batch\nreload\nend"), Err("batch line 1: only `route add|del` and `tunnel set|del` may be batched".into()));
        assert_eq!(parse("tunnel flip 1"), Err("usage: tunnel set <id> local <v4> remote <v4> [options] | tunnel del <id>".into()));
        assert_eq!(parse("tunnels now"), Err("tunnels takes no arguments".into()));
    }
}
