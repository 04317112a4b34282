//! The payments read model (`rm_payments`, `rm_refunds`, `rm_alerts`): one reservation's
//! payments and refunds, and what needs a person.

use chrono::{DateTime, Utc};
use domain::Money;
use eventstore::{Db, db_fetch};

use crate::sql::{from_millis, money_from_cents};

/// Something an admin must look at (an underpayment, a late payment refunded, a reversal, a
/// refund to make by hand…).
#[derive(Clone, Debug, PartialEq)]
pub struct AlertView {
    /// The global position of the event that raised it.
    pub position: i64,
    pub reservation_id: String,
    /// The reservation's code, while the reservations read model has it.
    pub code: Option<String>,
    pub kind: String,
    pub detail: String,
    pub at: DateTime<Utc>,
    /// A refund to make by hand: the key it is marked made under.
    pub refund_key: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// The latest `limit` alerts, newest first, resolved ones included.
pub async fn alerts(db: &Db, limit: i64) -> Result<Vec<AlertView>, sqlx::Error> {
    type Row = (
        i64,
        String,
        String,
        String,
        i64,
        Option<String>,
        Option<String>,
        Option<i64>,
    );
    let rows: Vec<Row> = db_fetch!(
        db,
        Row,
        fetch_all,
        "SELECT a.position, a.reservation_id, a.kind, a.detail, a.at_ms, r.code, a.refund_key, \
         a.resolved_at_ms FROM rm_alerts a \
         LEFT JOIN rm_reservations r ON r.id = a.reservation_id ORDER BY a.position DESC LIMIT $1"
            .to_owned(),
        limit
    )?;
    Ok(rows
        .into_iter()
        .map(
            |(position, reservation_id, kind, detail, at, code, refund_key, resolved)| AlertView {
                position,
                reservation_id,
                code,
                kind,
                detail,
                at: from_millis(at),
                refund_key,
                resolved_at: resolved.map(from_millis),
            },
        )
        .collect())
}

/// A payment as last reported.
#[derive(Clone, Debug, PartialEq)]
pub struct PaymentView {
    pub payment_id: String,
    /// The provider's word for it (`approved`, `pending`…).
    pub status: String,
    pub status_detail: Option<String>,
    pub amount: Money,
    pub method: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// The reservation's payments, in the order they were last updated.
pub async fn payments_of(db: &Db, reservation_id: &str) -> Result<Vec<PaymentView>, sqlx::Error> {
    type Row = (String, String, Option<String>, i64, Option<String>, i64);
    let rows: Vec<Row> = db_fetch!(
        db,
        Row,
        fetch_all,
        "SELECT payment_id, status, status_detail, amount_cents, method, updated_at_ms \
         FROM rm_payments WHERE reservation_id = $1 ORDER BY updated_at_ms"
            .to_owned(),
        reservation_id.to_owned()
    )?;
    Ok(rows
        .into_iter()
        .map(
            |(payment_id, status, status_detail, cents, method, at)| PaymentView {
                payment_id,
                status,
                status_detail,
                amount: money_from_cents(cents),
                method,
                updated_at: from_millis(at),
            },
        )
        .collect())
}

/// A refund decided, and whether it was carried out.
#[derive(Clone, Debug, PartialEq)]
pub struct RefundView {
    pub refund_key: String,
    pub payment_id: String,
    pub amount: Money,
    pub reason: String,
    /// How it goes back: through the provider or by hand.
    pub via: String,
    /// The provider's id for it, once issued.
    pub refund_id: Option<String>,
    pub due_at: DateTime<Utc>,
}

/// The reservation's refunds, by when they fell due.
pub async fn refunds_of(db: &Db, reservation_id: &str) -> Result<Vec<RefundView>, sqlx::Error> {
    type Row = (String, String, i64, String, String, Option<String>, i64);
    let rows: Vec<Row> = db_fetch!(
        db,
        Row,
        fetch_all,
        "SELECT refund_key, payment_id, amount_cents, reason, via, refund_id, due_at_ms \
         FROM rm_refunds WHERE reservation_id = $1 ORDER BY due_at_ms, refund_key"
            .to_owned(),
        reservation_id.to_owned()
    )?;
    Ok(rows
        .into_iter()
        .map(
            |(refund_key, payment_id, cents, reason, via, refund_id, at)| RefundView {
                refund_key,
                payment_id,
                amount: money_from_cents(cents),
                reason,
                via,
                refund_id,
                due_at: from_millis(at),
            },
        )
        .collect())
}
