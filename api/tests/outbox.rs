//! The reply outbox on both backends against a fake WhatsApp API: a sender that meets a run of
//! 500s delivers every reply exactly once after recovery, in order, with the circuit breaker's
//! trips in the metrics; permanent refusals are recorded; sandbox mode stores instead of sending;
//! a stop during a send lets it finish and be recorded.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

use std::time::Duration;

use app::outbox::{Outbox, enqueue};
use conversation::reply::Reply;
use eventstore::Db;
use eventstore::db_fetch;
use integrations::whatsapp::client::{CloudApi, Config};
use integrations::whatsapp::template::NoticeTemplate;
use serde_json::json;
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn dbs() -> Vec<(&'static str, Db)> {
    let sqlite = eventstore::connect(&eventstore::testing::temp_sqlite_url())
        .await
        .unwrap();
    let pg = eventstore::connect(&eventstore::testing::fresh_postgres_url().await.unwrap())
        .await
        .unwrap();
    vec![("sqlite", sqlite.db()), ("postgres", pg.db())]
}

fn client(server: &MockServer) -> CloudApi {
    let mut c = Config::new(&server.uri(), "token", "1122334455");
    c.attempts = 2;
    c.backoff = Duration::from_millis(1);
    c.breaker_threshold = 2;
    c.breaker_cooldown = Duration::from_millis(30);
    CloudApi::new(c).unwrap()
}

/// A fake Cloud API that takes every message, answering only after `delay`.
async fn slow_meta(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"messages": [{"id": "wamid.slow"}]}))
                .set_delay(delay),
        )
        .mount(&server)
        .await;
    server
}

async fn statuses(db: &Db) -> Vec<(String, String)> {
    db_fetch!(
        db,
        (String, String),
        fetch_all,
        "SELECT id, status FROM wa_outbox ORDER BY id".to_owned()
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reply_goes_out_exactly_once_after_the_api_recovers() {
    let metrics = api::telemetry::recorder();
    for (backend, db) in dbs().await {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500))
            .up_to_n_times(6)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"messages": [{"id": "wamid.ok"}]})),
            )
            .mount(&server)
            .await;
        let outbox = Outbox::new(db.clone(), Some(client(&server)));
        let mut now = 1_800_000_000_000_i64;
        for n in 0..5 {
            let reply = Reply::text(format!("respuesta {n}")).unwrap();
            assert!(
                enqueue(&db, &format!("r{n}"), "5491122334455", &reply, now + n)
                    .await
                    .unwrap()
            );
        }
        // The same reply enqueued again (a redelivered trigger) is not queued twice.
        let again = Reply::text("respuesta 0").unwrap();
        assert!(
            !enqueue(&db, "r0", "5491122334455", &again, now)
                .await
                .unwrap()
        );

        for _ in 0..200 {
            outbox.drain_once(now).await.unwrap();
            if statuses(&db).await.iter().all(|(_, s)| s == "sent") {
                break;
            }
            // Past any backoff, and past the breaker's cooldown.
            now += 10 * 60 * 1000;
            tokio::time::sleep(Duration::from_millis(35)).await;
        }
        assert!(
            statuses(&db).await.iter().all(|(_, s)| s == "sent"),
            "{backend}: {:?}",
            statuses(&db).await
        );
        let requests = server.received_requests().await.unwrap();
        let delivered: Vec<String> = requests[6..]
            .iter()
            .map(|r| {
                let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                assert_eq!(body["to"], "541122334455", "sent without the 9");
                body["text"]["body"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(
            delivered,
            (0..5).map(|n| format!("respuesta {n}")).collect::<Vec<_>>(),
            "{backend}: each once, in order"
        );
    }
    let page = metrics.render();
    assert!(
        page.contains("cabanas_circuit_transitions_total{provider=\"whatsapp\",to=\"open\"}"),
        "{page}"
    );
    assert!(
        page.contains("cabanas_circuit_transitions_total{provider=\"whatsapp\",to=\"closed\"}")
    );
}

#[tokio::test]
async fn permanent_refusals_are_recorded_and_sandbox_stores_without_sending() {
    for (backend, db) in dbs().await {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
                "code": 131047, "message": "more than 24 hours have passed"
            }})))
            .mount(&server)
            .await;
        let now = 1_800_000_000_000_i64;
        enqueue(
            &db,
            "late",
            "5491122334455",
            &Reply::text("hola").unwrap(),
            now,
        )
        .await
        .unwrap();
        Outbox::new(db.clone(), Some(client(&server)))
            .drain_once(now)
            .await
            .unwrap();
        let (status, code): (String, Option<i64>) = db_fetch!(
            &db,
            (String, Option<i64>),
            fetch_one,
            "SELECT status, error_code FROM wa_outbox WHERE id = 'late'".to_owned()
        )
        .unwrap();
        assert_eq!(
            (status.as_str(), code),
            ("failed", Some(131_047)),
            "{backend}"
        );
        assert_eq!(server.received_requests().await.unwrap().len(), 1);

        enqueue(
            &db,
            "sandboxed",
            "5491122334455",
            &Reply::text("hola").unwrap(),
            now,
        )
        .await
        .unwrap();
        Outbox::new(db.clone(), None).drain_once(now).await.unwrap();
        let (status,): (String,) = db_fetch!(
            &db,
            (String,),
            fetch_one,
            "SELECT status FROM wa_outbox WHERE id = 'sandboxed'".to_owned()
        )
        .unwrap();
        assert_eq!(status, "sandbox", "{backend}");
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            1,
            "nothing sent"
        );
    }
}

