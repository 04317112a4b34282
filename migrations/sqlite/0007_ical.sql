-- See migrations/postgres/0007_ical.sql.
CREATE TABLE ical_tokens (
    accommodation_id TEXT   PRIMARY KEY,
    token            TEXT   NOT NULL,
    rotated_at_ms    INTEGER NOT NULL
);

CREATE TABLE ical_feeds (
    id                 TEXT   PRIMARY KEY,
    accommodation_id   TEXT   NOT NULL,
    source             TEXT   NOT NULL,
    url                TEXT   NOT NULL,
    created_at_ms      INTEGER NOT NULL,
    etag               TEXT,
    last_modified      TEXT,
    next_fetch_at_ms   INTEGER NOT NULL,
    claimed_until_ms   INTEGER,
    last_attempt_at_ms INTEGER,
    last_success_at_ms INTEGER,
    last_error         TEXT,
    healthy            INTEGER    NOT NULL DEFAULT 1,
    last_event_count   INTEGER,
    UNIQUE (accommodation_id, source)
);
CREATE INDEX ical_feeds_due ON ical_feeds (next_fetch_at_ms);
