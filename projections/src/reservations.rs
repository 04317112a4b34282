//! Reservations (one row each, searchable), the guests behind them, and each reservation's
//! timeline: its events with positions, times, actor, source and causation.

use async_trait::async_trait;
use domain::accommodation::CancelledBy;
use domain::payment::PaymentStatus;
use domain::{AccommodationEvent, GuestEvent};

use crate::availability::channel_name;
use std::collections::HashMap;

use chrono::NaiveDate;

use crate::sql::{Names, Param, Tx, cents, insert_rows, millis};
use crate::{Batch, Decoded, Projection, ProjectionError, Schema, exec, tx_fetch};
use eventstore::pii::{self, Profile};

/// How an erased guest's name reads.
pub const ERASED: &str = "(datos borrados)";

/// Where a reservation stands, as this read model stores it (`rm_reservations.status`) and the
/// API shows it. The words are the ones the domain's own status serializes to; readers compare
/// this type, never the words, and only this projection writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReservationStatus {
    /// Waiting for its deposit until it expires.
    Held,
    Confirmed,
    Cancelled,
    /// The hold lapsed unpaid.
    Expired,
}

impl ReservationStatus {
    pub const ALL: [ReservationStatus; 4] = [
        ReservationStatus::Held,
        ReservationStatus::Confirmed,
        ReservationStatus::Cancelled,
        ReservationStatus::Expired,
    ];

    /// The stored (and serialized) word.
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Held => "held",
            ReservationStatus::Confirmed => "confirmed",
            ReservationStatus::Cancelled => "cancelled",
            ReservationStatus::Expired => "expired",
        }
    }

    /// The status a stored word names; `None` for any other word (matched exactly, as the
    /// column is).
    pub fn parse(word: &str) -> Option<ReservationStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

impl From<domain::accommodation::ReservationStatus> for ReservationStatus {
    fn from(s: domain::accommodation::ReservationStatus) -> ReservationStatus {
        use domain::accommodation::ReservationStatus as D;
        match s {
            D::Held => ReservationStatus::Held,
            D::Confirmed => ReservationStatus::Confirmed,
            D::Cancelled => ReservationStatus::Cancelled,
            D::Expired => ReservationStatus::Expired,
        }
    }
}

impl std::fmt::Display for ReservationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// As the stored word, so that JSON shows what it always showed.
impl serde::Serialize for ReservationStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

pub struct Reservations;

const SCHEMA: Schema = Schema {
    name: "reservations",
    version: 3,
    tables: &["rm_reservations{s}", "rm_guests{s}", "rm_timeline{s}"],
    ddl: &[
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
            refunded_cents    BIGINT NOT NULL DEFAULT 0,
            payment_reference TEXT,
            payment_link      TEXT,
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
    ],
    pg_ddl: &[],
};

#[async_trait]
impl Projection for Reservations {
    // Long on purpose (see `Projection::apply`): an arm per event a reservation or a guest
    // goes through.
    fn follows_guests(&self) -> bool {
        true
    }

