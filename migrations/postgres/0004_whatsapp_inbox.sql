-- WhatsApp webhook deliveries. A message is recorded once by its wamid, whatever Meta redelivers;
-- the conversation worker takes unprocessed rows from here. Status updates of our own messages
-- are kept once per (wamid, status), in whatever order they arrive.
CREATE TABLE wa_inbox (
    wamid           TEXT   PRIMARY KEY,
    wa_id           TEXT   NOT NULL,
    kind            TEXT   NOT NULL,
    message         TEXT   NOT NULL,
    received_at_ms  BIGINT NOT NULL,
    processed_at_ms BIGINT
);
CREATE INDEX wa_inbox_pending ON wa_inbox (received_at_ms) WHERE processed_at_ms IS NULL;

CREATE TABLE wa_statuses (
    wamid          TEXT   NOT NULL,
    status         TEXT   NOT NULL,
    timestamp      BIGINT NOT NULL,
    errors         TEXT   NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (wamid, status)
);
