//! A whole booking over WhatsApp on both backends, through the signed webhook, the inbox, the
//! conversation, the command handler and the reply outbox, against a fake Cloud API: `hola` →
//! `tienen lugar este finde para 4?` → pick the cabin from the list → confirm → a hold exists,
//! and the fake API received each interactive message. A redelivered message changes nothing.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use std::time::Duration;

use common::{Backend, TestApp, spawn, wa};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "whatsapp-app-secret";
const GUEST: &str = "5491122334455";
/// The owner's own WhatsApp, where handoffs are announced.
const OWNER: &str = "5491144440000";

fn delivery(wamid: &str, message: Value) -> Vec<u8> {
    delivery_as((GUEST, "Ana Pérez"), wamid, message, chrono::Utc::now())
}

/// A delivery of `message` from `wa_id` (whose profile says `name`), sent at `at`.
fn delivery_as(
    who: (&str, &str),
    wamid: &str,
    message: Value,
    at: chrono::DateTime<chrono::Utc>,
) -> Vec<u8> {
    wa::envelope(who, wamid, message, at)
}

async fn deliver(app: &TestApp, body: Vec<u8>) {
    app.deliver(body, Some(SECRET)).await;
}

/// What the fake API received, split into the conversation's own replies and the rest (read
/// receipts, and the payment link the payments reactor sends after a hold).
async fn received(server: &MockServer) -> (Vec<Value>, Vec<Value>) {
    let all: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    all.into_iter()
        .partition(|m: &Value| m["status"] != "read" && m["interactive"]["type"] != "cta_url")
}

