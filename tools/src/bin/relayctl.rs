//! relayctl: talks to a running relayd over its control socket.
//!
//! `relayctl stats`, `relayctl routes`, `relayctl route add 2001:db8::/32 via fe80::1 port 1`,
//! `relayctl route del 2001:db8::/32`, `relayctl reload`, `relayctl batch < changes.txt`.
//! Exit status: 0 ok, 1 the daemon refused the request (its reason is printed), 2 no daemon.
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "relayctl", version, about = "Control a running relayd")]
struct Cli {
    /// relayd's control socket.
    #[arg(short, long, default_value = "/run/relay/relayd.sock", env = "RELAYCTL_SOCKET")]
    socket: PathBuf,
    /// The command and its arguments (`help` lists them). `batch` reads route lines from stdin.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

fn main() -> ExitCode {
    if let Some(code) = relay_tools::clidocs::serve::<Cli>("1") {
        return code;
    }
    let cli = Cli::parse();
    let mut request = cli.command.join(" ");
    if request.contains('\n') {
        eprintln!("relayctl: a command is one line");
        return ExitCode::from(1);
    }
    request.push('\n');
    if cli.command.first().map(String::as_str) == Some("batch") {
        let mut body = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut body) {
            eprintln!("relayctl: reading stdin: {e}");
            return ExitCode::from(1);
        }
        for line in body.lines().filter(|l| !l.trim().is_empty()) {
            request.push_str(line.trim());
            request.push('\n');
        }
        request.push_str("end\n");
    }
    let mut stream = match UnixStream::connect(&cli.socket) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("relayctl: cannot reach relayd at {}: {e}", cli.socket.display());
            return ExitCode::from(2);
        }
    };
    if let Err(e) = stream.write_all(request.as_bytes()).and_then(|_| stream.shutdown(std::net::Shutdown::Write)) {
        eprintln!("relayctl: sending: {e}");
        return ExitCode::from(2);
    }
    let mut out = std::io::stdout().lock();
    for line in BufReader::new(stream).lines() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("relayctl: reading the answer: {e}");
                return ExitCode::from(2);
            }
        };
        if line == "ok" {
            return ExitCode::SUCCESS;
        }
        if let Some(reason) = line.strip_prefix("error: ") {
            eprintln!("relayctl: {reason}");
            return ExitCode::from(1);
        }
        let _ = writeln!(out, "{line}");
    }
    eprintln!("relayctl: relayd closed the connection without an answer");
    ExitCode::from(2)
}
