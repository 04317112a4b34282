//! The WhatsApp webhook: Meta's verification handshake, and deliveries stored in the inbox
//! (`app::inbox`). A delivery is acknowledged as soon as it is stored (Meta redelivers anything
//! slow or refused), once per message id. Nothing here logs a guest's number, name or words.

use actix_web::{HttpRequest, HttpResponse, web};
use integrations::whatsapp::webhook;
use serde::Deserialize;
use serde_json::json;

use crate::problem::Problem;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// `GET /webhooks/whatsapp`: answers Meta's subscription check with the challenge.
pub async fn verify(state: web::Data<AppState>, q: web::Query<Handshake>) -> HttpResponse {
    let configured = state.settings.whatsapp_verify_token.as_deref();
    match (configured, q.mode.as_deref(), &q.verify_token, &q.challenge) {
        (Some(token), Some("subscribe"), Some(given), Some(challenge))
            if app::calendar::same(token, given) =>
        {
            HttpResponse::Ok()
                .content_type("text/plain")
                .body(challenge.clone())
        }
        _ => actix_web::ResponseError::error_response(&Problem::forbidden(
            "verification failed: mode or verify token do not match",
        )),
    }
}

/// `POST /webhooks/whatsapp`: signature first, then parse, then store.
pub async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    if let Some(secret) = &state.settings.whatsapp_app_secret {
        let header = req
            .headers()
            .get("X-Hub-Signature-256")
            .and_then(|v| v.to_str().ok());
        if !webhook::signature_is_valid(secret.as_bytes(), &body, header) {
            metrics::counter!("cabanas_webhook_rejected_total", "channel" => "whatsapp")
                .increment(1);
            return Err(Problem::unauthorized(
                "X-Hub-Signature-256 is missing or does not match the body",
            ));
        }
    }
    let updates = webhook::parse(&body).map_err(|e| Problem::bad_request(e.to_string()))?;
    let new = app::inbox::store(&state, &updates).await?;
    metrics::counter!("cabanas_webhook_updates_total", "channel" => "whatsapp")
        .increment(updates.len() as u64);
    if new < updates.len() as u64 {
        metrics::counter!("cabanas_webhook_duplicates_total", "channel" => "whatsapp")
            .increment(updates.len() as u64 - new);
    }
    Ok(HttpResponse::Ok().json(json!({"received": updates.len(), "new": new})))
}
