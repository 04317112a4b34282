//! Prometheus metrics, projection-lag reporting and Redis wake-ups between instances.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use eventstore::EventStore;
use futures_util::StreamExt;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
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
            let builder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ])
                .unwrap_or_else(|_| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is installed: keep serving an (empty) page rather than failing.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

/// Keeps the projection-lag gauges fresh even when nobody asks /readyz.
pub async fn report_lag(runner: Arc<Runner>) {
    loop {
        if let Err(err) = runner.status().await {
            tracing::warn!(error = %err, "projection status unavailable");
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
