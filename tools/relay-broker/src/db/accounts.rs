//! Accounts: users with argon2-hashed passwords, and their API tokens (kept as SHA-256).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sqlx::Row;

use super::{new_secret, secret_hash, Db, DbError, Role};

/// `password` hashed by argon2 (default parameters, random salt) as a PHC string.
fn hash_password(password: &str) -> Result<String, DbError> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| DbError::Hash(e.to_string()))?;
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| DbError::Hash(e.to_string()))?.to_string())
}

/// What a login to a name that does not exist is checked against: the hash of a random secret
/// thrown away, so no password matches it.
fn no_such_user_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&new_secret()).unwrap_or_default())
}

impl Db {
    pub async fn add_user(&self, name: &str, password: &str, role: Role) -> Result<(), DbError> {
        let hash = hash_password(password)?;
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
        let Some(row) = row else {
            // The same argon2 work as for a real account, so the answer's time does not tell
            // which names exist (the web page gives one answer for both).
            if let Ok(dummy) = PasswordHash::new(no_such_user_hash()) {
                let _ = Argon2::default().verify_password(password.as_bytes(), &dummy);
            }
            return Ok(None);
        };
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
}
