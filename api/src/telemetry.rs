//! Prometheus metrics, projection-lag reporting and Redis wake-ups between instances.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use eventstore::EventStore;
use futures_util::StreamExt;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use projections::Runner;

/// The Redis channel on which instances announce new events to each other.
pub fn wake_channel(prefix: &str) -> String {
    format!("{prefix}:events")
}

/// The process-wide recorder (installed once; every app in a test process shares it).
pub fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            // Requests and commands take milliseconds; a guest's wait for an answer (and a
            // voice note's transcription) takes seconds, with objectives at 3 s and 15 s.
            let seconds = [
                0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ])
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("cabanas_reply_seconds".into()),
                        &seconds,
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("cabanas_voice_transcription_seconds".into()),
                        &seconds,
                    )
                })
                .unwrap_or_else(|_| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is installed: keep serving an (empty) page rather than failing.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

/// Every counter and gauge the alerts and dashboards read (`deploy/`), at zero from the start:
/// a series that appears only with its first event makes `rate()` blind to that first event
/// and an alert on it silently empty. Histograms appear with their first sample.
pub fn start_at_zero() {
    for name in [
        "cabanas_appends_total",
        "cabanas_conversation_handoffs_total",
        "cabanas_ical_conflicts_total",
        "cabanas_idempotency_hits_total",
        "cabanas_rate_limit_fail_open_total",
        "cabanas_rate_limited_total",
        "cabanas_redis_errors_total",
        "cabanas_voice_overloaded_total",
    ] {
        metrics::counter!(name).increment(0);
    }
    let labelled: [(&'static str, &'static str, &[&'static str]); 10] = [
        (
            "cabanas_replies_total",
            "outcome",
            &["sent", "failed", "retry", "notice", "recovered"],
        ),
        (
            "cabanas_mp_notifications_total",
            "outcome",
            &["new", "duplicate"],
        ),
        (
            "cabanas_webhook_rejected_total",
            "channel",
            &["whatsapp", "mercadopago"],
        ),
        ("cabanas_webhook_duplicates_total", "channel", &["whatsapp"]),
        ("cabanas_webhook_updates_total", "channel", &["whatsapp"]),
        (
            "cabanas_provider_retries_total",
            "provider",
            &["whatsapp", "mercadopago", "ical"],
        ),
        ("cabanas_payment_alerts_total", "kind", &["underpayment"]),
        ("cabanas_reactor_failures_total", "kind", &["refund"]),
        ("cabanas_voice_notes_total", "outcome", &["transcribed"]),
        ("cabanas_command_retries_total", "command", &["PlaceHold"]),
    ];
    for (name, label, values) in labelled {
        for value in values {
            metrics::counter!(name, label => *value).increment(0);
        }
    }
    metrics::counter!("cabanas_commands_total", "command" => "PlaceHold", "outcome" => "ok")
        .increment(0);
    for provider in ["whatsapp", "mercadopago", "ical"] {
        // 0 is closed: a breaker that never opened.
        metrics::gauge!("cabanas_circuit_state", "provider" => provider).increment(0.0);
    }
    metrics::gauge!("cabanas_holds_overdue_seconds").set(0.0);
    metrics::gauge!("cabanas_voice_notes_in_progress").set(0.0);
}

/// Keeps the projection-lag gauges fresh even when nobody asks /readyz, and says how far the
/// most overdue hold is past its time (a dead scheduler shows here, not only in guests' waits).
pub async fn report_lag(ctx: Arc<app::Context>) {
    loop {
        if let Err(err) = ctx.runner.status().await {
            tracing::warn!(error = %err, "projection status unavailable");
        }
        let now = ctx.now();
        match projections::queries::oldest_overdue_hold(&ctx.db, now).await {
            Ok(due) => {
                let overdue = due.map_or(0.0, |at| (now - at).num_milliseconds() as f64 / 1000.0);
                metrics::gauge!("cabanas_holds_overdue_seconds").set(overdue);
            }
            Err(err) => tracing::warn!(error = %err, "overdue holds unavailable"),
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// Publishes this process's new events on Redis and wakes the local runner on every other
/// instance's, so read models everywhere catch up within milliseconds (SQLite has no NOTIFY;
/// on PostgreSQL this only adds a second path). Reconnects after any failure.
pub async fn redis_wakeups(
    url: String,
    prefix: String,
    store: Arc<dyn EventStore>,
    runner: Arc<Runner>,
) {
    let channel = wake_channel(&prefix);
    loop {
        let result = async {
            let client = redis::Client::open(url.as_str())?;
            let mut publisher = client.get_connection_manager().await?;
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            let mut messages = pubsub.on_message();
            let mut changes = store.log_changes();
            loop {
                tokio::select! {
                    msg = messages.next() => match msg {
                        Some(_) => runner.wake(),
                        None => return Ok::<(), redis::RedisError>(()),
                    },
                    changed = changes.changed() => {
                        if changed.is_err() {
                            return Ok(());
                        }
                        let _: i64 = redis::cmd("PUBLISH")
                            .arg(&channel)
                            .arg("")
                            .query_async(&mut publisher)
                            .await?;
                    }
                }
            }
        }
        .await;
        if let Err(err) = result {
            metrics::counter!("cabanas_redis_errors_total").increment(1);
            tracing::warn!(error = %err, "Redis wake-ups interrupted; projections keep polling");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