    async fn apply(&self, batch: Batch<'_>) -> Result<(), ProjectionError> {
        // Reservations created in this batch are built in memory and inserted together at the
        // end; reservations from earlier batches are updated in place as their batch.events come.
        let mut new: HashMap<String, ResRow> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut timeline: Vec<Vec<Param>> = Vec::new();
        for a in batch.events {
            let e = &a.event;
            let position = e.position.unwrap_or_default();
            let at = millis(e.recorded_at);
            // Nothing here reads a conversation or a voice note: skipped before the clone below,
            // which for a dialogue offering fifty cabins copied a few hundred strings per turn.
            if matches!(
                a.decoded,
                None | Some(Decoded::Guest(
                    GuestEvent::DialogueAdvanced(_) | GuestEvent::VoiceNoteTranscribed(_)
                ))
            ) {
                continue;
            }
            let event = match a.decoded.clone() {
                Some(Decoded::Accommodation(id, event)) => (id, event),
                Some(Decoded::Guest(guest)) => {
                    let (guest_ref, profile) = match guest {
                        GuestEvent::ProfileRecorded(g) => (
                            g.guest_id.stream_id(),
                            Some(Profile {
                                name: g.name,
                                phone: g.phone,
                                whatsapp: false,
                            }),
                        ),
                        GuestEvent::ProfileSealed(g) => {
                            let guest_ref = g.guest_id.stream_id();
                            let key: Option<(String,)> = tx_fetch!(
                                &mut *batch.tx,
                                (String,),
                                fetch_optional,
                                "SELECT key_hex FROM guest_keys WHERE guest_id = $1".to_owned(),
                                guest_ref.clone()
                            )?;
                            // No key: the guest was erased; the profile cannot be read.
                            let profile = key.and_then(|(k,)| pii::open_profile_hex(&k, &g.sealed));
                            (guest_ref, profile)
                        }
                        GuestEvent::PersonalDataErased(e) => (e.guest_id.stream_id(), None),
                        GuestEvent::DialogueAdvanced(_) | GuestEvent::VoiceNoteTranscribed(_) => {
                            continue;
                        }
                    };
                    let (name, phone) = match profile {
                        Some(p) => (p.name, p.phone),
                        None => (ERASED.to_owned(), String::new()),
                    };
                    // Folded once here so the search is a plain LIKE on both backends.
                    let search = crate::queries::fold(&format!("{name} {phone}"));
                    exec!(
                        &mut *batch.tx,
                        batch.names.sql(
                            "INSERT INTO rm_guests{s} (guest_ref, name, phone, search, updated_at_ms) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (guest_ref) DO UPDATE SET \
                             name = excluded.name, phone = excluded.phone, search = excluded.search, \
                             updated_at_ms = excluded.updated_at_ms"
                        ),
                        guest_ref,
                        name,
                        phone,
                        search,
                        at
                    )?;
                    continue;
                }
                None => continue,
            };
            let (accommodation, event) = event;
            let Some(reservation) = event.reservation_id() else {
                continue;
            };
            let rid = reservation.to_string();
            timeline.push(vec![
                Param::from(rid.clone()),
                position.into(),
                e.stream_id.clone().into(),
                e.stream_version.into(),
                e.event_type.clone().into(),
                at.into(),
                e.metadata.to_string().into(),
            ]);
            if let AccommodationEvent::HoldPlaced(h) = &event {
                order.push(rid.clone());
                new.insert(
                    rid,
                    ResRow {
                        code: h.code.to_string(),
                        accommodation_id: accommodation.to_string(),
                        status: ReservationStatus::Held,
                        check_in: h.stay.check_in(),
                        check_out: h.stay.check_out(),
                        nights: i64::from(h.stay.nights()),
                        guests: i64::from(h.guests),
                        channel: channel_name(h.channel),
                        quote: serde_json::to_string(&h.quote).unwrap_or_default(),
                        total_cents: cents(h.quote.total),
                        deposit_cents: cents(h.quote.deposit),
                        paid_cents: 0,
                        refunded_cents: 0,
                        payment_reference: None,
                        payment_link: None,
                        expires_at_ms: millis(h.expires_at),
                        extended: 0,
                        guest_ref: h.guest_ref.clone(),
                        cancelled_by: None,
                        cancel_reason: None,
                        created_at_ms: at,
                        updated_at_ms: at,
                        last_position: position,
                    },
                );
                continue;
            }
            let change = Effect::of(&event);
            if let Some(row) = new.get_mut(&rid) {
                row.updated_at_ms = at;
                row.last_position = position;
                change.fold_into(row);
                continue;
            }
            change
                .update(batch.tx, batch.names, &rid, at, position)
                .await?;
        }
        let rows: Vec<Vec<Param>> = order
            .iter()
            .filter_map(|id| new.remove(id).map(|r| r.params(id)))
            .collect();
        insert_rows(
            batch.tx,
            &batch.names.sql(
                "INSERT INTO rm_reservations{s} (id, code, accommodation_id, status, check_in, check_out, \
                 nights, guests, channel, quote, total_cents, deposit_cents, paid_cents, refunded_cents, \
                 payment_reference, payment_link, expires_at_ms, extended, guest_ref, cancelled_by, cancel_reason, created_at_ms, \
                 updated_at_ms, last_position)",
            ),
            "",
            &rows,
        )
        .await?;
        insert_rows(
            batch.tx,
            &batch.names.sql(
                "INSERT INTO rm_timeline{s} (reservation_id, position, stream_id, stream_version, \
                 event_type, recorded_at_ms, metadata)",
            ),
            "",
            &timeline,
        )
        .await?;
        Ok(())
    }

    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }
}

