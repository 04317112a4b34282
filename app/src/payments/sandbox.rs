//! Mercado Pago's stand-in when no access token is configured, and the sandbox payments an
//! admin makes (`cabanas pay`, `POST /v1/admin/sandbox/payments`): each queues its notification
//! like a real one, so the same code path confirms the booking.

use async_trait::async_trait;
use chrono::Utc;
use domain::payment::PaymentStatus;
use eventstore::{Db, db_exec, db_fetch};
use integrations::mercadopago::client::PreferenceRequest;
use integrations::mercadopago::{MpError, Payment, PaymentProvider, Preference, Refund};
use projections::queries;
use rust_decimal::Decimal;

use super::queue_notification;
use crate::context::Context;
use crate::error::AppError;

/// Mercado Pago's stand-in when no access token is configured: preferences point at the local
/// return page, payments and refunds are rows in the database.
pub struct Sandbox {
    pub db: Db,
    pub public_url: String,
}

fn decimal(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

#[async_trait]
impl PaymentProvider for Sandbox {
    async fn create_preference(
        &self,
        request: &PreferenceRequest,
        _idempotency_key: &str,
    ) -> Result<Preference, MpError> {
        Ok(Preference {
            id: format!("sandbox-{}", request.external_reference),
            init_point: format!(
                "{}/pagos/retorno?external_reference={}",
                self.public_url, request.external_reference
            ),
        })
    }

    async fn payment(&self, id: &str) -> Result<Payment, MpError> {
        let row: Option<(String, String, String, Option<String>)> = db_fetch!(
            &self.db,
            (String, String, String, Option<String>),
            fetch_optional,
            "SELECT external_reference, status, amount, method FROM mp_sandbox_payments WHERE id = $1"
                .to_owned(),
            id.to_owned()
        )
        .map_err(|e| MpError::Unavailable(e.to_string()))?;
        let (external_reference, status, amount, method) = row.ok_or(MpError::NotFound)?;
        Ok(Payment {
            id: id.to_owned(),
            status,
            status_detail: None,
            external_reference: Some(external_reference),
            amount: decimal(&amount),
            currency_id: Some("ARS".into()),
            method,
        })
    }

    async fn refund(
        &self,
        payment_id: &str,
        amount: Option<Decimal>,
        idempotency_key: &str,
    ) -> Result<Refund, MpError> {
        let unavailable = |e: sqlx::Error| MpError::Unavailable(e.to_string());
        let paid = self.payment(payment_id).await?.amount;
        let amount = amount.unwrap_or(paid);
        db_exec!(
            &self.db,
            "INSERT INTO mp_sandbox_refunds (idempotency_key, refund_id, payment_id, amount, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING"
                .to_owned(),
            idempotency_key.to_owned(),
            format!("sandbox-refund-{}", uuid::Uuid::new_v4().simple()),
            payment_id.to_owned(),
            amount.to_string(),
            Utc::now().timestamp_millis()
        )
        .map_err(unavailable)?;
        let (id, amount): (String, String) = db_fetch!(
            &self.db,
            (String, String),
            fetch_one,
            "SELECT refund_id, amount FROM mp_sandbox_refunds WHERE idempotency_key = $1"
                .to_owned(),
            idempotency_key.to_owned()
        )
        .map_err(unavailable)?;
        Ok(Refund {
            id,
            amount: decimal(&amount),
        })
    }
}

/// A sandbox payment for the reservation `code`: the deposit unless `amount` says otherwise,
/// in `status` (approved, rejected, …). With `payment`, that earlier sandbox payment changes
/// status instead (e.g. to `charged_back`). Its notification is queued like a real one.
pub async fn sandbox_pay(
    state: &Context,
    code: &str,
    status: &str,
    amount: Option<Decimal>,
    payment: Option<&str>,
) -> Result<(String, String), AppError> {
    if state.settings.mp_access_token.is_some() {
        return Err(AppError::conflict(
            "Mercado Pago credentials are configured: sandbox payments are off",
        ));
    }
    if PaymentStatus::from_provider(status).is_none() {
        return Err(AppError::invalid(format!(
            "status must be one of approved, pending, in_process, authorized, in_mediation, \
             rejected, cancelled, refunded, charged_back; got {status:?}"
        )));
    }
    let code = code.trim().to_uppercase();
    let r = queries::reservation_by_code(&state.db, &code)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no reservation {code}")))?;
    let now = state.now().timestamp_millis();
    let id = match payment {
        Some(id) => {
            let n = db_exec!(
                &state.db,
                "UPDATE mp_sandbox_payments SET status = $2 WHERE id = $1 AND external_reference = $3"
                    .to_owned(),
                id.to_owned(),
                status.to_owned(),
                r.id.clone()
            )?;
            if n == 0 {
                return Err(AppError::not_found(format!(
                    "no sandbox payment {id} for {code}"
                )));
            }
            id.to_owned()
        }
        None => {
            let amount = amount.unwrap_or(r.deposit.amount());
            if amount <= Decimal::ZERO {
                return Err(AppError::invalid("amount must be positive"));
            }
            // Numeric, like Mercado Pago's payment ids.
            let id = format!("{}{:03}", now, rand::random::<u16>() % 1000);
            db_exec!(
                &state.db,
                "INSERT INTO mp_sandbox_payments (id, external_reference, status, amount, method, created_at_ms) \
                 VALUES ($1, $2, $3, $4, 'account_money', $5)"
                    .to_owned(),
                id.clone(),
                r.id.clone(),
                status.to_owned(),
                amount.to_string(),
                now
            )?;
            id
        }
    };
    queue_notification(&state.db, &format!("sandbox:{id}:{status}"), &id, None, now).await?;
    state.payments_wake.notify_one();
    Ok((id, r.id))
}
