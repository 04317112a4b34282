-- The global event log. Writers insert with position NULL; the sequencer stamps dense positions
-- (and the hash chain) in (tx_id, seq) order onto events of transactions older than the oldest
-- one still in flight, so a reader of `position > checkpoint` never skips a late commit.
-- See docs/adr/0001-gap-free-global-order.md.
CREATE TABLE events (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx_id          xid8        NOT NULL DEFAULT pg_current_xact_id(),
    position       BIGINT      UNIQUE,
    stream_id      TEXT        NOT NULL,
    stream_version BIGINT      NOT NULL CHECK (stream_version > 0),
    event_id       UUID        NOT NULL UNIQUE,
    event_type     TEXT        NOT NULL,
    schema_version INT         NOT NULL,
    payload        JSONB       NOT NULL,
    metadata       JSONB       NOT NULL,
    recorded_at    TIMESTAMPTZ NOT NULL,
    hash           TEXT,
    UNIQUE (stream_id, stream_version)
);

CREATE INDEX events_unpositioned ON events (tx_id, seq) WHERE position IS NULL;
CREATE INDEX events_correlation ON events ((metadata ->> 'correlation_id'));
