-- See migrations/postgres/0005_wa_outbox.sql.
CREATE TABLE wa_outbox (
    id                 TEXT   PRIMARY KEY,
    wa_id              TEXT   NOT NULL,
    body               TEXT   NOT NULL,
    status             TEXT   NOT NULL DEFAULT 'pending',
    attempts           INTEGER    NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL,
    claimed_until_ms   INTEGER,
    wamid              TEXT,
    error_code         INTEGER,
    last_error         TEXT,
    created_at_ms      INTEGER NOT NULL,
    sent_at_ms         INTEGER
);
CREATE INDEX wa_outbox_due ON wa_outbox (status, next_attempt_at_ms);
