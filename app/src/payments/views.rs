//! The admin's views of payments: what needs a person, and one reservation's link, payments
//! and refunds.

use eventstore::db_fetch;
use projections::queries;
use serde_json::{Value, json};

use crate::context::Context;
use crate::error::AppError;

/// What needs a person: underpayments, late payments refunded, reversals, refunds to make by
/// hand, side effects the provider refused, and calendar conflicts.
pub async fn alerts(state: &Context) -> Result<Value, AppError> {
    let rows = queries::alerts(&state.db, 200).await?;
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
        .map(|a| {
            json!({
                "position": a.position,
                "reservation_id": a.reservation_id,
                "code": a.code,
                "kind": a.kind,
                "detail": a.detail,
                "at": a.at,
                // A refund to make by hand: mark it made with
                // POST /v1/admin/reservations/{code}/refunds/{refund_key}.
                "refund_key": a.refund_key,
                "resolved_at": a.resolved_at,
            })
        })
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

/// A reservation's payment link, every payment and every refund.
pub async fn reservation_payments(state: &Context, code: &str) -> Result<Value, AppError> {
    let code = code.trim().to_uppercase();
    let r = queries::reservation_by_code(&state.db, &code)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no reservation {code}")))?;
    let payments = queries::payments_of(&state.db, &r.id).await?;
    let refunds = queries::refunds_of(&state.db, &r.id).await?;
    Ok(json!({
        "code": r.code,
        "status": r.status,
        "deposit": r.deposit,
        "amount_paid": r.amount_paid,
        "refunded": r.refunded,
        "payment_link": r.payment_link,
        "payments": payments.into_iter().map(|p| json!({
            "payment_id": p.payment_id, "status": p.status, "status_detail": p.status_detail,
            "amount": p.amount, "method": p.method,
            "updated_at": p.updated_at,
        })).collect::<Vec<_>>(),
        "refunds": refunds.into_iter().map(|f| json!({
            "refund_key": f.refund_key, "payment_id": f.payment_id, "amount": f.amount,
            "reason": f.reason, "via": f.via, "issued": f.refund_id.is_some(),
            "refund_id": f.refund_id, "due_at": f.due_at,
        })).collect::<Vec<_>>(),
    }))
}
