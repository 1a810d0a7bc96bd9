-- Web page logins. The cookie carries a 128-bit secret and only its SHA-256 is kept here, so
-- a copy of this table opens no session. csrf: the token every state-changing form must carry
-- (per session, checked on each POST). A session ends at logout, at `expires`, or with its user.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    expires BIGINT NOT NULL
);