/// Waits for the fake API to have received `n` conversation replies; returns the last one.
async fn sent(server: &MockServer, n: usize) -> Value {
    for _ in 0..200 {
        let (got, _) = received(server).await;
        if got.len() >= n {
            return got[n - 1].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the fake WhatsApp API received fewer than {n} messages");
}

/// A service that sends through a fake Cloud API (phone number id 123) answering every message
/// with the id `wamid`, with `extra` settings.
async fn spawn_with_meta(
    backend: Backend,
    wamid: &str,
    extra: &[(&str, &str)],
) -> (MockServer, TestApp) {
    spawn_with_meta_signing(backend, wamid, Some(SECRET), extra).await
}

/// `spawn_with_meta`, with deliveries signed with `secret`, or not signed at all.
async fn spawn_with_meta_signing(
    backend: Backend,
    wamid: &str,
    secret: Option<&str>,
    extra: &[(&str, &str)],
) -> (MockServer, TestApp) {
    let mut settings = Vec::from(extra);
    if let Some(secret) = secret {
        settings.push(("CABANAS_WHATSAPP_APP_SECRET", secret));
    }
    wa::spawn_with_meta(backend, wamid, &settings).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_books_over_whatsapp() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (server, app) = spawn_with_meta(backend, "wamid.reply", &[]).await;
        let id = wa::register_the_lake(&app).await;

        let hello = delivery("wamid.1", wa::text("hola"));
        deliver(&app, hello.clone()).await;
        let menu = sent(&server, 1).await;
        assert_eq!(
            menu["to"], "541122334455",
            "{backend:?}: sent without the 9"
        );
        assert_eq!(menu["interactive"]["type"], "button");
        assert_eq!(
            menu["interactive"]["action"]["buttons"]
                .as_array()
                .unwrap()
                .len(),
            3
        );

        deliver(
            &app,
            delivery("wamid.2", wa::text("tienen lugar este finde para 4?")),
        )
        .await;
        // The only cabin free is offered as it is, the stay said back in words.
        let offered = sent(&server, 2).await;
        assert_eq!(
            offered["interactive"]["type"], "button",
            "{backend:?}: {offered}"
        );
        assert!(
            offered["interactive"]["body"]["text"]
                .as_str()
                .unwrap()
                .starts_with("Cabaña del Lago: del viernes"),
            "{backend:?}: {offered}"
        );

        deliver(
            &app,
            delivery("wamid.3", wa::pick(format!("acc:{id}"), "Cabaña del Lago")),
        )
        .await;
        let confirm = sent(&server, 3).await;
        assert_eq!(
            confirm["interactive"]["action"]["buttons"][0]["reply"]["id"],
            "hold:confirm"
        );

        deliver(&app, delivery("wamid.4", wa::tap("hold:confirm"))).await;
        let done = sent(&server, 4).await;
        let text = done["text"]["body"].as_str().unwrap();
        assert!(text.contains("código"), "{backend:?}: {text}");

        // The hold exists, from WhatsApp, for this weekend, and names the guest.
        let mut held = Value::Null;
        for _ in 0..100 {
            let list = app.admin_get("/v1/admin/reservations?status=held").await;
            if list.body["items"].as_array().is_some_and(|i| !i.is_empty()) {
                held = list.body["items"][0].clone();
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(held["channel"], "whatsapp", "{backend:?}: {held}");
        assert_eq!(held["guests"], 4);
        assert_eq!(held["guest"]["name"], "Ana Pérez");
        assert!(text.contains(held["code"].as_str().unwrap()));

        // Their reservations, then cancelling this one from the chat.
        let code = held["code"].as_str().unwrap().to_owned();
        deliver(&app, delivery("wamid.5", wa::text("mis reservas"))).await;
        let mine = sent(&server, 5).await;
        assert_eq!(
            mine["interactive"]["action"]["sections"][0]["rows"][0]["id"],
            format!("res:{code}"),
            "{backend:?}: {mine}"
        );
        deliver(
            &app,
            delivery(
                "wamid.6",
                json!({"type": "interactive", "interactive": {"type": "list_reply",
                       "list_reply": {"id": format!("res:{code}"), "title": code}}}),
            ),
        )
        .await;
        let manage = sent(&server, 6).await;
        assert_eq!(
            manage["interactive"]["action"]["buttons"][0]["reply"]["id"],
            format!("res-cancel:{code}")
        );
        let shown = manage["interactive"]["body"]["text"].as_str().unwrap();
        for part in [
            format!("Reserva {code} · Cabaña del Lago"),
            "personas".to_owned(),
            "Esperando la seña".to_owned(),
        ] {
            assert!(shown.contains(&part), "{backend:?}: {part} in {shown}");
        }
        deliver(
            &app,
            delivery("wamid.7", wa::tap(format!("res-cancel:{code}"))),
        )
        .await;
        // Nothing paid yet: nothing to lose, and the guest is asked once more.
        let terms = sent(&server, 7).await;
        assert_eq!(
            terms["interactive"]["action"]["buttons"][0]["reply"]["id"],
            format!("res-cancel-yes:{code}"),
            "{backend:?}: {terms}"
        );
        deliver(
            &app,
            delivery("wamid.8", wa::tap(format!("res-cancel-yes:{code}"))),
        )
        .await;
        let cancelled = sent(&server, 8).await;
        assert!(
            cancelled["text"]["body"]
                .as_str()
                .unwrap()
                .contains("cancelé"),
            "{backend:?}: {cancelled}"
        );
        let mut status_now = serde_json::Value::Null;
        for _ in 0..100 {
            status_now = app
                .get(&format!("/v1/reservations/{code}"), None)
                .await
                .body["status"]
                .clone();
            if status_now == "cancelled" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(status_now, "cancelled", "{backend:?}");

        // Meta redelivers the first message: acknowledged, nothing new sent.
        deliver(&app, hello).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        let (replies, other) = received(&server).await;
        assert_eq!(replies.len(), 8, "{backend:?}");
        // Every message was marked read. The hold's payment button may or may not have gone
        // out before the guest cancelled it, never twice.
        let receipts: Vec<&Value> = other.iter().filter(|m| m["status"] == "read").collect();
        for n in 1..=8 {
            let wamid = format!("wamid.{n}");
            assert!(
                receipts.iter().any(|m| m["message_id"] == wamid.as_str()),
                "{backend:?}: no receipt for {wamid}: {other:?}"
            );
        }
        assert!(
            other
                .iter()
                .filter(|m| m["interactive"]["type"] == "cta_url")
                .count()
                <= 1,
            "{backend:?}: {other:?}"
        );

        // Another number naming this reservation learns nothing about it.
        let mut stranger: Value = serde_json::from_slice(&delivery(
            "wamid.9",
            json!({"type": "interactive", "interactive": {"type": "list_reply",
                   "list_reply": {"id": format!("res:{code}"), "title": code}}}),
        ))
        .unwrap();
        let value = &mut stranger["entry"][0]["changes"][0]["value"];
        value["contacts"][0]["wa_id"] = json!("5491100009999");
        value["messages"][0]["from"] = json!("5491100009999");
        deliver(&app, serde_json::to_vec(&stranger).unwrap()).await;
        let answer = sent(&server, 9).await.to_string();
        assert!(
            answer.contains("No encontré esa reserva"),
            "{backend:?}: {answer}"
        );
        assert!(!answer.contains("Cabaña del Lago"), "{backend:?}: {answer}");
    }
}

async fn replies(app: &TestApp) -> Vec<Value> {
    let path = format!("/v1/admin/whatsapp/conversations/{GUEST}/replies");
    app.admin_get(&path).await.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn wait_for(app: &TestApp, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        if replies(app).await.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    replies(app).await
}

/// Sandbox (no Cloud API credentials): replies are stored and readable by the admin; a guest
/// who asked for a person gets no bot answers until the admin releases the conversation, the
/// owner is told on their own WhatsApp, and a person can write to the guest meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_conversations_are_listed_and_a_handoff_is_released() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(
            backend,
            &[
                ("CABANAS_WHATSAPP_APP_SECRET", SECRET),
                ("CABANAS_OWNER_WHATSAPP", OWNER),
            ],
        )
        .await;
        deliver(
            &app,
            delivery("wamid.h1", wa::text("quiero hablar con una persona")),
        )
        .await;
        let got = wait_for(&app, 1).await;
        assert_eq!(got.len(), 1, "{backend:?}");
        // Stored, not sent: there is no Cloud API in the sandbox.
        let mut settled = got[0]["status"].clone();
        for _ in 0..100 {
            settled = replies(&app).await[0]["status"].clone();
            if settled == "sandbox" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        assert_eq!(settled, "sandbox");
        let list = app.admin_get("/v1/admin/whatsapp/conversations").await;
        assert_eq!(list.body["items"][0]["wa_id"], GUEST);

        // Handed off: the bot stays quiet.
        deliver(&app, delivery("wamid.h2", wa::text("hola?"))).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(
            replies(&app).await.len(),
            1,
            "{backend:?}: silent while handed off"
        );
        let alerts = app
            .admin_get(&format!("/v1/admin/whatsapp/conversations/{OWNER}/replies"))
            .await;
        let alert = alerts.body["items"][0]["message"]["interactive"]["body"]["text"].to_string();
        assert!(alert.contains("pidió hablar con una persona"), "{alert}");
        assert!(
            alert.contains(GUEST),
            "the owner can find the guest: {alert}"
        );

        // A minute later a person writes to the guest from the business number.
        app.advance(chrono::Duration::minutes(1));
        let path = format!("/v1/admin/whatsapp/conversations/{GUEST}/messages");
        let written = app
            .admin_post(&path, json!({"text": "Hola Ana, soy Marta 🙂"}))
            .await;
        assert_eq!(written.status, 202, "{:?}", written.body);
        let listed = wait_for(&app, 2).await;
        assert_eq!(
            listed[1]["message"]["text"]["body"], "Hola Ana, soy Marta 🙂",
            "{backend:?}"
        );
        // A request retried with its Idempotency-Key writes once.
        for _ in 0..2 {
            let retried = app
                .send(
                    app.http
                        .post(format!("{}{path}", app.base))
                        .bearer_auth(&app.admin)
                        .header("Idempotency-Key", "write-1")
                        .json(&json!({"text": "¿A qué hora llegan?"})),
                )
                .await;
            assert_eq!(retried.status, 202, "{:?}", retried.body);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let listed = replies(&app).await;
        assert_eq!(listed.len(), 3, "{backend:?}: {listed:?}");
        assert_eq!(listed[2]["message"]["text"]["body"], "¿A qué hora llegan?");
        let blank = app.admin_post(&path, json!({"text": "  "})).await;
        assert_eq!(blank.status, 422);
        let stranger = app
            .admin_post(
                "/v1/admin/whatsapp/conversations/5491100001111/messages",
                json!({"text": "hola"}),
            )
            .await;
        assert_eq!(stranger.status, 404);
        let anonymous = app.post(&path, None, json!({"text": "hola"})).await;
        assert_eq!(anonymous.status, 401);

        let released = app
            .admin_post(
                &format!("/v1/admin/whatsapp/conversations/{GUEST}/release"),
                json!({}),
            )
            .await;
        assert_eq!(released.status, 200, "{:?}", released.body);
        deliver(&app, delivery("wamid.h3", wa::text("hola"))).await;
        assert_eq!(
            wait_for(&app, 4).await.len(),
            4,
            "{backend:?}: answering again"
        );
    }
}

/// A guest who asked for a person is handed back to the bot from the owner's WhatsApp, with
/// the alert's button; and, if nobody does, after a day without a message from them (their
/// messages to a person keep it a person's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handoff_ends_from_the_owners_whatsapp_or_after_a_quiet_day() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(
            backend,
            &[
                ("CABANAS_WHATSAPP_APP_SECRET", SECRET),
                ("CABANAS_OWNER_WHATSAPP", OWNER),
            ],
        )
        .await;
        let now = chrono::Utc::now();
        let guest_says = |wamid: &str, body: &str, at| {
            delivery_as((GUEST, "Ana Pérez"), wamid, wa::text(body), at)
        };
        deliver(
            &app,
            guest_says("wamid.p1", "quiero hablar con alguien", now),
        )
        .await;
        assert_eq!(wait_for(&app, 1).await.len(), 1, "{backend:?}");
        let owner_replies = || async {
            app.admin_get(&format!("/v1/admin/whatsapp/conversations/{OWNER}/replies"))
                .await
                .body["items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        };
        let mut alert = Value::Null;
        for _ in 0..100 {
            if let Some(first) = owner_replies().await.first() {
                alert = first["message"].clone();
                break;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let button = format!("owner-release:{GUEST}");
        assert_eq!(
            alert["interactive"]["action"]["buttons"][0]["reply"]["id"],
            button.as_str(),
            "{backend:?}: {alert}"
        );
        deliver(&app, guest_says("wamid.p2", "hola?", now)).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(replies(&app).await.len(), 1, "{backend:?}: handed off");

        let tap = wa::tap(button);
        deliver(&app, delivery_as((OWNER, "Dueña"), "wamid.o1", tap, now)).await;
        let mut told = false;
        for _ in 0..100 {
            told = owner_replies().await.iter().any(|r| {
                r["message"]["text"]["body"]
                    .as_str()
                    .is_some_and(|b| b.contains(&format!("vuelve a contestarle a +{GUEST}")))
            });
            if told {
                break;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        assert!(told, "{backend:?}: {:?}", owner_replies().await);
        deliver(&app, guest_says("wamid.p3", "hola", now)).await;
        assert_eq!(
            wait_for(&app, 2).await.len(),
            2,
            "{backend:?}: answered again"
        );

        // Handed off again, and nobody hands them back: while the guest keeps writing it stays
        // with the person; after a day without a word from them the bot answers.
        let p4 = guest_says("wamid.p4", "quiero hablar con una persona", now);
        deliver(&app, p4).await;
        assert_eq!(wait_for(&app, 3).await.len(), 3, "{backend:?}");
        let hours = |h| now + chrono::Duration::hours(h);
        deliver(&app, guest_says("wamid.p5", "¿hay alguien?", hours(20))).await;
        deliver(&app, guest_says("wamid.p6", "sigo esperando", hours(40))).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            replies(&app).await.len(),
            3,
            "{backend:?}: still a person's"
        );
        deliver(&app, guest_says("wamid.p7", "hola", hours(65))).await;
        assert_eq!(
            wait_for(&app, 4).await.len(),
            4,
            "{backend:?}: a quiet day later"
        );
    }
}

/// Meta's status update for one of our messages: `failed` with `code`, naming our reply id.
fn failed_status(wamid: &str, reply_id: &str, code: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "5491100000000", "phone_number_id": "123"},
            "statuses": [{"id": wamid, "status": "failed",
                "timestamp": chrono::Utc::now().timestamp().to_string(),
                "recipient_id": GUEST, "biz_opaque_callback_data": reply_id,
                "errors": [{"code": code, "title": "Re-engagement message",
                    "message": "Re-engagement message",
                    "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}]}]
        }}]}]
    }))
    .unwrap()
}

/// Two days after the guest last wrote, the owner writes to them. Meta takes the text and later
/// reports it undelivered: the guest's 24-hour window had closed. The text goes again inside
/// the approved notice template, and the admin sees both; Meta repeating its report changes
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_outside_the_24_hour_window_goes_as_the_notice_template() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (server, app) = spawn_with_meta(
            backend,
            "wamid.out",
            &[("CABANAS_WHATSAPP_NOTICE_TEMPLATE", "aviso_reserva")],
        )
        .await;
        deliver(&app, delivery("wamid.w1", wa::text("hola"))).await;
        sent(&server, 1).await;

        app.advance(chrono::Duration::days(2));
        let written = app
            .admin_post(
                &format!("/v1/admin/whatsapp/conversations/{GUEST}/messages"),
                json!({"text": "Hola Ana, ¿llegan mañana?\nLa llave queda en el buzón."}),
            )
            .await;
        assert_eq!(written.status, 202, "{:?}", written.body);
        let text = sent(&server, 2).await;
        assert_eq!(text["type"], "text", "{backend:?}: tried as text first");
        let reply_id = text["biz_opaque_callback_data"]
            .as_str()
            .unwrap()
            .to_owned();

        let report = failed_status("wamid.out", &reply_id, 131047);
        deliver(&app, report.clone()).await;
        let notice = sent(&server, 3).await;
        assert_eq!(notice["type"], "template", "{backend:?}");
        assert_eq!(notice["to"], "541122334455");
        assert_eq!(notice["template"]["name"], "aviso_reserva");
        assert_eq!(notice["template"]["language"]["code"], "es_AR");
        assert_eq!(
            notice["template"]["components"][0]["parameters"][0]["text"],
            "Hola Ana, ¿llegan mañana? La llave queda en el buzón."
        );

        let mut listed = Vec::new();
        for _ in 0..100 {
            listed = replies(&app).await;
            if listed.last().is_some_and(|r| r["status"] == "sent") && listed.len() == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let outcome: Vec<(Value, Value, Value)> = listed
            .iter()
            .map(|r| {
                (
                    r["id"].clone(),
                    r["status"].clone(),
                    r["error_code"].clone(),
                )
            })
            .collect();
        assert_eq!(
            outcome[1..],
            [
                (json!(reply_id), json!("failed"), json!(131047)),
                (
                    json!(format!("{reply_id}:notice")),
                    json!("sent"),
                    Value::Null
                ),
            ],
            "{backend:?}"
        );

        deliver(&app, report).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(received(&server).await.0.len(), 3, "{backend:?}: sent once");
        assert_eq!(replies(&app).await.len(), 3);
    }
}

