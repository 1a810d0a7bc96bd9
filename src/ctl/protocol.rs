//! The control protocol without its socket: request lines, batches, answers, and one
//! connection's [`Session`] (bytes in, answers out). Pure, so that it is tested and fuzzed
//! (tools/fuzz-checks) without a socket or DPDK.

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
    /// Packets and bytes per configured tunnel.
    TunnelStats,
    /// The next-hop groups.
    Groups,
    Generation,
    Audit,
    Reload,
    /// `healthy` or `unhealthy: …` (src/health.rs).
    Health,
    /// Report unhealthy from now on, so the health agent withdraws the anycast routes.
    Drain,
    /// `route add|del …`, `tunnel set|del …` or `group set|del …`, as text for the
    /// pipeline's grammar.
    Route(String),
    /// Several route, tunnel and group changes applied all-or-nothing.
    Batch(Vec<String>),
}

pub const HELP: &str = "\
commands:
  ping                      liveness check
  stats                     counters: runtime, pipeline (drop reasons), workers, ports, control socket
  routes                    the IPv6 route table
  neigh                     the neighbour tables
  tunnels                   the configured tunnels
  tunnel stats              packets and inner bytes per configured tunnel, each way
  groups                    the next-hop groups (ECMP)
  generation                control generation sent / applied by every worker
  audit                     check every worker's tables equal the control copy
  route add <prefix> <nexthop>   add or replace a route (see docs/control-protocol.md)
  route del <prefix>        delete a route
  tunnel set <id> local <v4> remote <v4> [name N] [mtu M] [ttl T] [dscp copy|D]
                            add or replace a configured tunnel (RFC 4213)
  tunnel del <id>           delete a configured tunnel no route uses
  group set <id> nexthop <hop> [weight W] [nexthop <hop> [weight W]]...
                            add or replace a next-hop group; `route add <prefix> group <id>`
  group del <id>            delete a next-hop group no route uses
  batch                     then one `route …`, `tunnel …` or `group …` per line, then `end`: all or nothing
  reload                    re-read the config file's tables (routes, neighbours)
  health                    `healthy`, or `unhealthy: <what is wrong>` (workers, ports, tables, drain)
  drain                     report unhealthy (the health agent withdraws the routes), stop once no traffic comes";

/// Max bytes of one request line (without its `\n`); max lines of one batch.
pub const MAX_LINE: usize = 4096;
const MAX_BATCH: usize = 1_000_000;
/// Unsent answer bytes past which a connection's further requests wait: a client that does
/// not read its answers stops being served instead of growing relayd's memory.
pub const OUT_HIGH: usize = 64 * 1024;

/// Why one line could not be taken as a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("longer than {MAX_LINE} bytes")]
    TooLong,
    #[error("not UTF-8")]
    NotUtf8,
}

impl LineError {
    /// The answer to such a line outside a batch.
    fn request_error(self) -> String {
        match self {
            LineError::TooLong => format!("request longer than {MAX_LINE} bytes"),
            LineError::NotUtf8 => "request is not UTF-8".into(),
        }
    }
}

/// What one request line is: a whole request, or the start of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Request(Request),
    Batch,
}

