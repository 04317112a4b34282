-- The owner's web panel (ADR 0005): its users (Argon2id PHC hashes) and their sessions, of which
-- only the SHA-256 digest of the cookie's token is kept, so a copy of this table signs nobody in.
CREATE TABLE panel_users (
    email         TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE TABLE panel_sessions (
    token_digest  TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    csrf          TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
