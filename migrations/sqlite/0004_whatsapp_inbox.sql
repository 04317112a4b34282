-- See migrations/postgres/0004_whatsapp_inbox.sql.
CREATE TABLE wa_inbox (
    wamid           TEXT   PRIMARY KEY,
    wa_id           TEXT   NOT NULL,
    kind            TEXT   NOT NULL,
    message         TEXT   NOT NULL,
    received_at_ms  INTEGER NOT NULL,
    processed_at_ms INTEGER
);
CREATE INDEX wa_inbox_pending ON wa_inbox (received_at_ms) WHERE processed_at_ms IS NULL;

CREATE TABLE wa_statuses (
    wamid          TEXT   NOT NULL,
    status         TEXT   NOT NULL,
    timestamp      INTEGER NOT NULL,
    errors         TEXT   NOT NULL,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (wamid, status)
);
