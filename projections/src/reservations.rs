//! Reservations (one row each, searchable), the guests behind them, and each reservation's
//! timeline: its events with positions, times, actor, source and causation.

use async_trait::async_trait;
use domain::accommodation::CancelledBy;
use domain::{AccommodationEvent, GuestEvent, ReservationId};
use eventstore::RecordedEvent;

use crate::availability::channel_name;
use crate::sql::{Names, Tx, cents, millis};
use crate::{Decoded, Projection, ProjectionError, decode, exec};

pub struct Reservations;

#[async_trait]
impl Projection for Reservations {
    fn name(&self) -> &'static str {
        "reservations"
    }

    fn schema_version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_reservations{s}", "rm_guests{s}", "rm_timeline{s}"]
    }

    fn ddl(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE rm_reservations{s} (
                id                TEXT PRIMARY KEY,
                code              TEXT NOT NULL,
                accommodation_id  TEXT NOT NULL,
                status            TEXT NOT NULL,
                check_in          {date} NOT NULL,
                check_out         {date} NOT NULL,
                nights            BIGINT NOT NULL,
                guests            BIGINT NOT NULL,
                channel           TEXT NOT NULL,
                quote             TEXT NOT NULL,
                total_cents       BIGINT NOT NULL,
                deposit_cents     BIGINT NOT NULL,
                paid_cents        BIGINT NOT NULL DEFAULT 0,
                payment_reference TEXT,
                expires_at_ms     BIGINT NOT NULL,
                extended          BIGINT NOT NULL DEFAULT 0,
                guest_ref         TEXT NOT NULL,
                cancelled_by      TEXT,
                cancel_reason     TEXT,
                created_at_ms     BIGINT NOT NULL,
                updated_at_ms     BIGINT NOT NULL,
                last_position     BIGINT NOT NULL
            )",
            "CREATE INDEX rm_res_code_{g} ON rm_reservations{s} (code)",
            "CREATE INDEX rm_res_status_{g} ON rm_reservations{s} (status, check_in)",
            "CREATE INDEX rm_res_acc_{g} ON rm_reservations{s} (accommodation_id, check_in)",
            "CREATE INDEX rm_res_guest_{g} ON rm_reservations{s} (guest_ref)",
            "CREATE TABLE rm_guests{s} (
                guest_ref     TEXT PRIMARY KEY,
                name          TEXT NOT NULL,
                phone         TEXT NOT NULL,
                search        TEXT NOT NULL,
                updated_at_ms BIGINT NOT NULL
            )",
            "CREATE TABLE rm_timeline{s} (
                reservation_id TEXT NOT NULL,
                position       BIGINT NOT NULL,
                stream_id      TEXT NOT NULL,
                stream_version BIGINT NOT NULL,
                event_type     TEXT NOT NULL,
                recorded_at_ms BIGINT NOT NULL,
                metadata       TEXT NOT NULL,
                PRIMARY KEY (reservation_id, position)
            )",
        ]
    }

    async fn apply(
        &self,
        tx: &mut Tx,
        names: Names,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        for e in events {
            let position = e.position.unwrap_or_default();
            let at = millis(e.recorded_at);
            let event = match decode(e)? {
                Some(Decoded::Accommodation(id, event)) => (id, event),
                Some(Decoded::Guest(GuestEvent::ProfileRecorded(g))) => {
                    // Lower-cased once here so the search is a plain LIKE on both backends.
                    let search = format!("{} {}", g.name, g.phone).to_lowercase();
                    exec!(
                        &mut *tx,
                        names.sql(
                            "INSERT INTO rm_guests{s} (guest_ref, name, phone, search, updated_at_ms) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (guest_ref) DO UPDATE SET \
                             name = excluded.name, phone = excluded.phone, search = excluded.search, \
                             updated_at_ms = excluded.updated_at_ms"
                        ),
                        g.guest_id.stream_id(),
                        g.name.clone(),
                        g.phone.clone(),
                        search,
                        at
                    )?;
                    continue;
                }
                None => continue,
            };
            let (accommodation, event) = event;
            let reservation = match &event {
                AccommodationEvent::HoldPlaced(h) => Some(h.reservation_id),
                AccommodationEvent::HoldExtended(x) => Some(x.reservation_id),
                AccommodationEvent::Confirmed(c) => Some(c.reservation_id),
                AccommodationEvent::Cancelled(c) => Some(c.reservation_id),
                AccommodationEvent::HoldExpired(x) => Some(x.reservation_id),
                _ => None,
            };
            let Some(reservation) = reservation else {
                continue;
            };
            timeline(tx, names, reservation, e).await?;
            let rid = reservation.to_string();
            match event {
                AccommodationEvent::HoldPlaced(h) => {
                    let quote = serde_json::to_string(&h.quote).unwrap_or_default();
                    exec!(
                        &mut *tx,
                        names.sql(
                            "INSERT INTO rm_reservations{s} (id, code, accommodation_id, status, check_in, check_out, \
                             nights, guests, channel, quote, total_cents, deposit_cents, expires_at_ms, guest_ref, \
                             created_at_ms, updated_at_ms, last_position) VALUES \
                             ($1, $2, $3, 'held', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15)"
                        ),
                        rid,
                        h.code.to_string(),
                        accommodation.to_string(),
                        h.stay.check_in(),
                        h.stay.check_out(),
                        i64::from(h.stay.nights()),
                        i64::from(h.guests),
                        channel_name(h.channel),
                        quote,
                        cents(h.quote.total),
                        cents(h.quote.deposit),
                        millis(h.expires_at),
                        h.guest_ref.clone(),
                        at,
                        position
                    )?;
                }
                AccommodationEvent::HoldExtended(x) => {
                    exec!(
                        &mut *tx,
                        names.sql(
                            "UPDATE rm_reservations{s} SET expires_at_ms = $2, extended = 1, updated_at_ms = $3, \
                             last_position = $4 WHERE id = $1"
                        ),
                        rid,
                        millis(x.expires_at),
                        at,
                        position
                    )?;
                }
                AccommodationEvent::Confirmed(c) => {
                    exec!(
                        &mut *tx,
                        names.sql(
                            "UPDATE rm_reservations{s} SET status = 'confirmed', paid_cents = paid_cents + $2, \
                             payment_reference = $3, updated_at_ms = $4, last_position = $5 WHERE id = $1"
                        ),
                        rid,
                        cents(c.amount_paid),
                        c.payment_reference.clone(),
                        at,
                        position
                    )?;
                }
                AccommodationEvent::Cancelled(c) => {
                    let by = match c.by {
                        CancelledBy::Guest => "guest",
                        CancelledBy::Admin => "admin",
                        CancelledBy::System => "system",
                    };
                    exec!(
                        &mut *tx,
                        names.sql(
                            "UPDATE rm_reservations{s} SET status = 'cancelled', cancelled_by = $2, \
                             cancel_reason = $3, updated_at_ms = $4, last_position = $5 WHERE id = $1"
                        ),
                        rid,
                        by,
                        c.reason.clone(),
                        at,
                        position
                    )?;
                }
                AccommodationEvent::HoldExpired(_) => {
                    exec!(
                        &mut *tx,
                        names.sql(
                            "UPDATE rm_reservations{s} SET status = 'expired', updated_at_ms = $2, \
                             last_position = $3 WHERE id = $1"
                        ),
                        rid,
                        at,
                        position
                    )?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

async fn timeline(
    tx: &mut Tx,
    names: Names,
    reservation: ReservationId,
    e: &RecordedEvent,
) -> Result<(), ProjectionError> {
    exec!(
        &mut *tx,
        names.sql(
            "INSERT INTO rm_timeline{s} (reservation_id, position, stream_id, stream_version, event_type, \
             recorded_at_ms, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ),
        reservation.to_string(),
        e.position.unwrap_or_default(),
        e.stream_id.clone(),
        e.stream_version,
        e.event_type.clone(),
        millis(e.recorded_at),
        e.metadata.to_string()
    )?;
    Ok(())
}
