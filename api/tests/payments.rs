//! Mercado Pago end to end on both backends, with wiremock standing in for Mercado Pago and the
//! SDK's recorded payment shape (in ARS): a hold gets one payment link even when the first call
//! times out; a signed notification (delivered several times) confirms once; a late approval on
//! taken nights is refunded with the guest and the admin told; an underpayment stays held; an
//! admin cancellation refunds what the policy gives back; the sandbox confirms without
//! credentials through the same path.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use std::time::Duration;

use common::{Backend, TestApp, spawn, wa};
use domain::accommodation::{AccommodationCommand, Channel, PlaceHold};
use domain::guest::GuestProfileRecorded;
use domain::{AccommodationId, DomainEvent, GuestEvent, ReservationCode, ReservationId, StayDates};
use eventstore::{ExpectedVersion, Metadata, NewEvent};
use hmac::{Hmac, KeyInit, Mac};
use integrations::mercadopago::webhook;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MP_SECRET: &str = "mp-webhook-secret";
const GUEST: &str = "5491133334444";
/// The owner's own WhatsApp, where bookings and problems are announced.
const OWNER: &str = "5491144440000";

async fn spawn_with_mp(backend: Backend, server: &MockServer) -> TestApp {
    let uri = server.uri();
    spawn(
        backend,
        &[
            ("CABANAS_MP_ACCESS_TOKEN", "TEST-token"),
            ("CABANAS_MP_WEBHOOK_SECRET", MP_SECRET),
            ("CABANAS_MP_API_BASE", uri.as_str()),
            ("CABANAS_MP_TIMEOUT_SECS", "1"),
            ("CABANAS_PUBLIC_URL", "https://cabanas.example"),
            ("CABANAS_OWNER_WHATSAPP", OWNER),
        ],
    )
    .await
}

/// Polls `check` until it holds (the workers run asynchronously), or fails the test.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    // Up to 30 s: the workers are prompt when the machine is idle, but a CI box running other
    // suites beside this one can hold them back for seconds.
    for _ in 0..600 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

async fn status(app: &TestApp, code: &str) -> Value {
    app.get(&format!("/v1/reservations/{code}"), None)
        .await
        .body
}

