//! The WhatsApp webhook: Meta's verification handshake, and deliveries recorded in the inbox.
//!
//! A delivery is acknowledged as soon as it is stored (Meta redelivers anything slow or
//! refused), once per message id, whatever Meta redelivers. Nothing here logs a guest's number,
//! name or words.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use conversation::reply::Reply;
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

/// Constant-time comparison of a secret the caller sent with the configured one.
pub(crate) fn same(a: &str, b: &str) -> bool {
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
        MessageKind::Media { .. } => "media",
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
    // Durable: once Meta has its 200 it never sends this delivery again.
    let mut tx = Tx::begin_durable(&state.db).await?;
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
                    "INSERT INTO wa_statuses (wamid, status, timestamp, errors, received_at_ms, tracker) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (wamid, status) DO NOTHING"
                        .to_owned(),
                    s.wamid.clone(),
                    s.status.clone(),
                    s.timestamp,
                    serde_json::to_string(&s.errors).unwrap_or_default(),
                    now,
                    s.tracker.clone()
                )?;
            }
        }
    }
    tx.commit().await?;
    if new > 0 {
        state.inbox_wake.notify_one();
    }
    // A reply Meta took but could not deliver is marked failed (and, when it was refused for the
    // closed 24-hour window, goes again as the notice template). Done after the commit and on
    // every redelivery: it is idempotent, and a failure here gets Meta to redeliver.
    for update in &updates {
        if let Inbound::Status(s) = update
            && s.status == "failed"
            && let Some(reply) = &s.tracker
        {
            let first = s.errors.first();
            crate::outbox::undelivered(
                &state.db,
                reply,
                first.map(|e| e.code),
                first.map_or("delivery failed", |e| e.title.as_str()),
                state.settings.whatsapp_notice.as_ref(),
                now,
            )
            .await?;
            state.outbox_wake.notify_one();
        }
    }
    metrics::counter!("cabanas_webhook_updates_total", "channel" => "whatsapp")
        .increment(updates.len() as u64);
    if new < updates.len() as u64 {
        metrics::counter!("cabanas_webhook_duplicates_total", "channel" => "whatsapp")
            .increment(updates.len() as u64 - new);
    }
    Ok(HttpResponse::build(StatusCode::OK).json(json!({"received": updates.len(), "new": new})))
}

// ---------------------------------------------------------------------------------------------
// Admin: conversations (the sandbox's inbox and outbox, and hand-off release)
// ---------------------------------------------------------------------------------------------

/// `GET /v1/admin/whatsapp/conversations`: every guest who wrote, with counts.
pub async fn conversations(
    state: web::Data<AppState>,
    _admin: crate::auth::Admin,
) -> Result<HttpResponse, Problem> {
    let rows: Vec<(String, i64, i64)> = projections::db_fetch!(
        &state.db,
        (String, i64, i64),
        fetch_all,
        "SELECT wa_id, count(*), max(received_at_ms) FROM wa_inbox GROUP BY wa_id \
         ORDER BY max(received_at_ms) DESC LIMIT 200"
            .to_owned()
    )?;
    let items: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|(wa_id, messages, last)| {
            json!({"wa_id": wa_id, "messages": messages, "last_message_at_ms": last})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"items": items})))
}

#[derive(Deserialize)]
pub struct RepliesQuery {
    after_ms: Option<i64>,
}

/// `GET /v1/admin/whatsapp/conversations/{wa_id}/replies`: what the bot answered (sent, stored
/// in sandbox, pending or failed), oldest first.
pub async fn replies(
    state: web::Data<AppState>,
    _admin: crate::auth::Admin,
    wa_id: web::Path<String>,
    q: web::Query<RepliesQuery>,
) -> Result<HttpResponse, Problem> {
    let rows: Vec<(String, String, String, i64, Option<i64>)> = projections::db_fetch!(
        &state.db,
        (String, String, String, i64, Option<i64>),
        fetch_all,
        "SELECT id, status, body, created_at_ms, error_code FROM wa_outbox \
         WHERE wa_id = $1 AND created_at_ms > $2 ORDER BY created_at_ms, id LIMIT 200"
            .to_owned(),
        wa_id.into_inner(),
        q.after_ms.unwrap_or(0)
    )?;
    let items: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|(id, status, body, created, code)| {
            json!({
                "id": id,
                "status": status,
                "message": serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default(),
                "created_at_ms": created,
                "error_code": code,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"items": items})))
}

