//! relay-broker: the admin CLI. `user add NAME [--admin]` (password from stdin or
//! --password-file), `token add NAME`.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use relay_broker::config::{Config, ConfigError};
use relay_broker::db::{Db, DbError, Role};

#[derive(Parser)]
#[command(name = "relay-broker", about = "Tunnel broker (RFC 3053) for relayd tunnel servers")]
struct Cli {
    /// The configuration file (TOML).
    #[arg(long)]
    config: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Accounts.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        cmd: TokenCmd,
    },
    /// Runs the HTTP API and the web page, and every 30 s: retry pending tunnels, expire leases
    /// and web sessions, reconcile servers and DNS.
    Serve,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Adds an account; the password is read from --password-file, else from stdin (first line).
    Add {
        name: String,
        #[arg(long)]
        admin: bool,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Prints a new API token for NAME (shown once; only its hash is stored).
    Add { name: String },
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("reading the password: {0}")]
    Password(std::io::Error),
    #[error("the password is empty")]
    EmptyPassword,
    #[error("user name `{0}`: letters, digits, '.', '-' and '_' only")]
    BadName(String),
    #[error("listening on {0}: {1}")]
    Listen(std::net::SocketAddr, std::io::Error),
    #[error("{0}: {1}")]
    Tls(PathBuf, relay_broker::tls::TlsError),
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
}

fn read_password(file: Option<&PathBuf>) -> Result<String, CliError> {
    let text = match file {
        Some(f) => std::fs::read_to_string(f).map_err(CliError::Password)?,
        None => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map_err(CliError::Password)?;
            s
        }
    };
    let pw = text.lines().next().unwrap_or("").to_string();
    if pw.is_empty() {
        return Err(CliError::EmptyPassword);
    }
    Ok(pw)
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let cfg = Config::load(&cli.config)?;
    match cli.cmd {
        Cmd::User { cmd: UserCmd::Add { name, admin, password_file } } => {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
                return Err(CliError::BadName(name));
            }
            let pw = read_password(password_file.as_ref())?;
            let db = Db::connect(&cfg.database).await?;
            db.add_user(&name, &pw, if admin { Role::Admin } else { Role::User }).await?;
            println!("user {name} added{}", if admin { " (admin)" } else { "" });
        }
        Cmd::Token { cmd: TokenCmd::Add { name } } => {
            let db = Db::connect(&cfg.database).await?;
            println!("{}", db.add_token(&name, relay_broker::now()).await?);
        }
        Cmd::Serve => {
            // TLS files first: a bad one refuses to start before anything else happens.
            let tls = relay_broker::tls::load(&cfg.http).map_err(|e| CliError::Tls(cli.config.clone(), e))?;
            let db = Db::connect(&cfg.database).await?;
            let listen = cfg.listen;
            let app = relay_broker::api::App::new(relay_broker::broker::Broker::new(cfg, db));
            let listener = std::net::TcpListener::bind(listen).map_err(|e| CliError::Listen(listen, e))?;
            let bg = app.clone();
            tokio::spawn(async move {
                loop {
                    let b = &bg.broker;
                    let now = relay_broker::now();
                    match b.retry_pending().await {
                        Ok(r) => {
                            for (id, why) in &r.pending {
                                eprintln!("relay-broker: tunnel {id} still pending: {why}");
                            }
                        }
                        Err(e) => eprintln!("relay-broker: retrying pending tunnels: {e}"),
                    }
                    if let Err(e) = b.expire(now).await {
                        eprintln!("relay-broker: expiring leases: {e}");
                    }
                    if let Err(e) = b.db.purge_sessions(now).await {
                        eprintln!("relay-broker: purging ended web sessions: {e}");
                    }
                    match b.reconcile().await {
                        Ok(r) if r != Default::default() => eprintln!("relay-broker: reconcile: {r:?}"),
                        Ok(_) => {}
                        Err(e) => eprintln!("relay-broker: reconcile: {e}"),
                    }
                    match b.reconcile_dns().await {
                        Ok(r) => {
                            for f in &r.failed {
                                eprintln!("relay-broker: dns reconcile: {f}");
                            }
                            if !r.added.is_empty() || !r.removed.is_empty() {
                                eprintln!("relay-broker: dns reconcile: added {:?}, removed {:?}", r.added, r.removed);
                            }
                        }
                        Err(e) => eprintln!("relay-broker: dns reconcile: {e}"),
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                }
            });
            let served = match tls {
                Some(tls) => {
                    eprintln!("relay-broker: listening on {listen} (https)");
                    relay_broker::api::serve_tls(listener, app, tls).await
                }
                None => {
                    eprintln!("relay-broker: listening on {listen}");
                    let listener = listener.set_nonblocking(true).and_then(|()| tokio::net::TcpListener::from_std(listener));
                    match listener {
                        Ok(l) => relay_broker::api::serve(l, app).await,
                        Err(e) => Err(e),
                    }
                }
            };
            served.map_err(|e| CliError::Listen(listen, e))?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("relay-broker: {}", CliError::Runtime(e));
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("relay-broker: {e}");
            ExitCode::FAILURE
        }
    }
}