fn cancelled_by(by: CancelledBy) -> &'static str {
    match by {
        CancelledBy::Guest => "guest",
        CancelledBy::Admin => "admin",
        CancelledBy::System => "system",
    }
}

struct ResRow {
    code: String,
    accommodation_id: String,
    status: ReservationStatus,
    check_in: NaiveDate,
    check_out: NaiveDate,
    nights: i64,
    guests: i64,
    channel: &'static str,
    quote: String,
    total_cents: i64,
    deposit_cents: i64,
    paid_cents: i64,
    refunded_cents: i64,
    payment_reference: Option<String>,
    payment_link: Option<String>,
    expires_at_ms: i64,
    extended: i64,
    guest_ref: String,
    cancelled_by: Option<&'static str>,
    cancel_reason: Option<String>,
    created_at_ms: i64,
    updated_at_ms: i64,
    last_position: i64,
}

impl ResRow {
    fn params(self, id: &str) -> Vec<Param> {
        vec![
            id.into(),
            self.code.into(),
            self.accommodation_id.into(),
            self.status.as_str().into(),
            self.check_in.into(),
            self.check_out.into(),
            self.nights.into(),
            self.guests.into(),
            self.channel.into(),
            self.quote.into(),
            self.total_cents.into(),
            self.deposit_cents.into(),
            self.paid_cents.into(),
            self.refunded_cents.into(),
            self.payment_reference.into(),
            self.payment_link.into(),
            self.expires_at_ms.into(),
            self.extended.into(),
            self.guest_ref.into(),
            Param::Text(self.cancelled_by.map(str::to_owned)),
            self.cancel_reason.into(),
            self.created_at_ms.into(),
            self.updated_at_ms.into(),
            self.last_position.into(),
        ]
    }
}

/// What one event changes on its reservation's row.
#[derive(Default)]
struct Effect {
    status: Option<ReservationStatus>,
    paid: i64,
    refunded: i64,
    payment_reference: Option<String>,
    payment_link: Option<String>,
    expires_at_ms: Option<i64>,
    cancelled: Option<(&'static str, String)>,
    stay: Option<NewStay>,
}

/// A confirmed stay's new nights, party and price (`StayChanged`). The deposit column keeps the
/// deposit that confirmed it; the balance follows the new total.
struct NewStay {
    check_in: NaiveDate,
    check_out: NaiveDate,
    nights: i64,
    guests: i64,
    quote: String,
    total_cents: i64,
}

impl Effect {
    fn of(event: &AccommodationEvent) -> Effect {
        use AccommodationEvent as E;
        let mut e = Effect::default();
        match event {
            E::HoldExtended(x) => e.expires_at_ms = Some(millis(x.expires_at)),
            E::Confirmed(c) => {
                e.status = Some(ReservationStatus::Confirmed);
                e.paid = cents(c.amount_paid);
                e.payment_reference = Some(c.payment_reference.clone());
            }
            E::LatePaymentAccepted(l) => {
                e.status = Some(ReservationStatus::Confirmed);
                e.paid = cents(l.payment.amount);
                e.payment_reference = Some(l.payment.payment_id.clone());
            }
            E::Cancelled(c) => {
                e.status = Some(ReservationStatus::Cancelled);
                e.cancelled = Some((cancelled_by(c.by), c.reason.clone()));
            }
            E::HoldExpired(_) => e.status = Some(ReservationStatus::Expired),
            E::StayChanged(c) => {
                e.stay = Some(NewStay {
                    check_in: c.stay.check_in(),
                    check_out: c.stay.check_out(),
                    nights: i64::from(c.stay.nights()),
                    guests: i64::from(c.guests),
                    quote: serde_json::to_string(&c.quote).unwrap_or_default(),
                    total_cents: cents(c.quote.total),
                })
            }
            E::PaymentLinkCreated(l) => e.payment_link = Some(l.init_point.clone()),
            E::UnderpaymentReceived(u) => e.paid = cents(u.payment.amount),
            E::ManualPaymentRecorded(m) => e.paid = cents(m.amount),
            E::LatePaymentRejected(r) => e.paid = cents(r.payment.amount),
            E::PaymentRecorded(p) if p.payment.status == PaymentStatus::Approved => {
                e.paid = cents(p.payment.amount)
            }
            E::RefundDue(r) => e.refunded = cents(r.amount),
            E::PaymentReversed(r) => e.refunded = cents(r.amount),
            _ => {}
        }
        e
    }

