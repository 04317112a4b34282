//! What the deployment's alerts and dashboards read is what the service exports: every metric
//! name in `deploy/prometheus/alerts.yml` and `deploy/grafana/dashboards/*.json` is on a running
//! service's `/metrics` (a rename in the code, or a typo in a rule, fails here instead of
//! leaving an alert silently empty in production).

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use std::collections::BTreeSet;

use common::{Backend, spawn};
use serde_json::json;

/// Names that are not the service's to export.
const NOT_OURS: &[(&str, &str)] = &[
    ("up", "Prometheus's own series for each scrape target"),
    (
        "cabanas_voice_transcription_seconds",
        "recorded with a voice note's first transcription; api/tests/voice.rs transcribes",
    ),
];

/// Every `cabanas_…`/`ical_…` name (and `up`) the alert rules and dashboards use, without the
/// `_bucket`/`_count`/`_sum` a histogram's series add.
fn names_used() -> BTreeSet<String> {
    let mut text = include_str!("../../deploy/prometheus/alerts.yml").to_owned();
    let dashboards = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/grafana/dashboards");
    for entry in std::fs::read_dir(dashboards).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if word(bytes[i]) && (i == 0 || !word(bytes[i - 1])) {
            let end = (i..bytes.len())
                .find(|&k| !word(bytes[k]))
                .unwrap_or(bytes.len());
            let w = &text[i..end];
            if w.starts_with("cabanas_") || w.starts_with("ical_") || w == "up" {
                let base = ["_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|s| w.strip_suffix(s))
                    .unwrap_or(w);
                names.insert(base.to_owned());
            }
            i = end;
        } else {
            i += 1;
        }
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_alerts_and_dashboards_read_is_exported() {
    let app = spawn(Backend::Postgres, &[]).await;
    // A little of everything: a cabin and a hold, a calendar feed (its age gauge), a guest's
    // message answered in the sandbox (the reply-time histogram).
    let (acc, _) = app.register("Cabaña del Lago", 4).await;
    assert_eq!(app.hold(&acc, 10, 13).await.status, 201);
    let feed = app
        .admin_post(
            &format!("/v1/admin/accommodations/{acc}/feeds"),
            json!({"source": "airbnb", "url": "https://calendar.example.invalid/123.ics"}),
        )
        .await;
    assert_eq!(feed.status, 201, "{:?}", feed.body);
    let hello = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
        "metadata": {"phone_number_id": "123"},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": "5491122220000"}],
        "messages": [{"from": "5491122220000", "id": "wamid.metrics",
                      "timestamp": chrono::Utc::now().timestamp().to_string(),
                      "type": "text", "text": {"body": "hola"}}]}}]}]});
    let delivered = app.post("/webhooks/whatsapp", None, hello).await;
    assert_eq!(delivered.status, 200);

    let used = names_used();
    assert!(used.len() >= 15, "{used:?}");
    let mut missing = Vec::new();
    for _ in 0..100 {
        // /readyz asks the feeds' ages, which sets their gauge.
        app.get("/readyz", None).await;
        let page = app.get("/metrics", None).await.body;
        let page = page.as_str().unwrap_or_default().to_owned();
        missing = used
            .iter()
            .filter(|n| !NOT_OURS.iter().any(|(name, _)| name == n))
            .filter(|n| {
                !page
                    .lines()
                    .any(|l| !l.starts_with('#') && l.starts_with(n.as_str()))
            })
            .cloned()
            .collect();
        if missing.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        missing.is_empty(),
        "used by deploy/ but not exported: {missing:?}"
    );
}
