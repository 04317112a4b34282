-- One key per guest, outside the event log: guest profiles in the log are sealed with it, and
-- erasing a guest deletes it (crypto-shredding), leaving the log intact and its data unreadable.
CREATE TABLE guest_keys (
    guest_id      TEXT   PRIMARY KEY,
    key_hex       TEXT   NOT NULL,
    created_at_ms BIGINT NOT NULL
);
