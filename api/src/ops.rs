//! Operations: `/healthz` (the process is up), `/readyz` (what this instance can serve: the
//! database, Redis, each read model's lag, stale calendars, voice, and whether it is the one
//! instance answering WhatsApp and sending replies) and `/metrics` (Prometheus).

use std::sync::atomic::Ordering;

use actix_web::{HttpResponse, web};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::{Value, json};

use crate::input::State;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Database (and Redis when configured) reachable; projection lag shown.
/// How `/readyz` names an instance's part in work one instance does at a time.
fn role(active: bool) -> &'static str {
    if active { "active" } else { "standby" }
}

pub async fn readyz(state: State) -> HttpResponse {
    let backend = state.store.backend();
    let database = state.store.ping().await;
    if let Err(err) = &database {
        tracing::warn!(error = %err, "readiness: database unreachable");
    }
    let redis = match &state.redis {
        None => None,
        Some(r) => {
            let mut conn = r.clone();
            let pong: Result<String, _> = redis::cmd("PING").query_async(&mut conn).await;
            Some(pong.is_ok())
        }
    };
    let lag = if database.is_ok() {
        state.runner.status().await.ok()
    } else {
        None
    };
    let ready = database.is_ok() && redis != Some(false);
    let max_age = state.settings.ical_max_age.as_secs_f64();
    let stale: Vec<Value> = if database.is_ok() {
        app::calendar::feed_ages(&state)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, _, age)| *age > max_age)
            .map(|(id, source, age)| json!({"feed": id, "source": source, "age_seconds": age}))
            .collect()
    } else {
        Vec::new()
    };
    let status = match (ready, stale.is_empty()) {
        (false, _) => "unavailable",
        // Serving, but some channel's calendar is older than it should be.
        (true, false) => "degraded",
        (true, true) => "ready",
    };
    let body = json!({
        "status": status,
        "stale_calendar_feeds": stale,
        "database": backend,
        "database_ok": database.is_ok(),
        "redis": redis.map(|ok| if ok { "ok" } else { "unreachable" }).unwrap_or("not configured"),
        "projections": lag,
        "voice": state.voice.status(),
        // One instance answers WhatsApp guests at a time; the others stand by.
        "conversation_worker": role(state.conversation_active.load(Ordering::Relaxed)),
        // Likewise one instance sends the replies, so a guest's replies leave in order.
        "reply_sender": role(state.reply_sender_active.load(Ordering::Relaxed)),
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

pub async fn metrics_page(handle: web::Data<PrometheusHandle>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render())
}
