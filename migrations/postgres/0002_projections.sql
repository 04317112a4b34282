-- Read models live next to the log. Each projection records how far it has applied the global
-- log, in the same transaction as its read-model writes (exactly-once effect), and the schema
-- version of its tables: a projection whose tables changed shape is rebuilt from position 0.
-- The read-model tables themselves are created by the projections crate, because a rebuild
-- creates a fresh copy of them and swaps it in.
CREATE TABLE projection_checkpoints (
    name           TEXT PRIMARY KEY,
    position       BIGINT NOT NULL DEFAULT 0,
    schema_version INT    NOT NULL DEFAULT 0,
    updated_at_ms  BIGINT NOT NULL DEFAULT 0
);

-- The active-stays table guards against overlaps with an exclusion constraint on
-- (accommodation_id WITH =, daterange WITH &&), which needs btree_gist for the text equality.
CREATE EXTENSION IF NOT EXISTS btree_gist;
