-- See migrations/postgres/0003_idempotency.sql.
CREATE TABLE idempotency_keys (
    key           TEXT    NOT NULL,
    scope         TEXT    NOT NULL,
    body_hash     TEXT    NOT NULL,
    status        INTEGER NOT NULL,
    response      TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at_ms);
