//! Availability: the active stays of each accommodation (held, confirmed, blocked), one row per
//! stay, from which any night's status is derived. On PostgreSQL the table carries the same
//! no-overlap rule as the accommodation stream, as an exclusion constraint: a second guard that
//! must never fire, because the stream already refused any overlap.

use async_trait::async_trait;
use domain::accommodation::{BlockSource, Channel};
use domain::{AccommodationEvent, AccommodationId, ReservationCode, ReservationId, StayDates};

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::sql::{Names, Param, Tx, insert_rows, millis};
use crate::{Batch, Projection, ProjectionError, Schema, accommodation_events, exec};

pub struct Availability;

/// What holds a stay's nights, as `rm_stays.status` stores it. Readers compare this type, never
/// the words; only this projection writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StayStatus {
    /// A reservation waiting for its deposit (until `expires_at_ms`).
    Held,
    Confirmed,
    /// The owner's or an imported calendar's block.
    Blocked,
}

impl StayStatus {
    pub const ALL: [StayStatus; 3] = [StayStatus::Held, StayStatus::Confirmed, StayStatus::Blocked];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            StayStatus::Held => "held",
            StayStatus::Confirmed => "confirmed",
            StayStatus::Blocked => "blocked",
        }
    }

    /// The status a stored word names; `None` for any other word.
    pub fn parse(word: &str) -> Option<StayStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

const SCHEMA: Schema = Schema {
    name: "availability",
    // 2: the exclusion guard keys on the id as a uuid.
    version: 2,
    tables: &["rm_stays{s}"],
    ddl: &[
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
    ],
    // On the id as a uuid, not as text: building this index after a replay's bulk fill is
    // a good part of the replay, and GiST handles a 16-byte key about three times as fast.
    pg_ddl: &["ALTER TABLE rm_stays{s} ADD EXCLUDE USING gist \
       ((accommodation_id::uuid) WITH =, daterange(check_in, check_out) WITH &&)"],
};

#[async_trait]
impl Projection for Availability {
    // Long on purpose (see `Projection::apply`): an arm per event that takes or frees nights.
    async fn apply(&self, batch: Batch<'_>) -> Result<(), ProjectionError> {
        // Fold the batch in memory first: a hold placed and confirmed (or expired) within one
        // batch costs one insert (or nothing) instead of a statement per event.
        let mut fold = Fold::default();
        for (_, id, event) in accommodation_events(batch.events) {
            let event = event.clone();
            match event {
                AccommodationEvent::HoldPlaced(h) => fold.add(StayRow {
                    occupant_id: h.reservation_id.to_string(),
                    accommodation_id: id.to_string(),
                    status: StayStatus::Held,
                    check_in: h.stay.check_in(),
                    check_out: h.stay.check_out(),
                    expires_at_ms: Some(millis(h.expires_at)),
                    code: Some(h.code.to_string()),
                    source: channel_name(h.channel).to_owned(),
                    external_uid: None,
                }),
                AccommodationEvent::HoldExtended(x) => fold.patch(
                    x.reservation_id.to_string(),
                    None,
                    Some(Some(millis(x.expires_at))),
                ),
                AccommodationEvent::Confirmed(c) => fold.patch(
                    c.reservation_id.to_string(),
                    Some(StayStatus::Confirmed),
                    Some(None),
                ),
                AccommodationEvent::Cancelled(c) => fold.remove(c.reservation_id.to_string()),
                AccommodationEvent::HoldExpired(x) => fold.remove(x.reservation_id.to_string()),
                AccommodationEvent::DatesBlocked(b) => {
                    let (source, uid) = match &b.source {
                        BlockSource::Admin => ("admin".to_owned(), None),
                        BlockSource::External { calendar, uid } => {
                            (calendar.clone(), Some(uid.clone()))
                        }
                    };
                    fold.add(StayRow {
                        occupant_id: b.block_id.to_string(),
                        accommodation_id: id.to_string(),
                        status: StayStatus::Blocked,
                        check_in: b.stay.check_in(),
                        check_out: b.stay.check_out(),
                        expires_at_ms: None,
                        code: None,
                        source,
                        external_uid: uid,
                    })
                }
                AccommodationEvent::DatesUnblocked(u) => fold.remove(u.block_id.to_string()),
                AccommodationEvent::BlockMoved(m) => {
                    let (source, uid) = match &m.source {
                        BlockSource::Admin => ("admin".to_owned(), None),
                        BlockSource::External { calendar, uid } => {
                            (calendar.clone(), Some(uid.clone()))
                        }
                    };
                    fold.remove(m.block_id.to_string());
                    fold.add(StayRow {
                        occupant_id: m.block_id.to_string(),
                        accommodation_id: id.to_string(),
                        status: StayStatus::Blocked,
                        check_in: m.stay.check_in(),
                        check_out: m.stay.check_out(),
                        expires_at_ms: None,
                        code: None,
                        source,
                        external_uid: uid,
                    })
                }
                // The stay leaves its old nights for the new ones, still confirmed.
                AccommodationEvent::StayChanged(c) => {
                    fold.remove(c.reservation_id.to_string());
                    fold.add(StayRow::confirmed(
                        &id,
                        c.reservation_id,
                        &c.code,
                        c.channel,
                        &c.stay,
                    ))
                }
                // A late payment honoured: the stay occupies its nights again, confirmed.
                AccommodationEvent::LatePaymentAccepted(l) => fold.add(StayRow::confirmed(
                    &id,
                    l.reservation_id,
                    &l.code,
                    l.channel,
                    &l.stay,
                )),
                _ => {}
            }
        }
        fold.flush(batch.tx, batch.names).await
    }

    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }
}

