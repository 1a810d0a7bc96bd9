//! The control socket: a Unix stream socket speaking a small line protocol (see
//! docs/control-protocol.md). One request per connection or several in a row; each request is
//! answered by body lines and one status line, `ok` or `error: <reason>`.
//!
//! The control core serves it between its other duties (the workers' rings, the slow path), so
//! nothing here waits on a client: every connection is non-blocking with its own input and
//! output buffers, one poll does a bounded amount of work per connection, at most
//! [`MAX_CONNECTIONS`] are open at once (more are answered `error: too many connections` and
//! closed) and a connection that moves no byte for the client timeout is closed. A stalled or
//! malicious client costs a connection slot, never the control core's time.
use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod protocol;

pub use protocol::*;

/// Connections open at once. An operator needs a handful; the cap keeps the control core's
/// per-poll work and relayd's file descriptors bounded whatever connects.
pub const MAX_CONNECTIONS: usize = 64;
/// Per connection and poll: bytes read (in chunks), requests answered. A client with a long
/// batch or a burst of requests is served over several polls, with ring service in between.
const READ_CHUNK: usize = 16 * 1024;
const READS_PER_POLL: usize = 4;
const REQUESTS_PER_POLL: usize = 16;
/// New connections taken per poll, so a connect flood is spread over polls too.
const ACCEPTS_PER_POLL: usize = 128;
/// The default socket directory. /run is emptied at every boot, so relayd creates this one
/// (and only this one) when it is missing; any other directory must exist.
pub const RUN_DIR: &str = "/run/relay";


/// The control socket's own counters (in `stats` as `control.<name>`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketCounters {
    /// Connections open now.
    pub open: u64,
    pub accepted: u64,
    /// Turned away because [`MAX_CONNECTIONS`] were open.
    pub refused: u64,
    /// Closed after the client timeout without a byte moving.
    pub timed_out: u64,
}

impl SocketCounters {
    pub fn iter(&self) -> [(&'static str, u64); 4] {
        [("open", self.open), ("accepted", self.accepted), ("refused", self.refused), ("timed_out", self.timed_out)]
    }
}

/// Why the control socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("control socket directory {0} does not exist (create it, or set [control] socket)")]
    NoDirectory(PathBuf),
    #[error("control socket directory {0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("control socket {0} is in use by a running relayd (stop it, or give this one another [control] socket)")]
    InUse(PathBuf),
    #[error("control socket {0} exists and is not a socket; not replacing it")]
    NotASocket(PathBuf),
    #[error("control socket {path}: {what}: {source}")]
    Io { path: PathBuf, what: &'static str, source: io::Error },
}

fn io_err(path: &Path, what: &'static str) -> impl FnOnce(io::Error) -> SocketError {
    let path = path.to_path_buf();
    move |source| SocketError::Io { path, what, source }
}

/// Who may connect: the socket file's mode is always 0660, its group this gid (None: relayd's
/// own group, root's when it runs as root).
#[derive(Debug, Clone, Copy)]
pub struct Access {
    pub gid: Option<u32>,
}

pub const SOCKET_MODE: u32 = 0o660;

pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
    /// (device, inode) of the socket file we bound: on exit only that file is removed.
    file: (u64, u64),
    conns: Vec<Conn>,
    timeout: Duration,
    counters: SocketCounters,
}

