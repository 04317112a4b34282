-- Which guest a phone number is. Guest ids are random; this table is the only link between a
-- number and the id the log uses, and erasing a guest deletes their row, so the events that
-- remain cannot be tied back to the number by anyone, even with the whole database at hand.
-- The digest is a SHA-256 of the number's digits: it exists to match, not to hide (the number is
-- in the guest read model too while the guest is known).
CREATE TABLE guest_directory (
    phone_digest TEXT PRIMARY KEY,
    guest_id     TEXT NOT NULL
);

CREATE INDEX guest_directory_guest ON guest_directory (guest_id);
