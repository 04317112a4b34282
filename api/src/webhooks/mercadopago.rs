//! `POST /webhooks/mercadopago`: the signature first (every shape, when a secret is set; only
//! the signed id is acted on), then the notification is stored once and acknowledged. A worker
//! fetches the payment it names and applies it (`app::payments`): the body is never trusted.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use integrations::mercadopago::webhook::{self, Topic};
use serde_json::json;

use crate::problem::Problem;
use crate::state::AppState;

pub async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    // With a secret every shape is verified (webhook and IPN alike) and only the signed id is
    // acted on; without one (sandbox, or an account not yet configured) nothing is signed.
    let notification = match &state.settings.mp_webhook_secret {
        Some(secret) => {
            let signed = webhook::Signed {
                secret,
                x_signature: header("x-signature"),
                x_request_id: header("x-request-id"),
                now_secs: state.now().timestamp(),
                max_age_secs: state.settings.mp_signature_max_age.as_secs() as i64,
            };
            match webhook::authenticate(signed, &query, &body) {
                Ok(n) => n,
                Err(err) => {
                    metrics::counter!("cabanas_webhook_rejected_total", "channel" => "mercadopago")
                        .increment(1);
                    return Err(Problem::unauthorized(format!(
                        "x-signature rejected: {err}"
                    )));
                }
            }
        }
        None => webhook::parse(&query, &body),
    };
    let Some(notification) = notification else {
        return Err(Problem::bad_request(
            "not a Mercado Pago notification: expected ?data.id=…&type=… or ?topic=…&id=…",
        ));
    };
    let Topic::Payment(payment_id) = &notification.topic else {
        // Merchant orders and other topics: acknowledged so Mercado Pago stops retrying; the
        // payments inside an order arrive as payment notifications of their own.
        return Ok(HttpResponse::Ok().json(json!({"status": "ignored"})));
    };
    let new = app::payments::queue_notification(
        &state.db,
        &notification.key,
        payment_id,
        header("x-request-id"),
        state.now().timestamp_millis(),
    )
    .await
    .map_err(app::AppError::from)?;
    if new {
        state.payments_wake.notify_one();
    }
    metrics::counter!("cabanas_mp_notifications_total", "outcome" => if new { "new" } else { "duplicate" })
        .increment(1);
    Ok(HttpResponse::Ok().json(json!({"status": if new { "queued" } else { "duplicate" }})))
}
