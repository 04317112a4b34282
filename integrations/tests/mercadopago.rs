//! Mercado Pago: the x-signature test vectors, both notification shapes, and the REST client
//! against a fake Mercado Pago (wiremock) serving the SDK's recorded answers.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use integrations::mercadopago::client::{Config, PreferenceRequest};
use integrations::mercadopago::webhook::{self, SignatureError, Topic};
use integrations::mercadopago::{MercadoPago, MpError, PaymentProvider};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "test_webhook_secret_123";
const REQUEST_ID: &str = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e";
const TS: i64 = 1_704_908_010;

fn fixture(name: &str) -> Value {
    let raw = std::fs::read_to_string(format!(
        "{}/tests/fixtures/mercadopago/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    serde_json::from_str(&raw).unwrap()
}

fn check(signature: &str, data_id: Option<&str>, now: i64) -> Result<(), SignatureError> {
    webhook::verify(SECRET, Some(signature), Some(REQUEST_ID), data_id, now, 300)
}

#[test]
fn the_documented_manifest_is_built_part_by_part() {
    assert_eq!(
        webhook::manifest(Some("96718866362"), Some(REQUEST_ID), "1704908010"),
        "id:96718866362;request-id:bb56a2f1-6aae-46ac-982e-9dcd3581d08e;ts:1704908010;"
    );
    assert_eq!(
        webhook::manifest(Some("ABC123"), Some(REQUEST_ID), "1704908010"),
        "id:abc123;request-id:bb56a2f1-6aae-46ac-982e-9dcd3581d08e;ts:1704908010;"
    );
    assert_eq!(
        webhook::manifest(None, Some(REQUEST_ID), "1704908010"),
        "request-id:bb56a2f1-6aae-46ac-982e-9dcd3581d08e;ts:1704908010;"
    );
}

#[test]
fn the_signature_test_vectors_pass() {
    let numeric =
        "ts=1704908010,v1=060d7b43951d84c8443a2c30675b8d61ddecea8c548739487b6b57c9ecd7386c";
    assert_eq!(check(numeric, Some("96718866362"), TS), Ok(()));
    // Spaces after the comma, as some proxies write it.
    let spaced =
        "ts=1704908010, v1=060d7b43951d84c8443a2c30675b8d61ddecea8c548739487b6b57c9ecd7386c";
    assert_eq!(check(spaced, Some("96718866362"), TS + 10), Ok(()));
    let alnum = "ts=1704908010,v1=ef7b007595783ecbe4606473c3c3230460f59b8d86f70533a73fe69f8b8f02f6";
    assert_eq!(check(alnum, Some("ABC123"), TS), Ok(()));
    let absent =
        "ts=1704908010,v1=2824b49f3725cb1072f6d8bfba46042ab51fad555d1d658f461a0b72be7e3a9a";
    assert_eq!(check(absent, None, TS), Ok(()));
}

#[test]
fn the_signature_test_vectors_fail_when_anything_changes() {
    let good = "ts=1704908010,v1=060d7b43951d84c8443a2c30675b8d61ddecea8c548739487b6b57c9ecd7386c";
    // Another payment id, a missing id, another request id, another secret.
    assert_eq!(
        check(good, Some("96718866363"), TS),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(check(good, None, TS), Err(SignatureError::Mismatch));
    assert_eq!(
        webhook::verify(
            SECRET,
            Some(good),
            Some("other"),
            Some("96718866362"),
            TS,
            300
        ),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        webhook::verify(
            "other",
            Some(good),
            Some(REQUEST_ID),
            Some("96718866362"),
            TS,
            300
        ),
        Err(SignatureError::Mismatch)
    );
    // The right signature, replayed an hour later.
    assert_eq!(
        check(good, Some("96718866362"), TS + 3600),
        Err(SignatureError::Stale)
    );
    assert_eq!(
        check("v1=abc", Some("1"), TS),
        Err(SignatureError::Malformed)
    );
    assert_eq!(
        check("ts=1704908010,v1=zz", Some("1"), TS),
        Err(SignatureError::Malformed)
    );
    assert_eq!(
        webhook::verify(SECRET, None, Some(REQUEST_ID), Some("1"), TS, 300),
        Err(SignatureError::Missing)
    );
}

#[test]
fn a_timestamp_in_milliseconds_is_accepted() {
    let manifest = webhook::manifest(Some("42"), Some(REQUEST_ID), "1704908010123");
    let signature = format!("ts=1704908010123,v1={}", hmac_hex(SECRET, &manifest));
    assert_eq!(check(&signature, Some("42"), TS), Ok(()));
}

fn hmac_hex(secret: &str, message: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn the_documented_webhook_names_its_payment_and_notification() {
    let body = serde_json::to_vec(&fixture("webhook_payment_created.json")).unwrap();
    let n = webhook::parse(
        &query(&[("data.id", "999999999"), ("type", "payment")]),
        &body,
    )
    .unwrap();
    assert_eq!(n.key, "webhook:12345");
    assert_eq!(n.topic, Topic::Payment("999999999".into()));
    assert!(!n.ipn);
    // The signed query id wins over the body's.
    let n = webhook::parse(&query(&[("data.id", "1"), ("type", "payment")]), &body).unwrap();
    assert_eq!(n.topic, Topic::Payment("1".into()));
}

#[test]
fn old_style_ipn_notifications_are_understood() {
    let n = webhook::parse(&query(&[("topic", "payment"), ("id", "123")]), b"").unwrap();
    assert_eq!(n.topic, Topic::Payment("123".into()));
    assert_eq!(n.key, "ipn:payment:123");
    assert!(n.ipn);
    let n = webhook::parse(&query(&[("topic", "merchant_order"), ("id", "77")]), b"").unwrap();
    assert_eq!(n.topic, Topic::MerchantOrder("77".into()));
    assert!(webhook::parse(&query(&[]), b"not json").is_none());
}

fn client(server: &MockServer) -> MercadoPago {
    let mut c = Config::new(&server.uri(), "TEST-token");
    c.attempts = 3;
    c.backoff = Duration::from_millis(5);
    c.timeout = Duration::from_millis(300);
    MercadoPago::new(c).unwrap()
}

fn preference() -> PreferenceRequest {
    PreferenceRequest {
        external_reference: "0193a5e0-0000-7000-8000-000000000001".into(),
        title: "Seña reserva ABC-123".into(),
        amount: Decimal::from(27_000),
        expires_at: Utc.with_ymd_and_hms(2026, 12, 7, 13, 30, 0).unwrap(),
        now: Utc.with_ymd_and_hms(2026, 12, 7, 13, 0, 0).unwrap(),
        notification_url: "https://cabanas.example/webhooks/mercadopago?source_news=webhooks"
            .into(),
        back_url: "https://cabanas.example/pagos/retorno".into(),
    }
}

#[tokio::test]
async fn a_preference_is_created_once_even_when_the_first_call_times_out() {
    let server = MockServer::start().await;
    let expected = json!({
        "external_reference": "0193a5e0-0000-7000-8000-000000000001",
        "binary_mode": true,
        "expires": true,
        "expiration_date_to": "2026-12-07T13:30:00.000Z",
        "notification_url": "https://cabanas.example/webhooks/mercadopago?source_news=webhooks",
        "items": [{"currency_id": "ARS", "quantity": 1, "unit_price": 27000.0}],
    });
    // The first answer comes too late (the client gives up and retries with the same key).
    Mock::given(method("POST"))
        .and(path("/checkout/preferences"))
        .and(header("x-idempotency-key", "pref-1"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(fixture("response_preference_preference_base.json"))
                .set_delay(Duration::from_secs(2)),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/checkout/preferences"))
        .and(header("authorization", "Bearer TEST-token"))
        .and(header("x-idempotency-key", "pref-1"))
        .and(body_partial_json(expected))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(fixture("response_preference_preference_base.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let p = client(&server)
        .create_preference(&preference(), "pref-1")
        .await
        .unwrap();
    assert_eq!(p.id, "823549964-e8063b12-1c8b-4333-b075-3ae52a0371c8");
    assert!(
        p.init_point
            .starts_with("https://www.mercadopago.com.ar/checkout/v1/redirect")
    );
}

#[tokio::test]
async fn a_payment_is_read_with_its_exact_amount_and_reference() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/17014025134"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("response_payment_payment_base.json")),
        )
        .mount(&server)
        .await;
    let p = client(&server).payment("17014025134").await.unwrap();
    assert_eq!(p.id, "17014025134");
    assert_eq!(p.status, "approved");
    assert_eq!(p.status_detail.as_deref(), Some("accredited"));
    assert_eq!(p.external_reference.as_deref(), Some("1631894348"));
    assert_eq!(p.amount, Decimal::new(1234, 2));
    assert_eq!(p.currency_id.as_deref(), Some("ARS"));
    assert_eq!(p.method.as_deref(), Some("master"));
    assert_eq!(
        client(&server).payment("../x").await,
        Err(MpError::NotFound)
    );
}

#[tokio::test]
async fn unknown_payments_and_refusals_are_not_retried_but_outages_are() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/404"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "not_found"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/500"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;
    let c = client(&server);
    assert_eq!(c.payment("404").await, Err(MpError::NotFound));
    let err = c.payment("500").await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn a_partial_refund_sends_the_amount_and_an_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/payments/17014025134/refunds"))
        .and(header("x-idempotency-key", "refund-1"))
        .and(body_json(fixture("request_refund_refund_partial.json")))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(fixture("response_refund_refund_base.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let r = client(&server)
        .refund("17014025134", Some(Decimal::from(50)), "refund-1")
        .await
        .unwrap();
    assert_eq!(r.id, "1245678203");
    assert_eq!(r.amount, Decimal::from(50));
}

fn signed(signature: Option<&str>) -> webhook::Signed<'_> {
    webhook::Signed {
        secret: SECRET,
        x_signature: signature,
        x_request_id: Some(REQUEST_ID),
        now_secs: TS,
        max_age_secs: 300,
    }
}

#[test]
fn authenticate_takes_only_the_signed_id_in_every_shape() {
    let good = "ts=1704908010,v1=060d7b43951d84c8443a2c30675b8d61ddecea8c548739487b6b57c9ecd7386c";
    let webhook_query = query(&[("data.id", "96718866362"), ("type", "payment")]);
    let n = webhook::authenticate(signed(Some(good)), &webhook_query, b"{}")
        .unwrap()
        .unwrap();
    assert_eq!(n.topic, Topic::Payment("96718866362".to_owned()));
    // The IPN shape is signed over its `id`, as a webhook is over `data.id`.
    let ipn = query(&[("topic", "payment"), ("id", "96718866362")]);
    let n = webhook::authenticate(signed(Some(good)), &ipn, b"")
        .unwrap()
        .unwrap();
    assert_eq!(n.topic, Topic::Payment("96718866362".to_owned()));
    assert!(n.ipn);
    assert_eq!(
        webhook::authenticate(signed(None), &ipn, b""),
        Err(SignatureError::Missing)
    );
    // Another id beside the signed one.
    let two = query(&[("data.id", "96718866362"), ("type", "payment"), ("id", "1")]);
    assert_eq!(
        webhook::authenticate(signed(Some(good)), &two, b""),
        Err(SignatureError::TwoIds)
    );
    // Signed over no id: an id found only in the body is not acted on.
    let absent =
        "ts=1704908010,v1=2824b49f3725cb1072f6d8bfba46042ab51fad555d1d658f461a0b72be7e3a9a";
    let body = br#"{"type":"payment","data":{"id":"96718866362"}}"#;
    assert_eq!(
        webhook::authenticate(signed(Some(absent)), &query(&[("type", "payment")]), body),
        Err(SignatureError::Unsigned)
    );
}