fn sign(app: &TestApp, data_id: &str, request_id: &str) -> String {
    let ts = app.clock.lock().unwrap().timestamp().to_string();
    let manifest = webhook::manifest(Some(data_id), Some(request_id), &ts);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(MP_SECRET.as_bytes()).unwrap();
    mac.update(manifest.as_bytes());
    format!("ts={ts},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delivers a payment notification the way Mercado Pago does (signed webhook).
async fn notify(app: &TestApp, payment_id: &str, notification_id: u64) -> common::Reply {
    let request_id = format!("req-{notification_id}");
    let body = json!({"id": notification_id, "live_mode": false, "type": "payment",
        "date_created": "2026-12-07T10:04:58.396-03:00", "user_id": 44444, "api_version": "v1",
        "action": "payment.updated", "data": {"id": payment_id}});
    app.send(
        app.http
            .post(format!(
                "{}/webhooks/mercadopago?data.id={payment_id}&type=payment",
                app.base
            ))
            .header("x-signature", sign(app, payment_id, &request_id))
            .header("x-request-id", request_id)
            .json(&body),
    )
    .await
}

/// The SDK's recorded payment, as Mercado Pago would return it for this reservation.
fn payment(id: &str, status: &str, reservation: &str, amount: f64) -> Value {
    let raw = std::fs::read_to_string(format!(
        "{}/../integrations/tests/fixtures/mercadopago/response_payment_payment_base.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut p: Value = serde_json::from_str(&raw).unwrap();
    p["id"] = json!(id.parse::<u64>().unwrap());
    p["status"] = json!(status);
    p["external_reference"] = json!(reservation);
    p["transaction_amount"] = json!(amount);
    p
}

async fn serve_payment(server: &MockServer, body: Value) {
    let id = body["id"].to_string();
    Mock::given(method("GET"))
        .and(path(format!("/v1/payments/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

fn preference_answer(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({
        "id": id,
        "init_point": format!("https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id={id}"),
        "sandbox_init_point": format!("https://sandbox.mercadopago.com.ar/checkout/v1/redirect?pref_id={id}"),
    }))
}

async fn accept_preferences(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/checkout/preferences"))
        .respond_with(preference_answer("pref-any"))
        .mount(server)
        .await;
}

/// A hold placed by a WhatsApp guest (so the guest is told about payments).
async fn whatsapp_hold(app: &TestApp, accommodation: &str, from: i64, to: i64) -> (String, String) {
    let code = ReservationCode::from_entropy(rand::random());
    whatsapp_hold_coded(app, accommodation, (from, to), code).await
}

/// `whatsapp_hold` under the code `code`.
async fn whatsapp_hold_coded(
    app: &TestApp,
    accommodation: &str,
    (from, to): (i64, i64),
    code: ReservationCode,
) -> (String, String) {
    let state = &app.state;
    let now = *app.clock.lock().unwrap();
    let guest = eventstore::pii::guest_for_phone(&state.db, GUEST)
        .await
        .unwrap();
    let profile = GuestEvent::ProfileRecorded(GuestProfileRecorded {
        guest_id: guest,
        name: "Ana Pérez".into(),
        phone: GUEST.into(),
        recorded_at: now,
    });
    state
        .store
        .append(
            &guest.stream_id(),
            ExpectedVersion::Any,
            &[NewEvent {
                event_id: uuid::Uuid::now_v7(),
                event_type: profile.event_type().into(),
                schema_version: 1,
                payload: profile.to_payload(),
                metadata: Metadata::default(),
            }],
        )
        .await
        .unwrap();
    let reservation = ReservationId::new();
    let stay =
        StayDates::new(app.day(from).parse().unwrap(), app.day(to).parse().unwrap()).unwrap();
    let accommodation: AccommodationId = accommodation.parse().unwrap();
    state
        .handler
        .execute(
            &accommodation.stream_id(),
            &AccommodationCommand::PlaceHold(PlaceHold {
                reservation_id: reservation,
                code: code.clone(),
                guest_ref: guest.stream_id(),
                stay,
                guests: 2,
                channel: Channel::Whatsapp,
                hold_duration: chrono::Duration::minutes(30),
            }),
            now,
            &Metadata::default(),
        )
        .await
        .unwrap();
    (reservation.to_string(), code.to_string())
}

/// What the guest was sent (sandbox WhatsApp: replies are stored, not sent).
async fn guest_messages(app: &TestApp) -> Vec<String> {
    messages_to(app, GUEST).await
}

/// The text of every message queued for `wa_id`, oldest first.
async fn messages_to(app: &TestApp, wa_id: &str) -> Vec<String> {
    raw_messages_to(app, wa_id)
        .await
        .into_iter()
        .map(|b| {
            let v: Value = serde_json::from_str(&b).unwrap();
            match v["type"].as_str() {
                // The payment link comes as a button that opens it.
                Some("interactive") => format!(
                    "{} {}",
                    v["interactive"]["body"]["text"]
                        .as_str()
                        .unwrap_or_default(),
                    v["interactive"]["action"]["parameters"]["url"]
                        .as_str()
                        .unwrap_or_default()
                ),
                _ => v["text"]["body"].as_str().unwrap_or_default().to_owned(),
            }
        })
        .collect()
}

/// A service with Mercado Pago faked (payment links accepted), a cabin, and a WhatsApp guest's
/// hold on it from `from` to `to` days ahead: (the fake, the app, the cabin, the reservation id,
/// its code).
async fn whatsapp_guest_holding(
    backend: Backend,
    from: i64,
    to: i64,
) -> (MockServer, TestApp, String, String, String) {
    let server = MockServer::start().await;
    accept_preferences(&server).await;
    let app = spawn_with_mp(backend, &server).await;
    let (acc, _) = app.register("Cabaña del Lago", 4).await;
    let (reservation, code) = whatsapp_hold(&app, &acc, from, to).await;
    (server, app, acc, reservation, code)
}

/// Pays the hold's whole deposit the way Mercado Pago reports it (payment `payment_id`, told
/// by notification `notification_id`), once the hold is in the read model.
async fn pay_deposit(
    app: &TestApp,
    server: &MockServer,
    (reservation, code): (&str, &str),
    payment_id: &str,
    notification_id: u64,
) {
    until_status(app, code, "held").await;
    let deposit: f64 = status(app, code).await["deposit"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    serve_payment(
        server,
        payment(payment_id, "approved", reservation, deposit),
    )
    .await;
    assert_eq!(notify(app, payment_id, notification_id).await.status, 200);
}

/// `PATCH /v1/admin/accommodations/{acc}` with `changes`.
async fn change_cabin(app: &TestApp, acc: &str, changes: Value) -> common::Reply {
    app.send(
        app.http
            .patch(format!("{}/v1/admin/accommodations/{acc}", app.base))
            .bearer_auth(&app.admin)
            .json(&changes),
    )
    .await
}

async fn cancel_as_owner(app: &TestApp, code: &str, reason: &str) -> common::Reply {
    app.admin_post(
        &format!("/v1/admin/reservations/{code}/cancel"),
        json!({ "reason": reason }),
    )
    .await
}

async fn inbox_rows(app: &TestApp) -> i64 {
    let (n,): (i64,) = eventstore::db_fetch!(
        &app.state.db,
        (i64,),
        fetch_one,
        "SELECT COUNT(*) FROM mp_inbox".to_owned()
    )
    .unwrap();
    n
}

/// Posts a notification to `query` with the given `x-signature` (none when `None`).
async fn post_notification(
    app: &TestApp,
    query: &str,
    signature: Option<String>,
    body: Value,
) -> common::Reply {
    let mut req = app
        .http
        .post(format!("{}/webhooks/mercadopago?{query}", app.base))
        .header("x-request-id", "req-probe")
        .json(&body);
    if let Some(sig) = signature {
        req = req.header("x-signature", sig);
    }
    app.send(req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_secret_every_notification_shape_must_be_signed_and_only_the_signed_id_is_acted_on()
{
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let server = MockServer::start().await;
        let app = spawn_with_mp(backend, &server).await;
        let body = json!({"id": 77, "type": "payment", "data": {"id": "555"}});
        let resource =
            json!({"resource": "https://api.mercadolibre.com/collections/notifications/666"});
        let refused = [
            // The old IPN shape without a signature.
            ("topic=payment&id=555", None, body.clone()),
            // A webhook signed for 555 with another id added beside it, in either shape.
            (
                "data.id=555&type=payment&id=666",
                Some(sign(&app, "555", "req-probe")),
                body.clone(),
            ),
            (
                "data.id=555&type=payment&topic=payment&id=666",
                Some(sign(&app, "555", "req-probe")),
                body.clone(),
            ),
            // Signed over no id, naming one only in the (unsigned) body: an IPN's resource URL,
            // a webhook's data.id.
            ("topic=payment", Some(sign(&app, "", "req-probe")), resource),
            (
                "type=payment",
                Some(sign(&app, "", "req-probe")),
                body.clone(),
            ),
        ];
        for (query, signature, body) in refused {
            let r = post_notification(&app, query, signature, body).await;
            assert_eq!(r.status, 401, "{backend:?} {query}: {:?}", r.body);
            assert_eq!(r.content_type, "application/problem+json");
        }
        assert_eq!(inbox_rows(&app).await, 0, "{backend:?}: nothing recorded");
        // (Only these two ids: wiremock reuses a dropped server, which the previous backend's
        // app may still call for the id it accepted below.)
        let fetched = server.received_requests().await.unwrap();
        assert!(
            fetched
                .iter()
                .all(|r| !["/v1/payments/555", "/v1/payments/666"].contains(&r.url.path())),
            "{backend:?}: no payment fetched for a refused notification"
        );

        // The IPN shape signed over its id is taken, and names that id.
        let ipn = post_notification(
            &app,
            "topic=payment&id=777",
            Some(sign(&app, "777", "req-probe")),
            json!({"resource": "https://api.mercadolibre.com/collections/notifications/777"}),
        )
        .await;
        assert_eq!(ipn.status, 200, "{backend:?}: {:?}", ipn.body);
        let rows: Vec<(String,)> = eventstore::db_fetch!(
            &app.state.db,
            (String,),
            fetch_all,
            "SELECT resource_id FROM mp_inbox".to_owned()
        )
        .unwrap();
        assert_eq!(rows, vec![("777".to_owned(),)], "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_gets_one_link_and_a_payment_notified_three_times_confirms_once() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let server = MockServer::start().await;
        // The first preference call times out; the retry (same idempotency key) succeeds.
        Mock::given(method("POST"))
            .and(path("/checkout/preferences"))
            .respond_with(preference_answer("pref-1").set_delay(Duration::from_secs(3)))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/checkout/preferences"))
            .and(header("authorization", "Bearer TEST-token"))
            .respond_with(preference_answer("pref-1"))
            .mount(&server)
            .await;
        let app = spawn_with_mp(backend, &server).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        let held = app.hold(&acc, 20, 22).await;
        assert_eq!(held.status, 201, "{:?}", held.body);
        let code = held.body["code"].as_str().unwrap().to_owned();
        let reservation = held.body["reservation_id"]
            .as_str()
            .or(held.body["id"].as_str())
            .unwrap()
            .to_owned();
        let deposit: f64 = held.body["deposit"].as_str().unwrap().parse().unwrap();

        eventually("the payment link", || async {
            status(&app, &code).await["payment_link"].is_string()
        })
        .await;
        let calls = server.received_requests().await.unwrap();
        let creations: Vec<_> = calls
            .iter()
            .filter(|r| r.url.path() == "/checkout/preferences")
            .collect();
        assert_eq!(creations.len(), 2, "{backend:?}: one timeout, one retry");
        let keys: Vec<_> = creations
            .iter()
            .map(|r| r.headers.get("x-idempotency-key").unwrap().clone())
            .collect();
        assert_eq!(keys[0], keys[1], "{backend:?}: a retry reuses the key");
        let sent: Value = serde_json::from_slice(&creations[1].body).unwrap();
        assert_eq!(sent["external_reference"], reservation);
        assert_eq!(sent["binary_mode"], true);
        assert_eq!(sent["expires"], true);
        assert_eq!(sent["items"][0]["currency_id"], "ARS");
        assert_eq!(sent["items"][0]["unit_price"].as_f64().unwrap(), deposit);
        assert_eq!(
            sent["notification_url"],
            "https://cabanas.example/webhooks/mercadopago?source_news=webhooks"
        );
        assert_eq!(
            sent["back_urls"]["success"],
            "https://cabanas.example/pagos/retorno"
        );
        let expires =
            chrono::DateTime::parse_from_rfc3339(sent["expiration_date_to"].as_str().unwrap())
                .unwrap();
        let held_until =
            chrono::DateTime::parse_from_rfc3339(held.body["expires_at"].as_str().unwrap())
                .unwrap();
        assert_eq!(expires.timestamp(), held_until.timestamp());

        // A forged notification is refused and leaves nothing behind.
        let forged = app
            .send(
                app.http
                    .post(format!(
                        "{}/webhooks/mercadopago?data.id=555&type=payment",
                        app.base
                    ))
                    .header("x-signature", "ts=1704908010,v1=00ff")
                    .header("x-request-id", "req-x")
                    .json(&json!({"id": 1, "type": "payment", "data": {"id": "555"}})),
            )
            .await;
        assert_eq!(forged.status, 401, "{backend:?}");
        assert_eq!(forged.content_type, "application/problem+json");
        assert_eq!(inbox_rows(&app).await, 0);

        serve_payment(&server, payment("555", "approved", &reservation, deposit)).await;
        for _ in 0..3 {
            assert_eq!(notify(&app, "555", 9001).await.status, 200);
        }
        // payment.created and payment.updated for the same payment: two notifications.
        assert_eq!(notify(&app, "555", 9002).await.status, 200);
        assert_eq!(inbox_rows(&app).await, 2, "{backend:?}");

        until_status(&app, &code, "confirmed").await;
        eventually("both notifications handled", || async {
            let rows: Vec<(String,)> = eventstore::db_fetch!(
                &app.state.db,
                (String,),
                fetch_all,
                "SELECT status FROM mp_inbox".to_owned()
            )
            .unwrap();
            rows.iter().all(|(s,)| s == "done")
        })
        .await;
        app.state.runner.catch_up().await.unwrap();
        let timeline = app
            .auditor_get(&format!("/v1/audit/reservations/{code}/timeline"))
            .await;
        let types: Vec<&str> = common::event_types(&timeline.body["events"]);
        assert_eq!(
            types
                .iter()
                .filter(|t| **t == "ReservationConfirmed")
                .count(),
            1,
            "{backend:?}: {types:?}"
        );
        assert_eq!(
            types.iter().filter(|t| **t == "PaymentLinkCreated").count(),
            1
        );
        let confirmed = status(&app, &code).await;
        assert_eq!(
            confirmed["amount_paid"]
                .as_str()
                .unwrap()
                .parse::<f64>()
                .unwrap(),
            deposit
        );
        let payments = app
            .admin_get(&format!("/v1/admin/reservations/{code}/payments"))
            .await;
        assert_eq!(payments.body["payments"][0]["payment_id"], "555");
        assert_eq!(payments.body["payments"][0]["method"], "master");

        // The return page shows what we know; its query string decides nothing.
        let page = app
            .get(
                &format!("/pagos/retorno?external_reference={reservation}&status=rejected"),
                None,
            )
            .await;
        assert!(page.content_type.starts_with("text/html"));
        assert!(
            page.body.as_str().unwrap().contains("confirmada"),
            "{:?}",
            page.body
        );
        // Booked on the web: nothing is promised over a WhatsApp we cannot start.
        assert!(
            !page.body.as_str().unwrap().contains("WhatsApp"),
            "{:?}",
            page.body
        );
        let unknown = app
            .get(
                "/pagos/retorno?external_reference=null&status=approved",
                None,
            )
            .await;
        assert!(unknown.body.as_str().unwrap().contains("procesando"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_approval_on_taken_nights_is_refunded_and_everyone_told() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (server, app, acc, reservation, code) = whatsapp_guest_holding(backend, 20, 22).await;
        eventually("the link message", || async {
            guest_messages(&app)
                .await
                .iter()
                .any(|m| m.contains("mercadopago.com.ar"))
        })
        .await;
        // The hold lapses and someone else takes the nights.
        app.advance(chrono::Duration::minutes(45));
        let other = app.hold(&acc, 20, 22).await;
        assert_eq!(other.status, 201, "{backend:?}: {:?}", other.body);

        Mock::given(method("POST"))
            .and(path("/v1/payments/777/refunds"))
            .respond_with(ResponseTemplate::new(201).set_body_json(
                json!({"id": 4242, "payment_id": 777, "amount": 32400, "status": "approved"}),
            ))
            .expect(1)
            .mount(&server)
            .await;
        serve_payment(&server, payment("777", "approved", &reservation, 32_400.0)).await;
        assert_eq!(notify(&app, "777", 7001).await.status, 200);

        eventually("the refund", || async {
            let p = app
                .admin_get(&format!("/v1/admin/reservations/{code}/payments"))
                .await;
            p.body["refunds"][0]["issued"] == true
        })
        .await;
        let refunds = server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == "/v1/payments/777/refunds")
            .collect::<Vec<_>>();
        assert_eq!(refunds.len(), 1, "{backend:?}");
        assert!(refunds[0].headers.get("x-idempotency-key").is_some());
        assert_eq!(status(&app, &code).await["status"], "expired");

        eventually("the guest told of the refund", || async {
            let messages = guest_messages(&app).await;
            messages.iter().any(|m| m.contains("ya había vencido"))
                && messages.iter().any(|m| m.contains("Te devolvimos"))
        })
        .await;
        app.state.runner.catch_up().await.unwrap();
        let alerts = app.admin_get("/v1/admin/alerts").await;
        assert_eq!(
            alerts.body["alerts"][0]["kind"], "late_payment_refunded",
            "{backend:?}: {:?}",
            alerts.body
        );
        assert_eq!(alerts.body["alerts"][0]["code"], code);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_underpayment_stays_held_and_the_admin_is_alerted() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let server = MockServer::start().await;
        accept_preferences(&server).await;
        let app = spawn_with_mp(backend, &server).await;
        let (acc, _) = app.register("Cabaña del Bosque", 4).await;
        let (reservation, code) = whatsapp_hold(&app, &acc, 20, 22).await;
        serve_payment(&server, payment("888", "approved", &reservation, 1000.0)).await;
        assert_eq!(notify(&app, "888", 8001).await.status, 200);
        eventually("the underpayment recorded", || async {
            let paid = status(&app, &code).await["amount_paid"].clone();
            paid.as_str().and_then(|p| p.parse::<f64>().ok()) == Some(1000.0)
        })
        .await;
        assert_eq!(status(&app, &code).await["status"], "held");
        eventually("the alert and the guest told", || async {
            let alerts = app.admin_get("/v1/admin/alerts").await;
            alerts.body["alerts"][0]["kind"] == "underpayment"
                && guest_messages(&app)
                    .await
                    .iter()
                    .any(|m| m.contains("Te falta pagar"))
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_cancellation_refunds_what_the_policy_gives_back() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let server = MockServer::start().await;
        accept_preferences(&server).await;
        let app = spawn_with_mp(backend, &server).await;
        let (acc, _) = app.register("Cabaña del Río", 4).await;
        // Ten days before arrival under the default (moderate) policy: half back.
        let held = app.hold(&acc, 10, 12).await;
        let code = held.body["code"].as_str().unwrap().to_owned();
        let reservation = held.body["reservation_id"]
            .as_str()
            .or(held.body["id"].as_str())
            .unwrap()
            .to_owned();
        let deposit: f64 = held.body["deposit"].as_str().unwrap().parse().unwrap();
        serve_payment(&server, payment("999", "approved", &reservation, deposit)).await;
        assert_eq!(notify(&app, "999", 9901).await.status, 200);
        until_status(&app, &code, "confirmed").await;

        Mock::given(method("POST"))
            .and(path("/v1/payments/999/refunds"))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(json!({"id": 5151, "payment_id": 999, "status": "approved"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let cancelled = cancel_as_owner(&app, &code, "pedido del huésped").await;
        assert_eq!(cancelled.status, 200, "{backend:?}: {:?}", cancelled.body);
        // The answer says what the cancellation did: half back, half kept, nothing to collect.
        let half = format!("{:.2}", deposit / 2.0);
        assert_eq!(cancelled.body["status"], "cancelled");
        assert_eq!(
            cancelled.body["events"],
            json!(["ReservationCancelled", "RefundDue"])
        );
        assert_eq!(cancelled.body["refunded"], half.as_str());
        assert_eq!(cancelled.body["paid"], half.as_str());
        assert_eq!(cancelled.body["balance_due"], "0.00");
        eventually("the partial refund", || async {
            let p = app
                .admin_get(&format!("/v1/admin/reservations/{code}/payments"))
                .await;
            p.body["refunds"][0]["issued"] == true
        })
        .await;
        let refund = server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.url.path() == "/v1/payments/999/refunds")
            .unwrap();
        let body: Value = serde_json::from_slice(&refund.body).unwrap();
        assert_eq!(
            body["amount"].as_f64().unwrap(),
            deposit / 2.0,
            "{backend:?}"
        );
        let after = status(&app, &code).await;
        assert_eq!(after["status"], "cancelled");
        assert_eq!(
            after["refunded"].as_str().unwrap().parse::<f64>().unwrap(),
            deposit / 2.0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_confirms_a_booking_without_credentials() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        let held = app.hold(&acc, 20, 22).await;
        let code = held.body["code"].as_str().unwrap().to_owned();
        eventually("the sandbox link", || async {
            status(&app, &code).await["payment_link"]
                .as_str()
                .is_some_and(|l| l.contains("/pagos/retorno"))
        })
        .await;
        // Old-style IPN shapes are acknowledged too.
        let ipn = app
            .send(app.http.post(format!(
                "{}/webhooks/mercadopago?topic=merchant_order&id=1",
                app.base
            )))
            .await;
        assert_eq!(ipn.status, 200);
        let junk = app
            .send(
                app.http
                    .post(format!("{}/webhooks/mercadopago", app.base))
                    .body("{}"),
            )
            .await;
        assert_eq!(junk.status, 400);
        assert_eq!(junk.content_type, "application/problem+json");

        let rejected = app
            .admin_post(
                "/v1/admin/sandbox/payments",
                json!({"code": code, "status": "rejected"}),
            )
            .await;
        assert_eq!(rejected.status, 202, "{:?}", rejected.body);
        let paid = app
            .admin_post("/v1/admin/sandbox/payments", json!({"code": code}))
            .await;
        assert_eq!(paid.status, 202, "{:?}", paid.body);
        until_status(&app, &code, "confirmed").await;
        let bad = app
            .admin_post(
                "/v1/admin/sandbox/payments",
                json!({"code": code, "status": "paid-ish"}),
            )
            .await;
        assert_eq!(bad.status, 422);
        let missing = app
            .admin_post("/v1/admin/sandbox/payments", json!({"code": "NOP-E00"}))
            .await;
        assert_eq!(missing.status, 404);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_is_made_when_mercado_pago_recovers_and_the_hold_extended_once() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let server = MockServer::start().await;
        // Down for one whole call (every retry inside it).
        Mock::given(method("POST"))
            .and(path("/checkout/preferences"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(4)
            .mount(&server)
            .await;
        let app = spawn_with_mp(backend, &server).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        let held = app.hold(&acc, 20, 22).await;
        let code = held.body["code"].as_str().unwrap().to_owned();
        eventually("the failed call retried later", || async {
            let rows: Vec<(i32,)> = eventstore::db_fetch!(
                &app.state.db,
                (i32,),
                fetch_all,
                "SELECT attempts FROM reactor_tasks WHERE kind = 'payment_link'".to_owned()
            )
            .unwrap();
            rows.first().is_some_and(|(n,)| *n == 1)
        })
        .await;
        assert!(status(&app, &code).await["payment_link"].is_null());
        assert_eq!(status(&app, &code).await["status"], "held");

        // Mercado Pago is back twenty minutes into a thirty-minute hold.
        Mock::given(method("POST"))
            .and(path("/checkout/preferences"))
            .respond_with(preference_answer("pref-late"))
            .mount(&server)
            .await;
        app.advance(chrono::Duration::minutes(20));
        let now = *app.clock.lock().unwrap();
        eventually("the link after the outage", || async {
            status(&app, &code).await["payment_link"].is_string()
        })
        .await;
        let after = status(&app, &code).await;
        let expires = chrono::DateTime::parse_from_rfc3339(after["expires_at"].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert!(
            expires >= now + chrono::Duration::minutes(29),
            "{backend:?}: the hold was given a full period back ({expires} vs {now})"
        );
        let calls = server.received_requests().await.unwrap();
        let last: Value = serde_json::from_slice(&calls.last().unwrap().body).unwrap();
        let link_expiry =
            chrono::DateTime::parse_from_rfc3339(last["expiration_date_to"].as_str().unwrap())
                .unwrap();
        assert_eq!(link_expiry.timestamp(), expires.timestamp());
    }
}

/// Waits until the reservation `code` reads `wanted` in the read model.
async fn until_status(app: &TestApp, code: &str, wanted: &str) {
    eventually(&format!("{code} {wanted}"), || async {
        status(app, code).await["status"] == wanted
    })
    .await;
}

/// Waits until the guest has been told `text` exactly `times` times.
async fn until_told(app: &TestApp, text: &str, times: usize) {
    let what = format!("the guest told {text:?} {times} times");
    eventually(&what, || async { told(app, text).await == times }).await;
}

/// Waits until a message to the owner satisfies `said`.
async fn until_owner_told(app: &TestApp, what: &str, said: impl Fn(&str) -> bool) {
    eventually(what, || async {
        messages_to(app, OWNER).await.iter().any(|m| said(m))
    })
    .await;
}

/// Messages the guest got that contain `text`.
async fn told(app: &TestApp, text: &str) -> usize {
    guest_messages(app)
        .await
        .iter()
        .filter(|m| m.contains(text))
        .count()
}

/// What only the reminder says.
const REMINDER: &str = "todavía querés confirmarla";

/// Moves the clock, then waits for the scheduler (every second here) to have run at that time.
async fn after_a_pass(app: &TestApp, minutes: i64) {
    after_a_pass_at(app, chrono::Duration::minutes(minutes)).await;
}

async fn after_a_pass_at(app: &TestApp, by: chrono::Duration) {
    app.advance(by);
    tokio::time::sleep(Duration::from_millis(1500)).await;
}

/// A WhatsApp guest who has not paid is reminded once, with the link again, as the hold nears
/// its end, and told when it lapses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_whatsapp_hold_is_reminded_once_and_its_lapse_told() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (_server, app, _, _, code) = whatsapp_guest_holding(backend, 10, 12).await;
        until_told(&app, "Para confirmar la reserva", 1).await;
        // Half of its 30 minutes gone: too early.
        after_a_pass(&app, 15).await;
        assert_eq!(told(&app, REMINDER).await, 0, "{backend:?}");

        // In its last ten minutes.
        app.advance(chrono::Duration::minutes(6));
        until_told(&app, REMINDER, 1).await;
        let reminder = guest_messages(&app)
            .await
            .into_iter()
            .find(|m| m.contains(REMINDER))
            .unwrap();
        assert!(reminder.contains(&code), "{reminder}");
        assert!(reminder.contains("pref_id=pref-any"), "{reminder}");
        // Later passes, still in those minutes, remind no more.
        after_a_pass(&app, 2).await;
        assert_eq!(told(&app, REMINDER).await, 1, "{backend:?}: reminded once");

        app.advance(chrono::Duration::minutes(8));
        until_told(&app, "venció porque no nos llegó la seña", 1).await;
        assert_eq!(status(&app, &code).await["status"], "expired");
    }
}

/// The owner cancels a WhatsApp guest's hold: the guest hears it from us.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_guest_is_told_when_the_owner_cancels() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (_server, app, _, _, code) = whatsapp_guest_holding(backend, 10, 12).await;
        until_status(&app, &code, "held").await;
        let cancelled = cancel_as_owner(&app, &code, "mantenimiento").await;
        assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
        eventually("the guest told", || async {
            told(&app, &format!("Tu reserva {code}")).await == 1
                && told(&app, "fue cancelada").await == 1
        })
        .await;
    }
}

/// The confirmation tells a WhatsApp guest the cabin's own house times and how to get there;
/// the directions are shown nowhere public.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_guest_is_told_the_house_times_and_the_way_there() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (server, app, acc, reservation, code) = whatsapp_guest_holding(backend, 10, 12).await;
        let way = "Ruta 40 km 2012, tranquera verde; la llave está en la caja junto a la puerta.";
        let changed = change_cabin(
            &app,
            &acc,
            json!({"check_in_time": "15:30", "directions": way}),
        )
        .await;
        assert_eq!(changed.status, 200, "{:?}", changed.body);
        let position = changed.body["position"].as_i64().unwrap();
        // The owner sees them as guests will get them; nobody else does.
        let details = format!("/v1/admin/accommodations/{acc}");
        let shown = app.admin_get(&details).await;
        assert_eq!(shown.status, 200, "{:?}", shown.body);
        assert_eq!(shown.body["directions"], way);
        assert_eq!(shown.body["check_in_time"], "15:30");
        assert_eq!(app.get(&details, None).await.status, 401);
        let nowhere = format!("/v1/admin/accommodations/{}", uuid::Uuid::now_v7());
        assert_eq!(app.admin_get(&nowhere).await.status, 404);
        let public = app
            .get(&format!("/v1/accommodations?min_position={position}"), None)
            .await;
        assert!(
            !public.body.to_string().contains("tranquera"),
            "{backend:?}: {:?}",
            public.body
        );
        // Asked "where, when" in the chat: the cabin's own times, not the way there yet.
        guest_taps(&app, "wamid.where", "help:location").await;
        until_told(
            &app,
            "La entrada es desde las 15:30 y la salida hasta las 10:00",
            1,
        )
        .await;
        assert_eq!(told(&app, "tranquera").await, 0, "{backend:?}");
        pay_deposit(&app, &server, (&reservation, &code), "4321", 4301).await;
        until_told(&app, "está confirmada", 1).await;
        let confirmation = guest_messages(&app)
            .await
            .into_iter()
            .find(|m| m.contains("está confirmada"))
            .unwrap();
        assert!(
            confirmation.contains("Entrada desde las 15:30, salida hasta las 10:00."),
            "{confirmation}"
        );
        assert!(
            confirmation.contains(&format!("📍 Cómo llegar: {way}")),
            "{confirmation}"
        );
        // With the stay confirmed, "¿cómo llego?" is answered with the way there.
        guest_sends(&app, "wamid.how", wa::text("¿cómo llego?")).await;
        until_told(&app, &format!("📍 Cómo llegar: {way}"), 2).await;
        // What is left to pay after the deposit: told, shown with the reservation and on the
        // page the guest comes back to from Mercado Pago.
        let balance = balance_after_deposit(&app, &code).await;
        assert!(
            confirmation.contains(&format!("Saldo a pagar al llegar: {balance}.")),
            "{confirmation}"
        );
        let shown: rust_decimal::Decimal = status(&app, &code).await["balance_due"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(domain::Money::new(shown), balance, "{backend:?}");
        let page = app
            .get(
                &format!("/pagos/retorno?external_reference={reservation}"),
                None,
            )
            .await;
        let page = page.body.as_str().unwrap();
        assert!(
            page.contains(&format!("Saldo a pagar al llegar: {balance}")),
            "{page}"
        );
        // And in the chat: the list of their reservations, and the reservation picked from it.
        guest_taps(&app, "wamid.mine", "menu:mine").await;
        let listed = format!("confirmada · saldo {balance}");
        eventually("the list with the balance", || async {
            raw_messages_to(&app, GUEST)
                .await
                .iter()
                .any(|m| m.contains(&listed))
        })
        .await;
        guest_taps(&app, "wamid.one", &format!("res:{code}")).await;
        let detail = format!("saldo a pagar al llegar: {balance}");
        until_told(&app, &detail, 1).await;
    }
}

/// The message bodies queued for `wa_id`, as sent to Meta (list rows included).
async fn raw_messages_to(app: &TestApp, wa_id: &str) -> Vec<String> {
    let rows: Vec<(String,)> = eventstore::db_fetch!(
        &app.state.db,
        (String,),
        fetch_all,
        "SELECT body FROM wa_outbox WHERE wa_id = $1 ORDER BY created_at_ms, id".to_owned(),
        wa_id.to_owned()
    )
    .unwrap();
    rows.into_iter().map(|(b,)| b).collect()
}

/// The stay's total less its deposit, as the reservation's status shows them.
async fn balance_after_deposit(app: &TestApp, code: &str) -> domain::Money {
    let shown = status(app, code).await;
    let amount =
        |field: &str| -> rust_decimal::Decimal { shown[field].as_str().unwrap().parse().unwrap() };
    domain::Money::new(amount("total") - amount("deposit"))
}

/// The day before arrival, from 10:00 in the owner's calendar, a confirmed WhatsApp guest is
/// told the house times and the way there, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_arriving_tomorrow_is_told_the_way_once() {
    const TOMORROW: &str = "Mañana te esperamos";
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (server, app, acc, reservation, code) = whatsapp_guest_holding(backend, 3, 5).await;
        let changed = change_cabin(&app, &acc, json!({"directions": "Camino al lago 5"})).await;
        assert_eq!(changed.status, 200, "{:?}", changed.body);
        pay_deposit(&app, &server, (&reservation, &code), "5511", 5501).await;
        until_status(&app, &code, "confirmed").await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(told(&app, TOMORROW).await, 0, "{backend:?}: days ahead");

        // The day before, 09:00 in Argentina (12:00 UTC): still too early in the day.
        let check_in: chrono::NaiveDate = app.day(3).parse().unwrap();
        let nine = (check_in - chrono::Duration::days(1))
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc();
        let now = *app.clock.lock().unwrap();
        after_a_pass_at(&app, nine - now).await;
        assert_eq!(told(&app, TOMORROW).await, 0, "{backend:?}: before 10:00");

        app.advance(chrono::Duration::minutes(90));
        until_told(&app, TOMORROW, 1).await;
        let message = guest_messages(&app)
            .await
            .into_iter()
            .find(|m| m.contains(TOMORROW))
            .unwrap();
        assert!(message.contains(&code), "{message}");
        assert!(message.contains("Entrada desde las 14:00"), "{message}");
        assert!(
            message.contains("📍 Cómo llegar: Camino al lago 5"),
            "{message}"
        );
        let balance = balance_after_deposit(&app, &code).await;
        assert!(
            message.contains(&format!("Saldo a pagar al llegar: {balance}.")),
            "{message}"
        );
        after_a_pass(&app, 60).await;
        assert_eq!(told(&app, TOMORROW).await, 1, "{backend:?}: once");

        // The morning of the arrival the owner gets the day's agenda, from 08:00, once.
        let agenda = || async {
            messages_to(&app, OWNER)
                .await
                .into_iter()
                .filter(|m| m.contains("📋 Hoy"))
                .collect::<Vec<_>>()
        };
        let seven = check_in.and_hms_opt(10, 0, 0).unwrap().and_utc();
        let now = *app.clock.lock().unwrap();
        after_a_pass_at(&app, seven - now).await;
        assert!(agenda().await.is_empty(), "{backend:?}: before 08:00");
        app.advance(chrono::Duration::minutes(90));
        eventually("the owner's agenda", || async { agenda().await.len() == 1 }).await;
        let day = agenda().await.remove(0);
        for part in [
            "Llegan:",
            "Cabaña del Lago: Ana Pérez",
            code.as_str(),
            &format!("saldo a cobrar {balance}"),
            "«cobrado CÓDIGO»",
            "«comandos»",
        ] {
            assert!(day.contains(part), "{backend:?}: {part} in {day}");
        }
        after_a_pass(&app, 60).await;
        assert_eq!(agenda().await.len(), 1, "{backend:?}: once a day");

        // The guest cannot come after all and the owner moves the stay a week on: the day
        // before the new check-in they are told the way again.
        let new_check_in = check_in + chrono::Duration::days(7);
        let moved = app
            .admin_post(&format!("/v1/admin/reservations/{code}/stay"), json!({"check_in": new_check_in, "check_out": new_check_in + chrono::Duration::days(2)}))
            .await;
        assert_eq!(moved.status, 200, "{:?}", moved.body);
        let half_past_ten = (new_check_in - chrono::Duration::days(1))
            .and_hms_opt(13, 30, 0)
            .unwrap()
            .and_utc();
        let now = *app.clock.lock().unwrap();
        after_a_pass_at(&app, half_past_ten - now).await;
        until_told(&app, TOMORROW, 2).await;
    }
}

/// The guest taps a button in WhatsApp.
async fn guest_taps(app: &TestApp, wamid: &str, id: &str) {
    guest_sends(app, wamid, wa::tap(id)).await;
}

/// The guest sends `message` (its `type` and content) in WhatsApp: an unsigned delivery, as
/// these tests set no app secret.
async fn guest_sends(app: &TestApp, wamid: &str, message: Value) {
    app.whatsapp_from((GUEST, "Ana Pérez"), wamid, message)
        .await;
}

/// A guest cancelling a paid stay from WhatsApp is told first what the cabin's policy gives
/// back, and nothing changes until they accept; then the refund is that amount. The owner hears
/// of the booking when it is paid, and of the cancellation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_cancelling_a_paid_stay_is_told_the_refund_first() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        // Ten days before arrival under the default (moderate) policy: half back.
        let (server, app, _, reservation, code) = whatsapp_guest_holding(backend, 10, 12).await;
        pay_deposit(&app, &server, (&reservation, &code), "6161", 6101).await;
        until_status(&app, &code, "confirmed").await;
        let owner_told = |what: &'static str| {
            let app = &app;
            async move {
                messages_to(app, OWNER)
                    .await
                    .into_iter()
                    .filter(|m| m.contains(what))
                    .collect::<Vec<_>>()
            }
        };
        eventually("the owner told of the booking", || async {
            owner_told("Nueva reserva").await.len() == 1
        })
        .await;
        let news = owner_told("Nueva reserva").await.remove(0);
        let balance = balance_after_deposit(&app, &code).await;
        for part in [
            code.as_str(),
            "Cabaña del Lago",
            "Ana Pérez",
            "por WhatsApp",
            &format!("saldo a cobrar al llegar: {balance}"),
        ] {
            assert!(news.contains(part), "{backend:?}: {part} in {news}");
        }
        Mock::given(method("POST"))
            .and(path("/v1/payments/6161/refunds"))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(json!({"id": 6262, "payment_id": 6161, "status": "approved"})),
            )
            .mount(&server)
            .await;

        guest_taps(&app, "wamid.c1", &format!("res-cancel:{code}")).await;
        until_told(&app, "te devolvemos", 1).await;
        let terms = guest_messages(&app)
            .await
            .into_iter()
            .find(|m| m.contains("te devolvemos"))
            .unwrap();
        assert!(terms.contains("política de cancelación"), "{terms}");
        assert_eq!(
            status(&app, &code).await["status"],
            "confirmed",
            "{backend:?}"
        );

        guest_taps(&app, "wamid.c2", &format!("res-cancel-yes:{code}")).await;
        until_status(&app, &code, "cancelled").await;
        let deposit: f64 = status(&app, &code).await["deposit"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        eventually("the refund decided", || async {
            let p = app
                .admin_get(&format!("/v1/admin/reservations/{code}/payments"))
                .await;
            p.body["refunds"][0]["amount"]
                .as_str()
                .and_then(|a| a.parse::<f64>().ok())
                == Some(deposit / 2.0)
        })
        .await;
        // Told of the refund once it is made, and not told a second time of the cancellation
        // they asked for themselves (the bot answered them already).
        until_told(&app, "Te devolvimos", 1).await;
        assert_eq!(told(&app, "fue cancelada").await, 0, "{backend:?}");
        eventually("the owner told of the cancellation", || async {
            owner_told("El huésped canceló").await.len() == 1
        })
        .await;
        assert_eq!(
            owner_told("Nueva reserva").await.len(),
            1,
            "{backend:?}: once"
        );
    }
}

/// The guest pays the balance in cash on arrival and the owner records it: the reservation owes
/// nothing more, the payment is listed, the same receipt told again counts once, and mistakes
/// get a clear answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_balance_paid_on_arrival_is_recorded_by_hand() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (server, app, _, reservation, code) = whatsapp_guest_holding(backend, 3, 5).await;
        let path = format!("/v1/admin/reservations/{code}/payments");
        until_status(&app, &code, "held").await;
        let balance = balance_after_deposit(&app, &code).await;
        let cash = json!({"amount": balance.amount().to_string(), "method": "efectivo",
                          "payment_reference": "recibo 0042"});
        let early = app.admin_post(&path, cash.clone()).await;
        assert_eq!(
            early.status, 409,
            "{backend:?}: a hold is confirmed by its deposit"
        );
        assert!(early.content_type.starts_with("application/problem+json"));

        pay_deposit(&app, &server, (&reservation, &code), "7711", 7701).await;
        until_status(&app, &code, "confirmed").await;
        let recorded = app.admin_post(&path, cash.clone()).await;
        assert_eq!(recorded.status, 200, "{:?}", recorded.body);
        assert_eq!(recorded.body["event"], "ManualPaymentRecorded");
        let position = recorded.body["position"].as_i64().unwrap();
        let shown = app
            .get(
                &format!("/v1/reservations/{code}?min_position={position}"),
                None,
            )
            .await;
        assert_eq!(
            shown.body["balance_due"], "0.00",
            "{backend:?}: {:?}",
            shown.body
        );

        let again = app.admin_post(&path, cash.clone()).await;
        assert_eq!(again.status, 200, "{:?}", again.body);
        assert_eq!(
            again.body["event"],
            Value::Null,
            "{backend:?}: counted once"
        );
        let listed = app.admin_get(&path).await;
        let by_hand: Vec<&Value> = listed.body["payments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["payment_id"] == "recibo 0042")
            .collect();
        assert_eq!(by_hand.len(), 1, "{backend:?}: {:?}", listed.body);
        assert_eq!(by_hand[0]["method"], "efectivo");
        let amount: rust_decimal::Decimal = by_hand[0]["amount"].as_str().unwrap().parse().unwrap();
        assert_eq!(domain::Money::new(amount), balance);

        let other_amount = app
            .admin_post(
                &path,
                json!({"amount": "100", "payment_reference": "recibo 0042"}),
            )
            .await;
        assert_eq!(other_amount.status, 409, "{:?}", other_amount.body);
        for bad in [
            json!({"amount": "0"}),
            json!({"amount": "mucho"}),
            json!({}),
        ] {
            let refused = app.admin_post(&path, bad.clone()).await;
            assert!(
                [400, 422].contains(&refused.status),
                "{bad}: {} {:?}",
                refused.status,
                refused.body
            );
        }
        assert_eq!(app.post(&path, None, cash.clone()).await.status, 401);
        let unknown = app
            .admin_post("/v1/admin/reservations/ZZZZ-9999/payments", cash)
            .await;
        assert_eq!(unknown.status, 404);
    }
}

/// With the deposit paid, a guest who asks to pay gets a Mercado Pago link for the balance (made
/// by the reactor, a button once it is there), and paying it settles the stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_pays_the_balance_online() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (server, app, _, reservation, code) = whatsapp_guest_holding(backend, 5, 7).await;
        pay_deposit(&app, &server, (&reservation, &code), "8811", 8801).await;
        until_told(&app, "está confirmada", 1).await;
        let balance = balance_after_deposit(&app, &code).await;

        guest_taps(&app, "wamid.pay1", "help:pay").await;
        let owed = format!("saldo de {balance}");
        until_told(&app, "te mando el link en un momento", 1).await;
        until_told(&app, &format!("el saldo es de {balance}"), 1).await;
        let link = guest_messages(&app)
            .await
            .into_iter()
            .find(|m| m.contains("el saldo es de"))
            .unwrap();
        assert!(link.contains("pref_id=pref-any"), "{backend:?}: {link}");
        // Asked again, the same link comes as a button at once, and no second one is made.
        guest_taps(&app, "wamid.pay2", "help:pay").await;
        until_told(&app, "Podés pagarlo ahora o al llegar", 1).await;
        assert_eq!(told(&app, &owed).await, 2, "{backend:?}");
        let balance_links = server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| {
                r.url.path() == "/checkout/preferences"
                    && String::from_utf8_lossy(&r.body).contains("Saldo reserva")
            })
            .count();
        assert_eq!(balance_links, 1, "{backend:?}");

        let amount: f64 = balance.amount().to_string().parse().unwrap();
        serve_payment(&server, payment("8822", "approved", &reservation, amount)).await;
        assert_eq!(notify(&app, "8822", 8802).await.status, 200);
        until_told(&app, "La estadía quedó paga", 1).await;
        assert_eq!(
            status(&app, &code).await["balance_due"],
            "0.00",
            "{backend:?}"
        );
        until_owner_told(&app, "the owner told", |m| {
            m.contains(&format!("entró un pago de {balance}"))
        })
        .await;
    }
}

/// The owner moves a paid WhatsApp stay to other nights for a larger party: the reservation
/// shows the new nights and what is left to pay, the old nights are for sale again, the guest is
/// told once, and what cannot be done gets a clear answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_moves_a_paid_stay_and_the_guest_is_told() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (server, app, acc, reservation, code) = whatsapp_guest_holding(backend, 10, 12).await;
        let path = format!("/v1/admin/reservations/{code}/stay");
        let later = json!({"check_in": app.day(14), "check_out": app.day(17), "guests": 3});
        until_status(&app, &code, "held").await;
        let early = app.admin_post(&path, later.clone()).await;
        assert_eq!(early.status, 409, "{backend:?}: a hold's nights are fixed");
        assert!(early.content_type.starts_with("application/problem+json"));

        pay_deposit(&app, &server, (&reservation, &code), "8811", 8801).await;
        until_status(&app, &code, "confirmed").await;
        let before = status(&app, &code).await;
        let other = app.hold(&acc, 20, 22).await;
        assert_eq!(other.status, 201, "{:?}", other.body);

        // The owner looks at the price first: nothing is recorded.
        let amount = |v: &Value| {
            v.as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap()
        };
        let preview = app
            .admin_post(&format!("{path}?dry_run=true"), later.clone())
            .await;
        assert_eq!(preview.status, 200, "{backend:?}: {:?}", preview.body);
        assert_eq!(preview.body["dry_run"], true);
        assert_eq!(
            amount(&preview.body["balance_due"]),
            amount(&preview.body["total"]) - amount(&before["amount_paid"])
        );
        let taken = app
            .admin_post(
                &format!("{path}?dry_run=true"),
                json!({"check_in": app.day(19), "check_out": app.day(21)}),
            )
            .await;
        assert_eq!(taken.status, 409, "{:?}", taken.body);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            status(&app, &code).await["check_in"],
            app.day(10).as_str(),
            "{backend:?}: a dry run changes nothing"
        );

        let moved = app.admin_post(&path, later.clone()).await;
        assert_eq!(moved.status, 200, "{backend:?}: {:?}", moved.body);
        assert_eq!(moved.body["event"], "StayChanged");
        let position = moved.body["position"].as_i64().unwrap();
        let shown = app
            .get(
                &format!("/v1/reservations/{code}?min_position={position}"),
                None,
            )
            .await
            .body;
        assert_eq!(
            shown["check_in"],
            app.day(14).as_str(),
            "{backend:?}: {shown}"
        );
        assert_eq!(shown["check_out"], app.day(17).as_str());
        assert_eq!(shown["guests"], 3);
        assert_eq!(
            shown["total"], preview.body["total"],
            "{backend:?}: as previewed"
        );
        assert!(
            amount(&shown["total"]) > amount(&before["total"]),
            "{shown}"
        );
        assert_eq!(
            amount(&shown["amount_paid"]),
            amount(&before["amount_paid"])
        );
        assert_eq!(
            amount(&shown["balance_due"]),
            amount(&shown["total"]) - amount(&shown["amount_paid"])
        );
        let free = app
            .get(
                &format!(
                    "/v1/availability?check_in={}&check_out={}&guests=2&min_position={position}",
                    app.day(10),
                    app.day(12)
                ),
                None,
            )
            .await;
        assert_eq!(
            free.body["available"].as_array().map(Vec::len),
            Some(1),
            "{backend:?}: the old nights are for sale again: {:?}",
            free.body
        );

        let again = app.admin_post(&path, later.clone()).await;
        assert_eq!(again.status, 200, "{:?}", again.body);
        assert_eq!(again.body["event"], Value::Null, "{backend:?}: already so");
        let clash = app
            .admin_post(
                &path,
                json!({"check_in": app.day(19), "check_out": app.day(21)}),
            )
            .await;
        assert_eq!(clash.status, 409, "{:?}", clash.body);
        assert_eq!(clash.body["type"], "/problems/dates-unavailable");
        for bad in [
            json!({"check_in": app.day(17), "check_out": app.day(14)}),
            json!({"check_in": "el finde", "check_out": app.day(14)}),
            json!({"check_in": app.day(14), "check_out": app.day(17), "guests": 9}),
            json!({}),
        ] {
            let refused = app.admin_post(&path, bad.clone()).await;
            assert_eq!(refused.status, 422, "{bad}: {:?}", refused.body);
            assert!(refused.content_type.starts_with("application/problem+json"));
        }
        assert_eq!(app.post(&path, None, later.clone()).await.status, 401);
        let unknown = app
            .admin_post("/v1/admin/reservations/ZZZZ-9999/stay", later)
            .await;
        assert_eq!(unknown.status, 404);

        until_told(&app, "Cambiamos tu reserva", 1).await;
        let text = guest_messages(&app)
            .await
            .into_iter()
            .find(|m| m.contains("Cambiamos tu reserva"))
            .unwrap();
        assert!(text.contains("3 noches, para 3 personas"), "{text}");
        assert!(text.contains("Saldo a pagar al llegar"), "{text}");
    }
}

/// The owner cancels a stay whose balance was paid in cash: the part the policy gives back of
/// that cash is a refund to make by hand, shown as an alert. Once the owner says it is made,
/// the refund shows as issued, the alert as resolved, and the guest is told once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_made_by_hand_is_marked_made_and_the_guest_told() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (server, app, _, reservation, code) = whatsapp_guest_holding(backend, 10, 12).await;
        pay_deposit(&app, &server, (&reservation, &code), "6611", 6601).await;
        until_status(&app, &code, "confirmed").await;
        let balance = balance_after_deposit(&app, &code).await;
        let cash = app
            .admin_post(
                &format!("/v1/admin/reservations/{code}/payments"),
                json!({"amount": balance.amount().to_string(), "method": "efectivo"}),
            )
            .await;
        assert_eq!(cash.status, 200, "{:?}", cash.body);
        // Ten days ahead under the default (moderate) policy: half of everything back, taken
        // first from the largest payment, the cash.
        assert_eq!(
            cancel_as_owner(&app, &code, "pedido del huésped")
                .await
                .status,
            200
        );
        let alert = || async {
            app.admin_get("/v1/admin/alerts").await.body["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["kind"] == "manual_refund" && a["code"] == code.as_str())
                .cloned()
        };
        eventually("the alert to refund by hand", || async {
            alert().await.is_some()
        })
        .await;
        let open = alert().await.unwrap();
        assert_eq!(open["resolved_at"], Value::Null, "{backend:?}: {open}");
        let key = open["refund_key"].as_str().unwrap().to_owned();
        let path = format!("/v1/admin/reservations/{code}/refunds/{key}");

        let bad = app.admin_post(&path, json!({"reference": " "})).await;
        assert_eq!(bad.status, 422, "{:?}", bad.body);
        assert_eq!(
            app.post(&path, None, json!({})).await.status,
            401,
            "{backend:?}"
        );
        let unknown = app
            .admin_post(
                &format!("/v1/admin/reservations/{code}/refunds/{reservation}-refund-99"),
                json!({}),
            )
            .await;
        assert_eq!(unknown.status, 404, "{:?}", unknown.body);

        let made = app
            .admin_post(&path, json!({"reference": "transferencia 0099"}))
            .await;
        assert_eq!(made.status, 200, "{backend:?}: {:?}", made.body);
        assert_eq!(made.body["event"], "RefundIssued");
        let again = app
            .admin_post(&path, json!({"reference": "transferencia 0099"}))
            .await;
        assert_eq!(again.body["event"], Value::Null, "{backend:?}: once");

        eventually("the refund issued and the alert resolved", || async {
            let listed = app
                .admin_get(&format!("/v1/admin/reservations/{code}/payments"))
                .await
                .body;
            let refund = listed["refunds"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["refund_key"] == key.as_str())
                .cloned()
                .unwrap_or_default();
            refund["issued"] == true
                && refund["refund_id"] == "transferencia 0099"
                && refund["via"] == "manual"
                && alert().await.is_some_and(|a| a["resolved_at"].is_string())
        })
        .await;
        until_told(&app, "Te devolvimos", 1).await;
    }
}

/// A guest whose hold waits for its deposit sends a picture: in practice the receipt of a
/// transfer, which the owner confirms by hand. The guest is told the person in charge will
/// check it and the owner hears of it and gets the picture, once however often it is delivered. Once nothing waits
/// for a deposit, a picture gets the "text only" answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_receipt_sent_as_a_picture_reaches_the_owner() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (_server, app, _, _, code) = whatsapp_guest_holding(backend, 10, 12).await;
        until_status(&app, &code, "held").await;
        // Meta's shape of an image message (its media id is only ever fetched by a person).
        let picture = json!({"type": "image", "image": {"mime_type": "image/jpeg",
            "sha256": "4654+8g=", "id": "65463453"}});
        guest_sends(&app, "wamid.receipt-1", picture.clone()).await;
        guest_sends(&app, "wamid.receipt-1", picture.clone()).await;
        let owner_told = || async {
            messages_to(&app, OWNER)
                .await
                .iter()
                .filter(|m| m.contains("comprobante") && m.contains(&code))
                .count()
        };
        eventually("the owner told", || async { owner_told().await == 1 }).await;
        until_told(&app, "Si es el comprobante de la transferencia", 1).await;
        // The picture itself follows, once, for the sender to fetch from Meta when it goes out.
        let forwards: Vec<Value> = raw_messages_to(&app, OWNER)
            .await
            .iter()
            .map(|b| serde_json::from_str::<Value>(b).unwrap())
            .filter(|m| m["type"] == "image")
            .collect();
        assert_eq!(forwards.len(), 1, "{backend:?}: {forwards:?}");
        assert_eq!(
            forwards[0]["forward"]["media_id"], "65463453",
            "{backend:?}"
        );
        assert!(
            forwards[0]["image"]["caption"]
                .as_str()
                .unwrap()
                .contains(&code),
            "{backend:?}"
        );
        // Said in words, it reaches the owner the same way.
        guest_sends(
            &app,
            "wamid.transfer-said",
            wa::text("ya te hice la transferencia!"),
        )
        .await;
        until_owner_told(&app, "the owner told of the transfer", |m| {
            m.contains("dice que hizo la transferencia")
                && m.contains(&format!("«confirmar {code}»"))
        })
        .await;
        until_told(&app, "para que revise la transferencia", 1).await;

        cancel_as_owner(&app, &code, "el huésped desistió").await;
        until_status(&app, &code, "cancelled").await;
        guest_sends(&app, "wamid.receipt-2", picture).await;
        until_told(&app, "solo entiendo mensajes de texto", 1).await;
        assert_eq!(owner_told().await, 1, "{backend:?}");
    }
}

