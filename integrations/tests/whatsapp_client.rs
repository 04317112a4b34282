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

/// A file to forward goes up as Meta documents it: a multipart form with `messaging_product`,
/// `type` and `file`, with the token; the new media id comes back. A file name from a guest's
/// phone cannot break out of its header.
#[tokio::test]
async fn a_file_is_uploaded_as_a_multipart_form_and_its_media_id_returned() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/1122334455/media"))
        .and(header("authorization", "Bearer test-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "4490709327384033"})))
        .expect(1)
        .mount(&server)
        .await;
    let api = CloudApi::new(config(&server)).unwrap();
    let file = b"%PDF-1.4 \x00\x01 comprobante \r\n--not-a-boundary\r\n";
    let id = api
        .upload(file, "application/pdf", "transf\"er\r\nX-Evil: 1.pdf")
        .await
        .unwrap();
    assert_eq!(id, "4490709327384033");

    let requests = server.received_requests().await.unwrap();
    let request = &requests[0];
    let content_type = request.headers["content-type"].to_str().unwrap();
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap();
    let body = &request.body;
    let field = |name: &str, value: &str| {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        )
    };
    let has = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    assert!(has(field("messaging_product", "whatsapp").as_bytes()));
    assert!(has(field("type", "application/pdf").as_bytes()));
    let mut part = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
         filename=\"transf_er__X-Evil_ 1.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    part.extend_from_slice(file);
    part.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    assert!(body.ends_with(&part), "{}", String::from_utf8_lossy(body));
}

#[tokio::test]
async fn a_refused_upload_is_permanent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/1122334455/media"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"code": 131053, "message": "Media upload error"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let api = CloudApi::new(config(&server)).unwrap();
    assert_eq!(
        api.upload(b"\xff\xd8", "image/jpeg", "foto.jpg").await,
        Err(SendError::Permanent {
            code: Some(131053),
            message: "Media upload error".into()
        })
    );
}

/// A message sent but not answered in time may have been taken: it is not posted again within
/// the call (the Cloud API has no idempotency key), and the caller is told it is unconfirmed.
/// A connection never made is safe to repeat, and is.
#[tokio::test]
async fn a_message_that_timed_out_is_not_sent_again_but_a_refused_connection_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(sent("wamid.late").set_delay(Duration::from_millis(500)))
        .mount(&server)
        .await;
    let mut slow = config(&server);
    slow.timeout = Duration::from_millis(100);
    let api = CloudApi::new(slow).unwrap();
    let err = api.send(&text("1")).await.unwrap_err();
    assert!(matches!(err, SendError::Unconfirmed(_)), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // Nothing listens on a port just given back: every attempt is a refused connection.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut gone = Config::new(
        &format!("http://127.0.0.1:{port}"),
        "test-token",
        "1122334455",
    );
    gone.attempts = 2;
    gone.backoff = Duration::from_millis(5);
    let err = CloudApi::new(gone).unwrap().send(&text("1")).await;
    assert!(matches!(err, Err(SendError::Transient(_))), "{err:?}");
}