/// A sender that stopped between Meta taking a reply and recording it (a crash) leaves the row
/// "sending". Once its claim expires the reply is in doubt: the status update Meta sent back
/// with the reply's id settles it, as sent or as failed, with no second message; with no such
/// update it is sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_send_is_settled_by_its_status_update_not_repeated() {
    for (backend, db) in dbs().await {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"messages": [{"id": "wamid.new"}]})),
            )
            .mount(&server)
            .await;
        let outbox = Outbox::new(db.clone(), Some(client(&server)));
        let now = 1_800_000_000_000_i64;
        for id in ["taken", "lost", "undeliverable"] {
            let reply = Reply::text(format!("respuesta {id}")).unwrap();
            enqueue(&db, id, "5491122334455", &reply, now)
                .await
                .unwrap();
        }
        // Both were claimed by a sender that died; only "taken" reached Meta, which reported it.
        eventstore::db_exec!(
            &db,
            "UPDATE wa_outbox SET status = 'sending', claimed_until_ms = $1".to_owned(),
            now - 1
        )
        .unwrap();
        eventstore::db_exec!(
            &db,
            "INSERT INTO wa_statuses (wamid, status, timestamp, errors, received_at_ms, tracker) \
             VALUES ('wamid.taken', 'sent', 1, '[]', 1, 'taken'), \
                    ('wamid.undeliverable', 'sent', 1, '[]', 1, 'undeliverable'), \
                    ('wamid.undeliverable', 'failed', 2, '[{\"code\":131026,\"title\":\"Message undeliverable\"}]', 2, 'undeliverable')"
                .to_owned()
        )
        .unwrap();

        outbox.drain_once(now).await.unwrap();
        let rows: Vec<(String, String, Option<String>)> = db_fetch!(
            &db,
            (String, String, Option<String>),
            fetch_all,
            "SELECT id, status, wamid FROM wa_outbox ORDER BY id".to_owned()
        )
        .unwrap();
        assert_eq!(
            rows,
            vec![
                ("lost".into(), "sent".into(), Some("wamid.new".into())),
                ("taken".into(), "sent".into(), Some("wamid.taken".into())),
                (
                    "undeliverable".into(),
                    "failed".into(),
                    Some("wamid.undeliverable".into())
                ),
            ],
            "{backend}"
        );
        let (code, error): (Option<i64>, Option<String>) = db_fetch!(
            &db,
            (Option<i64>, Option<String>),
            fetch_one,
            "SELECT error_code, last_error FROM wa_outbox WHERE id = 'undeliverable'".to_owned()
        )
        .unwrap();
        assert_eq!(code, Some(131026), "{backend}");
        assert_eq!(error.as_deref(), Some("Message undeliverable"), "{backend}");
        let requests = server.received_requests().await.unwrap();
        assert_eq!(
            requests.len(),
            1,
            "{backend}: only the lost reply is sent again"
        );
        let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
        assert_eq!(body["text"]["body"], "respuesta lost");
        assert_eq!(
            body["biz_opaque_callback_data"], "lost",
            "sent with its tracker"
        );
    }
}