/// The owner confirms by hand the transfer a WhatsApp guest made (the path the receipt's alert
/// gives them): the guest is told their reservation is confirmed, as the bot promised them, and
/// the owner, who did it, is not told of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_the_owner_confirms_by_hand_is_told_to_the_guest() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (_server, app, _, _, code) = whatsapp_guest_holding(backend, 10, 12).await;
        until_status(&app, &code, "held").await;
        let deposit = status(&app, &code).await["deposit"].clone();
        let confirmed = app
            .admin_post(
                &format!("/v1/admin/reservations/{code}/confirm"),
                json!({"amount": deposit, "payment_reference": "transferencia 0042"}),
            )
            .await;
        assert_eq!(confirmed.status, 200, "{backend:?}: {:?}", confirmed.body);
        until_told(&app, &format!("la reserva {code} está confirmada"), 1).await;
        assert!(
            !messages_to(&app, OWNER)
                .await
                .iter()
                .any(|m| m.contains("Nueva reserva")),
            "{backend:?}"
        );
    }
}

/// A transfer the owner sees only after the hold lapsed: confirming it honours it while the
/// nights are free (the guest hears so, as for a late payment online), and refuses it, recording
/// nothing and saying why, when someone has taken the nights since.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_confirmed_after_the_hold_lapsed_is_honoured_while_the_nights_are_free() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (_server, app, acc, _, code) = whatsapp_guest_holding(backend, 10, 12).await;
        let (_, taken) = whatsapp_hold(&app, &acc, 20, 22).await;
        eventually("the holds in the read model", || async {
            status(&app, &code).await["status"] == "held"
                && status(&app, &taken).await["status"] == "held"
        })
        .await;
        let deposit = status(&app, &code).await["deposit"].clone();
        after_a_pass(&app, 31).await;
        eventually("both lapsed", || async {
            status(&app, &code).await["status"] == "expired"
                && status(&app, &taken).await["status"] == "expired"
        })
        .await;
        // Someone else books the second one's nights meanwhile.
        assert_eq!(app.hold(&acc, 20, 22).await.status, 201, "{backend:?}");

        let confirm = |code: String| {
            let app = &app;
            let deposit = deposit.clone();
            async move {
                app.admin_post(
                    &format!("/v1/admin/reservations/{code}/confirm"),
                    json!({"amount": deposit, "payment_reference": "transferencia 0042"}),
                )
                .await
            }
        };
        let late = confirm(code.clone()).await;
        assert_eq!(late.status, 200, "{backend:?}: {:?}", late.body);
        assert_eq!(
            late.body["events"],
            json!(["LatePaymentAccepted"]),
            "{backend:?}"
        );
        assert_eq!(late.body["status"], "confirmed", "{backend:?}");
        assert_eq!(late.body["paid"], deposit, "{backend:?}");
        until_told(&app, "llegó después del vencimiento", 1).await;
        until_status(&app, &code, "confirmed").await;
        // Told again (a retry): the same answer, nothing new.
        let again = confirm(code.clone()).await;
        assert_eq!(again.status, 200, "{backend:?}: {:?}", again.body);
        assert_eq!(again.body["events"], json!([]), "{backend:?}");

        let refused = confirm(taken.clone()).await;
        assert_eq!(refused.status, 409, "{backend:?}: {:?}", refused.body);
        assert_eq!(refused.body["type"], "/problems/dates-unavailable");
        assert!(
            refused.body["detail"]
                .as_str()
                .unwrap()
                .contains("the transfer is for you to give back"),
            "{backend:?}: {:?}",
            refused.body
        );
        assert_eq!(
            status(&app, &taken).await["status"],
            "expired",
            "{backend:?}"
        );
        assert!(
            !messages_to(&app, OWNER)
                .await
                .iter()
                .any(|m| m.contains("Nueva reserva")),
            "{backend:?}: the owner did it"
        );
    }
}

