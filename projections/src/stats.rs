//! Stats for the owner: occupancy per accommodation and month, revenue by month and channel,
//! and how many holds converted, expired or were cancelled (by the month they were placed).
//! Months are Argentine local months (UTC−3).
//!
//! Revenue is the money the reservations of a channel brought in that month, net: every payment
//! received (a deposit, a short first payment, the balance through Mercado Pago or by hand, a
//! late one) less what was decided to be given back or the provider took back. `reservations`
//! counts the confirmations of the month.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::payment::PaymentStatus;
use domain::{AccommodationEvent, StayDates};

use crate::availability::channel_name;
use crate::sql::{Names, Param, Tx, cents, insert_rows};
use crate::{Batch, Projection, ProjectionError, Schema, accommodation_events, exec, tx_fetch};

pub struct Stats;

/// The month, in Argentina, an event at `t` falls in (the domain's rule for a local day).
fn month_of(t: DateTime<Utc>) -> String {
    domain::accommodation::local_today(t, domain::accommodation::ARGENTINA_UTC_OFFSET_MINUTES)
        .format("%Y-%m")
        .to_string()
}

type ResRow = (String, NaiveDate, NaiveDate, String, String);

fn nights_by_month(check_in: NaiveDate, check_out: NaiveDate) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    if let Ok(stay) = StayDates::new(check_in, check_out) {
        for night in stay.each_night() {
            *out.entry(night.format("%Y-%m").to_string()).or_insert(0) += 1;
        }
    }
    out
}

/// Centavos an event brought in (or, negative, gave back) besides a confirmation's own payment,
/// and when, by the event's own clock. Not the log's `recorded_at`: a history imported into
/// another store (a migration, an auditor's replay) is recorded again, and the money must stay
/// in the month it moved.
fn money_moved(event: &AccommodationEvent) -> Option<(i64, DateTime<Utc>)> {
    use AccommodationEvent as E;
    match event {
        E::UnderpaymentReceived(u) => Some((cents(u.payment.amount), u.received_at)),
        E::PaymentRecorded(p) if p.payment.status == PaymentStatus::Approved => {
            Some((cents(p.payment.amount), p.recorded_at))
        }
        E::ManualPaymentRecorded(m) => Some((cents(m.amount), m.recorded_at)),
        // Received, and given back by the `RefundDue` that comes with it.
        E::LatePaymentRejected(r) => Some((cents(r.payment.amount), r.rejected_at)),
        E::RefundDue(r) => Some((-cents(r.amount), r.due_at)),
        E::PaymentReversed(r) => Some((-cents(r.amount), r.reversed_at)),
        _ => None,
    }
}

/// A batch's effect on the counters, summed in memory and written once per key.
#[derive(Default)]
struct Deltas {
    /// (accommodation, month) → (booked nights, blocked nights)
    occupancy: BTreeMap<(String, String), (i64, i64)>,
    /// month → placed, converted, expired, cancelled
    holds: BTreeMap<String, [i64; 4]>,
    /// (month, channel) → (centavos, reservations)
    revenue: BTreeMap<(String, String), (i64, i64)>,
    /// Reservations first seen in this batch, inserted at the end.
    new: Vec<(String, ResRow)>,
    /// Every reservation this batch has looked at, by id.
    known: BTreeMap<String, ResRow>,
}

impl Deltas {
    fn nights(&mut self, acc: &str, ci: NaiveDate, co: NaiveDate, blocked: bool, sign: i64) {
        for (month, n) in nights_by_month(ci, co) {
            let e = self.occupancy.entry((acc.to_owned(), month)).or_default();
            if blocked {
                e.1 += n * sign;
            } else {
                e.0 += n * sign;
            }
        }
    }

    fn hold(&mut self, month: &str, column: usize) {
        self.holds.entry(month.to_owned()).or_default()[column] += 1;
    }

