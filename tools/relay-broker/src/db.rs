//! Storage: users, API tokens, tunnels, prefix quarantine. One code path for SQLite (WAL) and
//! PostgreSQL through sqlx's `Any` driver; the URL picks the database. Allocation runs in a
//! transaction and the UNIQUE constraints are the final word: a transaction that loses a race
//! fails on a constraint (or on SQLite's write lock) and is retried from the start.
//!
//! SQLite's transactions see one snapshot throughout, and a write after a concurrent commit
//! fails, so allocations are serializable there. PostgreSQL's default (READ COMMITTED) gives
//! each statement a new snapshot: the server chosen from one view and the indexes from a later
//! one commit without conflict, and the load drifts off balance. There an allocation first
//! takes a lock on `tunnels` that only allocations (and writers) wait for; readers do not.

use std::net::Ipv4Addr;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

use crate::config::{Pool, Server};

mod dns;
mod sessions;
pub use dns::{DnsRecord, RType};
pub use sessions::Session;

/// The relayd tunnel ids the broker uses: relayd ids are 0..=65535, the broker owns the upper
/// half, so tunnels an operator set by hand (below 32768) are never touched.
pub const BROKER_TID_FIRST: i64 = 32768;
pub const BROKER_TID_LAST: i64 = 65535;

/// How many times an allocation that lost a race is tried again.
const ALLOC_ATTEMPTS: u32 = 400;

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

fn retryable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            if d.is_unique_violation() {
                return true;
            }
            // PostgreSQL serialization failure / deadlock; SQLite busy / locked.
            if matches!(d.code().as_deref(), Some("40001") | Some("40P01") | Some("5") | Some("6") | Some("517") | Some("261")) {
                return true;
            }
            let m = d.message().to_ascii_lowercase();
            m.contains("locked") || m.contains("busy")
        }
        _ => false,
    }
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