/// A transfer made in time is often seen late: a receipt sent after the hold lapsed still
/// reaches the owner, who is told it lapsed and that confirming it still works while the nights
/// are free. Two days on, a picture is only a picture again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_for_a_hold_that_just_lapsed_still_reaches_the_owner() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (_server, app, _, _, code) = whatsapp_guest_holding(backend, 10, 12).await;
        after_a_pass(&app, 31).await;
        until_status(&app, &code, "expired").await;
        // The lapse's message says where a transfer made in time goes.
        until_told(
            &app,
            "Si ya la pagaste por transferencia, mandame el comprobante",
            1,
        )
        .await;
        let picture = wa::picture("65463453");
        guest_sends(&app, "wamid.late-receipt", picture.clone()).await;
        until_owner_told(&app, "the owner told", |m| {
            m.contains("comprobante")
                && m.contains(&format!("{code} (venció)"))
                && m.contains("se confirma igual si las noches siguen libres")
                && m.contains(&format!("«confirmar {code}»"))
        })
        .await;
        until_told(&app, "Si es el comprobante de la transferencia", 1).await;
        // "Ya pagué" now hears of the lapse, not that everything is paid.
        guest_sends(&app, "wamid.said-paid", wa::text("ya pagué")).await;
        until_told(
            &app,
            &format!("Tu reserva {code} venció antes de que llegara la seña"),
            1,
        )
        .await;

        after_a_pass(&app, 49 * 60).await;
        guest_sends(&app, "wamid.much-later", picture).await;
        until_told(&app, "solo entiendo mensajes de texto", 1).await;
        assert_eq!(
            told(&app, "Si es el comprobante de la transferencia").await,
            1,
            "{backend:?}"
        );
    }
}

