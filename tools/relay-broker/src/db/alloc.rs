//! Allocation: a new tunnel's server, tunnel id, link /64 and routed /48, in one transaction.
//! The UNIQUE constraints are the final word: a transaction that loses a race fails on one (or
//! on SQLite's write lock) and is tried again from the start.
//!
//! SQLite's transactions see one snapshot throughout, and a write after a concurrent commit
//! fails, so allocations are serializable there. PostgreSQL's default (READ COMMITTED) gives
//! each statement a new snapshot: the server chosen from one view and the indexes from a later
//! one commit without conflict, and the load drifts off balance. There an allocation first
//! takes a lock on `tunnels` that only allocations (and writers) wait for; readers do not.

use std::time::Duration;

use sqlx::Row;

use super::{new_secret, secret_hash, Db, DbError, NewTunnel, Resources, State, Tunnel, BROKER_TID_FIRST, BROKER_TID_LAST};
use crate::config::{Pool, Server};

/// How many times an allocation that lost a race is tried again.
const ALLOC_ATTEMPTS: u32 = 400;

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