impl StayRow {
    /// A paid reservation's nights.
    fn confirmed(
        accommodation: &AccommodationId,
        reservation: ReservationId,
        code: &ReservationCode,
        channel: Channel,
        stay: &StayDates,
    ) -> StayRow {
        StayRow {
            occupant_id: reservation.to_string(),
            accommodation_id: accommodation.to_string(),
            status: StayStatus::Confirmed,
            check_in: stay.check_in(),
            check_out: stay.check_out(),
            expires_at_ms: None,
            code: Some(code.to_string()),
            source: channel_name(channel).to_owned(),
            external_uid: None,
        }
    }
}

struct StayRow {
    occupant_id: String,
    accommodation_id: String,
    status: StayStatus,
    check_in: NaiveDate,
    check_out: NaiveDate,
    expires_at_ms: Option<i64>,
    code: Option<String>,
    source: String,
    external_uid: Option<String>,
}

/// What a batch does to each stay it touches.
enum Change {
    /// Created in this batch (with every later change already applied).
    New(StayRow),
    /// A stay from an earlier batch, changed in place.
    Patch {
        status: Option<StayStatus>,
        expires_at_ms: Option<Option<i64>>,
    },
    /// A stay from an earlier batch, gone.
    Deleted,
}

#[derive(Default)]
struct Fold {
    order: Vec<String>,
    changes: HashMap<String, Change>,
    /// Stays removed and added again within the batch (a lapsed hold paid late): their old row
    /// is deleted before the new one goes in.
    readded: Vec<String>,
}

impl Fold {
    fn add(&mut self, row: StayRow) {
        if let Some(Change::Deleted) = self.changes.get(&row.occupant_id) {
            self.readded.push(row.occupant_id.clone());
        }
        self.order.push(row.occupant_id.clone());
        self.changes
            .insert(row.occupant_id.clone(), Change::New(row));
    }

    fn patch(&mut self, id: String, status: Option<StayStatus>, expires: Option<Option<i64>>) {
        match self.changes.get_mut(&id) {
            Some(Change::New(row)) => {
                if let Some(s) = status {
                    row.status = s;
                }
                if let Some(x) = expires {
                    row.expires_at_ms = x;
                }
            }
            Some(Change::Patch {
                status: st,
                expires_at_ms,
            }) => {
                if status.is_some() {
                    *st = status;
                }
                if expires.is_some() {
                    *expires_at_ms = expires;
                }
            }
            Some(Change::Deleted) => {}
            None => {
                self.order.push(id.clone());
                self.changes.insert(
                    id,
                    Change::Patch {
                        status,
                        expires_at_ms: expires,
                    },
                );
            }
        }
    }

    fn remove(&mut self, id: String) {
        match self.changes.get(&id) {
            Some(Change::New(_)) => {
                self.changes.remove(&id);
            }
            _ => {
                self.order.push(id.clone());
                self.changes.insert(id, Change::Deleted);
            }
        }
    }

    /// Deletes first, so nights freed in this batch can be taken again in it without tripping
    /// PostgreSQL's exclusion constraint; then in-place changes; then new stays.
    async fn flush(self, tx: &mut Tx, names: Names) -> Result<(), ProjectionError> {
        let mut order = self.order;
        order.dedup();
        let mut changes = self.changes;
        let deleted = order
            .iter()
            .filter(|id| matches!(changes.get(*id), Some(Change::Deleted)));
        for id in self.readded.iter().chain(deleted) {
            exec!(
                &mut *tx,
                names.sql("DELETE FROM rm_stays{s} WHERE occupant_id = $1"),
                id.clone()
            )?;
        }
        for id in &order {
            if let Some(Change::Patch {
                status,
                expires_at_ms,
            }) = changes.get(id)
            {
                exec!(
                    &mut *tx,
                    names.sql(
                        "UPDATE rm_stays{s} SET status = COALESCE($2, status), \
                         expires_at_ms = CASE WHEN $3 = 1 THEN $4 ELSE expires_at_ms END \
                         WHERE occupant_id = $1"
                    ),
                    id.clone(),
                    status.map(|s| s.as_str().to_owned()),
                    i64::from(expires_at_ms.is_some()),
                    expires_at_ms.flatten()
                )?;
            }
        }
        let mut rows = Vec::new();
        for id in &order {
            if let Some(Change::New(r)) = changes.remove(id) {
                rows.push(vec![
                    Param::from(r.occupant_id),
                    r.accommodation_id.into(),
                    r.status.as_str().into(),
                    r.check_in.into(),
                    r.check_out.into(),
                    r.expires_at_ms.into(),
                    r.code.into(),
                    r.source.into(),
                    r.external_uid.into(),
                ]);
            }
        }
        insert_rows(
            tx,
            &names.sql(
                "INSERT INTO rm_stays{s} (occupant_id, accommodation_id, status, check_in, check_out, \
                 expires_at_ms, code, source, external_uid)",
            ),
            "",
            &rows,
        )
        .await?;
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

#[cfg(test)]
mod tests {
    use super::StayStatus;

    #[test]
    fn every_stay_status_reads_back_from_the_word_it_is_stored_as() {
        for s in StayStatus::ALL {
            assert_eq!(StayStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(StayStatus::parse("free"), None);
    }
}