#[derive(Deserialize)]
pub struct WriteInput {
    text: String,
}

/// `POST /v1/admin/whatsapp/conversations/{wa_id}/messages`: a person writes to a guest (after
/// a handoff, say) from the business number; the reply sender delivers it like the bot's
/// replies, and it is listed with them. Only a guest who wrote to us can be written to. Later
/// than 24 hours after their last message WhatsApp refuses free text, and it goes again as the
/// notice template (see `outbox`). An `Idempotency-Key` makes a retried request send once.
pub async fn write(
    state: web::Data<AppState>,
    _admin: crate::auth::Admin,
    wa_id: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    state
        .idempotency
        .run(&req, &body, || async {
            let input: WriteInput = crate::routes::parse(&body)?;
            let text = input.text.trim();
            if text.is_empty() {
                return Err(Problem::validation("text must not be empty"));
            }
            let reply = Reply::text(text).map_err(|e| Problem::validation(e.to_string()))?;
            let (wrote,): (i64,) = projections::db_fetch!(
                &state.db,
                (i64,),
                fetch_one,
                "SELECT COUNT(*) FROM wa_inbox WHERE wa_id = $1".to_owned(),
                wa_id.to_string()
            )?;
            if wrote == 0 {
                return Err(Problem::not_found("no conversation with that number"));
            }
            let id = format!("admin:{}", uuid::Uuid::now_v7());
            crate::outbox::enqueue(
                &state.db,
                &id,
                &wa_id,
                &reply,
                state.now().timestamp_millis(),
            )
            .await?;
            state.outbox_wake.notify_one();
            Ok((StatusCode::ACCEPTED, json!({"id": id, "status": "pending"})))
        })
        .await
}

/// `POST /v1/admin/whatsapp/conversations/{wa_id}/release`: a person is done; the bot answers
/// again, starting from the menu.
pub async fn release(
    state: web::Data<AppState>,
    admin: crate::auth::Admin,
    wa_id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let version = hand_back(&state, &wa_id, &admin.0.sub)
        .await?
        .ok_or_else(|| Problem::not_found("no conversation with that number"))?;
    Ok(HttpResponse::Ok().json(json!({"released": true, "stream_version": version})))
}

/// Hands the conversation with `wa_id` back to the bot, on behalf of `actor`: its next message
/// is answered from the menu. The guest stream's new version; `None` when that number never
/// wrote.
pub async fn hand_back(state: &AppState, wa_id: &str, actor: &str) -> Result<Option<i64>, Problem> {
    use domain::DomainEvent;
    let Some(guest) = eventstore::pii::find_guest(&state.db, wa_id).await? else {
        return Ok(None);
    };
    let event = domain::GuestEvent::DialogueAdvanced(domain::guest::DialogueAdvanced {
        wamid: format!("release:{}", uuid::Uuid::new_v4()),
        state: serde_json::to_value(conversation::dialogue::State::Menu).unwrap_or_default(),
        at: state.now(),
    });
    let outcome = state
        .store
        .append(
            &guest.stream_id(),
            eventstore::ExpectedVersion::Any,
            &[eventstore::NewEvent {
                event_id: uuid::Uuid::now_v7(),
                event_type: event.event_type().to_owned(),
                schema_version: event.event_version() as i32,
                payload: event.to_payload(),
                metadata: crate::routes::meta(actor, Some(guest.as_uuid())),
            }],
        )
        .await?;
    Ok(Some(outcome.stream_version))
}
