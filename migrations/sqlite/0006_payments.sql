-- See migrations/postgres/0006_payments.sql.
CREATE TABLE reactor_tasks (
    id                 TEXT   PRIMARY KEY,
    kind               TEXT   NOT NULL,
    accommodation_id   TEXT   NOT NULL,
    reservation_id     TEXT   NOT NULL,
    event              TEXT   NOT NULL,
    status             TEXT   NOT NULL DEFAULT 'pending',
    attempts           INTEGER    NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL,
    claimed_until_ms   INTEGER,
    last_error         TEXT,
    outcome            TEXT,
    created_at_ms      INTEGER NOT NULL,
    done_at_ms         INTEGER
);
CREATE INDEX reactor_tasks_due ON reactor_tasks (status, next_attempt_at_ms);

CREATE TABLE mp_inbox (
    id                 TEXT   PRIMARY KEY,
    topic              TEXT   NOT NULL,
    resource_id        TEXT   NOT NULL,
    request_id         TEXT,
    status             TEXT   NOT NULL DEFAULT 'pending',
    attempts           INTEGER    NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL,
    claimed_until_ms   INTEGER,
    last_error         TEXT,
    outcome            TEXT,
    created_at_ms      INTEGER NOT NULL,
    done_at_ms         INTEGER
);
CREATE INDEX mp_inbox_due ON mp_inbox (status, next_attempt_at_ms);

CREATE TABLE mp_sandbox_payments (
    id                 TEXT   PRIMARY KEY,
    external_reference TEXT   NOT NULL,
    status             TEXT   NOT NULL,
    amount             TEXT   NOT NULL,
    method             TEXT,
    created_at_ms      INTEGER NOT NULL
);
CREATE TABLE mp_sandbox_refunds (
    idempotency_key    TEXT   PRIMARY KEY,
    refund_id          TEXT   NOT NULL,
    payment_id         TEXT   NOT NULL,
    amount             TEXT   NOT NULL,
    created_at_ms      INTEGER NOT NULL
);
