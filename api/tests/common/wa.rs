//! WhatsApp as Meta delivers it, for the suites that play guests and the owner: the messages a
//! person sends (`text`, `tap`, `pick`), the webhook's envelope around one, its signature, and
//! the replies the sandbox stores in the outbox.

use std::fmt::Display;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{Backend, TestApp, spawn};

/// A text message saying `body`.
pub fn text(body: impl Display) -> Value {
    json!({"type": "text", "text": {"body": body.to_string()}})
}

/// A tap on a reply button whose id is `id`.
pub fn tap(id: impl Display) -> Value {
    json!({"type": "interactive", "interactive": {"type": "button_reply",
        "button_reply": {"id": id.to_string(), "title": "…"}}})
}

/// A choice from a list: the row `id`, titled `title`.
pub fn pick(id: impl Display, title: &str) -> Value {
    json!({"type": "interactive", "interactive": {"type": "list_reply",
        "list_reply": {"id": id.to_string(), "title": title}}})
}

/// A picture (Meta's media id `id`), as a receipt comes.
pub fn picture(id: &str) -> Value {
    json!({"type": "image", "image": {"mime_type": "image/jpeg", "id": id}})
}

/// The webhook's body for `message` from `wa_id` (whose profile says `name`), as message
/// `wamid` sent at `at`.
pub fn envelope(
    (wa_id, name): (&str, &str),
    wamid: &str,
    message: Value,
    at: DateTime<Utc>,
) -> Vec<u8> {
    let mut message = message;
    message["from"] = json!(wa_id);
    message["id"] = json!(wamid);
    message["timestamp"] = json!(at.timestamp().to_string());
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "5491100000000", "phone_number_id": "123"},
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [message]
        }}]}]
    }))
    .unwrap()
}

/// `X-Hub-Signature-256` for `body` under the app secret `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A service that sends through a fake Cloud API (phone number id 123) answering every message
/// with the id `wamid`, with `extra` settings.
pub async fn spawn_with_meta(
    backend: Backend,
    wamid: &str,
    extra: &[(&str, &str)],
) -> (MockServer, TestApp) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/123/messages"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"messages": [{"id": wamid}]})),
        )
        .mount(&server)
        .await;
    let uri = server.uri();
    let mut settings = vec![
        ("CABANAS_WHATSAPP_TOKEN", "token"),
        ("CABANAS_WHATSAPP_PHONE_NUMBER_ID", "123"),
        ("CABANAS_WHATSAPP_API_BASE", uri.as_str()),
    ];
    settings.extend_from_slice(extra);
    let app = spawn(backend, &settings).await;
    (server, app)
}

/// Registers "Cabaña del Lago" (for 6, one night at the least) and waits until guests can find
/// it; returns its id.
pub async fn register_the_lake(app: &TestApp) -> String {
    let registered = app
        .post(
            "/v1/admin/accommodations",
            Some(&app.admin),
            json!({"name": "Cabaña del Lago", "capacity": 6, "min_nights": 1,
                   "pricing": {"nightly_base": 45000, "cleaning_fee": 8000}}),
        )
        .await;
    app.get(
        &format!(
            "/v1/accommodations?min_position={}",
            registered.body["position"]
        ),
        None,
    )
    .await;
    registered.body["id"].as_str().unwrap().to_owned()
}

impl TestApp {
    /// Posts `body` to the WhatsApp webhook, signed with `secret` when one is given, and
    /// expects it acknowledged.
    pub async fn deliver(&self, body: Vec<u8>, secret: Option<&str>) {
        let mut req = self
            .http
            .post(format!("{}/webhooks/whatsapp", self.base))
            .header("content-type", "application/json");
        if let Some(secret) = secret {
            req = req.header("X-Hub-Signature-256", sign(secret, &body));
        }
        let r = self.send(req.body(body)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }

    /// `message` from `who` (number, profile name) as message `wamid`, at the app's clock,
    /// unsigned (the test service checks no signature unless given a secret).
    pub async fn whatsapp_from(&self, who: (&str, &str), wamid: &str, message: Value) {
        let at = *self.clock.lock().unwrap();
        self.deliver(envelope(who, wamid, message, at), None).await;
    }

    /// The sandbox's stored answer to message `wamid` (replies are keyed by the message's id),
    /// waited for up to 30 s.
    pub async fn answer_to(&self, wamid: &str) -> Value {
        for _ in 0..600 {
            let rows: Vec<(String,)> = eventstore::db_fetch!(
                &self.state.db,
                (String,),
                fetch_all,
                "SELECT body FROM wa_outbox WHERE id = $1".to_owned(),
                format!("{wamid}:0")
            )
            .unwrap();
            if let Some((answer,)) = rows.first() {
                return serde_json::from_str(answer).unwrap();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for the answer to {wamid}");
    }
}
