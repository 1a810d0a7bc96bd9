//! relay-health: announces the anycast routes from BIRD only while relayd is healthy.
//!
//! Every `--interval-ms` it asks relayd `health` over its control socket. Healthy: it makes
//! sure the BIRD protocols named by `--protocol` (a `static` protocol holding 192.88.99.0/24
//! and 2002::/16, exported to the upstreams) are enabled; unhealthy, unreachable or slower
//! than `--timeout-ms`: disabled, which withdraws the routes. It speaks BIRD's control socket
//! protocol itself over one kept-open connection (no `birdc` process per tick), and sends the
//! command every tick: `enable` of an enabled protocol is answered `already enabled` and
//! changes nothing, and a BIRD that restarted with the protocol `disabled` is put right
//! within one tick. On SIGTERM/SIGINT it disables the protocols and exits: no agent, no
//! announcement. See docs/deploy-bgp.md.
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "relay-health", version, about = "Announce the anycast routes from BIRD only while relayd is healthy")]
struct Cli {
    /// relayd's control socket.
    #[arg(long, default_value = "/run/relay/relayd.sock")]
    relayd: PathBuf,
    /// BIRD's control socket.
    #[arg(long, default_value = "/run/bird/bird.ctl")]
    bird: PathBuf,
    /// A BIRD protocol to enable while healthy (repeat for several; a BIRD pattern such as
    /// `anycast*` works too). The default names those of deploy/bird/relay.conf.
    #[arg(long = "protocol", default_values = ["anycast4", "anycast6"])]
    protocols: Vec<String>,
    /// How often relayd is asked.
    #[arg(long, default_value_t = 200)]
    interval_ms: u64,
    /// A relayd that does not answer within this long counts as unhealthy.
    #[arg(long, default_value_t = 300)]
    timeout_ms: u64,
}

/// What relayd said, or why it could not.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Health {
    Healthy,
    Unhealthy(String),
}

/// relayd's answer to `health`: its body line, then `ok`.
fn parse_health(answer: &str) -> Health {
    let mut lines = answer.lines();
    match (lines.next(), lines.next()) {
        (Some("healthy"), Some("ok")) => Health::Healthy,
        (Some(l), Some("ok")) if l.starts_with("unhealthy: ") => Health::Unhealthy(l["unhealthy: ".len()..].to_string()),
        _ => Health::Unhealthy(format!("unexpected answer {answer:?}")),
    }
}

fn ask_relayd(socket: &Path, timeout: Duration) -> Health {
    let answer = (|| -> std::io::Result<String> {
        let mut s = UnixStream::connect(socket)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        s.write_all(b"health\n")?;
        s.shutdown(std::net::Shutdown::Write)?;
        let mut text = String::new();
        for line in BufReader::new(s).lines() {
            let line = line?;
            let done = line == "ok" || line.starts_with("error: ");
            text.push_str(&line);
            text.push('\n');
            if done {
                break;
            }
        }
        Ok(text)
    })();
    match answer {
        Ok(a) => parse_health(&a),
        Err(e) => Health::Unhealthy(format!("relayd unreachable at {}: {e}", socket.display())),
    }
}

/// The outcome of one BIRD command: the reply's lines, or its error line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BirdReply {
    Ok(Vec<String>),
    Err(String),
}

/// Whether `line` ends a reply: four digits and a space (`DDDD-` continues, ` ` continues).
fn final_code(line: &str) -> Option<u16> {
    let b = line.as_bytes();
    if b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b' ' {
        line[..4].parse().ok()
    } else if b.len() == 4 && b.iter().all(u8::is_ascii_digit) {
        line.parse().ok()
    } else {
        None
    }
}

/// Reads one reply: lines up to the final one. Codes 8000 and above are errors (BIRD's
/// runtime and syntax errors).
fn read_reply(r: &mut impl BufRead) -> std::io::Result<BirdReply> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "BIRD closed the connection"));
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if let Some(code) = final_code(&line) {
            if code >= 8000 {
                return Ok(BirdReply::Err(line));
            }
            lines.push(line);
            return Ok(BirdReply::Ok(lines));
        }
        lines.push(line);
    }
}

/// A kept-open connection to BIRD's control socket.
struct Bird {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Bird {
    fn connect(path: &Path, timeout: Duration) -> std::io::Result<Bird> {
        let s = UnixStream::connect(path)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        let mut b = Bird { reader: BufReader::new(s.try_clone()?), writer: s };
        match read_reply(&mut b.reader)? {
            BirdReply::Ok(_) => Ok(b),
            BirdReply::Err(e) => Err(std::io::Error::other(format!("BIRD greeting: {e}"))),
        }
    }

