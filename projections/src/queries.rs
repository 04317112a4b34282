//! What the API reads from the live read models.

use chrono::{DateTime, NaiveDate, Utc};
use domain::accommodation::validate_stay;
use domain::{Money, Pricing, Quote, StayDates};
use eventstore::Db;
use serde::Serialize;
use serde_json::Value;

use crate::db_fetch;
use crate::sql::{from_millis, money_from_cents};

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AccommodationView {
    pub id: String,
    pub name: String,
    pub capacity: u32,
    pub min_nights: u32,
    pub check_in_time: String,
    pub check_out_time: String,
    pub pricing: Pricing,
    /// The owner's time zone, for "today" in stay rules.
    #[serde(skip)]
    pub utc_offset_minutes: i32,
}

#[derive(sqlx::FromRow)]
struct AccommodationRow {
    id: String,
    name: String,
    capacity: i64,
    pricing: String,
    min_nights: i64,
    check_in_time: String,
    check_out_time: String,
    utc_offset_minutes: i64,
}

impl AccommodationRow {
    fn view(self) -> Option<AccommodationView> {
        Some(AccommodationView {
            id: self.id,
            name: self.name,
            capacity: u32::try_from(self.capacity).ok()?,
            min_nights: u32::try_from(self.min_nights).ok()?,
            check_in_time: self.check_in_time,
            check_out_time: self.check_out_time,
            // Written by the projection from a valid Pricing; unreadable would mean corruption,
            // and such a row is left out rather than failing the whole list.
            pricing: serde_json::from_str(&self.pricing).ok()?,
            utc_offset_minutes: i32::try_from(self.utc_offset_minutes).ok()?,
        })
    }
}

const ACCOMMODATION_COLUMNS: &str =
    "id, name, capacity, pricing, min_nights, check_in_time, check_out_time, utc_offset_minutes";

pub async fn accommodations(db: &Db) -> Result<Vec<AccommodationView>, sqlx::Error> {
    let rows: Vec<AccommodationRow> = db_fetch!(
        db,
        AccommodationRow,
        fetch_all,
        format!("SELECT {ACCOMMODATION_COLUMNS} FROM rm_accommodations ORDER BY name, id")
    )?;
    Ok(rows
        .into_iter()
        .filter_map(AccommodationRow::view)
        .collect())
}

pub async fn accommodation(db: &Db, id: &str) -> Result<Option<AccommodationView>, sqlx::Error> {
    let row: Option<AccommodationRow> = db_fetch!(
        db,
        AccommodationRow,
        fetch_optional,
        format!("SELECT {ACCOMMODATION_COLUMNS} FROM rm_accommodations WHERE id = $1"),
        id.to_owned()
    )?;
    Ok(row.and_then(AccommodationRow::view))
}

/// Accommodations for `guests` with no active stay on any night of `[check_in, check_out)`.
/// A hold whose expiry has passed no longer counts, even before the scheduler records it.
pub async fn free_accommodations(
    db: &Db,
    check_in: NaiveDate,
    check_out: NaiveDate,
    guests: u32,
    now: DateTime<Utc>,
) -> Result<Vec<AccommodationView>, sqlx::Error> {
    let rows: Vec<AccommodationRow> = db_fetch!(
        db,
        AccommodationRow,
        fetch_all,
        format!(
            "SELECT {ACCOMMODATION_COLUMNS} FROM rm_accommodations a WHERE capacity >= $1 AND NOT EXISTS ( \
             SELECT 1 FROM rm_stays s WHERE s.accommodation_id = a.id AND s.check_in < $3 AND s.check_out > $2 \
             AND (s.expires_at_ms IS NULL OR s.expires_at_ms > $4)) ORDER BY name, id"
        ),
        i64::from(guests),
        check_in,
        check_out,
        now.timestamp_millis()
    )?;
    Ok(rows
        .into_iter()
        .filter_map(AccommodationRow::view)
        .collect())
}

/// The accommodations a guest can book for `stay` now: free those nights, and whose own rules
/// (capacity, minimum nights, no past check-in) take it; each with its quote.
pub async fn bookable(
    db: &Db,
    stay: &StayDates,
    guests: u32,
    now: DateTime<Utc>,
) -> Result<Vec<(AccommodationView, Quote)>, sqlx::Error> {
    let free = free_accommodations(db, stay.check_in(), stay.check_out(), guests, now).await?;
    Ok(free
        .into_iter()
        .filter(|a| {
            validate_stay(
                a.capacity,
                a.min_nights,
                a.utc_offset_minutes,
                stay,
                guests,
                now,
            )
            .is_ok()
        })
        .map(|a| {
            let quote = a.pricing.quote(stay);
            (a, quote)
        })
        .collect())
}

#[derive(Clone, Debug, Serialize, PartialEq, sqlx::FromRow)]
pub struct StayView {
    pub occupant_id: String,
    pub status: String,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    #[serde(skip)]
    pub expires_at_ms: Option<i64>,
    pub code: Option<String>,
    pub source: String,
    pub external_uid: Option<String>,
}

/// One night of one accommodation.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NightView {
    pub date: NaiveDate,
    /// `free`, `held`, `confirmed` or `blocked`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_uid: Option<String>,
}

