-- A feed being removed: pollers skip it, and a sync that was already running when it was marked
-- lifts what it applied (see api/src/ical.rs, remove_feed), so no block outlives its calendar.
ALTER TABLE ical_feeds ADD COLUMN removed_at_ms INTEGER;