    async fn reservation(
        &mut self,
        tx: &mut Tx,
        names: Names,
        id: String,
    ) -> Result<Option<ResRow>, ProjectionError> {
        if let Some(r) = self.known.get(&id) {
            return Ok(Some(r.clone()));
        }
        let row: Option<ResRow> = tx_fetch!(
            &mut *tx,
            ResRow,
            fetch_optional,
            names.sql(
                "SELECT accommodation_id, check_in, check_out, channel, placed_month FROM rm_stats_res{s} WHERE reservation_id = $1"
            ),
            id.clone()
        )?;
        if let Some(r) = &row {
            self.known.insert(id, r.clone());
        }
        Ok(row)
    }

    /// A reservation's nights are now `ci..co`: a later cancellation must give back these.
    async fn moved(
        &mut self,
        tx: &mut Tx,
        names: Names,
        id: String,
        ci: NaiveDate,
        co: NaiveDate,
    ) -> Result<(), ProjectionError> {
        if let Some(row) = self.known.get_mut(&id) {
            (row.1, row.2) = (ci, co);
        }
        if let Some((_, row)) = self.new.iter_mut().find(|(rid, _)| *rid == id) {
            (row.1, row.2) = (ci, co);
            return Ok(());
        }
        exec!(
            &mut *tx,
            names.sql(
                "UPDATE rm_stats_res{s} SET check_in = $2, check_out = $3 WHERE reservation_id = $1"
            ),
            id,
            ci,
            co
        )?;
        Ok(())
    }

    async fn flush(self, tx: &mut Tx, names: Names) -> Result<(), ProjectionError> {
        let rows: Vec<Vec<Param>> = self
            .new
            .into_iter()
            .map(|(id, (acc, ci, co, channel, month))| {
                vec![
                    Param::from(id),
                    acc.into(),
                    ci.into(),
                    co.into(),
                    channel.into(),
                    month.into(),
                ]
            })
            .collect();
        insert_rows(
            tx,
            &names.sql(
                "INSERT INTO rm_stats_res{s} (reservation_id, accommodation_id, check_in, check_out, \
                 channel, placed_month)",
            ),
            "",
            &rows,
        )
        .await?;
        for ((acc, month), (booked, blocked)) in self.occupancy {
            exec!(
                &mut *tx,
                names.sql(
                    "INSERT INTO rm_stats_occupancy{s} (accommodation_id, month, booked_nights, blocked_nights) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (accommodation_id, month) DO UPDATE SET \
                     booked_nights = rm_stats_occupancy{s}.booked_nights + excluded.booked_nights, \
                     blocked_nights = rm_stats_occupancy{s}.blocked_nights + excluded.blocked_nights"
                ),
                acc,
                month,
                booked,
                blocked
            )?;
        }
        for (month, [placed, converted, expired, cancelled]) in self.holds {
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
                month,
                placed,
                converted,
                expired,
                cancelled
            )?;
        }
        for ((month, channel), (amount, count)) in self.revenue {
            exec!(
                &mut *tx,
                names.sql(
                    "INSERT INTO rm_stats_revenue{s} (month, channel, amount_cents, reservations) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (month, channel) DO UPDATE SET \
                     amount_cents = rm_stats_revenue{s}.amount_cents + excluded.amount_cents, \
                     reservations = rm_stats_revenue{s}.reservations + excluded.reservations"
                ),
                month,
                channel,
                amount,
                count
            )?;
        }
        Ok(())
    }
}

const PLACED: usize = 0;
const CONVERTED: usize = 1;
const EXPIRED: usize = 2;
const CANCELLED: usize = 3;

const SCHEMA: Schema = Schema {
    name: "stats",
    // 2: revenue counts every payment and refund, not only the payment that confirmed.
    // 3: that money goes in the month of the event's own time, not of its recording.
    version: 3,
    tables: &[
        "rm_stats_occupancy{s}",
        "rm_stats_revenue{s}",
        "rm_stats_holds{s}",
        "rm_stats_res{s}",
    ],
    ddl: &[
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
    ],
    pg_ddl: &[],
};