    fn command(&mut self, cmd: &str) -> std::io::Result<BirdReply> {
        self.writer.write_all(format!("{cmd}\n").as_bytes())?;
        read_reply(&mut self.reader)
    }
}

/// Sets every protocol's state; Ok(true) if BIRD changed any (`enabled` / `disabled`, not
/// `already …`).
fn apply(bird: &mut Bird, protocols: &[String], enable: bool) -> std::io::Result<bool> {
    let verb = if enable { "enable" } else { "disable" };
    let mut changed = false;
    for p in protocols {
        match bird.command(&format!("{verb} \"{p}\""))? {
            BirdReply::Ok(lines) => changed |= lines.iter().any(|l| l.starts_with("0009-") || l.starts_with("0011-")),
            BirdReply::Err(e) => return Err(std::io::Error::other(format!("BIRD refused `{verb} {p}`: {e}"))),
        }
    }
    Ok(changed)
}

fn main() -> ExitCode {
    if let Some(code) = relay_tools::clidocs::serve::<Cli>("1") {
        return code;
    }
    let cli = Cli::parse();
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        if let Err(e) = ctrlc::set_handler(move || stop.store(true, SeqCst)) {
            eprintln!("relay-health: signal handler: {e}");
            return ExitCode::from(1);
        }
    }
    let interval = Duration::from_millis(cli.interval_ms.max(1));
    let timeout = Duration::from_millis(cli.timeout_ms.max(1));
    println!(
        "relay-health: relayd {} BIRD {} protocols {} every {} ms",
        cli.relayd.display(),
        cli.bird.display(),
        cli.protocols.join(","),
        interval.as_millis()
    );
    let mut bird: Option<Bird> = None;
    let mut last: Option<Health> = None;
    let mut bird_error: Option<String> = None;
    while !stop.load(SeqCst) {
        let tick = Instant::now();
        let health = ask_relayd(&cli.relayd, timeout);
        if last.as_ref() != Some(&health) {
            match &health {
                Health::Healthy => println!("relay-health: relayd healthy"),
                Health::Unhealthy(why) => println!("relay-health: relayd unhealthy: {why}"),
            }
            last = Some(health.clone());
        }
        let enable = health == Health::Healthy;
        let result = match bird.as_mut() {
            Some(b) => apply(b, &cli.protocols, enable),
            None => Bird::connect(&cli.bird, timeout).and_then(|mut b| {
                let r = apply(&mut b, &cli.protocols, enable);
                bird = Some(b);
                r
            }),
        };
        match result {
            Ok(changed) => {
                if bird_error.take().is_some() {
                    println!("relay-health: BIRD reachable again");
                }
                if changed {
                    println!("relay-health: {} {}", if enable { "enabled" } else { "disabled" }, cli.protocols.join(","));
                }
            }
            Err(e) => {
                bird = None;
                let text = e.to_string();
                if bird_error.as_deref() != Some(&text) {
                    eprintln!("relay-health: BIRD {}: {text}", cli.bird.display());
                    bird_error = Some(text);
                }
            }
        }
        if let Some(rest) = interval.checked_sub(tick.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    // No agent, no announcement.
    match Bird::connect(&cli.bird, timeout).and_then(|mut b| apply(&mut b, &cli.protocols, false)) {
        Ok(_) => println!("relay-health: stopping: disabled {}", cli.protocols.join(",")),
        Err(e) => eprintln!("relay-health: stopping: could not disable {}: {e}", cli.protocols.join(",")),
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relayds_answers_are_read_exactly() {
        assert_eq!(parse_health("healthy\nok\n"), Health::Healthy);
        assert_eq!(parse_health("unhealthy: draining; port up link down\nok\n"), Health::Unhealthy("draining; port up link down".into()));
        assert_eq!(parse_health("error: unknown command \"health\"; try `help`\n"), Health::Unhealthy("unexpected answer \"error: unknown command \\\"health\\\"; try `help`\\n\"".into()));
        assert_eq!(parse_health("healthy\n"), Health::Unhealthy("unexpected answer \"healthy\\n\"".into()));
    }

    #[test]
    fn birds_replies_end_at_the_line_with_a_code_and_a_space() {
        // As BIRD 2.0.12 answers (captured from its socket).
        let mut r: &[u8] = b"0001 BIRD 2.0.12 ready.\n0011-anycast: enabled\n0000 \n0010-anycast: already enabled\n0000 \n";
        assert_eq!(read_reply(&mut r).unwrap(), BirdReply::Ok(vec!["0001 BIRD 2.0.12 ready.".into()]));
        assert_eq!(read_reply(&mut r).unwrap(), BirdReply::Ok(vec!["0011-anycast: enabled".into(), "0000 ".into()]));
        assert_eq!(read_reply(&mut r).unwrap(), BirdReply::Ok(vec!["0010-anycast: already enabled".into(), "0000 ".into()]));
        assert_eq!(read_reply(&mut r).unwrap_err().kind(), std::io::ErrorKind::UnexpectedEof);
        let mut e: &[u8] = b"9001 syntax error, unexpected CF_SYM_UNDEFINED\n";
        assert_eq!(read_reply(&mut e).unwrap(), BirdReply::Err("9001 syntax error, unexpected CF_SYM_UNDEFINED".into()));
        let mut cont: &[u8] = b"1002-anycast static master4 up\n anycast6 static master6 up\n0000\n";
        assert_eq!(
            read_reply(&mut cont).unwrap(),
            BirdReply::Ok(vec!["1002-anycast static master4 up".into(), " anycast6 static master6 up".into(), "0000".into()])
        );
    }
}
