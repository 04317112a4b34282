-- One-time links that sign the owner in to the web panel, asked for by writing "panel" from
-- their WhatsApp: only the SHA-256 digest of the link's token is kept; a link is used once
-- (used_at_ms) and lapses after ten minutes.
CREATE TABLE panel_links (
    token_digest  TEXT PRIMARY KEY,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms    BIGINT
);