pub fn parse_line(line: &str) -> Result<Line, String> {
    let line = line.trim();
    let mut words = line.split_whitespace();
    let cmd = words.next().unwrap_or("");
    let rest: Vec<&str> = words.collect();
    let no_args = |r: Request| if rest.is_empty() { Ok(Line::Request(r)) } else { Err(format!("{cmd} takes no arguments")) };
    match cmd {
        "help" => no_args(Request::Help),
        "ping" => no_args(Request::Ping),
        "stats" => no_args(Request::Stats),
        "routes" => no_args(Request::Routes),
        "neigh" => no_args(Request::Neigh),
        "tunnels" => no_args(Request::Tunnels),
        "groups" => no_args(Request::Groups),
        "generation" => no_args(Request::Generation),
        "audit" => no_args(Request::Audit),
        "reload" => no_args(Request::Reload),
        "health" => no_args(Request::Health),
        "drain" => no_args(Request::Drain),
        "route" => match rest.first() {
            Some(&"add") | Some(&"del") => Ok(Line::Request(Request::Route(line.to_string()))),
            _ => Err("usage: route add <prefix> <nexthop> | route del <prefix>".into()),
        },
        "tunnel" => match rest.as_slice() {
            ["stats"] => Ok(Line::Request(Request::TunnelStats)),
            ["stats", ..] => Err("tunnel stats takes no arguments".into()),
            ["set", ..] | ["del", ..] => Ok(Line::Request(Request::Route(line.to_string()))),
            _ => Err("usage: tunnel set <id> local <v4> remote <v4> [options] | tunnel del <id> | tunnel stats".into()),
        },
        "group" => match rest.first() {
            Some(&"set") | Some(&"del") => Ok(Line::Request(Request::Route(line.to_string()))),
            _ => Err("usage: group set <id> nexthop <hop> [weight W] [nexthop …] | group del <id>".into()),
        },
        "batch" if rest.is_empty() => Ok(Line::Batch),
        "batch" => Err("batch takes no arguments".into()),
        "" => Err("empty request; try `help`".into()),
        other => Err(format!("unknown command {other:?}; try `help`")),
    }
}

/// A `batch` being received: its lines, or the first reason it is refused. A refused batch is
/// still read up to its `end`, so none of its lines is ever taken as a request of its own (a
/// `route add` after a bad line would otherwise be applied alone: half a batch).
#[derive(Debug, Default)]
pub struct Batch {
    lines: Vec<String>,
    seen: usize,
    error: Option<String>,
}

impl Batch {
    /// One line of the batch, or why it could not be read; the whole request once `end` comes.
    pub fn push(&mut self, line: Result<&str, LineError>) -> Option<Result<Request, String>> {
        let text = match line {
            Ok(l) => l.trim(),
            Err(e) => {
                self.seen += 1;
                self.fail(format!("batch line {}: {e}", self.seen));
                return None;
            }
        };
        if text == "end" {
            let b = std::mem::take(self);
            return Some(match b.error {
                Some(e) => Err(e),
                None => Ok(Request::Batch(b.lines)),
            });
        }
        if text.is_empty() {
            return None;
        }
        self.seen += 1;
        if self.error.is_some() {
            return None;
        }
        if !["route ", "tunnel ", "group "].iter().any(|w| text.starts_with(w)) {
            self.fail(format!("batch line {}: only `route add|del`, `tunnel set|del` and `group set|del` may be batched", self.seen));
        } else if self.lines.len() == MAX_BATCH {
            self.fail(format!("batch: more than {MAX_BATCH} lines"));
        } else {
            self.lines.push(text.to_string());
        }
        None
    }

    fn fail(&mut self, reason: String) {
        if self.error.is_none() {
            self.error = Some(reason);
            self.lines = Vec::new();
        }
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

/// How far one [`Session::process`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub answered: usize,
    /// It stopped on its budget or on unsent output: complete lines may still be waiting.
    pub blocked: bool,
}

/// One connection's protocol state, apart from its socket: bytes in, answers out.
#[derive(Debug, Default)]
pub struct Session {
    input: Vec<u8>,
    /// Bytes of `input` already taken.
    start: usize,
    /// The rest of an over-long line is being dropped, up to its newline.
    discarding: bool,
    batch: Option<Batch>,
    output: Vec<u8>,
    /// Bytes of `output` already sent.
    sent: usize,
}

impl Session {
    pub fn feed(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
    }

    /// Received bytes not yet taken as lines.
    pub fn pending_input(&self) -> usize {
        self.input.len() - self.start
    }

    /// Answer bytes not yet sent.
    pub fn output(&self) -> &[u8] {
        &self.output[self.sent..]
    }

