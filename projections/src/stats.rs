//! Stats for the owner: occupancy per accommodation and month, revenue by month and channel,
//! and how many holds converted, expired or were cancelled (by the month they were placed).
//! Months are Argentine local months (UTC−3).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::{AccommodationEvent, StayDates};
use eventstore::RecordedEvent;

use crate::availability::channel_name;
use crate::sql::{Names, Tx, cents};
use crate::{Decoded, Projection, ProjectionError, decode, exec, tx_fetch};

pub struct Stats;

fn month_of(t: DateTime<Utc>) -> String {
    (t - Duration::hours(3)).format("%Y-%m").to_string()
}

fn nights_by_month(check_in: NaiveDate, check_out: NaiveDate) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    if let Ok(stay) = StayDates::new(check_in, check_out) {
        for night in stay.each_night() {
            *out.entry(night.format("%Y-%m").to_string()).or_insert(0) += 1;
        }
    }
    out
}

async fn occupancy(
    tx: &mut Tx,
    names: Names,
    accommodation: &str,
    check_in: NaiveDate,
    check_out: NaiveDate,
    column: &str,
    sign: i64,
) -> Result<(), ProjectionError> {
    for (month, nights) in nights_by_month(check_in, check_out) {
        let booked = if column == "booked" { nights * sign } else { 0 };
        let blocked = if column == "blocked" {
            nights * sign
        } else {
            0
        };
        exec!(
            &mut *tx,
            names.sql(
                "INSERT INTO rm_stats_occupancy{s} (accommodation_id, month, booked_nights, blocked_nights) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (accommodation_id, month) DO UPDATE SET \
                 booked_nights = rm_stats_occupancy{s}.booked_nights + excluded.booked_nights, \
                 blocked_nights = rm_stats_occupancy{s}.blocked_nights + excluded.blocked_nights"
            ),
            accommodation.to_owned(),
            month,
            booked,
            blocked
        )?;
    }
    Ok(())
}

async fn holds(
    tx: &mut Tx,
    names: Names,
    month: &str,
    column: &str,
) -> Result<(), ProjectionError> {
    let one = |c: &str| i64::from(c == column);
    exec!(
        &mut *tx,
        names.sql(
            "INSERT INTO rm_stats_holds{s} (month, placed, converted, expired, cancelled) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (month) DO UPDATE SET \
             placed = rm_stats_holds{s}.placed + excluded.placed, \
             converted = rm_stats_holds{s}.converted + excluded.converted, \
             expired = rm_stats_holds{s}.expired + excluded.expired, \
             cancelled = rm_stats_holds{s}.cancelled + excluded.cancelled"
        ),
        month.to_owned(),
        one("placed"),
        one("converted"),
        one("expired"),
        one("cancelled")
    )?;
    Ok(())
}

type ResRow = (String, NaiveDate, NaiveDate, String, String);

async fn reservation(
    tx: &mut Tx,
    names: Names,
    id: String,
) -> Result<Option<ResRow>, ProjectionError> {
    Ok(tx_fetch!(
        &mut *tx,
        ResRow,
        fetch_optional,
        names.sql(
            "SELECT accommodation_id, check_in, check_out, channel, placed_month FROM rm_stats_res{s} WHERE reservation_id = $1"
        ),
        id
    )?)
}

#[async_trait]
impl Projection for Stats {
    fn name(&self) -> &'static str {
        "stats"
    }

    fn schema_version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "rm_stats_occupancy{s}",
            "rm_stats_revenue{s}",
            "rm_stats_holds{s}",
            "rm_stats_res{s}",
        ]
    }

    fn ddl(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE rm_stats_occupancy{s} (
                accommodation_id TEXT NOT NULL,
                month            TEXT NOT NULL,
                booked_nights    BIGINT NOT NULL,
                blocked_nights   BIGINT NOT NULL,
                PRIMARY KEY (accommodation_id, month)
            )",
            "CREATE TABLE rm_stats_revenue{s} (
                month        TEXT NOT NULL,
                channel      TEXT NOT NULL,
                amount_cents BIGINT NOT NULL,
                reservations BIGINT NOT NULL,
                PRIMARY KEY (month, channel)
            )",
            "CREATE TABLE rm_stats_holds{s} (
                month     TEXT PRIMARY KEY,
                placed    BIGINT NOT NULL,
                converted BIGINT NOT NULL,
                expired   BIGINT NOT NULL,
                cancelled BIGINT NOT NULL
            )",
            "CREATE TABLE rm_stats_res{s} (
                reservation_id   TEXT PRIMARY KEY,
                accommodation_id TEXT NOT NULL,
                check_in         {date} NOT NULL,
                check_out        {date} NOT NULL,
                channel          TEXT NOT NULL,
                placed_month     TEXT NOT NULL
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
            let Some(Decoded::Accommodation(id, event)) = decode(e)? else {
                continue;
            };
            let acc = id.to_string();
            match event {
                AccommodationEvent::HoldPlaced(h) => {
                    let month = month_of(h.placed_at);
                    exec!(
                        &mut *tx,
                        names.sql(
                            "INSERT INTO rm_stats_res{s} (reservation_id, accommodation_id, check_in, check_out, \
                             channel, placed_month) VALUES ($1, $2, $3, $4, $5, $6)"
                        ),
                        h.reservation_id.to_string(),
                        acc,
                        h.stay.check_in(),
                        h.stay.check_out(),
                        channel_name(h.channel),
                        month.clone()
                    )?;
                    holds(tx, names, &month, "placed").await?;
                }
                AccommodationEvent::Confirmed(c) => {
                    if let Some((acc, ci, co, channel, placed)) =
                        reservation(tx, names, c.reservation_id.to_string()).await?
                    {
                        occupancy(tx, names, &acc, ci, co, "booked", 1).await?;
                        holds(tx, names, &placed, "converted").await?;
                        exec!(
                            &mut *tx,
                            names.sql(
                                "INSERT INTO rm_stats_revenue{s} (month, channel, amount_cents, reservations) \
                                 VALUES ($1, $2, $3, 1) ON CONFLICT (month, channel) DO UPDATE SET \
                                 amount_cents = rm_stats_revenue{s}.amount_cents + excluded.amount_cents, \
                                 reservations = rm_stats_revenue{s}.reservations + 1"
                            ),
                            month_of(c.confirmed_at),
                            channel,
                            cents(c.amount_paid)
                        )?;
                    }
                }
                AccommodationEvent::Cancelled(c) => {
                    if let Some((acc, ci, co, _, placed)) =
                        reservation(tx, names, c.reservation_id.to_string()).await?
                    {
                        if c.was_confirmed {
                            occupancy(tx, names, &acc, ci, co, "booked", -1).await?;
                        }
                        holds(tx, names, &placed, "cancelled").await?;
                    }
                }
                AccommodationEvent::HoldExpired(x) => {
                    if let Some((_, _, _, _, placed)) =
                        reservation(tx, names, x.reservation_id.to_string()).await?
                    {
                        holds(tx, names, &placed, "expired").await?;
                    }
                }
                AccommodationEvent::DatesBlocked(b) => {
                    occupancy(
                        tx,
                        names,
                        &acc,
                        b.stay.check_in(),
                        b.stay.check_out(),
                        "blocked",
                        1,
                    )
                    .await?;
                }
                AccommodationEvent::DatesUnblocked(u) => {
                    occupancy(
                        tx,
                        names,
                        &acc,
                        u.stay.check_in(),
                        u.stay.check_out(),
                        "blocked",
                        -1,
                    )
                    .await?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}