/// A guest whose hold waits for its deposit sends the transfer's receipt as a picture: the
/// owner's WhatsApp gets the alert and then the picture itself, fetched from Meta, uploaded
/// again and sent by the new id, with who sent it and for which reservation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_sent_as_a_picture_is_forwarded_to_the_owner() {
    let receipt = b"\xff\xd8\xff\xe0 comprobante 0042 \xff\xd9".to_vec();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (server, app) =
            spawn_with_meta(backend, "wamid.reply", &[("CABANAS_OWNER_WHATSAPP", OWNER)]).await;
        Mock::given(method("GET"))
            .and(path("/65463453"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "url": format!("{}/files/65463453", server.uri()),
                "mime_type": "image/jpeg",
                "file_size": receipt.len(),
                "id": "65463453"
            })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/files/65463453"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(receipt.clone()))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/123/media"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "9900112233"})))
            .mount(&server)
            .await;
        let id = wa::register_the_lake(&app).await;
        for (n, message) in [
            wa::text("tienen lugar este finde para 2?"),
            wa::pick(format!("acc:{id}"), "Cabaña del Lago"),
            wa::tap("hold:confirm"),
        ]
        .into_iter()
        .enumerate()
        {
            deliver(&app, delivery(&format!("wamid.{n}"), message)).await;
            sent(&server, n + 1).await;
        }
        let mut code = String::new();
        for _ in 0..100 {
            let list = app.admin_get("/v1/admin/reservations?status=held").await;
            if let Some(c) = list.body["items"][0]["code"].as_str() {
                code = c.to_owned();
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!code.is_empty(), "{backend:?}: no hold");

        deliver(
            &app,
            delivery(
                "wamid.receipt",
                json!({"type": "image", "image": {"mime_type": "image/jpeg",
                       "sha256": "4654+8g=", "id": "65463453"}}),
            ),
        )
        .await;
        // What reached the owner's number, in order (sent without the 9).
        let to_owner = || async {
            server
                .received_requests()
                .await
                .unwrap()
                .iter()
                .filter(|r| r.url.path() == "/123/messages")
                .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
                .filter(|m| m["to"] == "541144440000")
                .collect::<Vec<Value>>()
        };
        for _ in 0..200 {
            if to_owner().await.iter().any(|m| m["type"] == "image") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let owner = to_owner().await;
        assert_eq!(owner.len(), 2, "{backend:?}: {owner:?}");
        assert!(
            owner[0]["interactive"]["body"]["text"]
                .as_str()
                .unwrap()
                .contains("comprobante"),
            "{backend:?}: the alert first: {owner:?}"
        );
        assert_eq!(
            owner[0]["interactive"]["action"]["buttons"][0]["reply"]["id"],
            format!("owner-confirm:{code}"),
            "{backend:?}"
        );
        assert_eq!(owner[1]["type"], "image", "{backend:?}");
        assert_eq!(owner[1]["image"]["id"], "9900112233", "{backend:?}");
        let caption = owner[1]["image"]["caption"].as_str().unwrap();
        assert!(
            caption.contains("Ana Pérez (+5491122334455)") && caption.contains(&code),
            "{backend:?}: {caption}"
        );
        let uploads: Vec<Vec<u8>> = server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == "/123/media")
            .map(|r| r.body)
            .collect();
        assert_eq!(uploads.len(), 1, "{backend:?}");
        assert!(
            uploads[0].windows(receipt.len()).any(|w| w == receipt),
            "{backend:?}: the picture's own bytes go up"
        );
    }
}

