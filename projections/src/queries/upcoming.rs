//! What the schedulers read from the reservations read model: confirmed arrivals and
//! departures by day, and unpaid holds near their end.

use chrono::{DateTime, NaiveDate, Utc};
use domain::Money;
use domain::payment::PaymentStatus;
use eventstore::{Db, db_fetch};

use crate::reservations::ReservationStatus;
use crate::sql::{from_millis, money_from_cents};

/// A confirmed check-in, with its cabin's clock (for "tomorrow" on the owner's calendar).
#[derive(Clone, Debug, PartialEq)]
pub struct CheckIn {
    pub reservation_id: String,
    pub code: String,
    pub accommodation_id: String,
    pub guest_ref: String,
    pub check_in: NaiveDate,
    pub utc_offset_minutes: i32,
}

/// Confirmed reservations (of registered cabins) checking in from `from` to `until`, both
/// included, by check-in, at most 500.
pub async fn confirmed_check_ins(
    db: &Db,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<CheckIn>, sqlx::Error> {
    let rows: Vec<(String, String, String, String, NaiveDate, i64)> = db_fetch!(
        db,
        (String, String, String, String, NaiveDate, i64),
        fetch_all,
        "SELECT r.id, r.code, r.accommodation_id, r.guest_ref, r.check_in, a.utc_offset_minutes \
         FROM rm_reservations r JOIN rm_accommodations a ON a.id = r.accommodation_id \
         WHERE r.status = $3 \
         AND r.check_in >= $1 AND r.check_in <= $2 ORDER BY r.check_in LIMIT 500"
            .to_owned(),
        from,
        until,
        ReservationStatus::Confirmed.as_str()
    )?;
    Ok(rows
        .into_iter()
        .map(
            |(reservation_id, code, accommodation_id, guest_ref, check_in, offset)| CheckIn {
                reservation_id,
                code,
                accommodation_id,
                guest_ref,
                check_in,
                utc_offset_minutes: offset as i32,
            },
        )
        .collect())
}

/// A confirmed arrival, as the owner's agenda lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct ArrivalView {
    pub check_in: NaiveDate,
    /// The cabin's name (empty if the accommodations read model does not have it).
    pub cabin: String,
    pub code: String,
    pub guest: Option<String>,
    pub guests: i64,
    /// What is left to collect of the total.
    pub due: Money,
}

/// The confirmed arrivals from `from` to `until` (both included), by day and cabin, at most
/// `limit`.
pub async fn confirmed_arrivals(
    db: &Db,
    from: NaiveDate,
    until: NaiveDate,
    limit: i64,
) -> Result<Vec<ArrivalView>, sqlx::Error> {
    type Row = (
        NaiveDate,
        String,
        String,
        Option<String>,
        i64,
        i64,
        i64,
        i64,
    );
    let rows: Vec<Row> = db_fetch!(
        db,
        Row,
        fetch_all,
        "SELECT r.check_in, COALESCE(a.name, ''), r.code, g.name, r.guests, r.total_cents, \
         r.paid_cents, r.refunded_cents FROM rm_reservations r \
         LEFT JOIN rm_accommodations a ON a.id = r.accommodation_id \
         LEFT JOIN rm_guests g ON g.guest_ref = r.guest_ref \
         WHERE r.status = $4 AND r.check_in >= $1 AND r.check_in <= $2 \
         ORDER BY r.check_in, a.name LIMIT $3"
            .to_owned(),
        from,
        until,
        limit,
        ReservationStatus::Confirmed.as_str()
    )?;
    Ok(rows
        .into_iter()
        .map(
            |(check_in, cabin, code, guest, guests, total, paid, refunded)| ArrivalView {
                check_in,
                cabin,
                code,
                guest,
                guests,
                due: money_from_cents((total - (paid - refunded)).max(0)),
            },
        )
        .collect())
}

/// A confirmed departure.
#[derive(Clone, Debug, PartialEq)]
pub struct DepartureView {
    pub code: String,
    /// The cabin's name (empty if the accommodations read model does not have it).
    pub cabin: String,
    pub guest: Option<String>,
}

/// The confirmed reservations checking out on `day`, by cabin, at most `limit`.
pub async fn confirmed_departures(
    db: &Db,
    day: NaiveDate,
    limit: i64,
) -> Result<Vec<DepartureView>, sqlx::Error> {
    let rows: Vec<(String, String, Option<String>)> = db_fetch!(
        db,
        (String, String, Option<String>),
        fetch_all,
        "SELECT r.code, COALESCE(a.name, ''), g.name FROM rm_reservations r \
         LEFT JOIN rm_accommodations a ON a.id = r.accommodation_id \
         LEFT JOIN rm_guests g ON g.guest_ref = r.guest_ref \
         WHERE r.status = $3 AND r.check_out = $1 ORDER BY a.name LIMIT $2"
            .to_owned(),
        day,
        limit,
        ReservationStatus::Confirmed.as_str()
    )?;
    Ok(rows
        .into_iter()
        .map(|(code, cabin, guest)| DepartureView { code, cabin, guest })
        .collect())
}

/// A hold with nothing paid, a payment link and no payment in the works.
#[derive(Clone, Debug, PartialEq)]
pub struct UnpaidHold {
    pub reservation_id: String,
    pub code: String,
    pub guest_ref: String,
    pub accommodation_name: Option<String>,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub deposit: Money,
    pub payment_link: String,
    /// Where it was booked (`whatsapp`, `direct`…).
    pub channel: String,
}

/// Holds still running at `now` with nothing paid, a payment link, and no payment pending,
/// in process or authorized; the soonest to lapse first, at most 500.
pub async fn unpaid_holds(db: &Db, now: DateTime<Utc>) -> Result<Vec<UnpaidHold>, sqlx::Error> {
    type Row = (
        String,
        String,
        String,
        Option<String>,
        NaiveDate,
        NaiveDate,
        i64,
        i64,
        i64,
        String,
        String,
    );
    let rows: Vec<Row> = db_fetch!(
        db,
        Row,
        fetch_all,
        "SELECT r.id, r.code, r.guest_ref, a.name, r.check_in, r.check_out, r.created_at_ms, \
         r.expires_at_ms, r.deposit_cents, r.payment_link, r.channel FROM rm_reservations r \
         LEFT JOIN rm_accommodations a ON a.id = r.accommodation_id \
         WHERE r.status = $2 AND r.paid_cents = 0 \
         AND r.payment_link IS NOT NULL AND r.expires_at_ms > $1 \
         AND NOT EXISTS (SELECT 1 FROM rm_payments p WHERE p.reservation_id = r.id \
           AND p.status IN ($3, $4, $5)) \
         ORDER BY r.expires_at_ms LIMIT 500"
            .to_owned(),
        now.timestamp_millis(),
        ReservationStatus::Held.as_str(),
        PaymentStatus::Pending.as_str(),
        PaymentStatus::InProcess.as_str(),
        PaymentStatus::Authorized.as_str()
    )?;
    Ok(rows
        .into_iter()
        .map(
            |(
                reservation_id,
                code,
                guest_ref,
                accommodation_name,
                check_in,
                check_out,
                created,
                expires,
                deposit,
                payment_link,
                channel,
            )| UnpaidHold {
                reservation_id,
                code,
                guest_ref,
                accommodation_name,
                check_in,
                check_out,
                created_at: from_millis(created),
                expires_at: from_millis(expires),
                deposit: money_from_cents(deposit),
                payment_link,
                channel,
            },
        )
        .collect())
}
