//! The WhatsApp webhook: Meta's verification handshake, and deliveries recorded in the inbox.
//!
//! A delivery is acknowledged as soon as it is stored (Meta redelivers anything slow or
//! refused), once per message id, whatever Meta redelivers. Nothing here logs a guest's number,
//! name or words.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use integrations::whatsapp::webhook::{self, Inbound, MessageKind};
use projections::{Tx, exec};
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::problem::Problem;

#[derive(Deserialize)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

fn same(a: &str, b: &str) -> bool {
    // Constant time over the length of the configured token.
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `GET /webhooks/whatsapp`: answers Meta's subscription check with the challenge.
pub async fn verify(state: web::Data<AppState>, q: web::Query<Handshake>) -> HttpResponse {
    let configured = state.settings.whatsapp_verify_token.as_deref();
    match (configured, q.mode.as_deref(), &q.verify_token, &q.challenge) {
        (Some(token), Some("subscribe"), Some(given), Some(challenge)) if same(token, given) => {
            HttpResponse::Ok()
                .content_type("text/plain")
                .body(challenge.clone())
        }
        _ => actix_web::ResponseError::error_response(&Problem::forbidden(
            "verification failed: mode or verify token do not match",
        )),
    }
}

fn kind_name(kind: &MessageKind) -> &'static str {
    match kind {
        MessageKind::Text { .. } => "text",
        MessageKind::Audio { .. } => "audio",
        MessageKind::ButtonReply { .. } => "button_reply",
        MessageKind::ListReply { .. } => "list_reply",
        MessageKind::QuickReply { .. } => "quick_reply",
        MessageKind::Unsupported { .. } => "unsupported",
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
    let now = state.now().timestamp_millis();
    let mut tx = Tx::begin(&state.db).await?;
    let mut new = 0;
    for update in &updates {
        match update {
            Inbound::Message(m) => {
                let kind = kind_name(&m.kind);
                if let MessageKind::Unsupported { kind } = &m.kind {
                    tracing::info!(kind = %kind, "WhatsApp message of a type we do not handle");
                }
                new += exec!(
                    &mut tx,
                    "INSERT INTO wa_inbox (wamid, wa_id, kind, message, received_at_ms) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (wamid) DO NOTHING"
                        .to_owned(),
                    m.wamid.clone(),
                    m.wa_id.clone(),
                    kind,
                    serde_json::to_string(m).unwrap_or_default(),
                    now
                )?;
            }
            Inbound::Status(s) => {
                if !s.errors.is_empty() {
                    let codes: Vec<i64> = s.errors.iter().map(|e| e.code).collect();
                    tracing::warn!(status = %s.status, codes = ?codes, "WhatsApp reports a failed message");
                }
                new += exec!(
                    &mut tx,
                    "INSERT INTO wa_statuses (wamid, status, timestamp, errors, received_at_ms) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (wamid, status) DO NOTHING"
                        .to_owned(),
                    s.wamid.clone(),
                    s.status.clone(),
                    s.timestamp,
                    serde_json::to_string(&s.errors).unwrap_or_default(),
                    now
                )?;
            }
        }
    }
    tx.commit().await?;
    if new > 0 {
        state.inbox_wake.notify_one();
    }
    metrics::counter!("cabanas_webhook_updates_total", "channel" => "whatsapp")
        .increment(updates.len() as u64);
    if new < updates.len() as u64 {
        metrics::counter!("cabanas_webhook_duplicates_total", "channel" => "whatsapp")
            .increment(updates.len() as u64 - new);
    }
    Ok(HttpResponse::build(StatusCode::OK).json(json!({"received": updates.len(), "new": new})))
}