/// With credentials to send but no app secret, deliveries are not signed and one that claims
/// to come from the owner's number could be anyone's: it confirms nothing, and the owner is told
/// what is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_command_from_the_owners_number_confirms_nothing() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (server, app) = spawn_with_meta_signing(
            backend,
            "wamid.reply",
            None,
            &[("CABANAS_OWNER_WHATSAPP", OWNER)],
        )
        .await;
        let mut body: Value =
            serde_json::from_slice(&delivery("wamid.forged", wa::text("confirmar K7M2QXP")))
                .unwrap();
        let value = &mut body["entry"][0]["changes"][0]["value"];
        value["contacts"][0]["wa_id"] = json!(OWNER);
        value["messages"][0]["from"] = json!(OWNER);
        let r = app
            .send(
                app.http
                    .post(format!("{}/webhooks/whatsapp", app.base))
                    .json(&body),
            )
            .await;
        assert_eq!(r.status, 200, "{backend:?}");
        let answer = sent(&server, 1).await;
        assert_eq!(answer["to"], "541144440000", "{backend:?}");
        assert!(
            answer["text"]["body"]
                .as_str()
                .unwrap()
                .contains("CABANAS_WHATSAPP_APP_SECRET"),
            "{backend:?}: {answer}"
        );
    }
}

