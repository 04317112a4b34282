-- Responses to POSTs carrying an Idempotency-Key, kept 48 hours: the same key and body get the
-- stored response; the same key with another body is refused. `status` 0 marks a request still
-- being processed (a concurrent duplicate is told to retry).
CREATE TABLE idempotency_keys (
    key           TEXT   NOT NULL,
    scope         TEXT   NOT NULL,
    body_hash     TEXT   NOT NULL,
    status        INT    NOT NULL,
    response      TEXT   NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at_ms);
