//! Channel sync: when each accommodation's exported calendar last changed (what the iCal export
//! answers `ETag`/`Last-Modified` and 304s from, without rebuilding the calendar), and the open
//! conflicts between imported calendars and our own stays, shown to the admin until resolved.

use async_trait::async_trait;
use domain::AccommodationEvent;
use domain::accommodation::{ExternalKind, OccupantRef};

use crate::sql::millis;
use crate::{Batch, Projection, ProjectionError, Schema, accommodation_events, exec};

pub struct Channels;

fn kind_name(k: ExternalKind) -> &'static str {
    match k {
        ExternalKind::Reservation => "reservation",
        ExternalKind::NotAvailable => "not_available",
    }
}

const SCHEMA: Schema = Schema {
    name: "channels",
    version: 1,
    tables: &["rm_calendar_versions{s}", "rm_conflicts{s}"],
    ddl: &[
        "CREATE TABLE rm_calendar_versions{s} (
            accommodation_id TEXT PRIMARY KEY,
            position         BIGINT NOT NULL,
            changed_at_ms    BIGINT NOT NULL
        )",
        "CREATE TABLE rm_conflicts{s} (
            accommodation_id TEXT NOT NULL,
            calendar         TEXT NOT NULL,
            uid              TEXT NOT NULL,
            kind             TEXT NOT NULL,
            check_in         {date} NOT NULL,
            check_out        {date} NOT NULL,
            occupant_kind    TEXT NOT NULL,
            occupant_id      TEXT NOT NULL,
            occupant_code    TEXT,
            detected_at_ms   BIGINT NOT NULL,
            PRIMARY KEY (accommodation_id, calendar, uid)
        )",
    ],
    pg_ddl: &[],
};

#[async_trait]
impl Projection for Channels {
    async fn apply(&self, batch: Batch<'_>) -> Result<(), ProjectionError> {
        use AccommodationEvent as E;
        // Only the last change per accommodation in the batch matters for the version.
        let mut versions: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
        for (a, acc, event) in accommodation_events(batch.events) {
            let position = a.event.position.unwrap_or_default();
            let at = millis(a.event.recorded_at);
            let acc = acc.to_string();
            let exported = matches!(
                event,
                E::HoldPlaced(_)
                    | E::Confirmed(_)
                    | E::Cancelled(_)
                    | E::HoldExpired(_)
                    | E::LatePaymentAccepted(_)
                    | E::DatesBlocked(_)
                    | E::DatesUnblocked(_)
                    | E::BlockMoved(_)
                    | E::StayChanged(_)
            );
            if exported {
                versions.insert(acc.clone(), (position, at));
            }
            match event {
                E::ExternalConflictDetected(c) => {
                    let (occupant_kind, occupant_id) = match &c.occupant {
                        OccupantRef::Reservation(id) => ("reservation", id.to_string()),
                        OccupantRef::Block(id) => ("block", id.to_string()),
                    };
                    exec!(
                        &mut *batch.tx,
                        batch.names.sql(
                            "INSERT INTO rm_conflicts{s} (accommodation_id, calendar, uid, kind, check_in, \
                             check_out, occupant_kind, occupant_id, occupant_code, detected_at_ms) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                             ON CONFLICT (accommodation_id, calendar, uid) DO UPDATE SET kind = excluded.kind, \
                             check_in = excluded.check_in, check_out = excluded.check_out, \
                             occupant_kind = excluded.occupant_kind, occupant_id = excluded.occupant_id, \
                             occupant_code = excluded.occupant_code, detected_at_ms = excluded.detected_at_ms"
                        ),
                        acc.clone(),
                        c.calendar.clone(),
                        c.uid.clone(),
                        kind_name(c.kind),
                        c.stay.check_in(),
                        c.stay.check_out(),
                        occupant_kind,
                        occupant_id,
                        c.occupant_code.as_ref().map(|c| c.to_string()),
                        at
                    )?;
                }
                E::ExternalConflictResolved(r) => {
                    exec!(
                        &mut *batch.tx,
                        batch.names.sql(
                            "DELETE FROM rm_conflicts{s} WHERE accommodation_id = $1 AND calendar = $2 AND uid = $3"
                        ),
                        acc.clone(),
                        r.calendar.clone(),
                        r.uid.clone()
                    )?;
                }
                _ => {}
            }
        }
        for (acc, (position, at)) in versions {
            exec!(
                &mut *batch.tx,
                batch.names.sql(
                    "INSERT INTO rm_calendar_versions{s} (accommodation_id, position, changed_at_ms) \
                     VALUES ($1, $2, $3) ON CONFLICT (accommodation_id) DO UPDATE SET \
                     position = excluded.position, changed_at_ms = excluded.changed_at_ms"
                ),
                acc,
                position,
                at
            )?;
        }
        Ok(())
    }

    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }
}
