-- Work queues for payments, with one shape so one claim/retry routine serves both: a row is
-- 'pending' until a worker claims it ('working' with a deadline, after which another worker may
-- take it), then 'done' with an outcome, or back to 'pending' with a later attempt time.
--
-- reactor_tasks: side effects of events (payment link, refund, guest message), enqueued by the
-- `reactions` projection in the same transaction as its checkpoint, one row per (effect, event).
CREATE TABLE reactor_tasks (
    id                 TEXT   PRIMARY KEY,
    kind               TEXT   NOT NULL,
    accommodation_id   TEXT   NOT NULL,
    reservation_id     TEXT   NOT NULL,
    event              TEXT   NOT NULL,
    status             TEXT   NOT NULL DEFAULT 'pending',
    attempts           INT    NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    claimed_until_ms   BIGINT,
    last_error         TEXT,
    outcome            TEXT,
    created_at_ms      BIGINT NOT NULL,
    done_at_ms         BIGINT
);
CREATE INDEX reactor_tasks_due ON reactor_tasks (status, next_attempt_at_ms);

-- mp_inbox: Mercado Pago notifications, one row per notification id (a redelivery is a no-op);
-- processing fetches the payment it names and decides from that, never from the body.
CREATE TABLE mp_inbox (
    id                 TEXT   PRIMARY KEY,
    topic              TEXT   NOT NULL,
    resource_id        TEXT   NOT NULL,
    request_id         TEXT,
    status             TEXT   NOT NULL DEFAULT 'pending',
    attempts           INT    NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    claimed_until_ms   BIGINT,
    last_error         TEXT,
    outcome            TEXT,
    created_at_ms      BIGINT NOT NULL,
    done_at_ms         BIGINT
);
CREATE INDEX mp_inbox_due ON mp_inbox (status, next_attempt_at_ms);

-- The sandbox stand-in for Mercado Pago when no credentials are set: payments made with
-- `cabanas pay` (or the admin sandbox route) and the refunds issued against them.
CREATE TABLE mp_sandbox_payments (
    id                 TEXT   PRIMARY KEY,
    external_reference TEXT   NOT NULL,
    status             TEXT   NOT NULL,
    amount             TEXT   NOT NULL,
    method             TEXT,
    created_at_ms      BIGINT NOT NULL
);
CREATE TABLE mp_sandbox_refunds (
    idempotency_key    TEXT   PRIMARY KEY,
    refund_id          TEXT   NOT NULL,
    payment_id         TEXT   NOT NULL,
    amount             TEXT   NOT NULL,
    created_at_ms      BIGINT NOT NULL
);
