//! The Cloud API client against a fake Meta (wiremock): request shapes, retries on 5xx and 429,
//! permanent refusals returned at once, and the circuit breaker opening and recovering.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

use std::time::Duration;

use integrations::breaker::State;
use integrations::whatsapp::client::{CloudApi, Config, SendError};
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn config(server: &MockServer) -> Config {
    let mut c = Config::new(&server.uri(), "test-token", "1122334455");
    c.attempts = 3;
    c.backoff = Duration::from_millis(5);
    c.breaker_threshold = 2;
    c.breaker_cooldown = Duration::from_millis(200);
    c
}

fn sent(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": "541122334455", "wa_id": "5491122334455"}],
        "messages": [{"id": id}]
    }))
}

fn text(to: &str) -> serde_json::Value {
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
           "type": "text", "text": {"preview_url": false, "body": "hola"}})
}

#[tokio::test]
async fn a_message_is_posted_with_the_token_and_its_id_returned() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/1122334455/messages"))
        .and(header("authorization", "Bearer test-token"))
        .and(body_partial_json(
            json!({"to": "541122334455", "type": "text"}),
        ))
        .respond_with(sent("wamid.out-1"))
        .expect(1)
        .mount(&server)
        .await;
    let api = CloudApi::new(config(&server)).unwrap();
    assert_eq!(
        api.send(&text("541122334455")).await.unwrap(),
        "wamid.out-1"
    );
}

#[tokio::test]
async fn read_receipts_use_the_status_shape() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/1122334455/messages"))
        .and(body_partial_json(
            json!({"status": "read", "message_id": "wamid.in-1"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;
    let api = CloudApi::new(config(&server)).unwrap();
    api.mark_read("wamid.in-1").await.unwrap();
}

#[tokio::test]
async fn server_errors_and_throttling_are_retried_until_they_pass() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"error": {"code": 1, "message": "boom"}})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(json!({"error": {"code": 130429, "message": "rate"}})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(sent("wamid.out-2"))
        .mount(&server)
        .await;
    let api = CloudApi::new(config(&server)).unwrap();
    assert_eq!(
        api.send(&text("541122334455")).await.unwrap(),
        "wamid.out-2"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert_eq!(api.breaker().state(), State::Closed);
}

#[tokio::test]
async fn a_permanent_refusal_is_returned_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "code": 131047,
            "message": "Re-engagement message: more than 24 hours have passed"
        }})))
        .mount(&server)
        .await;
    let api = CloudApi::new(config(&server)).unwrap();
    let err = api.send(&text("541122334455")).await.unwrap_err();
    assert!(
        matches!(
            err,
            SendError::Permanent {
                code: Some(131047),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "no retries"
    );
}

#[tokio::test]
async fn the_breaker_opens_fails_fast_and_recovers_after_a_probe() {
    let server = MockServer::start().await;
    let api = CloudApi::new(config(&server)).unwrap();
    let down = Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount_as_scoped(&server)
        .await;
    for _ in 0..2 {
        assert!(matches!(
            api.send(&text("1")).await,
            Err(SendError::Transient(_))
        ));
    }
    assert_eq!(api.breaker().state(), State::Open);
    let before = server.received_requests().await.unwrap().len();
    assert_eq!(api.send(&text("1")).await, Err(SendError::CircuitOpen));
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        before,
        "failed fast"
    );
    drop(down);
    Mock::given(method("POST"))
        .respond_with(sent("wamid.back"))
        .mount(&server)
        .await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(api.send(&text("1")).await.unwrap(), "wamid.back");
    assert_eq!(api.breaker().state(), State::Closed);
}