/// A service that stops while a reply is on its way to Meta finishes that send and records it,
/// instead of being cut off and sending the reply a second time after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_a_send_lets_it_finish_and_be_recorded() {
    for (backend, db) in dbs().await {
        let server = slow_meta(Duration::from_millis(800)).await;
        let now = chrono::Utc::now();
        let reply = Reply::text("respuesta lenta").unwrap();
        enqueue(&db, "slow", "5491122334455", &reply, now.timestamp_millis())
            .await
            .unwrap();
        let (stop, stopping) = app::Stop::channel();
        let worker = tokio::spawn(app::outbox::run(
            Outbox::new(db.clone(), Some(client(&server))),
            std::sync::Arc::new(move || now),
            std::sync::Arc::new(tokio::sync::Notify::new()),
            stopping,
        ));
        // The stop comes while the request is at Meta, waiting for its answer.
        for _ in 0..200 {
            if !server.received_requests().await.unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), worker)
            .await
            .expect("the sender stops by itself once its pass is done")
            .unwrap();
        assert_eq!(
            statuses(&db).await,
            vec![("slow".to_owned(), "sent".to_owned())],
            "{backend}"
        );
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }
}

/// The approved template a refused reply goes again as.
fn notice() -> NoticeTemplate {
    NoticeTemplate {
        name: "aviso_reserva".into(),
        language: "es_AR".into(),
    }
}

/// What Meta answers free text outside the guest's 24-hour window.
fn outside_window() -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({"error": {
        "code": 131047, "message": "(#131047) Re-engagement message"
    }}))
}

/// A reply refused because the guest's 24-hour window has closed (a day-before message, an
/// owner's cancellation weeks later) goes again as the operator's notice template, carrying its
/// text on one line; the refused one stays listed as failed, and a notice is never resent.
#[tokio::test]
async fn a_reply_refused_outside_the_window_goes_again_as_the_notice_template() {
    for (backend, db) in dbs().await {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(body_partial_json(json!({"type": "text"})))
            .respond_with(outside_window())
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(body_partial_json(json!({"type": "template"})))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"messages": [{"id": "wamid.notice"}]})),
            )
            .mount(&server)
            .await;
        let outbox = Outbox::new(db.clone(), Some(client(&server))).with_notice(Some(notice()));
        let now = 1_800_000_000_000_i64;
        let text = "¡Mañana te esperamos en Cabaña del Lago!\nEntrada desde las 14:00.";
        enqueue(
            &db,
            "arrival:r1",
            "5491122334455",
            &Reply::text(text).unwrap(),
            now,
        )
        .await
        .unwrap();

        outbox.drain_once(now).await.unwrap();
        outbox.drain_once(now + 1).await.unwrap();
        let rows: Vec<(String, String, Option<i64>, Option<String>)> = db_fetch!(
            &db,
            (String, String, Option<i64>, Option<String>),
            fetch_all,
            "SELECT id, status, error_code, wamid FROM wa_outbox ORDER BY created_at_ms, id"
                .to_owned()
        )
        .unwrap();
        assert_eq!(
            rows,
            vec![
                ("arrival:r1".into(), "failed".into(), Some(131047), None),
                (
                    "arrival:r1:notice".into(),
                    "sent".into(),
                    None,
                    Some("wamid.notice".into())
                ),
            ],
            "{backend}"
        );
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 2, "{backend}: the text, then the template");
        let sent: serde_json::Value = serde_json::from_slice(&requests[1].body).unwrap();
        assert_eq!(sent["to"], "541122334455");
        assert_eq!(sent["template"]["name"], "aviso_reserva");
        assert_eq!(sent["template"]["language"]["code"], "es_AR");
        assert_eq!(
            sent["template"]["components"][0]["parameters"][0]["text"],
            "¡Mañana te esperamos en Cabaña del Lago! Entrada desde las 14:00."
        );
        assert_eq!(sent["biz_opaque_callback_data"], "arrival:r1:notice");

        // Meta's status update can report the refusal later instead, here for a reply whose
        // sender stopped before recording the send: the same resending follows.
        enqueue(
            &db,
            "cancelled:r2",
            "5491122334455",
            &Reply::text("Tu reserva fue cancelada.").unwrap(),
            now + 2,
        )
        .await
        .unwrap();
        eventstore::db_exec!(
            &db,
            "UPDATE wa_outbox SET status = 'sending', claimed_until_ms = $1 \
             WHERE id = 'cancelled:r2'"
                .to_owned(),
            now
        )
        .unwrap();
        eventstore::db_exec!(
            &db,
            "INSERT INTO wa_statuses (wamid, status, timestamp, errors, received_at_ms, tracker) \
             VALUES ('wamid.r2', 'failed', 2, '[{\"code\":131047,\"title\":\"Re-engagement message\"}]', 2, 'cancelled:r2')"
                .to_owned()
        )
        .unwrap();
        outbox.drain_once(now + 3).await.unwrap();
        outbox.drain_once(now + 4).await.unwrap();
        assert_eq!(
            statuses(&db).await,
            vec![
                ("arrival:r1".into(), "failed".into()),
                ("arrival:r1:notice".into(), "sent".into()),
                ("cancelled:r2".into(), "failed".into()),
                ("cancelled:r2:notice".into(), "sent".into()),
            ],
            "{backend}"
        );
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 3, "{backend}: no second text for r2");
        let sent: serde_json::Value = serde_json::from_slice(&requests[2].body).unwrap();
        assert_eq!(
            sent["template"]["components"][0]["parameters"][0]["text"],
            "Tu reserva fue cancelada."
        );

        // A notice Meta reports undelivered in its turn is recorded as failed, not resent.
        app::outbox::undelivered(
            &db,
            "cancelled:r2:notice",
            Some(131047),
            "Re-engagement message",
            Some(&notice()),
            now + 5,
        )
        .await
        .unwrap();
        outbox.drain_once(now + 6).await.unwrap();
        let last = statuses(&db).await;
        assert_eq!(last.len(), 4, "{backend}: {last:?}");
        assert_eq!(last[3], ("cancelled:r2:notice".into(), "failed".into()));
        assert_eq!(server.received_requests().await.unwrap().len(), 3);
    }
}

