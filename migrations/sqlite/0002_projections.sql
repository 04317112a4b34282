-- See migrations/postgres/0002_projections.sql.
CREATE TABLE projection_checkpoints (
    name           TEXT PRIMARY KEY,
    position       INTEGER NOT NULL DEFAULT 0,
    schema_version INTEGER NOT NULL DEFAULT 0,
    updated_at_ms  INTEGER NOT NULL DEFAULT 0
);