impl ControlSocket {
    /// Binds the socket at `path`: mode 0660 and the configured group from its first moment
    /// (it is bound under a temporary name, set up, then renamed into place), replacing a
    /// stale socket file left by a relayd that died, refusing one a live relayd still serves.
    pub fn bind(path: &Path, access: Access, timeout: Duration) -> Result<ControlSocket, SocketError> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            if dir.exists() {
                return Err(SocketError::NotADirectory(dir));
            }
            if dir != Path::new(RUN_DIR) {
                // Any other directory is the operator's: a typo must not create a tree.
                return Err(SocketError::NoDirectory(dir));
            }
            // 0755: the socket's own mode and group decide who may connect.
            std::fs::create_dir(&dir).map_err(io_err(&dir, "creating the directory"))?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).map_err(io_err(&dir, "chmod"))?;
        }
        match std::fs::symlink_metadata(path) {
            Ok(m) if !m.file_type().is_socket() => return Err(SocketError::NotASocket(path.to_path_buf())),
            Ok(_) => match probe(path) {
                Probe::Live => return Err(SocketError::InUse(path.to_path_buf())),
                Probe::Stale | Probe::Gone => {} // replaced by the rename below
                Probe::Failed(e) => return Err(SocketError::Io { path: path.to_path_buf(), what: "checking whether a relayd serves it", source: e }),
            },
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(SocketError::Io { path: path.to_path_buf(), what: "stat", source: e }),
        }
        // A short temporary name beside it: sun_path holds 107 bytes.
        let tmp = dir.join(format!(".relayd-{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let listener = UnixListener::bind(&tmp).map_err(io_err(path, "bind"))?;
        let setup = || -> Result<(u64, u64), SocketError> {
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(SOCKET_MODE)).map_err(io_err(path, "chmod 0660"))?;
            if let Some(gid) = access.gid {
                std::os::unix::fs::chown(&tmp, None, Some(gid)).map_err(io_err(path, "chgrp to [control] socket_group"))?;
            }
            let m = std::fs::symlink_metadata(&tmp).map_err(io_err(path, "stat"))?;
            listener.set_nonblocking(true).map_err(io_err(path, "set non-blocking"))?;
            std::fs::rename(&tmp, path).map_err(io_err(path, "rename into place"))?;
            Ok((m.dev(), m.ino()))
        };
        match setup() {
            Ok(file) => Ok(ControlSocket { listener, path: path.to_path_buf(), file, conns: Vec::new(), timeout, counters: SocketCounters::default() }),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    pub fn counters(&self) -> SocketCounters {
        SocketCounters { open: self.conns.len() as u64, ..self.counters }
    }

    /// Accepts what is waiting and gives every connection its turn: read what has arrived,
    /// answer complete requests, send what the client will take. Never waits on a client.
    /// True if anything moved.
    pub fn poll(&mut self, mut handle: impl FnMut(Request, &SocketCounters) -> Response) -> bool {
        let now = Instant::now();
        let mut busy = false;
        for _ in 0..ACCEPTS_PER_POLL {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    busy = true;
                    self.admit(stream, now);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // WouldBlock: nobody waiting. EMFILE and the like: the client waits in the
                // backlog until a descriptor is free.
                Err(_) => break,
            }
        }
        let snapshot = self.counters();
        let timeout = self.timeout;
        let mut timed_out = 0;
        self.conns.retain_mut(|c| {
            let (moved, end) = c.service(now, timeout, &mut |req| handle(req, &snapshot));
            busy |= moved;
            if end == Some(End::TimedOut) {
                timed_out += 1;
            }
            end.is_none()
        });
        self.counters.timed_out += timed_out;
        busy
    }

    fn admit(&mut self, stream: UnixStream, now: Instant) {
        if stream.set_nonblocking(true).is_err() {
            return;
        }
        if self.conns.len() >= MAX_CONNECTIONS {
            self.counters.refused += 1;
            // Into an empty socket buffer this write does not block; what the client already
            // sent is read first so that the close is an end of file, not a reset, for it.
            let mut sink = [0u8; 4096];
            let _ = (&stream).read(&mut sink);
            let _ = (&stream).write_all(format!("error: too many connections ({MAX_CONNECTIONS} open); try again later\n").as_bytes());
            return;
        }
        self.counters.accepted += 1;
        self.conns.push(Conn { stream, session: Session::default(), eof: false, closing: false, last_io: now });
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        // Only our own file: a successor may have replaced it meanwhile.
        if let Ok(m) = std::fs::symlink_metadata(&self.path) {
            if (m.dev(), m.ino()) == self.file {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

enum Probe {
    Live,
    Stale,
    Gone,
    Failed(io::Error),
}

/// Is a server behind the socket file? A non-blocking connect, so a live but stopped relayd
/// with a full backlog is reported as live instead of hanging this one.
fn probe(path: &Path) -> Probe {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: sockaddr_un is plain data; zeroed is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() {
        return Probe::Failed(io::Error::new(ErrorKind::InvalidInput, "path too long for a Unix socket"));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    // SAFETY: plain socket(2); the descriptor is closed below.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Probe::Failed(io::Error::last_os_error());
    }
    // SAFETY: addr is a valid sockaddr_un of the given size; fd is ours.
    let ret = unsafe {
        libc::connect(fd, &addr as *const libc::sockaddr_un as *const libc::sockaddr, std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t)
    };
    let err = io::Error::last_os_error();
    // SAFETY: closes the descriptor opened above, once.
    unsafe { libc::close(fd) };
    if ret == 0 {
        return Probe::Live;
    }
    match err.raw_os_error() {
        // A listener whose backlog is full is alive.
        Some(libc::EAGAIN) | Some(libc::EINPROGRESS) => Probe::Live,
        Some(libc::ECONNREFUSED) => Probe::Stale,
        Some(libc::ENOENT) => Probe::Gone,
        _ => Probe::Failed(err),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Done,
    TimedOut,
}

struct Conn {
    stream: UnixStream,
    session: Session,
    /// The client has shut down its side.
    eof: bool,
    /// Everything is answered: close once the output is sent.
    closing: bool,
    last_io: Instant,
}

impl Conn {
    /// One turn: send, read, answer, send. (whether a byte moved, Some(why) to close it).
    fn service(&mut self, now: Instant, timeout: Duration, handle: &mut dyn FnMut(Request) -> Response) -> (bool, Option<End>) {
        let mut moved = false;
        match self.flush() {
            Ok(n) => moved |= n > 0,
            Err(_) => return (moved, Some(End::Done)),
        }
        if !self.eof && !self.closing {
            let mut buf = [0u8; READ_CHUNK];
            for _ in 0..READS_PER_POLL {
                if self.session.pending_input() >= READ_CHUNK * READS_PER_POLL {
                    break;
                }
                match self.stream.read(&mut buf) {
                    Ok(0) => {
                        self.eof = true;
                        break;
                    }
                    Ok(n) => {
                        moved = true;
                        self.session.feed(&buf[..n]);
                        if n < buf.len() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => return (moved, Some(End::Done)),
                }
            }
        }
        if !self.closing {
            let p = self.session.process(REQUESTS_PER_POLL, handle);
            moved |= p.answered > 0;
            if self.eof && !p.blocked {
                self.session.finish(handle);
                self.closing = true;
            }
        }
        match self.flush() {
            Ok(n) => moved |= n > 0,
            Err(_) => return (moved, Some(End::Done)),
        }
        if moved {
            self.last_io = now;
        }
        if self.closing && self.session.output().is_empty() {
            return (moved, Some(End::Done));
        }
        if now.duration_since(self.last_io) >= timeout {
            if self.session.output().is_empty() {
                // The client is not reading: this fits its empty buffer. It tells a person at
                // a socat prompt why the connection ends.
                let msg = format!("error: idle for more than {} s; closing\n", timeout.as_secs());
                let _ = self.stream.write(msg.as_bytes());
            }
            return (moved, Some(End::TimedOut));
        }
        (moved, None)
    }

    /// Sends what the socket takes now; the bytes sent.
    fn flush(&mut self) -> io::Result<usize> {
        let mut total = 0;
        while !self.session.output().is_empty() {
            match self.stream.write(self.session.output()) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => {
                    total += n;
                    self.session.consumed(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request `s` (lines; a batch with its lines), as the socket would parse it.
    fn parse(s: &str) -> Result<Request, String> {
        let mut lines = s.lines();
        match parse_line(lines.next().unwrap_or_default())? {
            Line::Request(r) => Ok(r),
            Line::Batch => {
                let mut b = Batch::default();
                for l in lines {
                    if let Some(done) = b.push(Ok(l)) {
                        return done;
                    }
                }
                Err("batch: connection ended before `end`".into())
            }
        }
    }

    /// Feeds `input` to a session in `chunk`-byte pieces, closes it, returns every answer byte.
    /// The handler answers `ping` and echoes every other request's debug form.
    fn session_answers(input: &[u8], chunk: usize) -> String {
        let mut s = Session::default();
        let mut handle = |r: Request| match r {
            Request::Ping => Response::ok("pong"),
            other => Response::ok(format!("{other:?}")),
        };
        for piece in input.chunks(chunk.max(1)) {
            s.feed(piece);
            while s.process(REQUESTS_PER_POLL, &mut handle).blocked {}
        }
        s.finish(&mut handle);
        String::from_utf8(s.output().to_vec()).expect("answers are UTF-8")
    }

    #[test]
    fn parses_commands() {
        assert_eq!(parse("stats"), Ok(Request::Stats));
        assert_eq!(parse("tunnels"), Ok(Request::Tunnels));
        assert_eq!(parse("tunnel stats"), Ok(Request::TunnelStats));
        assert_eq!(parse("health"), Ok(Request::Health));
        assert_eq!(parse("drain"), Ok(Request::Drain));
        assert_eq!(parse("health now"), Err("health takes no arguments".into()));
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
        assert_eq!(parse("batch\nreload\nend"), Err("batch line 1: only `route add|del`, `tunnel set|del` and `group set|del` may be batched".into()));
        assert_eq!(parse("batch now"), Err("batch takes no arguments".into()));
        assert_eq!(parse("tunnel flip 1"), Err("usage: tunnel set <id> local <v4> remote <v4> [options] | tunnel del <id> | tunnel stats".into()));
        assert_eq!(parse("tunnels now"), Err("tunnels takes no arguments".into()));
    }

    #[test]
    fn an_over_long_line_is_answered_once_and_the_next_line_parsed() {
        let mut input = vec![b'x'; 10_000];
        input.extend_from_slice(b"\nping\n");
        // Whatever the pieces it arrives in.
        for chunk in [1, 7, 4096, 4097, 5000, 20_000] {
            assert_eq!(session_answers(&input, chunk), "error: request longer than 4096 bytes\npong\nok\n", "chunk {chunk}");
        }
        // 4096 bytes is still a line; 4097 is not.
        let mut edge = b"ping".to_vec();
        edge.resize(4096, b' ');
        edge.extend_from_slice(b"\nping");
        edge.resize(4096 + 1 + 4097, b' ');
        edge.extend_from_slice(b"\nping\n");
        assert_eq!(session_answers(&edge, 100), "pong\nok\nerror: request longer than 4096 bytes\npong\nok\n");
        // Over-long and unfinished when the client closes: still one answer.
        assert_eq!(session_answers(&[b'y'; 9000], 512), "error: request longer than 4096 bytes\n");
    }

    #[test]
    fn a_line_that_is_not_utf8_is_answered() {
        assert_eq!(session_answers(b"\xff\xfeping\nping\n", 3), "error: request is not UTF-8\npong\nok\n");
        assert_eq!(session_answers(b"pi\xc3", 64), "error: request is not UTF-8\n");
        // CR LF line ends (nc -C, telnet) and blank lines are fine.
        assert_eq!(session_answers(b"ping\r\n\n\nping", 64), "pong\nok\npong\nok\n");
    }

    #[test]
    fn a_refused_batch_is_read_to_its_end_and_none_of_it_applied() {
        // Nothing of the batch reaches the handler: its route lines are not taken one by one.
        let answers = session_answers(b"batch\nreload\nroute add ::/0 6to4\nend\nping\n", 5);
        assert_eq!(answers, "error: batch line 1: only `route add|del`, `tunnel set|del` and `group set|del` may be batched\npong\nok\n");
        let mut long = b"batch\nroute add ::/0 6to4\n".to_vec();
        long.extend_from_slice(&[b'r'; 5000]);
        long.extend_from_slice(b"\n\xff\nroute del ::/0\nend\nping\n");
        assert_eq!(session_answers(&long, 1000), "error: batch line 2: longer than 4096 bytes\npong\nok\n");
        assert_eq!(session_answers(b"batch\n\xffroute\nend\n", 2), "error: batch line 1: not UTF-8\n");
        assert_eq!(session_answers(b"batch\nroute add ::/0 6to4\n", 2), "error: batch: connection ended before `end`\n");
        assert_eq!(session_answers(b"batch\nroute add ::/0 6to4\nend", 2), "Batch([\"route add ::/0 6to4\"])\nok\n");
    }

    #[test]
    fn unsent_output_holds_back_further_requests() {
        let mut s = Session::default();
        let mut handle = |_: Request| Response::ok("z".repeat(OUT_HIGH));
        s.feed(b"stats\nstats\nstats\n");
        let p = s.process(REQUESTS_PER_POLL, &mut handle);
        assert_eq!(p, Progress { answered: 1, blocked: true });
        let n = s.output().len();
        s.consumed(n);
        let p = s.process(REQUESTS_PER_POLL, &mut handle);
        assert_eq!(p.answered, 1);
        let p = s.process(1, &mut |_| Response::ok(""));
        assert_eq!(p, Progress { answered: 0, blocked: true }, "still held back by the second answer");
    }
}
