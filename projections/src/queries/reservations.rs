//! The reservations read model (`rm_reservations`, `rm_guests`, `rm_timeline`): one
//! reservation by code or id, the admin's search, a reservation's timeline, a guest's name.

use chrono::{DateTime, NaiveDate, Utc};
use domain::{Money, Quote};
use eventstore::{Db, db_fetch};
use serde::Serialize;
use serde_json::Value;

use crate::reservations::ReservationStatus;
use crate::sql::{from_millis, money_from_cents};

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GuestView {
    pub reference: String,
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ReservationView {
    pub id: String,
    pub code: String,
    pub accommodation_id: String,
    pub accommodation_name: Option<String>,
    pub status: ReservationStatus,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub nights: i64,
    pub guests: i64,
    pub channel: String,
    pub quote: Quote,
    pub total: Money,
    pub deposit: Money,
    pub amount_paid: Money,
    /// Given back, or decided to be given back.
    pub refunded: Money,
    /// What the guest still owes of the total (usually paid on arrival): nothing once the
    /// reservation is cancelled or expired.
    pub balance_due: Money,
    pub payment_reference: Option<String>,
    /// The provider's checkout link, once created.
    pub payment_link: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub extended: bool,
    pub guest: GuestView,
    pub cancelled_by: Option<String>,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_position: i64,
}

#[derive(sqlx::FromRow)]
struct ReservationRow {
    id: String,
    code: String,
    accommodation_id: String,
    accommodation_name: Option<String>,
    status: String,
    check_in: NaiveDate,
    check_out: NaiveDate,
    nights: i64,
    guests: i64,
    channel: String,
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
    guest_name: Option<String>,
    guest_phone: Option<String>,
    cancelled_by: Option<String>,
    cancel_reason: Option<String>,
    created_at_ms: i64,
    updated_at_ms: i64,
    last_position: i64,
}

impl ReservationRow {
    /// `None` for a row this version cannot read (an unknown status, an unreadable quote): it
    /// is left out rather than failing the whole list.
    fn view(self) -> Option<ReservationView> {
        let status = ReservationStatus::parse(&self.status)?;
        // As `Reservation::balance_due` has it, from the row's sums.
        let balance_due = if matches!(
            status,
            ReservationStatus::Held | ReservationStatus::Confirmed
        ) {
            (self.total_cents - (self.paid_cents - self.refunded_cents)).max(0)
        } else {
            0
        };
        Some(ReservationView {
            balance_due: money_from_cents(balance_due),
            quote: serde_json::from_str(&self.quote).ok()?,
            id: self.id,
            code: self.code,
            accommodation_id: self.accommodation_id,
            accommodation_name: self.accommodation_name,
            status,
            check_in: self.check_in,
            check_out: self.check_out,
            nights: self.nights,
            guests: self.guests,
            channel: self.channel,
            total: money_from_cents(self.total_cents),
            deposit: money_from_cents(self.deposit_cents),
            amount_paid: money_from_cents(self.paid_cents),
            refunded: money_from_cents(self.refunded_cents),
            payment_reference: self.payment_reference,
            payment_link: self.payment_link,
            expires_at: from_millis(self.expires_at_ms),
            extended: self.extended != 0,
            guest: GuestView {
                reference: self.guest_ref,
                name: self.guest_name,
                phone: self.guest_phone,
            },
            cancelled_by: self.cancelled_by,
            cancel_reason: self.cancel_reason,
            created_at: from_millis(self.created_at_ms),
            updated_at: from_millis(self.updated_at_ms),
            last_position: self.last_position,
        })
    }
}

const RESERVATION_SELECT: &str = "SELECT r.id, r.code, r.accommodation_id, a.name AS accommodation_name, \
     r.status, r.check_in, r.check_out, r.nights, r.guests, r.channel, r.quote, r.total_cents, \
     r.deposit_cents, r.paid_cents, r.refunded_cents, r.payment_reference, r.payment_link, r.expires_at_ms, r.extended, r.guest_ref, \
     g.name AS guest_name, g.phone AS guest_phone, r.cancelled_by, r.cancel_reason, r.created_at_ms, \
     r.updated_at_ms, r.last_position \
     FROM rm_reservations r \
     LEFT JOIN rm_accommodations a ON a.id = r.accommodation_id \
     LEFT JOIN rm_guests g ON g.guest_ref = r.guest_ref";

pub async fn reservation_by_code(
    db: &Db,
    code: &str,
) -> Result<Option<ReservationView>, sqlx::Error> {
    let row: Option<ReservationRow> = db_fetch!(
        db,
        ReservationRow,
        fetch_optional,
        format!("{RESERVATION_SELECT} WHERE r.code = $1"),
        code.to_owned()
    )?;
    Ok(row.and_then(ReservationRow::view))
}

pub async fn reservation_by_id(db: &Db, id: &str) -> Result<Option<ReservationView>, sqlx::Error> {
    let row: Option<ReservationRow> = db_fetch!(
        db,
        ReservationRow,
        fetch_optional,
        format!("{RESERVATION_SELECT} WHERE r.id = $1"),
        id.to_owned()
    )?;
    Ok(row.and_then(ReservationRow::view))
}

/// Filters for the admin list; every field is optional.
#[derive(Clone, Debug, Default)]
pub struct ReservationFilter {
    pub status: Option<ReservationStatus>,
    /// Stays that overlap `[from, to)`.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub accommodation_id: Option<String>,
    pub channel: Option<String>,
    /// Free text: part of the guest's name or phone, or a reservation code.
    pub q: Option<String>,
    /// One guest's reservations (`guest-{id}`).
    pub guest_ref: Option<String>,
    /// Newest placed first (the owner's panel), instead of by arrival.
    pub newest_first: bool,
    pub limit: i64,
    pub offset: i64,
}

/// Lower case without accents: `Pérez` is found by `perez`, as guests and owners type it.
pub use domain::text::fold;

pub async fn search_reservations(
    db: &Db,
    f: &ReservationFilter,
) -> Result<Vec<ReservationView>, sqlx::Error> {
    // Absent filters are bound as NULL and switch their clause off, so one statement (and one
    // cached plan) serves every combination.
    let q =
        f.q.as_ref()
            .map(|q| format!("%{}%", fold(q.trim()).replace(['%', '_'], "")));
    let code = f.q.as_ref().map(|q| q.trim().to_uppercase());
    // Two fixed orders, chosen here and never taken from input.
    let order = if f.newest_first {
        "r.created_at_ms DESC, r.code DESC"
    } else {
        "r.check_in, r.code"
    };
    let sql = format!(
        "{RESERVATION_SELECT} WHERE ($1 IS NULL OR r.status = $1) \
         AND ($2 IS NULL OR r.check_out > $2) AND ($3 IS NULL OR r.check_in < $3) \
         AND ($4 IS NULL OR r.accommodation_id = $4) AND ($5 IS NULL OR r.channel = $5) \
         AND ($6 IS NULL OR g.search LIKE $6 OR r.code = $7) \
         AND ($10 IS NULL OR r.guest_ref = $10) \
         ORDER BY {order} LIMIT $8 OFFSET $9"
    );
    // The same binds for both backends, in placeholder order.
    macro_rules! run {
        ($sql:expr, $pool:expr) => {
            sqlx::query_as(sqlx::AssertSqlSafe($sql))
                .bind(f.status.map(ReservationStatus::as_str))
                .bind(f.from)
                .bind(f.to)
                .bind(f.accommodation_id.clone())
                .bind(f.channel.clone())
                .bind(q)
                .bind(code)
                .bind(f.limit)
                .bind(f.offset)
                .bind(f.guest_ref.clone())
                .fetch_all($pool)
                .await?
        };
    }
    let rows: Vec<ReservationRow> = match db {
        Db::Postgres(p) => {
            // PostgreSQL must know each parameter's type even when it is NULL.
            let sql = sql
                .replace("$1 IS NULL", "$1::text IS NULL")
                .replace("$2 IS NULL", "$2::date IS NULL")
                .replace("$3 IS NULL", "$3::date IS NULL")
                .replace("$4 IS NULL", "$4::text IS NULL")
                .replace("$5 IS NULL", "$5::text IS NULL")
                .replace("$6 IS NULL", "$6::text IS NULL")
                .replace("$10 IS NULL", "$10::text IS NULL");
            run!(sql, p)
        }
        Db::Sqlite(p) => {
            run!(sql, p)
        }
    };
    Ok(rows.into_iter().filter_map(ReservationRow::view).collect())
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TimelineEntry {
    pub position: i64,
    pub stream_id: String,
    pub stream_version: i64,
    pub event_type: String,
    pub recorded_at: DateTime<Utc>,
    /// Actor, source, causation and correlation, as recorded with the event.
    pub metadata: Value,
}

pub async fn timeline(db: &Db, reservation_id: &str) -> Result<Vec<TimelineEntry>, sqlx::Error> {
    let rows: Vec<(i64, String, i64, String, i64, String)> = db_fetch!(
        db,
        (i64, String, i64, String, i64, String),
        fetch_all,
        "SELECT position, stream_id, stream_version, event_type, recorded_at_ms, metadata \
         FROM rm_timeline WHERE reservation_id = $1 ORDER BY position"
            .to_owned(),
        reservation_id.to_owned()
    )?;
    Ok(rows
        .into_iter()
        .map(
            |(position, stream_id, stream_version, event_type, at, metadata)| TimelineEntry {
                position,
                stream_id,
                stream_version,
                event_type,
                recorded_at: from_millis(at),
                metadata: serde_json::from_str(&metadata).unwrap_or(Value::Null),
            },
        )
        .collect())
}

/// The name and phone the guests read model has for a guest (`None`: never recorded, or
/// erased).
pub async fn guest_name_and_phone(
    db: &Db,
    guest_ref: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    db_fetch!(
        db,
        (String, String),
        fetch_optional,
        "SELECT name, phone FROM rm_guests WHERE guest_ref = $1".to_owned(),
        guest_ref.to_owned()
    )
}
