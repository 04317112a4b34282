//! The admin's views of payments: what needs a person, and one reservation's link, payments
//! and refunds.

use projections::{db_fetch, queries};
use serde_json::{Value, json};

use crate::context::Context;
use crate::error::AppError;

/// What needs a person: underpayments, late payments refunded, reversals, refunds to make by
/// hand, side effects the provider refused, and calendar conflicts.
pub async fn alerts(state: &Context) -> Result<Value, AppError> {
    type AlertRow = (
        i64,
        String,
        String,
        String,
        i64,
        Option<String>,
        Option<String>,
        Option<i64>,
    );
    let rows: Vec<AlertRow> = db_fetch!(
        &state.db,
        AlertRow,
        fetch_all,
        "SELECT a.position, a.reservation_id, a.kind, a.detail, a.at_ms, r.code, a.refund_key, \
         a.resolved_at_ms FROM rm_alerts a \
         LEFT JOIN rm_reservations r ON r.id = a.reservation_id ORDER BY a.position DESC LIMIT 200"
            .to_owned()
    )?;
    let failed: Vec<(String, String, String, Option<String>, i64)> = db_fetch!(
        &state.db,
        (String, String, String, Option<String>, i64),
        fetch_all,
        "SELECT id, kind, reservation_id, last_error, created_at_ms FROM reactor_tasks \
         WHERE status = 'failed' ORDER BY created_at_ms DESC LIMIT 200"
            .to_owned()
    )?;
    let alerts: Vec<Value> = rows
        .into_iter()
        .map(
            |(position, reservation_id, kind, detail, at, code, refund_key, resolved)| {
                json!({
                    "position": position,
                    "reservation_id": reservation_id,
                    "code": code,
                    "kind": kind,
                    "detail": detail,
                    "at": projections::sql::from_millis(at),
                    // A refund to make by hand: mark it made with
                    // POST /v1/admin/reservations/{code}/refunds/{refund_key}.
                    "refund_key": refund_key,
                    "resolved_at": resolved.map(projections::sql::from_millis),
                })
            },
        )
        .collect();
    let failed: Vec<Value> = failed
        .into_iter()
        .map(|(id, kind, reservation_id, error, at)| {
            json!({"task": id, "kind": kind, "reservation_id": reservation_id, "error": error,
                   "at": projections::sql::from_millis(at)})
        })
        .collect();
    let conflicts = crate::calendar::open_conflicts(&state.db).await?;
    Ok(json!({"alerts": alerts, "failed_effects": failed, "calendar_conflicts": conflicts}))
}

/// payment id, status, status detail, amount in cents, method, updated at.
type PaymentRow = (String, String, Option<String>, i64, Option<String>, i64);
/// refund key, payment id, amount in cents, reason, via, provider refund id, due at.
type RefundRow = (String, String, i64, String, String, Option<String>, i64);

/// A reservation's payment link, every payment and every refund.
pub async fn reservation_payments(state: &Context, code: &str) -> Result<Value, AppError> {
    let code = code.trim().to_uppercase();
    let r = queries::reservation_by_code(&state.db, &code)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no reservation {code}")))?;
    let payments: Vec<PaymentRow> = db_fetch!(
        &state.db,
        PaymentRow,
        fetch_all,
        "SELECT payment_id, status, status_detail, amount_cents, method, updated_at_ms \
         FROM rm_payments WHERE reservation_id = $1 ORDER BY updated_at_ms"
            .to_owned(),
        r.id.clone()
    )?;
    let refunds: Vec<RefundRow> = db_fetch!(
        &state.db,
        RefundRow,
        fetch_all,
        "SELECT refund_key, payment_id, amount_cents, reason, via, refund_id, due_at_ms \
         FROM rm_refunds WHERE reservation_id = $1 ORDER BY due_at_ms, refund_key"
            .to_owned(),
        r.id.clone()
    )?;
    let money = projections::sql::money_from_cents;
    Ok(json!({
        "code": r.code,
        "status": r.status,
        "deposit": r.deposit,
        "amount_paid": r.amount_paid,
        "refunded": r.refunded,
        "payment_link": r.payment_link,
        "payments": payments.into_iter().map(|(id, status, detail, cents, method, at)| json!({
            "payment_id": id, "status": status, "status_detail": detail,
            "amount": money(cents), "method": method,
            "updated_at": projections::sql::from_millis(at),
        })).collect::<Vec<_>>(),
        "refunds": refunds.into_iter().map(|(key, payment, cents, reason, via, refund_id, at)| json!({
            "refund_key": key, "payment_id": payment, "amount": money(cents), "reason": reason,
            "via": via, "refund_id": refund_id, "issued": refund_id.is_some(),
            "due_at": projections::sql::from_millis(at),
        })).collect::<Vec<_>>(),
    }))
}