/// Meta's `failed` status update can arrive while the sender is still waiting for Meta's answer
/// to the send: the reply stays failed when the sender then records the send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_reported_during_the_send_is_not_overwritten() {
    for (backend, db) in dbs().await {
        let server = slow_meta(Duration::from_millis(600)).await;
        let now = 1_800_000_000_000_i64;
        let reply = Reply::text("respuesta").unwrap();
        enqueue(&db, "racing", "5491122334455", &reply, now)
            .await
            .unwrap();
        let outbox = Outbox::new(db.clone(), Some(client(&server)));
        let sending = tokio::spawn(async move { outbox.drain_once(now).await.unwrap() });
        for _ in 0..200 {
            if !server.received_requests().await.unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        app::outbox::undelivered(
            &db,
            "racing",
            Some(131026),
            "Message undeliverable",
            None,
            now,
        )
        .await
        .unwrap();
        sending.await.unwrap();
        assert_eq!(
            statuses(&db).await,
            vec![("racing".to_owned(), "failed".to_owned())],
            "{backend}"
        );
    }
}

/// A fake Meta holding the guest's picture `65463453` (and nothing under any other id), taking
/// uploads and messages. The picture's location answers 500 `failures` times first.
async fn meta_with_a_picture(picture: &[u8], failures: u64) -> MockServer {
    use sha2::Digest;
    use wiremock::matchers::path;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/65463453"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(failures)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/65463453"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "url": format!("{}/files/65463453", server.uri()),
            "mime_type": "image/jpeg",
            "sha256": hex::encode(sha2::Sha256::digest(picture)),
            "file_size": picture.len(),
            "id": "65463453"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/65463453"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(picture.to_vec()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(
                json!({"error": {"code": 100, "message": "Unsupported get request"}}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/1122334455/media"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "4490709327384033"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/1122334455/messages"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"messages": [{"id": "wamid.forwarded"}]})),
        )
        .mount(&server)
        .await;
    server
}

fn media(server: &MockServer) -> integrations::whatsapp::media::MediaClient {
    let mut c = Config::new(&server.uri(), "token", "1122334455");
    c.attempts = 2;
    c.backoff = Duration::from_millis(1);
    integrations::whatsapp::media::MediaClient::new(c, app::outbox::MAX_FORWARD_BYTES).unwrap()
}

fn picture(media_id: &str) -> app::outbox::File<'_> {
    app::outbox::File {
        kind: "image",
        media_id,
        mime_type: Some("image/jpeg"),
        filename: None,
    }
}