    fn fold_into(self, row: &mut ResRow) {
        if let Some(s) = self.status {
            row.status = s;
        }
        row.paid_cents += self.paid;
        row.refunded_cents += self.refunded;
        if self.payment_reference.is_some() {
            row.payment_reference = self.payment_reference;
        }
        if self.payment_link.is_some() {
            row.payment_link = self.payment_link;
        }
        if let Some(x) = self.expires_at_ms {
            row.expires_at_ms = x;
            row.extended = 1;
        }
        if let Some((by, reason)) = self.cancelled {
            row.cancelled_by = Some(by);
            row.cancel_reason = Some(reason);
        }
        if let Some(stay) = self.stay {
            row.check_in = stay.check_in;
            row.check_out = stay.check_out;
            row.nights = stay.nights;
            row.guests = stay.guests;
            row.quote = stay.quote;
            row.total_cents = stay.total_cents;
        }
    }

    /// Applies the change to a reservation stored by an earlier batch.
    async fn update(
        self,
        tx: &mut Tx,
        names: Names,
        rid: &str,
        at: i64,
        position: i64,
    ) -> Result<(), ProjectionError> {
        if let Some(stay) = &self.stay {
            // Rare next to payments and status changes: a statement of its own rather than six
            // more parameters on every update.
            exec!(
                &mut *tx,
                names.sql(
                    "UPDATE rm_reservations{s} SET check_in = $2, check_out = $3, nights = $4, \
                     guests = $5, quote = $6, total_cents = $7 WHERE id = $1"
                ),
                rid.to_owned(),
                stay.check_in,
                stay.check_out,
                stay.nights,
                stay.guests,
                stay.quote.clone(),
                stay.total_cents
            )?;
        }
        let (by, reason) = match self.cancelled {
            Some((by, reason)) => (Some(by.to_owned()), Some(reason)),
            None => (None, None),
        };
        exec!(
            &mut *tx,
            names.sql(
                "UPDATE rm_reservations{s} SET status = COALESCE($2, status), \
                 paid_cents = paid_cents + $3, refunded_cents = refunded_cents + $4, \
                 payment_reference = COALESCE($5, payment_reference), \
                 payment_link = COALESCE($6, payment_link), \
                 expires_at_ms = COALESCE($7, expires_at_ms), \
                 extended = CASE WHEN $7 IS NULL THEN extended ELSE 1 END, \
                 cancelled_by = COALESCE($8, cancelled_by), cancel_reason = COALESCE($9, cancel_reason), \
                 updated_at_ms = $10, last_position = $11 WHERE id = $1"
            ),
            rid.to_owned(),
            self.status.map(|s| s.as_str().to_owned()),
            self.paid,
            self.refunded,
            self.payment_reference,
            self.payment_link,
            self.expires_at_ms,
            by,
            reason,
            at,
            position
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ReservationStatus;
    use domain::accommodation::ReservationStatus as Domain;

    #[test]
    fn every_status_reads_back_from_the_word_it_is_stored_as() {
        for s in ReservationStatus::ALL {
            assert_eq!(ReservationStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ReservationStatus::parse("Held"), None);
        assert_eq!(ReservationStatus::parse(""), None);
    }

    #[test]
    fn json_shows_the_same_word_as_the_domain_status() {
        for d in [
            Domain::Held,
            Domain::Confirmed,
            Domain::Cancelled,
            Domain::Expired,
        ] {
            let ours = ReservationStatus::from(d);
            assert_eq!(
                serde_json::to_value(ours).ok(),
                serde_json::to_value(d).ok()
            );
            assert_eq!(
                serde_json::to_value(ours).ok(),
                Some(serde_json::Value::from(ours.as_str()))
            );
        }
    }
}
