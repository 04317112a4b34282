-- No query reads events by correlation id (the reservation story and the timeline come from
-- read models), and every append paid for keeping this index.
DROP INDEX events_correlation;
