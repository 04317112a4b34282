//! Availability: the active stays of each accommodation (held, confirmed, blocked), one row per
//! stay, from which any night's status is derived. On PostgreSQL the table carries the same
//! no-overlap rule as the accommodation stream, as an exclusion constraint: a second guard that
//! must never fire, because the stream already refused any overlap.

use async_trait::async_trait;
use domain::AccommodationEvent;
use domain::accommodation::BlockSource;
use eventstore::RecordedEvent;

use crate::sql::{Names, Tx, millis};
use crate::{Decoded, Projection, ProjectionError, decode, exec};

pub struct Availability;

#[async_trait]
impl Projection for Availability {
    fn name(&self) -> &'static str {
        "availability"
    }

    fn schema_version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_stays{s}"]
    }

    fn ddl(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE rm_stays{s} (
                occupant_id      TEXT PRIMARY KEY,
                accommodation_id TEXT NOT NULL,
                status           TEXT NOT NULL,
                check_in         {date} NOT NULL,
                check_out        {date} NOT NULL,
                expires_at_ms    BIGINT,
                code             TEXT,
                source           TEXT NOT NULL,
                external_uid     TEXT
            )",
            "CREATE INDEX rm_stays_acc_{g} ON rm_stays{s} (accommodation_id, check_in)",
        ]
    }

    fn pg_ddl(&self) -> &'static [&'static str] {
        &["ALTER TABLE rm_stays{s} ADD EXCLUDE USING gist \
           (accommodation_id WITH =, daterange(check_in, check_out) WITH &&)"]
    }

    async fn apply(
        &self,
        tx: &mut Tx,
        names: Names,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        for e in events {
            let Some(Decoded::Accommodation(id, event)) = decode(e)? else {
                continue;
            };
            match event {
                AccommodationEvent::HoldPlaced(h) => {
                    exec!(
                        &mut *tx,
                        names.sql(
                            "INSERT INTO rm_stays{s} (occupant_id, accommodation_id, status, check_in, check_out, \
                             expires_at_ms, code, source) VALUES ($1, $2, 'held', $3, $4, $5, $6, $7)"
                        ),
                        h.reservation_id.to_string(),
                        id.to_string(),
                        h.stay.check_in(),
                        h.stay.check_out(),
                        millis(h.expires_at),
                        h.code.to_string(),
                        channel_name(h.channel)
                    )?;
                }
                AccommodationEvent::HoldExtended(x) => {
                    exec!(
                        &mut *tx,
                        names.sql(
                            "UPDATE rm_stays{s} SET expires_at_ms = $2 WHERE occupant_id = $1"
                        ),
                        x.reservation_id.to_string(),
                        millis(x.expires_at)
                    )?;
                }
                AccommodationEvent::Confirmed(c) => {
                    exec!(
                        &mut *tx,
                        names.sql(
                            "UPDATE rm_stays{s} SET status = 'confirmed', expires_at_ms = NULL WHERE occupant_id = $1"
                        ),
                        c.reservation_id.to_string()
                    )?;
                }
                AccommodationEvent::Cancelled(c) => {
                    exec!(
                        &mut *tx,
                        names.sql("DELETE FROM rm_stays{s} WHERE occupant_id = $1"),
                        c.reservation_id.to_string()
                    )?;
                }
                AccommodationEvent::HoldExpired(x) => {
                    exec!(
                        &mut *tx,
                        names.sql("DELETE FROM rm_stays{s} WHERE occupant_id = $1"),
                        x.reservation_id.to_string()
                    )?;
                }
                AccommodationEvent::DatesBlocked(b) => {
                    let (source, uid) = match &b.source {
                        BlockSource::Admin => ("admin".to_owned(), None),
                        BlockSource::External { calendar, uid } => {
                            (calendar.clone(), Some(uid.clone()))
                        }
                    };
                    exec!(
                        &mut *tx,
                        names.sql(
                            "INSERT INTO rm_stays{s} (occupant_id, accommodation_id, status, check_in, check_out, \
                             source, external_uid) VALUES ($1, $2, 'blocked', $3, $4, $5, $6)"
                        ),
                        b.block_id.to_string(),
                        id.to_string(),
                        b.stay.check_in(),
                        b.stay.check_out(),
                        source,
                        uid
                    )?;
                }
                AccommodationEvent::DatesUnblocked(u) => {
                    exec!(
                        &mut *tx,
                        names.sql("DELETE FROM rm_stays{s} WHERE occupant_id = $1"),
                        u.block_id.to_string()
                    )?;
                }
                AccommodationEvent::Registered(_) | AccommodationEvent::PricingChanged(_) => {}
            }
        }
        Ok(())
    }
}

pub fn channel_name(c: domain::accommodation::Channel) -> &'static str {
    use domain::accommodation::Channel;
    match c {
        Channel::Direct => "direct",
        Channel::Whatsapp => "whatsapp",
        Channel::Admin => "admin",
        Channel::Airbnb => "airbnb",
        Channel::Booking => "booking",
    }
}
