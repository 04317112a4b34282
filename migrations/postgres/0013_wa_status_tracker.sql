-- The tracker (biz_opaque_callback_data) a status update carries back: the reply id we sent it
-- with, so a reply whose send was interrupted by a crash is found sent instead of sent twice.
ALTER TABLE wa_statuses ADD COLUMN tracker TEXT;
CREATE INDEX wa_statuses_tracker ON wa_statuses (tracker) WHERE tracker IS NOT NULL;
