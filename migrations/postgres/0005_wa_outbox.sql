-- Replies waiting to go out through WhatsApp, one row per reply id (enqueueing the same reply
-- twice is a no-op). The sender claims rows ('sending' with a deadline), sends, and records the
-- outcome: 'sent' with Meta's message id, 'failed' with a permanent error for the admin to see,
-- or back to 'pending' with a later attempt time. 'sandbox' rows were stored, not sent.
CREATE TABLE wa_outbox (
    id                 TEXT   PRIMARY KEY,
    wa_id              TEXT   NOT NULL,
    body               TEXT   NOT NULL,
    status             TEXT   NOT NULL DEFAULT 'pending',
    attempts           INT    NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    claimed_until_ms   BIGINT,
    wamid              TEXT,
    error_code         BIGINT,
    last_error         TEXT,
    created_at_ms      BIGINT NOT NULL,
    sent_at_ms         BIGINT
);
CREATE INDEX wa_outbox_due ON wa_outbox (status, next_attempt_at_ms);