/// The owner, told of a receipt on their WhatsApp, confirms the deposit from there with the
/// alert's button: the reservation is confirmed with the deposit it asked for, the guest is
/// told, and the owner hears what is left to collect. A second tap and a code that names
/// nothing get their own answers; what is not a command is the bot's conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_confirms_a_transfer_from_their_whatsapp() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (_server, app, _, _, code) = whatsapp_guest_holding(backend, 10, 12).await;
        until_status(&app, &code, "held").await;
        guest_sends(&app, "wamid.receipt", wa::picture("65463453")).await;
        let button = format!("owner-confirm:{code}");
        eventually("the alert with its button", || async {
            raw_messages_to(&app, OWNER).await.iter().any(|b| {
                let m: Value = serde_json::from_str(b).unwrap();
                m["interactive"]["action"]["buttons"][0]["reply"]["id"] == button.as_str()
            })
        })
        .await;
        let owner = (OWNER, "Dueña");
        let tap = wa::tap(&button);
        app.whatsapp_from(owner, "wamid.owner-1", tap.clone()).await;
        until_owner_told(&app, "the owner told it is done", |m| {
            m.contains(&format!("✅ Listo: la reserva {code} quedó confirmada"))
                && m.contains("Saldo a cobrar al llegar: $ ")
        })
        .await;
        eventually("confirmed with its deposit", || async {
            let now = status(&app, &code).await;
            now["status"] == "confirmed" && now["amount_paid"] == now["deposit"]
        })
        .await;
        until_told(&app, &format!("la reserva {code} está confirmada"), 1).await;

        app.whatsapp_from(owner, "wamid.owner-2", tap).await;
        app.whatsapp_from(owner, "wamid.owner-3", wa::text("confirmar ZZZZ999"))
            .await;
        eventually("each answered", || async {
            let said = messages_to(&app, OWNER).await;
            said.iter()
                .any(|m| m.contains(&format!("La reserva {code} ya está confirmada")))
                && said
                    .iter()
                    .any(|m| m.contains("No encontré la reserva ZZZZ999"))
        })
        .await;
        // Anything else from the owner's phone is the conversation, as for anyone trying it.
        app.whatsapp_from(owner, "wamid.owner-4", wa::text("hola"))
            .await;
        until_owner_told(&app, "the bot's menu", |m| m.contains("¡Hola!")).await;
        assert_eq!(
            told(&app, "está confirmada").await,
            1,
            "{backend:?}: told once"
        );
    }
}