#[async_trait]
impl Projection for Stats {
    // Long on purpose (see `Projection::apply`): an arm per event that moves a figure.
    async fn apply(&self, batch: Batch<'_>) -> Result<(), ProjectionError> {
        let mut d = Deltas::default();
        for (_, id, event) in accommodation_events(batch.events) {
            let event = event.clone();
            let acc = id.to_string();
            match event {
                AccommodationEvent::HoldPlaced(h) => {
                    let month = month_of(h.placed_at);
                    let row: ResRow = (
                        acc,
                        h.stay.check_in(),
                        h.stay.check_out(),
                        channel_name(h.channel).to_owned(),
                        month.clone(),
                    );
                    let rid = h.reservation_id.to_string();
                    d.known.insert(rid.clone(), row.clone());
                    d.new.push((rid, row));
                    d.hold(&month, PLACED);
                }
                AccommodationEvent::Confirmed(c) => {
                    if let Some((acc, ci, co, channel, placed)) = d
                        .reservation(batch.tx, batch.names, c.reservation_id.to_string())
                        .await?
                    {
                        d.nights(&acc, ci, co, false, 1);
                        d.hold(&placed, CONVERTED);
                        let r = d
                            .revenue
                            .entry((month_of(c.confirmed_at), channel))
                            .or_default();
                        r.0 += cents(c.amount_paid);
                        r.1 += 1;
                    }
                }
                AccommodationEvent::LatePaymentAccepted(l) => {
                    if let Some((acc, ci, co, channel, _)) = d
                        .reservation(batch.tx, batch.names, l.reservation_id.to_string())
                        .await?
                    {
                        d.nights(&acc, ci, co, false, 1);
                        let r = d
                            .revenue
                            .entry((month_of(l.accepted_at), channel))
                            .or_default();
                        r.0 += cents(l.payment.amount);
                        r.1 += 1;
                    }
                }
                AccommodationEvent::Cancelled(c) => {
                    if let Some((acc, ci, co, _, placed)) = d
                        .reservation(batch.tx, batch.names, c.reservation_id.to_string())
                        .await?
                    {
                        if c.was_confirmed {
                            d.nights(&acc, ci, co, false, -1);
                        }
                        d.hold(&placed, CANCELLED);
                    }
                }
                AccommodationEvent::StayChanged(c) => {
                    let rid = c.reservation_id.to_string();
                    if let Some((acc, ci, co, _, _)) =
                        d.reservation(batch.tx, batch.names, rid.clone()).await?
                    {
                        d.nights(&acc, ci, co, false, -1);
                        let (ci, co) = (c.stay.check_in(), c.stay.check_out());
                        d.nights(&acc, ci, co, false, 1);
                        d.moved(batch.tx, batch.names, rid, ci, co).await?;
                    }
                }
                AccommodationEvent::HoldExpired(x) => {
                    if let Some((_, _, _, _, placed)) = d
                        .reservation(batch.tx, batch.names, x.reservation_id.to_string())
                        .await?
                    {
                        d.hold(&placed, EXPIRED);
                    }
                }
                AccommodationEvent::DatesBlocked(b) => {
                    d.nights(&acc, b.stay.check_in(), b.stay.check_out(), true, 1);
                }
                AccommodationEvent::BlockMoved(m) => {
                    d.nights(
                        &acc,
                        m.previous.check_in(),
                        m.previous.check_out(),
                        true,
                        -1,
                    );
                    d.nights(&acc, m.stay.check_in(), m.stay.check_out(), true, 1);
                }
                AccommodationEvent::DatesUnblocked(u) => {
                    d.nights(&acc, u.stay.check_in(), u.stay.check_out(), true, -1);
                }
                other => {
                    let Some(((cents, at), rid)) = money_moved(&other).zip(other.reservation_id())
                    else {
                        continue;
                    };
                    if let Some((_, _, _, channel, _)) = d
                        .reservation(batch.tx, batch.names, rid.to_string())
                        .await?
                    {
                        d.revenue.entry((month_of(at), channel)).or_default().0 += cents;
                    }
                }
            }
        }
        d.flush(batch.tx, batch.names).await
    }

    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }
}
