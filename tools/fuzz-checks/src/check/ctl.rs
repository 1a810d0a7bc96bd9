//! The control protocol on arbitrary bytes from a client, and the route grammar on the
//! requests it lets through, applied to a copy of a valid table set as relayd does.
//!
//! Properties beside "no panic":
//! - every answer ends in exactly one status line (`ok` or `error: …`): after the complete
//!   lines, the status lines are the answers [`Session::process`] counted;
//! - the grammar's text form reads back: a parsed update printed and parsed again is equal;
//! - an update is applied whole or not at all: a refused one leaves the tables' routes,
//!   neighbours and tunnels as they were; an accepted route add is then the route's target,
//!   an accepted route del leaves no such route.
//!
//! The updates go to one copy of the table set per input, made at the first update (a copy
//! is megabytes of route table: one per update would make the target crawl). A batch's
//! all-or-nothing is the control core's (runtime::control), not the protocol's: here its lines
//! are applied in turn, up to the first refused one.
use relay::pipeline::{parse_route_command, parse_update, Settings, TableUpdate, Tables};

use crate::ctl::{Request, Response, Session};

/// Answers per [`Session::process`] call, as the control core's.
const BUDGET: usize = 16;
/// Updates applied per input at most; the others are only parsed.
const MAX_UPDATES: usize = 64;

pub fn check(data: &[u8]) {
    let (settings, tables, _) = super::pipeline::lab(2);
    let mut copy = Copy { of: tables, tables: None, applied: 0 };
    let mut handle = |req: Request| handle(req, settings, &mut copy);
    let mut s = Session::default();
    // In two writes: a line split across reads must be taken as one.
    let (a, b) = data.split_at(data.len() / 2);
    for part in [a, b] {
        s.feed(part);
        loop {
            let p = s.process(BUDGET, &mut handle);
            let out = s.output().to_vec();
            s.consumed(out.len());
            let status = status_lines(&out);
            assert_eq!(status, p.answered, "{} answers, {status} status lines in {:?}", p.answered, String::from_utf8_lossy(&out));
            if !p.blocked {
                break;
            }
        }
    }
    s.finish(&mut handle);
    let rest = s.output().to_vec();
    assert!(status_lines(&rest) <= 2, "finish answers a last line and an unfinished batch at most");
    assert!(rest.is_empty() || rest.ends_with(b"\n"), "answers end with a newline");
}

/// Lines of `out` that are a status line; asserts `out` is whole lines.
fn status_lines(out: &[u8]) -> usize {
    if out.is_empty() {
        return 0;
    }
    assert!(out.ends_with(b"\n"), "output ends with a newline");
    out.split(|&b| b == b'\n').filter(|l| *l == b"ok" || l.starts_with(b"error: ")).count()
}

/// The table set updates go to: copied from `of` at the first one.
struct Copy<'a> {
    of: &'a Tables,
    tables: Option<Tables>,
    applied: usize,
}

fn handle(req: Request, settings: &Settings, tables: &mut Copy) -> Response {
    match req {
        Request::Route(text) => match apply(&[text], settings, tables) {
            Ok(()) => Response::ok(""),
            Err(e) => Response::error(e),
        },
        Request::Batch(lines) => match apply(&lines, settings, tables) {
            Ok(()) => Response::ok(format!("{} changes", lines.len())),
            Err(e) => Response::error(e),
        },
        // Bodies that hold no status line, like the real ones.
        Request::Help => Response::ok(crate::ctl::HELP),
        _ => Response::ok("some\nbody"),
    }
}

/// Each of `lines` in turn, up to the first refused one.
fn apply(lines: &[String], settings: &Settings, copy: &mut Copy) -> Result<(), String> {
    for line in lines {
        let u = parse_route_command(line, settings).map_err(|e| e.to_string())?;
        let text = u.to_string();
        assert_eq!(parse_update(&text).as_ref(), Ok(&u), "{line:?} → {u:?} → {text:?} does not read back");
        if copy.applied == MAX_UPDATES {
            continue;
        }
        copy.applied += 1;
        let tables = copy.tables.get_or_insert_with(|| copy.of.clone());
        let before = dump(tables);
        match u.apply(tables) {
            Ok(()) => applied(&u, tables),
            Err(e) => {
                assert_eq!(dump(tables), before, "refused {line:?} changed the tables");
                return Err(e.to_string());
            }
        }
    }
    Ok(())
}

fn applied(u: &TableUpdate, t: &Tables) {
    match *u {
        TableUpdate::RouteAdd { prefix, len, target } => assert_eq!(t.route(prefix, len), Some(target), "{u}"),
        TableUpdate::RouteDel { prefix, len } => assert_eq!(t.route(prefix, len), None, "{u}"),
        TableUpdate::Route4Add { prefix, len, target } => assert_eq!(t.route4(prefix, len), Some(target), "{u}"),
        TableUpdate::Route4Del { prefix, len } => assert_eq!(t.route4(prefix, len), None, "{u}"),
        _ => {}
    }
}

fn dump(t: &Tables) -> (String, String, String) {
    (t.routes_text(), t.neighbours_text(), t.tunnels_text())
}
