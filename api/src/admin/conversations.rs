//! WhatsApp conversations as the owner sees them: every guest who wrote, what the bot answered,
//! writing to a guest from the business number, and handing a conversation back to the bot.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Admin;
use crate::posted::Posted;
use crate::problem::Problem;
use crate::state::AppState;

/// `GET /v1/admin/whatsapp/conversations`: every guest who wrote, with counts.
pub async fn conversations(
    state: web::Data<AppState>,
    _admin: Admin,
) -> Result<HttpResponse, Problem> {
    let items = app::inbox::conversations(&state).await?;
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
    _admin: Admin,
    wa_id: web::Path<String>,
    q: web::Query<RepliesQuery>,
) -> Result<HttpResponse, Problem> {
    let items = app::inbox::replies(&state, &wa_id, q.after_ms.unwrap_or(0)).await?;
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
/// notice template (see `app::outbox`). An `Idempotency-Key` makes a retried request send once.
pub async fn write(
    state: web::Data<AppState>,
    _admin: Admin,
    wa_id: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, Problem> {
    let (state, wa_id) = (&state, &wa_id);
    posted
        .once(state, |input: WriteInput| async move {
            let id = app::inbox::write(state, wa_id, &input.text).await?;
            Ok((StatusCode::ACCEPTED, json!({"id": id, "status": "pending"})))
        })
        .await
}

/// `POST /v1/admin/whatsapp/conversations/{wa_id}/release`: a person is done; the bot answers
/// again, starting from the menu.
pub async fn release(
    state: web::Data<AppState>,
    admin: Admin,
    wa_id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let origin = app::Origin::admin(&admin.0.sub);
    let version = app::guests::hand_back(&state, &wa_id, &origin)
        .await?
        .ok_or_else(|| Problem::not_found("no conversation with that number"))?;
    Ok(HttpResponse::Ok().json(json!({"released": true, "stream_version": version})))
}