/// A stay paid by transfer that the guest cancels: what the policy gives back went in by hand
/// and goes back by hand. The owner is told how much is theirs to give back, says on WhatsApp
/// when it is done, and the guest hears of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_owed_by_hand_is_told_to_the_owner_and_marked_made_from_their_whatsapp() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (_server, app, _, _, code) = whatsapp_guest_holding(backend, 40, 42).await;
        until_status(&app, &code, "held").await;
        let owner = (OWNER, "Dueña");
        app.whatsapp_from(
            owner,
            "wamid.owner-confirm",
            wa::text(format!("confirmar {code}")),
        )
        .await;
        until_status(&app, &code, "confirmed").await;

        guest_taps(&app, "wamid.c1", &format!("res-cancel:{code}")).await;
        until_told(&app, "te devolvemos", 1).await;
        guest_taps(&app, "wamid.c2", &format!("res-cancel-yes:{code}")).await;
        until_owner_told(&app, "the owner told what to give back", |m| {
            m.contains(&format!("El huésped canceló la reserva {code}"))
                && m.contains("te toca devolvérselo vos")
                && m.contains(&format!("«devuelto {code}»"))
        })
        .await;

        app.whatsapp_from(
            owner,
            "wamid.owner-refunded",
            wa::text(format!("devuelto {code}")),
        )
        .await;
        until_owner_told(&app, "the owner answered", |m| {
            m.contains("✅ Anotado: le devolviste $ ")
        })
        .await;
        until_told(&app, "Te devolvimos $ ", 1).await;
        // Said again: nothing is owed any more.
        app.whatsapp_from(
            owner,
            "wamid.owner-refunded-again",
            wa::text(format!("devuelto {code}")),
        )
        .await;
        until_owner_told(&app, "nothing left", |m| {
            m.contains("no tiene devoluciones a mano pendientes")
        })
        .await;
        assert_eq!(told(&app, "Te devolvimos").await, 1, "{backend:?}");
    }
}

/// The owner asks for the agenda and records the balance collected on arrival from their
/// WhatsApp: before the stay the agenda names the next arrival; on the day it lists the guest
/// with the balance to collect; "cobrado CÓDIGO 10.000" records part of it (told twice, once),
/// "cobrado CÓDIGO" the rest, and a third finds nothing left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_asks_for_the_agenda_and_records_the_balance_from_their_whatsapp() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (_server, app, _, _, code) = whatsapp_guest_holding(backend, 5, 7).await;
        until_status(&app, &code, "held").await;
        let owner = (OWNER, "Dueña");
        let says =
            |wamid: &'static str, body: String| app.whatsapp_from(owner, wamid, wa::text(body));
        let answered = |part: String| {
            let app = &app;
            async move {
                until_owner_told(app, "the owner's answer", |m| m.contains(&part)).await;
                messages_to(app, OWNER)
                    .await
                    .into_iter()
                    .rfind(|m| m.contains(&part))
                    .unwrap()
            }
        };
        says("wamid.early", format!("cobrado {code}")).await;
        answered(format!("La reserva {code} todavía espera su seña")).await;
        says("wamid.agenda-0", "agenda".into()).await;
        let waiting = answered("Esperando la seña:".into()).await;
        assert!(
            waiting.contains(&format!("• {code} (Ana Pérez, Cabaña del Lago): seña $ "))
                && waiting.contains("vence a las "),
            "{backend:?}: {waiting}"
        );
        says("wamid.confirm", format!("confirmar {code}")).await;
        until_status(&app, &code, "confirmed").await;

        says("wamid.agenda-1", "agenda".into()).await;
        says("wamid.agenda-week", "agenda de la semana".into()).await;
        let week = answered("📋 Llegadas del ".into()).await;
        assert!(
            week.contains(&format!(
                " · Cabaña del Lago: Ana Pérez (2 personas), reserva {code}, saldo a cobrar $ "
            )),
            "{backend:?}: {week}"
        );
        let today = answered("Próxima llegada: ".into()).await;
        assert!(!today.contains("Esperando la seña"), "{backend:?}: {today}");
        assert!(
            today.contains("no llega ni se va nadie"),
            "{backend:?}: {today}"
        );
        assert!(
            today.contains("Próxima llegada: ") && today.contains(&code),
            "{backend:?}: {today}"
        );

        // The day of arrival, 11:00 in Argentina.
        let check_in: chrono::NaiveDate = app.day(5).parse().unwrap();
        let eleven = check_in.and_hms_opt(14, 0, 0).unwrap().and_utc();
        let now = *app.clock.lock().unwrap();
        app.advance(eleven - now);
        let balance = balance_after_deposit(&app, &code).await;
        says("wamid.agenda-2", "agenda de hoy".into()).await;
        let day = answered("Llegan:".into()).await;
        for part in [
            "Cabaña del Lago: Ana Pérez",
            code.as_str(),
            &format!("saldo a cobrar {balance}"),
            "«cobrado CÓDIGO»",
        ] {
            assert!(day.contains(part), "{backend:?}: {part} in {day}");
        }

        let part = domain::Money::new(rust_decimal::Decimal::from(10_000));
        for _ in 0..2 {
            says("wamid.part", format!("cobré {code} $10.000 en efectivo")).await;
        }
        let left = balance - part;
        answered(format!(
            "✅ Anotado: cobraste {part} de la reserva {code}. Falta cobrar {left}."
        ))
        .await;
        says("wamid.rest", format!("cobrado {code}")).await;
        answered(format!(
            "✅ Anotado: cobraste {left} de la reserva {code}. Queda saldada."
        ))
        .await;
        eventually("nothing left to collect", || async {
            let now = status(&app, &code).await;
            now["balance_due"] == "0.00" && now["amount_paid"] == now["total"]
        })
        .await;
        says("wamid.again", format!("cobrado {code}")).await;
        answered(format!("La reserva {code} ya está pagada")).await;
        says("wamid.agenda-3", "agenda".into()).await;
        until_owner_told(&app, "the agenda says it is paid", |m| {
            m.contains("Llegan:") && m.contains(&format!("reserva {code}, pagada"))
        })
        .await;
        let payments = app
            .admin_get(&format!("/v1/admin/reservations/{code}/payments"))
            .await;
        assert_eq!(payments.status, 200, "{:?}", payments.body);
        let text = payments.body.to_string();
        assert_eq!(
            text.matches("efectivo").count(),
            1,
            "{backend:?}: one cash payment: {text}"
        );
    }
}

