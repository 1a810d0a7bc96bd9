//! A throwaway PostgreSQL 15 cluster (Debian's `postgresql-15`): initdb into a scratch
//! directory owned by `postgres`, started by pg_ctl as that user with its Unix socket in the
//! same directory and TCP off, stopped (`-m immediate`) and deleted on drop, so also when the
//! test fails.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct Postgres {
    dir: PathBuf,
    port: u16,
}

/// Runs one PostgreSQL tool as `postgres`; its output on failure.
fn as_postgres(tool: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(Path::new(BIN).join(tool))
        .args(args)
        .output()
        .map_err(|e| format!("runuser {tool}: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{tool} {args:?}: {}: {text}", out.status))
    }
}

impl Postgres {
    /// A new cluster in a fresh scratch directory named after `name`.
    pub fn start(name: &str) -> Postgres {
        assert!(Path::new(BIN).join("initdb").exists(), "{BIN}/initdb missing: run ./scripts/setup.sh (postgresql)");
        let dir = std::env::temp_dir().join(format!("rbk-pg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch");
        let st = Command::new("chown").args(["postgres:", dir.to_str().expect("utf-8")]).status().expect("chown");
        assert!(st.success(), "chown postgres {}", dir.display());
        // With TCP off the port only names the socket (.s.PGSQL.<port>); a free one anyway, so
        // that the URL's port is never someone else's server.
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let pg = Postgres { dir, port };
        let data = pg.dir.join("data");
        let (data, d) = (data.to_str().expect("utf-8"), pg.dir.to_str().expect("utf-8"));
        as_postgres("initdb", &["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
            .unwrap_or_else(|e| panic!("{e}"));
        let opts = format!("-k {d} -p {} -c listen_addresses='' -c fsync=off", pg.port);
        let log = format!("{d}/server.log");
        if let Err(e) = as_postgres("pg_ctl", &["-D", data, "-l", &log, "-w", "-t", "60", "-o", &opts, "start"]) {
            panic!("{e}\nserver log:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
        }
        pg
    }

    /// A new, empty database `name`; its URL (Unix socket, user `postgres`).
    pub fn database(&self, name: &str) -> String {
        let port = self.port.to_string();
        as_postgres("createdb", &["-h", self.dir.to_str().expect("utf-8"), "-p", &port, "-U", "postgres", name]).unwrap_or_else(|e| panic!("{e}"));
        format!("postgres://postgres@localhost:{}/{name}?host={}", self.port, self.dir.display())
    }

    /// One SQL statement through psql, unaligned and tuples only (`-At`).
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let port = self.port.to_string();
        as_postgres("psql", &["-h", self.dir.to_str().expect("utf-8"), "-p", &port, "-U", "postgres", "-At", "-c", sql, db])
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = as_postgres("pg_ctl", &["-D", data.to_str().unwrap_or_default(), "-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
