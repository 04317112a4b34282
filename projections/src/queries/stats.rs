//! The stats read model (`rm_stats_*`): occupancy, revenue and holds by month.

use chrono::NaiveDate;
use domain::Money;
use eventstore::{Db, db_fetch};
use serde::Serialize;

use crate::sql::money_from_cents;

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
