//! The WhatsApp inbox: deliveries stored once (by message id) for the conversation worker,
//! delivery statuses recorded for the reply sender, and what the admin reads and writes of the
//! conversations (the sandbox's inbox and outbox, a person writing from the business number).

use conversation::reply::Reply;
use eventstore::{Tx, exec};
use integrations::whatsapp::webhook::{Inbound, MessageKind};
use serde_json::{Value, json};

use crate::context::Context;
use crate::error::AppError;

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

/// Stores a delivery's messages and statuses, each once; how many were new. Durable before it
/// returns: once Meta has its 200 it never sends this delivery again.
pub async fn store(ctx: &Context, updates: &[Inbound]) -> Result<u64, AppError> {
    let now = ctx.now().timestamp_millis();
    let mut tx = Tx::begin_durable(&ctx.db).await?;
    let mut new = 0;
    for update in updates {
        match update {
            Inbound::Message(m) => {
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
                    kind_name(&m.kind),
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
        ctx.inbox_wake.notify_one();
    }
    // A reply Meta took but could not deliver is marked failed (and, when it was refused for the
    // closed 24-hour window, goes again as the notice template). Done after the commit and on
    // every redelivery: it is idempotent, and a failure here gets Meta to redeliver.
    for update in updates {
        if let Inbound::Status(s) = update
            && s.status == "failed"
            && let Some(reply) = &s.tracker
        {
            let first = s.errors.first();
            crate::outbox::undelivered(
                &ctx.db,
                reply,
                first.map(|e| e.code),
                first.map_or("delivery failed", |e| e.title.as_str()),
                ctx.settings.whatsapp_notice.as_ref(),
                now,
            )
            .await?;
            ctx.outbox_wake.notify_one();
        }
    }
    Ok(new)
}

/// Every guest who wrote, with their message counts, newest first.
pub async fn conversations(ctx: &Context) -> Result<Vec<Value>, AppError> {
    let rows: Vec<(String, i64, i64)> = eventstore::db_fetch!(
        &ctx.db,
        (String, i64, i64),
        fetch_all,
        "SELECT wa_id, count(*), max(received_at_ms) FROM wa_inbox GROUP BY wa_id \
         ORDER BY max(received_at_ms) DESC LIMIT 200"
            .to_owned()
    )?;
    Ok(rows
        .into_iter()
        .map(|(wa_id, messages, last)| {
            json!({"wa_id": wa_id, "messages": messages, "last_message_at_ms": last})
        })
        .collect())
}

/// What the bot (or a person) answered `wa_id` after `after_ms`: sent, stored in sandbox,
/// pending or failed, oldest first.
pub async fn replies(ctx: &Context, wa_id: &str, after_ms: i64) -> Result<Vec<Value>, AppError> {
    let rows: Vec<(String, String, String, i64, Option<i64>)> = eventstore::db_fetch!(
        &ctx.db,
        (String, String, String, i64, Option<i64>),
        fetch_all,
        "SELECT id, status, body, created_at_ms, error_code FROM wa_outbox \
         WHERE wa_id = $1 AND created_at_ms > $2 ORDER BY created_at_ms, id LIMIT 200"
            .to_owned(),
        wa_id.to_owned(),
        after_ms
    )?;
    Ok(rows
        .into_iter()
        .map(|(id, status, body, created, code)| {
            json!({
                "id": id,
                "status": status,
                "message": serde_json::from_str::<Value>(&body).unwrap_or_default(),
                "created_at_ms": created,
                "error_code": code,
            })
        })
        .collect())
}

/// A person writes `text` to a guest from the business number; the reply sender delivers it
/// like the bot's replies. Only a guest who wrote to us can be written to. The reply's id.
pub async fn write(ctx: &Context, wa_id: &str, text: &str) -> Result<String, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::invalid("text must not be empty"));
    }
    let reply = Reply::text(text).map_err(|e| AppError::invalid(e.to_string()))?;
    let (wrote,): (i64,) = eventstore::db_fetch!(
        &ctx.db,
        (i64,),
        fetch_one,
        "SELECT COUNT(*) FROM wa_inbox WHERE wa_id = $1".to_owned(),
        wa_id.to_owned()
    )?;
    if wrote == 0 {
        return Err(AppError::not_found("no conversation with that number"));
    }
    let id = format!("admin:{}", uuid::Uuid::now_v7());
    crate::outbox::enqueue(&ctx.db, &id, wa_id, &reply, ctx.now().timestamp_millis()).await?;
    ctx.outbox_wake.notify_one();
    Ok(id)
}