/// Night-by-night status of `[from, to)`.
pub async fn calendar(
    db: &Db,
    accommodation_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<NightView>, sqlx::Error> {
    let stays: Vec<StayView> = db_fetch!(
        db,
        StayView,
        fetch_all,
        "SELECT occupant_id, status, check_in, check_out, expires_at_ms, code, source, external_uid \
         FROM rm_stays WHERE accommodation_id = $1 AND check_in < $3 AND check_out > $2"
            .to_owned(),
        accommodation_id.to_owned(),
        from,
        to
    )?;
    let live: Vec<&StayView> = stays
        .iter()
        .filter(|s| s.expires_at_ms.is_none_or(|ms| ms > now.timestamp_millis()))
        .collect();
    Ok(from
        .iter_days()
        .take_while(|d| *d < to)
        .map(|date| {
            match live
                .iter()
                .find(|s| s.check_in <= date && date < s.check_out)
            {
                Some(s) => NightView {
                    date,
                    status: s.status.clone(),
                    code: s.code.clone(),
                    source: Some(s.source.clone()),
                    external_uid: s.external_uid.clone(),
                },
                None => NightView {
                    date,
                    status: "free".into(),
                    code: None,
                    source: None,
                    external_uid: None,
                },
            }
        })
        .collect())
}

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
    pub status: String,
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
    fn view(self) -> Option<ReservationView> {
        // As `Reservation::balance_due` has it, from the row's sums.
        let balance_due = if matches!(self.status.as_str(), "held" | "confirmed") {
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
            status: self.status,
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
    pub status: Option<String>,
    /// Stays that overlap `[from, to)`.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub accommodation_id: Option<String>,
    pub channel: Option<String>,
    /// Free text: part of the guest's name or phone, or a reservation code.
    pub q: Option<String>,
    /// One guest's reservations (`guest-{id}`).
    pub guest_ref: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// Lower case without accents: `Pérez` is found by `perez`, as guests and owners type it.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'ä' | 'â' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' => 'o',
            'ú' | 'ù' | 'ü' | 'û' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

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
    let sql = format!(
        "{RESERVATION_SELECT} WHERE ($1 IS NULL OR r.status = $1) \
         AND ($2 IS NULL OR r.check_out > $2) AND ($3 IS NULL OR r.check_in < $3) \
         AND ($4 IS NULL OR r.accommodation_id = $4) AND ($5 IS NULL OR r.channel = $5) \
         AND ($6 IS NULL OR g.search LIKE $6 OR r.code = $7) \
         AND ($10 IS NULL OR r.guest_ref = $10) \
         ORDER BY r.check_in, r.code LIMIT $8 OFFSET $9"
    );
    // The same binds for both backends, in placeholder order.
    macro_rules! run {
        ($sql:expr, $pool:expr) => {
            sqlx::query_as(sqlx::AssertSqlSafe($sql))
                .bind(f.status.clone())
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

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OccupancyRow {
    pub accommodation_id: String,
    pub month: String,
    pub booked_nights: i64,
    pub blocked_nights: i64,
    /// Booked nights over the nights in the month.
    pub occupancy: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RevenueRow {
    pub month: String,
    pub channel: String,
    pub amount: Money,
    pub reservations: i64,
}

#[derive(Clone, Debug, Serialize, PartialEq, sqlx::FromRow)]
pub struct HoldsRow {
    pub month: String,
    pub placed: i64,
    pub converted: i64,
    pub expired: i64,
    pub cancelled: i64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StatsView {
    pub occupancy: Vec<OccupancyRow>,
    pub revenue: Vec<RevenueRow>,
    pub holds: Vec<HoldsRow>,
}

fn days_in_month(month: &str) -> i64 {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d");
    match first {
        Ok(first) => {
            let next = first
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(first);
            (next - first).num_days().max(1)
        }
        Err(_) => 30,
    }
}

pub async fn stats(db: &Db) -> Result<StatsView, sqlx::Error> {
    let occupancy: Vec<(String, String, i64, i64)> = db_fetch!(
        db,
        (String, String, i64, i64),
        fetch_all,
        "SELECT accommodation_id, month, booked_nights, blocked_nights FROM rm_stats_occupancy \
         ORDER BY month, accommodation_id"
            .to_owned()
    )?;
    let revenue: Vec<(String, String, i64, i64)> = db_fetch!(
        db,
        (String, String, i64, i64),
        fetch_all,
        "SELECT month, channel, amount_cents, reservations FROM rm_stats_revenue ORDER BY month, channel"
            .to_owned()
    )?;
    let holds: Vec<HoldsRow> = db_fetch!(
        db,
        HoldsRow,
        fetch_all,
        "SELECT month, placed, converted, expired, cancelled FROM rm_stats_holds ORDER BY month"
            .to_owned()
    )?;
    Ok(StatsView {
        occupancy: occupancy
            .into_iter()
            .map(|(accommodation_id, month, booked, blocked)| OccupancyRow {
                occupancy: booked as f64 / days_in_month(&month) as f64,
                accommodation_id,
                month,
                booked_nights: booked,
                blocked_nights: blocked,
            })
            .collect(),
        revenue: revenue
            .into_iter()
            .map(|(month, channel, cents, reservations)| RevenueRow {
                month,
                channel,
                amount: money_from_cents(cents),
                reservations,
            })
            .collect(),
        holds,
    })
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
