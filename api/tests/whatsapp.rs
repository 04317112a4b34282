//! The WhatsApp webhook over real HTTP on both backends: Meta's handshake, signatures checked
//! before anything is stored, one inbox row per message however often Meta redelivers it, and
//! status updates kept once each in any order.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use common::{Backend, TestApp, spawn, wa};
use eventstore::db_fetch;
use sqlx::Connection;

const SECRET: &str = "test_app_secret_123";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../integrations/tests/fixtures/whatsapp/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn sign(body: &[u8]) -> String {
    wa::sign(SECRET, body)
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

/// The backend holding a worker's lease (`conversation`, `outbox`), if any.
async fn lease_holder(conn: &mut sqlx::PgConnection, worker: &str) -> Option<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND ((classid::bigint << 32) | objid::bigint) = $1",
    )
    .bind(projections::lease::key("cabanas-worker", worker))
    .fetch_optional(conn)
    .await
    .unwrap()
}

/// Two instances on one PostgreSQL database, as a scaled-out deployment runs: one answers
/// guests, the other stands by (it would transcribe every voice note a second time), and a
/// message delivered to the one standing by is answered once, by the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_answers_guests_and_the_others_stand_by() {
    use wiremock::matchers::{body_partial_json, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let meta = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(serde_json::json!({"status": "read"})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true})),
        )
        .mount(&meta)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"messages": [{"id": "wamid.reply"}]})),
        )
        .mount(&meta)
        .await;
    let uri = meta.uri();
    let vars = [
        ("CABANAS_WHATSAPP_TOKEN", "test-token"),
        ("CABANAS_WHATSAPP_PHONE_NUMBER_ID", "106540352242922"),
        ("CABANAS_WHATSAPP_API_BASE", uri.as_str()),
    ];
    let first = spawn(Backend::Postgres, &vars).await;
    let second = common::spawn_on(Backend::Postgres, &first.database_url, &vars).await;
    let instances = [&first, &second];
    // Each of the two kinds of work has one active instance and one standing by.
    let mut roles = Vec::new();
    for _ in 0..100 {
        roles.clear();
        for app in instances {
            let ready = app.get("/readyz", None).await;
            for work in ["conversation_worker", "reply_sender"] {
                roles.push((work, ready.body[work].as_str().unwrap().to_owned()));
            }
        }
        if roles.iter().filter(|(_, role)| role == "active").count() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    roles.sort();
    assert_eq!(
        roles,
        [
            ("conversation_worker", "active".to_owned()),
            ("conversation_worker", "standby".to_owned()),
            ("reply_sender", "active".to_owned()),
            ("reply_sender", "standby".to_owned()),
        ]
    );
    let standby = instances
        .into_iter()
        .find(|app| {
            !app.state
                .conversation_active
                .load(std::sync::atomic::Ordering::Relaxed)
        })
        .unwrap();

    let text = fixture("text.example.json");
    assert_eq!(deliver(standby, &text, None).await.status, 200);
    let receipts = || async {
        meta.received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains(r#""status":"read""#))
            .count()
    };
    for _ in 0..100 {
        if receipts().await > 0 && count(standby, "wa_outbox WHERE status = 'sent'").await > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // A moment more, for a second answer that should not come.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(receipts().await, 1);
    let replies = meta.received_requests().await.unwrap().len() - 1;
    assert_eq!(replies, 1, "one reply, sent once");
    assert_eq!(count(standby, "wa_outbox").await, 1);

    // The active instance loses its lease connection (as when it dies): an instance takes the
    // lease over on a connection of its own, and again exactly one answers.
    let mut admin = sqlx::PgConnection::connect(&first.database_url)
        .await
        .unwrap();
    let lost = lease_holder(&mut admin, "conversation").await.unwrap();
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(lost)
        .execute(&mut admin)
        .await
        .unwrap();
    let mut taken = None;
    for _ in 0..100 {
        taken = lease_holder(&mut admin, "conversation")
            .await
            .filter(|pid| *pid != lost);
        let active = instances
            .iter()
            .filter(|app| {
                app.state
                    .conversation_active
                    .load(std::sync::atomic::Ordering::Relaxed)
            })
            .count();
        if taken.is_some() && active == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(taken.is_some(), "nobody took the lease over");
    // The reply sender is one instance's too, so a guest's replies leave in order.
    assert!(lease_holder(&mut admin, "outbox").await.is_some());
}
