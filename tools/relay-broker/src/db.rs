//! Storage: users and API tokens (`accounts`), tunnels and their allocation (`alloc`), prefix
//! quarantine, DNS records (`dns`), web sessions (`sessions`). One code path for SQLite (WAL)
//! and PostgreSQL through sqlx's `Any` driver; the URL picks the database.

use std::net::Ipv4Addr;

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

use crate::config::{Pool, Server};

mod accounts;
mod alloc;
mod dns;
mod sessions;
pub use dns::{DnsRecord, RType};
pub use sessions::Session;

/// The relayd tunnel ids the broker uses: relayd ids are 0..=65535, the broker owns the upper
/// half, so tunnels an operator set by hand (below 32768) are never touched.
pub const BROKER_TID_FIRST: i64 = 32768;
pub const BROKER_TID_LAST: i64 = 65535;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("password hashing: {0}")]
    Hash(String),
    #[error("user `{0}` already exists")]
    UserExists(String),
    #[error("no user `{0}`")]
    NoUser(String),
    #[error("no tunnel {0}")]
    NoTunnel(i64),
    #[error("the {0} pool is exhausted")]
    PoolFull(&'static str),
    #[error("every tunnel server is at capacity")]
    NoServer,
    #[error("allocation kept conflicting with concurrent ones ({0} attempts)")]
    Contended(u32),
    #[error("stored row is malformed: {0}")]
    Malformed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    User,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
    fn parse(s: &str) -> Result<Role, DbError> {
        match s {
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            o => Err(DbError::Malformed(format!("role `{o}`"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Active,
    Pending,
    Expired,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Pending => "pending",
            State::Expired => "expired",
        }
    }
    fn parse(s: &str) -> Result<State, DbError> {
        match s {
            "active" => Ok(State::Active),
            "pending" => Ok(State::Pending),
            "expired" => Ok(State::Expired),
            o => Err(DbError::Malformed(format!("state `{o}`"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tunnel {
    pub id: i64,
    pub owner: String,
    pub server: String,
    pub server_tid: i64,
    pub client_ipv4: Ipv4Addr,
    pub link_index: i64,
    pub link64: String,
    pub routed_index: Option<i64>,
    pub routed48: Option<String>,
    pub lease_until: i64,
    pub state: State,
    /// Why it is pending: the side effect (server push, DNS) that failed last.
    pub last_error: Option<String>,
}

/// What a new tunnel asks for.
#[derive(Debug, Clone)]
pub struct NewTunnel<'a> {
    pub owner: &'a str,
    pub client_ipv4: Ipv4Addr,
    pub routed48: bool,
}

/// The pools and servers an allocation draws from.
#[derive(Debug, Clone, Copy)]
pub struct Resources<'a> {
    pub servers: &'a [Server],
    pub link: Pool,
    pub routed: Pool,
    pub lease_secs: u64,
}

pub struct Db {
    pool: AnyPool,
    postgres: bool,
}

/// SHA-256, hex: for high-entropy secrets (API tokens, update keys) a fast hash is enough and
/// lets the row be found by its hash.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A fresh random secret, 32 hex digits (128 bits).
pub fn new_secret() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

fn tunnel_of(r: &AnyRow) -> Result<Tunnel, DbError> {
    let ip: String = r.try_get("client_ipv4")?;
    let state: String = r.try_get("state")?;
    Ok(Tunnel {
        id: r.try_get("id")?,
        owner: r.try_get("owner")?,
        server: r.try_get("server")?,
        server_tid: r.try_get("server_tid")?,
        client_ipv4: ip.parse().map_err(|_| DbError::Malformed(format!("client_ipv4 `{ip}`")))?,
        link_index: r.try_get("link_index")?,
        link64: r.try_get("link64")?,
        routed_index: r.try_get("routed_index")?,
        routed48: r.try_get("routed48")?,
        lease_until: r.try_get("lease_until")?,
        state: State::parse(&state)?,
        last_error: r.try_get("last_error")?,
    })
}

const TUNNEL_COLS: &str =
    "id, owner, server, server_tid, client_ipv4, link_index, link64, routed_index, routed48, lease_until, state, last_error";

impl Db {
    /// Opens (creating a SQLite file if needed) and migrates.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        let url = if sqlite && !url.contains("mode=") {
            format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
        } else {
            url.to_string()
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 8 } else { 16 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        conn.execute("PRAGMA journal_mode=WAL").await?;
                        conn.execute("PRAGMA busy_timeout=5000").await?;
                        conn.execute("PRAGMA foreign_keys=ON").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Db { pool, postgres: !sqlite })
    }

    pub async fn tunnel(&self, id: i64) -> Result<Option<Tunnel>, DbError> {
        let row = sqlx::query(&format!("SELECT {TUNNEL_COLS} FROM tunnels WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(tunnel_of).transpose()
    }

    /// The tunnels of `owner`, or all of them (`None`), by id.
    pub async fn tunnels(&self, owner: Option<&str>) -> Result<Vec<Tunnel>, DbError> {
        let rows = match owner {
            Some(o) => {
                sqlx::query(&format!("SELECT {TUNNEL_COLS} FROM tunnels WHERE owner = $1 ORDER BY id"))
                    .bind(o)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => sqlx::query(&format!("SELECT {TUNNEL_COLS} FROM tunnels ORDER BY id")).fetch_all(&self.pool).await?,
        };
        rows.iter().map(tunnel_of).collect()
    }

    /// Sets the state; the reason a tunnel was pending goes with it.
    pub async fn set_state(&self, id: i64, state: State) -> Result<(), DbError> {
        let r = sqlx::query("UPDATE tunnels SET state = $1, last_error = NULL WHERE id = $2").bind(state.as_str()).bind(id).execute(&self.pool).await?;
        if r.rows_affected() == 0 {
            return Err(DbError::NoTunnel(id));
        }
        Ok(())
    }

    /// Marks the tunnel pending because of `reason` (retried by `retry_pending`).
    pub async fn set_pending(&self, id: i64, reason: &str) -> Result<(), DbError> {
        let r = sqlx::query("UPDATE tunnels SET state = 'pending', last_error = $1 WHERE id = $2").bind(reason).bind(id).execute(&self.pool).await?;
        if r.rows_affected() == 0 {
            return Err(DbError::NoTunnel(id));
        }
        Ok(())
    }

    /// Whether `key` is the tunnel's update key.
    pub async fn check_update_key(&self, id: i64, key: &str) -> Result<bool, DbError> {
        let row = sqlx::query("SELECT update_key_hash FROM tunnels WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        match row {
            None => Ok(false),
            Some(r) => {
                let h: String = r.try_get("update_key_hash")?;
                Ok(h == secret_hash(key))
            }
        }
    }

    /// Moves the tunnel's client endpoint.
    pub async fn set_client(&self, id: i64, ip: Ipv4Addr) -> Result<(), DbError> {
        sqlx::query("UPDATE tunnels SET client_ipv4 = $1 WHERE id = $2").bind(ip.to_string()).bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// Renews the lease to `now + lease_secs`.
    pub async fn renew(&self, id: i64, now: i64, lease_secs: u64) -> Result<(), DbError> {
        let until = crate::after(now, lease_secs);
        sqlx::query("UPDATE tunnels SET lease_until = $1 WHERE id = $2").bind(until).bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// Marks every active or pending tunnel whose lease ended before `now` as expired; returns them.
    pub async fn expire_due(&self, now: i64) -> Result<Vec<Tunnel>, DbError> {
        sqlx::query("UPDATE tunnels SET state = 'expired' WHERE lease_until < $1 AND state <> 'expired'")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let rows = sqlx::query(&format!("SELECT {TUNNEL_COLS} FROM tunnels WHERE state = 'expired' ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(tunnel_of).collect()
    }

    /// Deletes the tunnel and puts its prefixes into quarantine until `quarantine_until`, in one
    /// transaction.
    pub async fn release(&self, id: i64, quarantine_until: i64) -> Result<Tunnel, DbError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!("SELECT {TUNNEL_COLS} FROM tunnels WHERE id = $1")).bind(id).fetch_optional(&mut *tx).await?;
        let t = tunnel_of(&row.ok_or(DbError::NoTunnel(id))?)?;
        sqlx::query("DELETE FROM tunnels WHERE id = $1").bind(id).execute(&mut *tx).await?;
        let mut q = vec![("link64", t.link_index, t.link64.clone())];
        if let (Some(i), Some(p)) = (t.routed_index, t.routed48.clone()) {
            q.push(("routed48", i, p));
        }
        for (kind, idx, prefix) in q {
            sqlx::query("DELETE FROM quarantine WHERE kind = $1 AND idx = $2").bind(kind).bind(idx).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO quarantine (kind, idx, prefix, until) VALUES ($1, $2, $3, $4)")
                .bind(kind)
                .bind(idx)
                .bind(prefix)
                .bind(quarantine_until)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(t)
    }

    /// The prefixes in quarantine at `now`, as (prefix, until), by prefix.
    pub async fn quarantined(&self, now: i64) -> Result<Vec<(String, i64)>, DbError> {
        let rows = sqlx::query("SELECT prefix, until FROM quarantine WHERE until > $1 ORDER BY kind, idx").bind(now).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((r.try_get("prefix")?, r.try_get("until")?))).collect()
    }
}
