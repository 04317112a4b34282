-- Stamps (position and hash link) move out of the events table into narrow rows of their own.
-- Stamping used to UPDATE each event row, and since `position` is indexed that rewrote the
-- whole row (payload included) and every one of its index entries a second time: the largest
-- cost of an append after its own insert. An event row is now written once and never changed.
-- No foreign key to events: checking it would lock and dirty each event row all the same, and
-- the sequencer is the only writer here. See docs/adr/0001-gap-free-global-order.md.
CREATE TABLE event_positions (
    position BIGINT PRIMARY KEY,
    seq      BIGINT NOT NULL UNIQUE,
    hash     TEXT   NOT NULL
);

INSERT INTO event_positions (position, seq, hash)
    SELECT position, seq, hash FROM events WHERE position IS NOT NULL;

DROP INDEX events_unpositioned;
ALTER TABLE events DROP COLUMN position, DROP COLUMN hash;

-- The sequencer finds unstamped events by transaction id, from the newest stamped one's on.
CREATE INDEX events_by_tx ON events (tx_id, seq);