/// The owner writes `body` (as message `wamid`) from their WhatsApp; the bot's answer to it
/// (replies are keyed by the message's id).
async fn owner_says(app: &TestApp, wamid: String, body: String) -> String {
    owner_sends(app, wamid, wa::text(body)).await["text"]["body"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The owner sends `message` (as message `wamid`) from their WhatsApp; the bot's answer to it,
/// as sent.
async fn owner_sends(app: &TestApp, wamid: String, message: Value) -> Value {
    app.whatsapp_from((OWNER, "Dueña"), &wamid, message).await;
    app.answer_to(&wamid).await
}

/// The owner cancels a paid stay from their WhatsApp: first they are asked, with what the
/// policy gives back, and nothing is recorded; the button cancels it, Mercado Pago gives the
/// deposit back and the guest is told; a second tap finds it cancelled. A hold with nothing
/// paid is cancelled by typing the answer. Close to arrival, where the policy keeps the
/// deposit, the owner can give it all back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_cancels_a_reservation_from_their_whatsapp() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (server, app, acc, reservation, code) = whatsapp_guest_holding(backend, 40, 42).await;
        pay_deposit(&app, &server, (&reservation, &code), "7711", 7701).await;
        until_status(&app, &code, "confirmed").await;
        let paid_on = |code: String| {
            let app = &app;
            async move {
                let shown = status(app, &code).await;
                domain::Money::new(shown["amount_paid"].as_str().unwrap().parse().unwrap())
            }
        };
        let paid = paid_on(code.clone()).await;

        let asked = owner_sends(
            &app,
            "wamid.cancel-1".into(),
            wa::text(format!("cancelá la {code}")),
        )
        .await;
        let question = asked["interactive"]["body"]["text"]
            .as_str()
            .unwrap_or_default();
        for part in [
            format!("¿Cancelo la reserva {code} de Ana Pérez en Cabaña del Lago"),
            format!("se le devuelven {paid} de los {paid} que pagó."),
        ] {
            assert!(question.contains(&part), "{backend:?}: {part} in {asked}");
        }
        let button = format!("owner-cancel:{code}");
        assert_eq!(
            asked["interactive"]["action"]["buttons"][0]["reply"]["id"],
            button.as_str(),
            "{backend:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            status(&app, &code).await["status"],
            "confirmed",
            "{backend:?}: asked only"
        );

        let tap = wa::tap(&button);
        let done = owner_sends(&app, "wamid.cancel-2".into(), tap.clone()).await;
        assert_eq!(
            done["text"]["body"],
            format!("✅ Cancelé la reserva {code}. Mercado Pago le devuelve {paid}."),
            "{backend:?}"
        );
        eventually("cancelled, refund due, the guest told", || async {
            let now = status(&app, &code).await;
            now["status"] == "cancelled"
                && now["refunded"] == now["amount_paid"]
                && told(&app, "fue cancelada").await == 1
        })
        .await;
        let again = owner_sends(&app, "wamid.cancel-3".into(), tap).await;
        assert_eq!(
            again["text"]["body"],
            format!("La reserva {code} ya está cancelada."),
            "{backend:?}"
        );

        // Three days before arrival the policy keeps the deposit; the owner, cancelling for a
        // reason of their own, gives it all back.
        let (soon_id, soon) = whatsapp_hold(&app, &acc, 3, 5).await;
        pay_deposit(&app, &server, (&soon_id, &soon), "7712", 7702).await;
        until_status(&app, &soon, "confirmed").await;
        let soon_paid = paid_on(soon.clone()).await;
        let asked = owner_sends(
            &app,
            "wamid.cancel-soon".into(),
            wa::text(format!("cancelar {soon}")),
        )
        .await;
        let question = asked["interactive"]["body"]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(
            question.contains("podés devolverle todo")
                && !question.contains(&format!("se le devuelven {paid}")),
            "{backend:?}: {asked}"
        );
        let all = format!("owner-cancel-all:{soon}");
        assert_eq!(
            asked["interactive"]["action"]["buttons"][1]["reply"]["id"],
            all.as_str(),
            "{backend:?}"
        );
        let done = owner_sends(&app, "wamid.cancel-soon-all".into(), wa::tap(&all)).await;
        assert_eq!(
            done["text"]["body"],
            format!("✅ Cancelé la reserva {soon}. Mercado Pago le devuelve {soon_paid}."),
            "{backend:?}"
        );
        eventually("all of it given back", || async {
            let now = status(&app, &soon).await;
            now["status"] == "cancelled" && now["refunded"] == now["amount_paid"]
        })
        .await;

        let (_, unpaid) = whatsapp_hold(&app, &acc, 50, 52).await;
        until_status(&app, &unpaid, "held").await;
        let asked = owner_sends(
            &app,
            "wamid.cancel-4".into(),
            wa::text(format!("cancelar {unpaid}")),
        )
        .await;
        assert!(
            asked["interactive"]["body"]["text"]
                .as_str()
                .unwrap_or_default()
                .contains("No pagó nada todavía."),
            "{backend:?}: {asked}"
        );
        let typed = owner_says(
            &app,
            "wamid.cancel-5".into(),
            format!("cancelar {unpaid} sí"),
        )
        .await;
        assert_eq!(
            typed,
            format!("✅ Cancelé la reserva {unpaid}."),
            "{backend:?}"
        );
        until_status(&app, &unpaid, "cancelled").await;
    }
}

/// The owner cancels through the API for a reason of their own: `refund_all` gives back the
/// whole deposit where the policy, three days before arrival, would keep some of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_cancellation_can_give_everything_back() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (server, app, _, reservation, code) = whatsapp_guest_holding(backend, 3, 5).await;
        pay_deposit(&app, &server, (&reservation, &code), "8811", 8801).await;
        until_status(&app, &code, "confirmed").await;
        let deposit = status(&app, &code).await["deposit"].clone();
        let path = format!("/v1/admin/reservations/{code}/cancel");
        let wrong = app.admin_post(&path, json!({"refund_all": "sí"})).await;
        assert!(
            (400..500).contains(&wrong.status) && wrong.body["type"].is_string(),
            "{backend:?}: {:?}",
            wrong.body
        );
        let cancelled = app
            .admin_post(
                &path,
                json!({"reason": "se inundó la cabaña", "refund_all": true}),
            )
            .await;
        assert_eq!(cancelled.status, 200, "{backend:?}: {:?}", cancelled.body);
        assert_eq!(cancelled.body["refunded"], deposit, "{backend:?}");
        assert_eq!(cancelled.body["paid"], "0.00", "{backend:?}");
    }
}

/// The owner moves a paid stay from their WhatsApp. The guest's request reaches them with the
/// guest's words and stays; first the new total and balance, nothing recorded; the button
/// moves it and the guest is told. Nights another reservation holds, or a
/// party too large, are refused in words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_moves_a_stay_from_their_whatsapp() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (server, app, acc, reservation, code) = whatsapp_guest_holding(backend, 20, 22).await;
        pay_deposit(&app, &server, (&reservation, &code), "9911", 9901).await;
        let (_, other) = whatsapp_hold(&app, &acc, 30, 32).await;
        eventually("confirmed, and the other hold", || async {
            status(&app, &code).await["status"] == "confirmed"
                && status(&app, &other).await["status"] == "held"
        })
        .await;
        // The guest asks for other dates: the owner is put through, with what they wrote,
        // their stays and the command to move one.
        guest_sends(
            &app,
            "wamid.change",
            wa::text("quiero cambiar la fecha de mi reserva"),
        )
        .await;
        until_owner_told(&app, "the owner put through", |m| {
            m.contains("Escribió: «quiero cambiar la fecha de mi reserva»")
                && m.contains(&format!("Sus reservas: {code} (Cabaña del Lago, "))
                && m.contains("confirmada")
                && m.contains(&format!("«mover {code} del … al …»"))
        })
        .await;
        let dm = |days: i64| {
            let d: chrono::NaiveDate = app.day(days).parse().unwrap();
            format!(
                "{}/{}",
                chrono::Datelike::day(&d),
                chrono::Datelike::month(&d)
            )
        };
        let asked = owner_sends(
            &app,
            "wamid.move-1".into(),
            wa::text(format!("mover {code} del {} al {}", dm(24), dm(27))),
        )
        .await;
        let question = asked["interactive"]["body"]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(
            question.starts_with(&format!("¿Muevo la reserva {code} de Ana Pérez (del "))
                && question.contains(") a las noches del ")
                && question.contains("(3 noches, ")
                && question.contains("saldo a cobrar $ "),
            "{backend:?}: {asked}"
        );
        let button = asked["interactive"]["action"]["buttons"][0]["reply"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            button,
            format!("owner-move:{code}:{}:{}:", app.day(24), app.day(27)),
            "{backend:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            status(&app, &code).await["check_in"],
            app.day(20).as_str(),
            "{backend:?}: asked only"
        );

        let tap = wa::tap(&button);
        let done = owner_sends(&app, "wamid.move-2".into(), tap).await;
        let done = done["text"]["body"].as_str().unwrap_or_default().to_owned();
        assert!(
            done.starts_with(&format!("✅ Moví la reserva {code}: del ")),
            "{backend:?}: {done}"
        );
        eventually("moved, and the guest told", || async {
            let now = status(&app, &code).await;
            now["check_in"] == app.day(24).as_str()
                && now["check_out"] == app.day(27).as_str()
                && told(&app, "Cambiamos tu reserva").await == 1
        })
        .await;
        let balance = status(&app, &code).await["balance_due"]
            .as_str()
            .unwrap()
            .to_owned();
        let balance = domain::Money::new(balance.parse().unwrap());
        assert!(
            done.ends_with(&format!("; saldo a cobrar {balance}.")),
            "{backend:?}: {done}"
        );

        let clash = owner_says(
            &app,
            "wamid.move-3".into(),
            format!("mover {code} del {} al {}", dm(30), dm(32)),
        )
        .await;
        assert!(
            clash.starts_with(&format!(
                "No muevo la reserva {code}: la reserva {other} ocupa"
            )),
            "{backend:?}: {clash}"
        );
        let crowd = owner_says(&app, "wamid.move-4".into(), format!("mover {code} para 9")).await;
        assert_eq!(
            crowd,
            format!("No muevo la reserva {code}: 9 personas no entran: la cabaña es para 4."),
            "{backend:?}"
        );
    }
}

/// The owner keeps nights for themselves from their WhatsApp: with two cabins they are asked
/// which; the cabin named is blocked and nobody can hold those nights; nights a guest holds
/// are not blocked, and the answer says whose they are; freeing part of a block names the
/// block, and freeing its nights frees them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_blocks_and_frees_nights_from_their_whatsapp() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (_server, app, _, _, code) = whatsapp_guest_holding(backend, 10, 12).await;
        let (forest, _) = app.register("Cabaña del Bosque", 4).await;
        eventually("the hold and both cabins in the read models", || async {
            status(&app, &code).await["status"] == "held"
                && projections::queries::accommodations(&app.state.db)
                    .await
                    .unwrap()
                    .len()
                    == 2
        })
        .await;
        let dm = |days: i64| {
            let d: chrono::NaiveDate = app.day(days).parse().unwrap();
            format!(
                "{}/{}",
                chrono::Datelike::day(&d),
                chrono::Datelike::month(&d)
            )
        };
        let mut n = 0;
        let mut says = |body: String| {
            n += 1;
            owner_says(&app, format!("wamid.owner-{n}"), body)
        };

        let which = says(format!("bloquear del {} al {}", dm(20), dm(23))).await;
        assert!(
            which.contains("¿En qué cabaña?") && which.contains("Cabaña del Bosque"),
            "{backend:?}: {which}"
        );
        let blocked = says(format!(
            "bloqueá del {} al {} la del bosque",
            dm(20),
            dm(23)
        ))
        .await;
        assert!(
            blocked.starts_with("🔒 Bloqueé Cabaña del Bosque del ")
                && blocked.contains("(3 noches)"),
            "{backend:?}: {blocked}"
        );
        assert_eq!(app.hold(&forest, 21, 23).await.status, 409, "{backend:?}");

        let theirs = says(format!(
            "bloquear del {} al {} cabaña del lago",
            dm(11),
            dm(14)
        ))
        .await;
        assert!(
            theirs.starts_with("No bloqueé nada: ")
                && theirs.contains(&format!("la reserva {code} ocupa")),
            "{backend:?}: {theirs}"
        );

        let part = says(format!("desbloquear del {} al {} bosque", dm(21), dm(22))).await;
        assert!(
            part.starts_with("No liberé nada") && part.contains("hay un bloqueo del "),
            "{backend:?}: {part}"
        );
        assert_eq!(app.hold(&forest, 21, 23).await.status, 409, "{backend:?}");

        let freed = says(format!("desbloquear del {} al {} bosque", dm(20), dm(23))).await;
        assert!(
            freed.starts_with("🔓 Liberé Cabaña del Bosque"),
            "{backend:?}: {freed}"
        );
        assert_eq!(app.hold(&forest, 21, 23).await.status, 201, "{backend:?}");
        let again = says(format!("desbloquear del {} al {} bosque", dm(20), dm(23))).await;
        assert!(
            again.contains("No había nada bloqueado"),
            "{backend:?}: {again}"
        );
    }
}

/// A code of letters alone written among the guest's words is theirs when it is one of their
/// codes: shown, or its cancellation terms given. A word in capitals that is no code of theirs
/// ("mi RESERVA") stays a word.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_of_letters_alone_in_a_sentence_is_the_guests_reservation() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let server = MockServer::start().await;
        accept_preferences(&server).await;
        let app = spawn_with_mp(backend, &server).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        let code = ReservationCode::parse("KMPQRST").unwrap();
        whatsapp_hold_coded(&app, &acc, (10, 12), code).await;
        eventually("the hold in the read model", || async {
            status(&app, "KMPQRST").await["status"] == "held"
        })
        .await;
        let says =
            |wamid: &'static str, body: &'static str| guest_sends(&app, wamid, wa::text(body));
        says("wamid.show", "hola, mi reserva es la KMPQRST").await;
        until_told(&app, "Reserva KMPQRST · Cabaña del Lago", 1).await;
        says("wamid.cancel", "quiero cancelar la KMPQRST").await;
        eventually("the cancellation's terms", || async {
            raw_messages_to(&app, GUEST).await.iter().any(|b| {
                let m: Value = serde_json::from_str(b).unwrap();
                m["interactive"]["action"]["buttons"][0]["reply"]["id"] == "res-cancel-yes:KMPQRST"
            })
        })
        .await;
        says("wamid.word", "Quiero ver mi RESERVA").await;
        eventually("the list, not a search for RESERVA", || async {
            raw_messages_to(&app, GUEST).await.iter().any(|b| {
                let m: Value = serde_json::from_str(b).unwrap();
                m["interactive"]["action"]["sections"][0]["rows"][0]["id"] == "res:KMPQRST"
            })
        })
        .await;
        assert_eq!(told(&app, "No encontré").await, 0, "{backend:?}");
        assert_eq!(
            status(&app, "KMPQRST").await["status"],
            "held",
            "{backend:?}"
        );
    }
}