/// A guest's picture forwarded to the owner is fetched from Meta when it is sent, uploaded again,
/// and sent by the new id with its caption; a fetch that fails is retried later like a failed
/// send, and a file Meta no longer has fails for good (nothing is uploaded for it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_file_is_fetched_uploaded_and_sent_by_its_new_id() {
    let receipt = b"\xff\xd8\xff\xe0 comprobante de transferencia \xff\xd9";
    for (backend, db) in dbs().await {
        // Two 500s: both of the client's attempts in the first pass fail.
        let server = meta_with_a_picture(receipt, 2).await;
        let outbox =
            Outbox::new(db.clone(), Some(client(&server))).with_media(Some(media(&server)));
        let mut now = 1_800_000_000_000_i64;
        let caption = "Lo que mandó Ana (+5491122334455) para la seña de K7M2QXP".to_owned();
        assert!(
            app::outbox::enqueue_file(
                &db,
                "f1",
                "5491100000000",
                picture("65463453"),
                caption.clone(),
                now
            )
            .await
            .unwrap()
        );
        assert!(
            !app::outbox::enqueue_file(
                &db,
                "f1",
                "5491100000000",
                picture("65463453"),
                caption.clone(),
                now
            )
            .await
            .unwrap(),
            "a repeated forward is queued once"
        );

        outbox.drain_once(now).await.unwrap();
        let (status, attempts, error): (String, i32, Option<String>) = db_fetch!(
            &db,
            (String, i32, Option<String>),
            fetch_one,
            "SELECT status, attempts, last_error FROM wa_outbox WHERE id = 'f1'".to_owned()
        )
        .unwrap();
        assert_eq!((status.as_str(), attempts), ("pending", 1), "{backend}");
        assert!(
            error.unwrap().contains("media download unavailable"),
            "{backend}"
        );

        now += 10 * 60 * 1000;
        outbox.drain_once(now).await.unwrap();
        assert_eq!(
            statuses(&db).await,
            vec![("f1".into(), "sent".into())],
            "{backend}"
        );
        let requests = server.received_requests().await.unwrap();
        let upload: Vec<_> = requests
            .iter()
            .filter(|r| r.url.path() == "/1122334455/media")
            .collect();
        assert_eq!(upload.len(), 1, "{backend}");
        assert!(
            upload[0].body.windows(receipt.len()).any(|w| w == receipt),
            "{backend}: the picture's own bytes go up"
        );
        let sent: Vec<serde_json::Value> = requests
            .iter()
            .filter(|r| r.url.path() == "/1122334455/messages")
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        assert_eq!(sent.len(), 1, "{backend}");
        assert_eq!(sent[0]["to"], "541100000000", "{backend}");
        assert_eq!(sent[0]["type"], "image", "{backend}");
        assert_eq!(
            sent[0]["image"],
            json!({"id": "4490709327384033", "caption": caption}),
            "{backend}"
        );
        assert!(
            sent[0].get("forward").is_none(),
            "{backend}: our own field stays home"
        );

        // Meta no longer has this one: it fails for good, with the reason, and nothing goes up.
        app::outbox::enqueue_file(
            &db,
            "f2",
            "5491100000000",
            picture("777000"),
            "x".into(),
            now,
        )
        .await
        .unwrap();
        outbox.drain_once(now).await.unwrap();
        let (status, error): (String, Option<String>) = db_fetch!(
            &db,
            (String, Option<String>),
            fetch_one,
            "SELECT status, last_error FROM wa_outbox WHERE id = 'f2'".to_owned()
        )
        .unwrap();
        assert_eq!(status, "failed", "{backend}");
        assert!(error.unwrap().contains("media not available"), "{backend}");
        let uploads = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/1122334455/media")
            .count();
        assert_eq!(uploads, 1, "{backend}");
    }
}

/// Claims left by a sender that stopped are shortened when the queue changes hands (the one
/// SQLite process starting, a new lease holder on PostgreSQL): taken up as retaken once a
/// status update has had time to arrive, not a minute after they were claimed; a claim already
/// ending sooner is left as it is.
#[tokio::test]
async fn claims_of_a_stopped_sender_are_taken_up_soon_after_a_takeover() {
    use app::queue::{Queue, Shape};
    for (backend, db) in dbs().await {
        let now = 1_800_000_000_000_i64;
        for id in ["stranded", "ending"] {
            let reply = Reply::text(format!("respuesta {id}")).unwrap();
            enqueue(&db, id, "5491122334455", &reply, now)
                .await
                .unwrap();
        }
        for (id, until) in [("stranded", now + 60_000), ("ending", now + 5_000)] {
            eventstore::db_exec!(
                &db,
                "UPDATE wa_outbox SET status = 'sending', claimed_until_ms = $2 WHERE id = $1"
                    .to_owned(),
                id.to_owned(),
                until
            )
            .unwrap();
        }
        let queue = Queue::with(db.clone(), Shape::OUTBOX);
        assert_eq!(queue.release_claims(now + 20_000).await.unwrap(), 1);
        // Before: only the claim that was ending sooner anyway.
        let sooner = queue.claim(now + 19_999, 10).await.unwrap();
        assert_eq!(sooner.len(), 1, "{backend}");
        assert_eq!(sooner[0].id, "ending", "{backend}");
        let later = queue.claim(now + 20_001, 10).await.unwrap();
        assert_eq!(later.len(), 1, "{backend}");
        assert_eq!(later[0].id, "stranded", "{backend}");
        assert!(later[0].retaken, "{backend}");
    }
}
