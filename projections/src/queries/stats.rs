//! The stats read model (`rm_stats_*`): occupancy, revenue and holds by month. Also what its
//! counters cannot give (the panel's average nightly rate, lead time and channel mix): the
//! confirmed stays with their quoted nights, and the nights imported from other channels.

use chrono::{DateTime, NaiveDate, Utc};
use domain::pricing::NightPrice;
use domain::{Money, Quote};
use eventstore::{Db, db_fetch};
use serde::Serialize;

use crate::sql::{from_millis, money_from_cents};

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

/// A confirmed reservation: each night at the price quoted to the guest, and when it was
/// booked (its hold was placed).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SoldStay {
    pub accommodation_id: String,
    pub channel: String,
    pub check_in: NaiveDate,
    pub booked_at: DateTime<Utc>,
    pub nights: Vec<NightPrice>,
}

/// Confirmed reservations with a night in `[from, to)`. A row whose quote cannot be read is
/// left out rather than failing the whole list (as the reservations list does).
pub async fn sold_stays(
    db: &Db,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<SoldStay>, sqlx::Error> {
    let rows: Vec<(String, String, NaiveDate, String, i64)> = db_fetch!(
        db,
        (String, String, NaiveDate, String, i64),
        fetch_all,
        "SELECT accommodation_id, channel, check_in, quote, created_at_ms FROM rm_reservations \
         WHERE status = 'confirmed' AND check_in < $2 AND check_out > $1 ORDER BY check_in"
            .to_owned(),
        from,
        to
    )?;
    Ok(rows
        .into_iter()
        .filter_map(|(accommodation_id, channel, check_in, quote, created)| {
            let quote: Quote = serde_json::from_str(&quote).ok()?;
            Some(SoldStay {
                accommodation_id,
                channel,
                check_in,
                booked_at: from_millis(created),
                nights: quote.per_night,
            })
        })
        .collect())
}

/// Nights another channel's calendar blocked (its bookings, as far as we can know them).
#[derive(Clone, Debug, Serialize, PartialEq, sqlx::FromRow)]
pub struct ImportedStay {
    pub accommodation_id: String,
    pub source: String,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
}

/// Imported stays with a night in `[from, to)`: blocks whose source is not the owner.
pub async fn imported_stays(
    db: &Db,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ImportedStay>, sqlx::Error> {
    db_fetch!(
        db,
        ImportedStay,
        fetch_all,
        "SELECT accommodation_id, source, check_in, check_out FROM rm_stays \
         WHERE status = 'blocked' AND source <> 'admin' AND check_in < $2 AND check_out > $1 \
         ORDER BY check_in"
            .to_owned(),
        from,
        to
    )
}