/// A conversation a person took over is theirs: a picture or a voice note sent to them gets no
/// answer from the bot, and the owner is not told of a picture as a receipt (the person is
/// already talking with them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picture_in_a_conversation_handed_to_a_person_gets_no_bot_answer() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (_server, app, _, _, _) = whatsapp_guest_holding(backend, 10, 12).await;
        guest_sends(
            &app,
            "wamid.person",
            wa::text("quiero hablar con una persona"),
        )
        .await;
        until_told(&app, "Le aviso a la persona a cargo", 1).await;
        guest_sends(&app, "wamid.picture", wa::picture("65463454")).await;
        // A voice note too: here it cannot be heard, which would be answered "please type".
        guest_sends(
            &app,
            "wamid.voice",
            json!({"type": "audio", "audio": {"mime_type": "audio/ogg; codecs=opus",
                "id": "65463455", "voice": true}}),
        )
        .await;
        eventually("the picture and the voice note handled", || async {
            let (n,): (i64,) = eventstore::db_fetch!(
                &app.state.db,
                (i64,),
                fetch_one,
                "SELECT COUNT(*) FROM wa_inbox WHERE wamid IN ('wamid.picture', 'wamid.voice') \
                 AND processed_at_ms IS NOT NULL"
                    .to_owned()
            )
            .unwrap();
            n == 2
        })
        .await;
        assert_eq!(told(&app, "audio").await, 0, "{backend:?}");
        // (The hold's payment link may arrive at any time: only the bot's answers are counted.)
        assert_eq!(told(&app, "Si es el comprobante").await, 0, "{backend:?}");
        assert_eq!(told(&app, "solo entiendo").await, 0, "{backend:?}");
        assert!(
            !messages_to(&app, OWNER)
                .await
                .iter()
                .any(|m| m.contains("comprobante")),
            "{backend:?}"
        );
    }
}

/// The owner writes what guests ask (pets, wifi, …) into the cabin's details; a WhatsApp guest
/// who asks is answered with it, and with a person to ask for what is not written; the owner
/// hears of that (once a day per topic) and writes the answer from their WhatsApp. A topic the
/// service does not know is refused with its list; a blank answer removes one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_asking_about_the_house_gets_the_owners_answer() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (_server, app, acc, _, _) = whatsapp_guest_holding(backend, 10, 12).await;
        let unknown = change_cabin(&app, &acc, json!({"answers": {"jacuzzi": "Sí"}})).await;
        assert_eq!(unknown.status, 422, "{backend:?}: {:?}", unknown.body);
        assert!(
            unknown.body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("mascotas"),
            "{:?}",
            unknown.body
        );
        let pets = "Sí, mascotas chicas, con su cama.";
        let changed = change_cabin(
            &app,
            &acc,
            json!({"answers": {"mascotas": pets, "wifi": "Sí, 50 megas."}}),
        )
        .await;
        assert_eq!(changed.status, 200, "{backend:?}: {:?}", changed.body);
        let removed = change_cabin(&app, &acc, json!({"answers": {"wifi": ""}})).await;
        assert_eq!(removed.status, 200, "{backend:?}: {:?}", removed.body);
        let shown = app
            .admin_get(&format!("/v1/admin/accommodations/{acc}"))
            .await;
        assert_eq!(
            shown.body["answers"],
            json!({"mascotas": pets}),
            "{backend:?}"
        );
        eventually("the cabin listed", || async {
            app.get("/v1/accommodations", None)
                .await
                .body
                .as_array()
                .is_some_and(|cabins| cabins.len() == 1)
        })
        .await;

        guest_sends(&app, "wamid.pets", wa::text("¿se puede llevar al perro?")).await;
        until_told(&app, pets, 1).await;
        // Asked together with dates: the search, and the answer first.
        let slash = |days: i64| {
            let day: chrono::NaiveDate = app.day(days).parse().unwrap();
            day.format("%d/%m/%Y").to_string()
        };
        guest_sends(
            &app,
            "wamid.pets-dates",
            wa::text(format!(
                "¿aceptan mascotas? somos 2 del {} al {}",
                slash(40),
                slash(42)
            )),
        )
        .await;
        eventually("answered and searched", || async {
            let said = guest_messages(&app).await;
            let answer = said.iter().rposition(|m| m.contains(pets));
            // The only cabin is offered as it is.
            let offers = said.iter().rposition(|m| m.contains("¿Te la reservo?"));
            told(&app, pets).await == 2 && matches!((answer, offers), (Some(a), Some(o)) if a < o)
        })
        .await;
        guest_sends(&app, "wamid.wifi", wa::text("y tienen wifi?")).await;
        until_told(&app, "Eso no lo tengo anotado.", 1).await;
        // The owner hears of it once, and teaches the answer from their WhatsApp.
        guest_sends(&app, "wamid.wifi-again", wa::text("hay internet?")).await;
        until_told(&app, "Eso no lo tengo anotado.", 2).await;
        let asked = messages_to(&app, OWNER)
            .await
            .into_iter()
            .filter(|m| m.contains("preguntó por «wifi»"))
            .collect::<Vec<_>>();
        assert_eq!(asked.len(), 1, "{backend:?}: {asked:?}");
        assert!(asked[0].contains("«respuesta wifi: …»"), "{}", asked[0]);
        let taught = owner_says(
            &app,
            "wamid.teach".into(),
            "respuesta wifi: Sí, 50 megas por fibra.".into(),
        )
        .await;
        assert!(taught.starts_with("✅ Anotado"), "{backend:?}: {taught}");
        guest_sends(&app, "wamid.wifi-taught", wa::text("¿tienen wifi?")).await;
        until_told(&app, "Sí, 50 megas por fibra.", 1).await;
    }
}

/// A guest who books on the web and asks to hear on WhatsApp is told there of the confirmation
/// (with the way there), the day before arriving, and before an unpaid hold lapses; one who did
/// not ask hears nothing there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_guest_who_asks_hears_of_their_booking_on_whatsapp() {
    const ASKED: &str = "5491166660001";
    const DID_NOT: &str = "5491166660002";
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let server = MockServer::start().await;
        accept_preferences(&server).await;
        let app = spawn_with_mp(backend, &server).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        let changed = change_cabin(&app, &acc, json!({"directions": "Ruta 40 km 2012"})).await;
        assert_eq!(changed.status, 200, "{:?}", changed.body);
        let book = |from: i64, (name, phone): (&str, &str), whatsapp: bool| {
            let body = json!({
                "accommodation_id": acc,
                "check_in": app.day(from),
                "check_out": app.day(from + 2),
                "guests": 2,
                "guest": {"name": name, "phone": format!("+{phone}"), "whatsapp": whatsapp}
            });
            let app = &app;
            async move { app.post("/v1/reservations", None, body).await }
        };
        let asked = book(3, ("Ana Pérez", ASKED), true).await;
        assert_eq!(asked.status, 201, "{backend:?}: {:?}", asked.body);
        let quiet = book(10, ("Ana Pérez", DID_NOT), false).await;
        assert_eq!(quiet.status, 201, "{backend:?}: {:?}", quiet.body);
        for (held, payment, notification) in [(&asked, "4411", 4401), (&quiet, "4412", 4402)] {
            let reservation = held.body["reservation_id"].as_str().unwrap();
            let code = held.body["code"].as_str().unwrap();
            pay_deposit(&app, &server, (reservation, code), payment, notification).await;
            until_status(&app, code, "confirmed").await;
        }
        let code = asked.body["code"].as_str().unwrap();
        eventually("told on WhatsApp", || async {
            messages_to(&app, ASKED).await.iter().any(|m| {
                m.contains(&format!("la reserva {code} está confirmada"))
                    && m.contains("Ruta 40 km 2012")
            })
        })
        .await;

        // The day before, 11:00 in Argentina: the way there again.
        let check_in: chrono::NaiveDate = app.day(3).parse().unwrap();
        let eleven = (check_in - chrono::Duration::days(1))
            .and_hms_opt(14, 0, 0)
            .unwrap()
            .and_utc();
        let now = *app.clock.lock().unwrap();
        after_a_pass_at(&app, eleven - now).await;
        eventually("the day before", || async {
            messages_to(&app, ASKED)
                .await
                .iter()
                .any(|m| m.contains("Mañana te esperamos"))
        })
        .await;
        // Holds left unpaid: the one who asked is reminded before theirs lapses, though this
        // booking did not ask again (a consent given stays).
        // (Under another spelling of her name, so that her profile is written again.)
        for (from, guest, whatsapp) in [
            (20, ("Ana P. Pérez", ASKED), false),
            (25, ("Ana Pérez", DID_NOT), false),
        ] {
            let held = book(from, guest, whatsapp).await;
            assert_eq!(held.status, 201, "{backend:?}: {:?}", held.body);
            let code = held.body["code"].as_str().unwrap().to_owned();
            eventually("the link made", || async {
                status(&app, &code).await["payment_link"].is_string()
            })
            .await;
        }
        after_a_pass(&app, 25).await;
        eventually("the reminder", || async {
            messages_to(&app, ASKED)
                .await
                .iter()
                .any(|m| m.contains(REMINDER))
        })
        .await;
        assert!(
            raw_messages_to(&app, DID_NOT).await.is_empty(),
            "{backend:?}: not asked, not written"
        );
    }
}

/// A WhatsApp search that finds nothing says why when it is not the nights being taken: the
/// party is larger than any cabin, or the stay shorter than the cabin's minimum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_search_over_whatsapp_says_why() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        // One cabin for four, two nights at the least.
        let (_server, app, _, _, _) = whatsapp_guest_holding(backend, 10, 12).await;
        // The search reads the cabins from their read model, a moment behind the registration.
        eventually("the cabin listed", || async {
            app.get("/v1/accommodations", None)
                .await
                .body
                .as_array()
                .is_some_and(|cabins| cabins.len() == 1)
        })
        .await;
        let slash = |days: i64| {
            let day: chrono::NaiveDate = app.day(days).parse().unwrap();
            day.format("%d/%m/%Y").to_string()
        };
        let ask = |wamid: &'static str, body: String| guest_sends(&app, wamid, wa::text(body));
        ask(
            "wamid.nine",
            format!("hay lugar del {} al {} para 9?", slash(40), slash(43)),
        )
        .await;
        until_told(&app, "Nuestras cabañas son para hasta 4 personas", 1).await;
        ask(
            "wamid.one-night",
            format!("y del {} al {} para 2?", slash(50), slash(51)),
        )
        .await;
        until_told(&app, "Para 2 personas la estadía mínima es de 2 noches", 1).await;
    }
}

/// A command the owner gives from their WhatsApp is recorded as theirs: the events it caused
/// carry the owner's channel as their source and the owner's message as their cause, which the
/// audit trail shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_from_the_owners_whatsapp_is_recorded_with_its_message_as_cause() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (_server, app, _acc, _reservation, code) =
            whatsapp_guest_holding(backend, 30, 32).await;
        until_status(&app, &code, "held").await;
        let answer = owner_says(
            &app,
            "wamid.owner-confirm".into(),
            format!("confirmar {code}"),
        )
        .await;
        assert!(answer.contains("quedó confirmada"), "{backend:?}: {answer}");
        until_status(&app, &code, "confirmed").await;
        app.state.runner.catch_up().await.unwrap();
        let timeline = app
            .auditor_get(&format!("/v1/audit/reservations/{code}/timeline"))
            .await;
        let confirmed = timeline.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event_type"] == "ReservationConfirmed")
            .cloned()
            .unwrap_or_else(|| panic!("{backend:?}: {:?}", timeline.body));
        let meta = &confirmed["metadata"];
        assert_eq!(meta["source"], "owner-whatsapp", "{backend:?}: {meta}");
        assert_eq!(meta["actor"], "owner", "{backend:?}: {meta}");
        assert_eq!(
            meta["causation_id"], "wamid.owner-confirm",
            "{backend:?}: {meta}"
        );
        assert_eq!(meta["provider_message_id"], "wamid.owner-confirm");
    }
}
