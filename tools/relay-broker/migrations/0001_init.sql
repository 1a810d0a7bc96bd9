-- Portable SQL: the same text runs on SQLite and PostgreSQL (no AUTOINCREMENT/SERIAL;
-- ids are chosen inside the allocating transaction and guarded by UNIQUE constraints).
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'user'))
);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    created BIGINT NOT NULL
);

CREATE TABLE tunnels (
    id BIGINT PRIMARY KEY,
    owner TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    server TEXT NOT NULL,
    server_tid BIGINT NOT NULL,
    client_ipv4 TEXT NOT NULL,
    link_index BIGINT NOT NULL,
    link64 TEXT NOT NULL,
    routed_index BIGINT,
    routed48 TEXT,
    update_key_hash TEXT NOT NULL,
    lease_until BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'pending', 'expired')),
    UNIQUE (server, server_tid),
    UNIQUE (link_index),
    UNIQUE (link64),
    UNIQUE (routed_index),
    UNIQUE (routed48)
);

-- A freed prefix waits here until `until` before it can be handed out again.
CREATE TABLE quarantine (
    kind TEXT NOT NULL CHECK (kind IN ('link64', 'routed48')),
    idx BIGINT NOT NULL,
    prefix TEXT NOT NULL,
    until BIGINT NOT NULL,
    PRIMARY KEY (kind, idx)
);
