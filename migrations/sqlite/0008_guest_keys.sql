-- See migrations/postgres/0008_guest_keys.sql.
CREATE TABLE guest_keys (
    guest_id      TEXT    PRIMARY KEY,
    key_hex       TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
);