/// "mañana" written at 22:30 in Argentina (01:30 UTC, already the next day in UTC) is the day
/// after the guest's own date: the chat reckons "today" by the domain's one rule, in the
/// deployment's offset, never by the UTC date.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tomorrow_written_late_at_night_in_argentina_is_the_guests_tomorrow() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (server, app) = spawn_with_meta(backend, "wamid.reply", &[]).await;
        let id = wa::register_the_lake(&app).await;
        // Two days ahead at 01:30 UTC: 22:30 of the day before on the guest's clock.
        let utc_day = chrono::Utc::now().date_naive() + chrono::Days::new(2);
        let at = utc_day.and_hms_opt(1, 30, 0).unwrap().and_utc();
        *app.clock.lock().unwrap() = at;
        let guests_today = utc_day - chrono::Days::new(1);

        let says =
            |wamid: &str, message: Value| delivery_as((GUEST, "Ana Pérez"), wamid, message, at);
        deliver(
            &app,
            says("wamid.late-1", wa::text("mañana 2 noches para 2")),
        )
        .await;
        let offered = sent(&server, 1).await;
        assert_eq!(
            offered["interactive"]["type"], "button",
            "{backend:?}: {offered}"
        );
        deliver(
            &app,
            says(
                "wamid.late-2",
                wa::pick(format!("acc:{id}"), "Cabaña del Lago"),
            ),
        )
        .await;
        sent(&server, 2).await;
        deliver(&app, says("wamid.late-3", wa::tap("hold:confirm"))).await;
        sent(&server, 3).await;

        let mut held = Value::Null;
        for _ in 0..100 {
            let list = app.admin_get("/v1/admin/reservations?status=held").await;
            if list.body["items"].as_array().is_some_and(|i| !i.is_empty()) {
                held = list.body["items"][0].clone();
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let tomorrow = guests_today + chrono::Days::new(1);
        assert_eq!(
            held["check_in"],
            tomorrow.to_string(),
            "{backend:?}: {held}"
        );
        assert_eq!(
            held["check_out"],
            (tomorrow + chrono::Days::new(2)).to_string(),
            "{backend:?}: {held}"
        );
    }
}