    pub fn consumed(&mut self, n: usize) {
        self.sent += n;
        if self.sent == self.output.len() {
            self.output.clear();
            self.sent = 0;
        }
    }

    /// Takes the complete lines received so far and answers them, at most `budget` answers.
    pub fn process(&mut self, budget: usize, handle: &mut dyn FnMut(Request) -> Response) -> Progress {
        let mut answered = 0;
        let mut blocked = false;
        loop {
            if answered == budget || self.output().len() >= OUT_HIGH {
                blocked = true;
                break;
            }
            let rest = &self.input[self.start..];
            let newline = rest.iter().position(|&b| b == b'\n');
            if self.discarding {
                match newline {
                    Some(p) => {
                        self.start += p + 1;
                        self.discarding = false;
                        continue;
                    }
                    None => {
                        self.start = self.input.len();
                        break;
                    }
                }
            }
            let line = match newline {
                Some(p) if p > MAX_LINE => {
                    self.start += p + 1;
                    Err(LineError::TooLong)
                }
                Some(p) => {
                    let line = std::str::from_utf8(&rest[..p]).map(str::to_string).map_err(|_| LineError::NotUtf8);
                    self.start += p + 1;
                    line
                }
                // It cannot end within the limit any more: answer now (once) and drop the
                // rest of it as it comes.
                None if rest.len() > MAX_LINE => {
                    self.start = self.input.len();
                    self.discarding = true;
                    Err(LineError::TooLong)
                }
                None => break,
            };
            if self.take_line(line, handle) {
                answered += 1;
            }
        }
        // Drop what was taken, once per call (a batch is many lines).
        self.input.drain(..self.start);
        self.start = 0;
        Progress { answered, blocked }
    }

    /// The client has closed its side and every complete line is answered: a last line without
    /// its newline counts as a line, and an unfinished batch is refused.
    pub fn finish(&mut self, handle: &mut dyn FnMut(Request) -> Response) {
        if !self.discarding && self.pending_input() > 0 {
            let rest = &self.input[self.start..];
            let line = std::str::from_utf8(rest).map(str::to_string).map_err(|_| LineError::NotUtf8);
            self.take_line(line, handle);
        }
        self.input.clear();
        self.start = 0;
        self.discarding = false;
        if self.batch.take().is_some() {
            self.answer(Response::error("batch: connection ended before `end`"));
        }
    }

    /// One line; true if it was answered (a line inside a batch is answered at `end`).
    fn take_line(&mut self, line: Result<String, LineError>, handle: &mut dyn FnMut(Request) -> Response) -> bool {
        if let Some(batch) = &mut self.batch {
            let Some(done) = batch.push(line.as_deref().map_err(|e| *e)) else { return false };
            self.batch = None;
            let response = match done {
                Ok(req) => handle(req),
                Err(e) => Response::error(e),
            };
            self.answer(response);
            return true;
        }
        let response = match line {
            Err(e) => Response::error(e.request_error()),
            Ok(text) if text.trim().is_empty() => return false,
            Ok(text) => match parse_line(&text) {
                Ok(Line::Request(req)) => handle(req),
                Ok(Line::Batch) => {
                    self.batch = Some(Batch::default());
                    return false;
                }
                Err(e) => Response::error(e),
            },
        };
        self.answer(response);
        true
    }

    fn answer(&mut self, response: Response) {
        let out = &mut self.output;
        out.extend_from_slice(response.body.as_bytes());
        if !response.body.is_empty() && !response.body.ends_with('\n') {
            out.push(b'\n');
        }
        match response.result {
            Ok(()) => out.extend_from_slice(b"ok\n"),
            Err(e) => {
                out.extend_from_slice(b"error: ");
                out.extend_from_slice(e.replace('\n', " ").as_bytes());
                out.push(b'\n');
            }
        }
    }
}
