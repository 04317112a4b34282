//! Payments seen by the owner: the sandbox's fake payments (through the real notification
//! path), what needs a person (alerts), and one reservation's payments and refunds.

use actix_web::{HttpResponse, web};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use crate::problem::Problem;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SandboxPayment {
    /// Reservation code.
    code: String,
    /// Default `approved`.
    status: Option<String>,
    /// Default: the deposit.
    #[schema(value_type = Option<String>)]
    amount: Option<Decimal>,
    /// Change an earlier sandbox payment's status instead of making a new one.
    payment_id: Option<String>,
}

/// `POST /v1/admin/sandbox/payments`: a fake payment through the real notification path.
#[utoipa::path(post, path = "/v1/admin/sandbox/payments", tag = "admin",
    request_body = SandboxPayment, security(("bearer" = [])),
    responses((status = 202, description = "Queued: the payment id and the reservation", body = Object),
              (status = 404, body = crate::problem::ProblemDetails),
              (status = 409, description = "Real credentials configured", body = crate::problem::ProblemDetails)))]
pub async fn sandbox_payment(
    state: web::Data<AppState>,
    _admin: crate::auth::Admin,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let body: SandboxPayment = crate::input::parse(&body)?;
    let (payment_id, reservation) = app::payments::sandbox_pay(
        &state,
        &body.code,
        body.status.as_deref().unwrap_or("approved"),
        body.amount,
        body.payment_id.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Accepted().json(json!({
        "payment_id": payment_id,
        "reservation_id": reservation,
        "status": "queued",
    })))
}

/// `GET /v1/admin/alerts`: what needs a person — underpayments, late payments refunded,
/// reversals, refunds to make by hand, and side effects the provider refused.
#[utoipa::path(get, path = "/v1/admin/alerts", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Object)))]
pub async fn alerts(
    state: web::Data<AppState>,
    _admin: crate::auth::Admin,
) -> Result<HttpResponse, Problem> {
    Ok(HttpResponse::Ok().json(app::payments::alerts(&state).await?))
}

/// `GET /v1/admin/reservations/{code}/payments`: the link, every payment and every refund.
#[utoipa::path(get, path = "/v1/admin/reservations/{code}/payments", tag = "admin",
    security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::problem::ProblemDetails)))]
pub async fn reservation_payments(
    state: web::Data<AppState>,
    _admin: crate::auth::Admin,
    code: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    Ok(HttpResponse::Ok().json(app::payments::reservation_payments(&state, &code).await?))
}
