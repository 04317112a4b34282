-- iCal channel sync.
--
-- ical_tokens: the secret in each accommodation's export URL (rotated by the admin).
CREATE TABLE ical_tokens (
    accommodation_id TEXT   PRIMARY KEY,
    token            TEXT   NOT NULL,
    rotated_at_ms    BIGINT NOT NULL
);

-- ical_feeds: calendars imported per accommodation (one per source name), with the validators
-- of the last fetch and the feed's health. A poller claims a feed (claimed_until_ms) so that
-- with several instances each feed is fetched by one of them.
CREATE TABLE ical_feeds (
    id                 TEXT   PRIMARY KEY,
    accommodation_id   TEXT   NOT NULL,
    source             TEXT   NOT NULL,
    url                TEXT   NOT NULL,
    created_at_ms      BIGINT NOT NULL,
    etag               TEXT,
    last_modified      TEXT,
    next_fetch_at_ms   BIGINT NOT NULL,
    claimed_until_ms   BIGINT,
    last_attempt_at_ms BIGINT,
    last_success_at_ms BIGINT,
    last_error         TEXT,
    healthy            INT    NOT NULL DEFAULT 1,
    last_event_count   INT,
    UNIQUE (accommodation_id, source)
);
CREATE INDEX ical_feeds_due ON ical_feeds (next_fetch_at_ms);
