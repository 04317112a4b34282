//! The WhatsApp webhook over real HTTP on both backends: Meta's handshake, signatures checked
//! before anything is stored, one inbox row per message however often Meta redelivers it, and
//! status updates kept once each in any order.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use common::{Backend, TestApp, spawn};
use hmac::{Hmac, KeyInit, Mac};
use projections::db_fetch;

const SECRET: &str = "test_app_secret_123";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../integrations/tests/fixtures/whatsapp/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn deliver(app: &TestApp, body: &[u8], signature: Option<String>) -> common::Reply {
    let mut req = app
        .http
        .post(format!("{}/webhooks/whatsapp", app.base))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(s) = signature {
        req = req.header("X-Hub-Signature-256", s);
    }
    app.send(req).await
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let (n,): (i64,) = db_fetch!(
        &app.state.db,
        (i64,),
        fetch_one,
        format!("SELECT count(*) FROM {table}")
    )
    .unwrap();
    n
}

fn status_payload(wamid: &str, status: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "5491100000000", "phone_number_id": "1"},
            "statuses": [{"id": wamid, "status": status, "timestamp": "1751142888",
                          "recipient_id": "5491122334455"}]
        }}]}]
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_verified_recorded_once_and_acknowledged() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(
            backend,
            &[
                ("CABANAS_WHATSAPP_APP_SECRET", SECRET),
                ("CABANAS_WHATSAPP_VERIFY_TOKEN", "verify-me"),
            ],
        )
        .await;

        let ok = app
            .get(
                "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444",
                None,
            )
            .await;
        assert_eq!(
            (ok.status, ok.body.clone()),
            (200, serde_json::json!(1158201444))
        );
        for bad in [
            "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1",
            "/webhooks/whatsapp?hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1",
            "/webhooks/whatsapp",
        ] {
            assert_eq!(app.get(bad, None).await.status, 403, "{bad}");
        }

        let text = fixture("text.example.json");
        // Unsigned, wrongly signed, or signed for other bytes: 401 and nothing stored.
        assert_eq!(deliver(&app, &text, None).await.status, 401);
        assert_eq!(
            deliver(&app, &text, Some(sign(b"other body"))).await.status,
            401
        );
        let refused = deliver(&app, &text, Some("sha256=00".into())).await;
        assert_eq!(refused.content_type, "application/problem+json");
        assert_eq!(count(&app, "wa_inbox").await, 0, "{backend:?}");

        let first = deliver(&app, &text, Some(sign(&text))).await;
        assert_eq!(first.status, 200, "{:?}", first.body);
        assert_eq!(first.body["new"], 1);
        // Meta redelivers: acknowledged again, recorded once.
        let again = deliver(&app, &text, Some(sign(&text))).await;
        assert_eq!(
            (again.status, again.body["new"].clone()),
            (200, serde_json::json!(0))
        );
        assert_eq!(count(&app, "wa_inbox").await, 1, "{backend:?}");

        // Every fixture, known type or not, is acknowledged with 200.
        for name in [
            "audio.example.json",
            "interactive-reply-buttons-messages.example.json",
            "interactive-list-messages.example.json",
            "status.example.json",
            "status-failed.example.json",
        ] {
            let body = fixture(name);
            assert_eq!(
                deliver(&app, &body, Some(sign(&body))).await.status,
                200,
                "{name}"
            );
        }
        let all: serde_json::Value = serde_json::from_slice(&fixture("message.json")).unwrap();
        for (key, payload) in all.as_object().unwrap() {
            let body = serde_json::to_vec(payload).unwrap();
            let r = deliver(&app, &body, Some(sign(&body))).await;
            assert_eq!(r.status, 200, "{key}: {:?}", r.body);
        }

        // Statuses in any order, each once.
        let before = count(&app, "wa_statuses").await;
        for status in ["read", "delivered", "read", "sent", "delivered"] {
            let body = status_payload("wamid.ours-1", status);
            assert_eq!(deliver(&app, &body, Some(sign(&body))).await.status, 200);
        }
        assert_eq!(count(&app, "wa_statuses").await - before, 3, "{backend:?}");

        // Not a WhatsApp notification at all: a problem, not a 500.
        let junk = b"{\"object\":\"page\"}".to_vec();
        let r = deliver(&app, &junk, Some(sign(&junk))).await;
        assert_eq!(r.status, 400);
    }
}