/// The smallest value in `first..=last` that is not in `used` (sorted ascending).
fn first_free(used: &[i64], first: i64, last: i64) -> Option<i64> {
    let mut want = first;
    for &u in used {
        if u < want {
            continue;
        }
        if u > want {
            break;
        }
        want += 1;
    }
    (want <= last).then_some(want)
}

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

    pub async fn add_user(&self, name: &str, password: &str, role: Role) -> Result<(), DbError> {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| DbError::Hash(e.to_string()))?;
        let hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| DbError::Hash(e.to_string()))?
            .to_string();
        let r = sqlx::query("INSERT INTO users (name, password_hash, role) VALUES ($1, $2, $3)")
            .bind(name)
            .bind(hash)
            .bind(role.as_str())
            .execute(&self.pool)
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Err(DbError::UserExists(name.into())),
            Err(e) => Err(e.into()),
        }
    }

    /// The user's role if `password` is theirs.
    pub async fn check_password(&self, name: &str, password: &str) -> Result<Option<Role>, DbError> {
        let row = sqlx::query("SELECT password_hash, role FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let stored: String = row.try_get("password_hash")?;
        let parsed = PasswordHash::new(&stored).map_err(|e| DbError::Malformed(format!("password hash: {e}")))?;
        if Argon2::default().verify_password(password.as_bytes(), &parsed).is_err() {
            return Ok(None);
        }
        let role: String = row.try_get("role")?;
        Ok(Some(Role::parse(&role)?))
    }

    /// A new API token for `name`; the token is returned once and only its hash is kept.
    pub async fn add_token(&self, name: &str, now: i64) -> Result<String, DbError> {
        let exists = sqlx::query("SELECT name FROM users WHERE name = $1").bind(name).fetch_optional(&self.pool).await?;
        if exists.is_none() {
            return Err(DbError::NoUser(name.into()));
        }
        let token = new_secret();
        sqlx::query("INSERT INTO api_tokens (token_hash, user_name, created) VALUES ($1, $2, $3)")
            .bind(secret_hash(&token))
            .bind(name)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(token)
    }

    /// Whose token this is.
    pub async fn token_user(&self, token: &str) -> Result<Option<(String, Role)>, DbError> {
        let row = sqlx::query(
            "SELECT u.name AS name, u.role AS role FROM api_tokens t JOIN users u ON u.name = t.user_name WHERE t.token_hash = $1",
        )
        .bind(secret_hash(token))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let role: String = r.try_get("role")?;
                Ok(Some((r.try_get("name")?, Role::parse(&role)?)))
            }
        }
    }

    /// Allocates a tunnel (state `pending`: not yet on its server) and returns it with its
    /// update key (returned once, kept hashed).
    pub async fn allocate(&self, req: &NewTunnel<'_>, res: &Resources<'_>, now: i64) -> Result<(Tunnel, String), DbError> {
        let key = new_secret();
        let key_hash = secret_hash(&key);
        for attempt in 0..ALLOC_ATTEMPTS {
            match self.try_allocate(req, res, now, &key_hash).await {
                Ok(t) => return Ok((t, key)),
                Err(DbError::Sql(e)) if retryable(&e) => {
                    // Spread the retries so the losers do not collide again in lockstep.
                    let jitter = u64::from(rand::random::<u8>() % 8) + u64::from(attempt.min(20));
                    tokio::time::sleep(Duration::from_millis(jitter)).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(DbError::Contended(ALLOC_ATTEMPTS))
    }

    async fn try_allocate(&self, req: &NewTunnel<'_>, res: &Resources<'_>, now: i64, key_hash: &str) -> Result<Tunnel, DbError> {
        let mut tx = self.pool.begin().await?;
        if self.postgres {
            // SHARE ROW EXCLUSIVE conflicts with itself and with writers, not with SELECT.
            sqlx::query("LOCK TABLE tunnels IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
        }
        // Least loaded server under capacity; ties go to the one listed first.
        let mut best: Option<(&Server, i64)> = None;
        for s in res.servers {
            let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tunnels WHERE server = $1")
                .bind(&s.name)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            let cap = i64::from(s.capacity).min(BROKER_TID_LAST - BROKER_TID_FIRST + 1);
            if n < cap && best.is_none_or(|(_, bn)| n < bn) {
                best = Some((s, n));
            }
        }
        let (server, _) = best.ok_or(DbError::NoServer)?;
        let used = column(&mut tx, "SELECT server_tid AS v FROM tunnels WHERE server = $1 ORDER BY server_tid", Some(&server.name)).await?;
        let tid = first_free(&used, BROKER_TID_FIRST, BROKER_TID_LAST).ok_or(DbError::NoServer)?;

        let link_index = free_index(&mut tx, "link64", "link_index", res.link, now).await?.ok_or(DbError::PoolFull("link /64"))?;
        let routed_index = if req.routed48 {
            Some(free_index(&mut tx, "routed48", "routed_index", res.routed, now).await?.ok_or(DbError::PoolFull("routed /48"))?)
        } else {
            None
        };
        let id: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) + 1 AS id FROM tunnels").fetch_one(&mut *tx).await?.try_get("id")?;
        let lease_until = crate::after(now, res.lease_secs);
        let t = Tunnel {
            id,
            owner: req.owner.into(),
            server: server.name.clone(),
            server_tid: tid,
            client_ipv4: req.client_ipv4,
            link_index,
            link64: res.link.nth_text(link_index as u64),
            routed_index,
            routed48: routed_index.map(|i| res.routed.nth_text(i as u64)),
            lease_until,
            state: State::Pending,
            last_error: None,
        };
        sqlx::query(
            "INSERT INTO tunnels (id, owner, server, server_tid, client_ipv4, link_index, link64, routed_index, routed48, update_key_hash, lease_until, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(t.id)
        .bind(&t.owner)
        .bind(&t.server)
        .bind(t.server_tid)
        .bind(t.client_ipv4.to_string())
        .bind(t.link_index)
        .bind(&t.link64)
        .bind(t.routed_index)
        .bind(t.routed48.clone())
        .bind(key_hash)
        .bind(t.lease_until)
        .bind(t.state.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(t)
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

async fn column(tx: &mut sqlx::Transaction<'_, sqlx::Any>, sql: &str, arg: Option<&str>) -> Result<Vec<i64>, DbError> {
    let mut q = sqlx::query(sql);
    if let Some(a) = arg {
        q = q.bind(a);
    }
    let rows = q.fetch_all(&mut **tx).await?;
    rows.iter().map(|r| r.try_get::<i64, _>("v").map_err(DbError::from)).collect()
}

/// The lowest index of `pool` neither in use nor in quarantine at `now`; an expired quarantine
/// entry for it is dropped.
async fn free_index(tx: &mut sqlx::Transaction<'_, sqlx::Any>, kind: &str, col: &str, pool: Pool, now: i64) -> Result<Option<i64>, DbError> {
    let mut used = column(tx, &format!("SELECT {col} AS v FROM tunnels WHERE {col} IS NOT NULL"), None).await?;
    let q = sqlx::query("SELECT idx AS v FROM quarantine WHERE kind = $1 AND until > $2").bind(kind).bind(now).fetch_all(&mut **tx).await?;
    for r in &q {
        used.push(r.try_get("v")?);
    }
    used.sort_unstable();
    let last = i64::try_from(pool.size()).unwrap_or(i64::MAX) - 1;
    let Some(idx) = first_free(&used, 0, last) else { return Ok(None) };
    sqlx::query("DELETE FROM quarantine WHERE kind = $1 AND idx = $2").bind(kind).bind(idx).execute(&mut **tx).await?;
    Ok(Some(idx))
}

#[cfg(test)]
mod tests {
    use super::first_free;

    #[test]
    fn first_free_skips_used() {
        assert_eq!(first_free(&[], 0, 3), Some(0));
        assert_eq!(first_free(&[0, 1, 3], 0, 3), Some(2));
        assert_eq!(first_free(&[0, 1, 2, 3], 0, 3), None);
        assert_eq!(first_free(&[5, 32768, 32769], 32768, 65535), Some(32770));
    }
}
