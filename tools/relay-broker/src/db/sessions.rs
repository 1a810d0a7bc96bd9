//! Web page sessions, stored in the database: they outlive a broker restart and nothing else
//! (logout, expiry and the user's removal end them).

use sqlx::Row;

use super::{new_secret, secret_hash, Db, DbError, Role};

/// A signed-in web session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    /// Read from `users` at every request, so a role change applies at once.
    pub role: Role,
    /// The per-session token every state-changing form carries.
    pub csrf: String,
    /// Seconds since the epoch after which the session is gone.
    pub expires: i64,
}

impl Db {
    /// Opens a session for `user` lasting `secs` from `now`; returns the cookie's secret (kept
    /// only hashed) and the session.
    pub async fn add_session(&self, user: &str, now: i64, secs: u64) -> Result<(String, Session), DbError> {
        let secret = new_secret();
        let csrf = new_secret();
        let expires = crate::after(now, secs);
        let row = sqlx::query("SELECT role FROM users WHERE name = $1").bind(user).fetch_optional(&self.pool).await?;
        let role: String = row.ok_or_else(|| DbError::NoUser(user.into()))?.try_get("role")?;
        sqlx::query("INSERT INTO sessions (token_hash, user_name, csrf, expires) VALUES ($1, $2, $3, $4)")
            .bind(secret_hash(&secret))
            .bind(user)
            .bind(&csrf)
            .bind(expires)
            .execute(&self.pool)
            .await?;
        Ok((secret, Session { user: user.into(), role: Role::parse(&role)?, csrf, expires }))
    }

    /// The session whose cookie secret is `secret`, if it has not ended by `now`.
    pub async fn session(&self, secret: &str, now: i64) -> Result<Option<Session>, DbError> {
        let row = sqlx::query(
            "SELECT u.name AS name, u.role AS role, s.csrf AS csrf, s.expires AS expires \
             FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.token_hash = $1 AND s.expires > $2",
        )
        .bind(secret_hash(secret))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let role: String = r.try_get("role")?;
        Ok(Some(Session { user: r.try_get("name")?, role: Role::parse(&role)?, csrf: r.try_get("csrf")?, expires: r.try_get("expires")? }))
    }

    /// Ends the session (logout); an unknown secret is not an error.
    pub async fn end_session(&self, secret: &str) -> Result<(), DbError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(secret_hash(secret)).execute(&self.pool).await?;
        Ok(())
    }

    /// Deletes the sessions that ended by `now`; returns how many.
    pub async fn purge_sessions(&self, now: i64) -> Result<u64, DbError> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expires <= $1").bind(now).execute(&self.pool).await?.rows_affected())
    }
}
