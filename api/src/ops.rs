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

/// How `/readyz` names an instance's part in work one instance does at a time.
fn role(active: bool) -> &'static str {
    if active { "active" } else { "standby" }
}

/// Answers within a second whatever the database does: whether it and Redis answer comes from
/// the background measurement (`health.rs`), and the read models' lag and the calendars' ages
/// are only asked of a database that answered, each bounded.
pub async fn readyz(state: State) -> HttpResponse {
    let backend = state.store.backend();
    let redis = state.health.redis_ok();
    let mut database = state.health.database_ok();
    let lag = match database {
        true => bounded(state.runner.status()).await,
        false => None,
    };
    let max_age = state.settings.ical_max_age.as_secs_f64();
    let ages = match lag {
        Some(_) => bounded(app::calendar::feed_ages(&state)).await,
        None => None,
    };
    // A database that answered the ping but not these is not ready either.
    database &= ages.is_some();
    let ready = database && redis != Some(false);
    let stale: Vec<Value> = ages
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, _, age)| *age > max_age)
        .map(|(id, source, age)| json!({"feed": id, "source": source, "age_seconds": age}))
        .collect();
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
        "database_ok": database,
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

/// `query`'s answer, unless it fails or takes longer than a health probe.
async fn bounded<T, E>(query: impl std::future::Future<Output = Result<T, E>>) -> Option<T> {
    match tokio::time::timeout(crate::health::PROBE, query).await {
        Ok(Ok(answer)) => Some(answer),
        _ => None,
    }
}

pub async fn metrics_page(handle: web::Data<PrometheusHandle>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render())
}
