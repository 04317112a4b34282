//! The WhatsApp Cloud API client: send a message (text or interactive, already rendered by the
//! conversation's reply builders) and mark a message as read.
//!
//! `POST {base}/{phone-number-id}/messages` with a bearer token; the answer carries
//! `messages[0].id`. Errors come as `{"error": {"code": …, "message": …}}`. 429, 5xx, timeouts
//! and connection failures are retried with exponential backoff (honouring `Retry-After`);
//! other 4xx are permanent (e.g. 131047, outside the 24-hour window) and returned at once, to be
//! recorded and shown to the admin, never retried forever.

use std::time::Duration;

use serde_json::{Value, json};

use crate::breaker::CircuitBreaker;
use crate::retry::{self, Answer, Attempt, Failure, RetryPolicy};

#[derive(Clone, Debug)]
pub struct Config {
    pub api_base: String,
    pub token: String,
    pub phone_number_id: String,
    pub timeout: Duration,
    pub attempts: u32,
    pub backoff: Duration,
    pub breaker_threshold: u32,
    pub breaker_cooldown: Duration,
}

impl Config {
    pub fn new(api_base: &str, token: &str, phone_number_id: &str) -> Config {
        Config {
            api_base: api_base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            phone_number_id: phone_number_id.to_owned(),
            timeout: Duration::from_secs(10),
            attempts: 5,
            backoff: Duration::from_millis(250),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SendError {
    /// Meta refused the message for good; retrying will not help.
    #[error("refused by WhatsApp (code {code:?}): {message}")]
    Permanent { code: Option<i64>, message: String },
    /// Still failing after every retry: try again later (the outbox keeps it).
    #[error("WhatsApp unavailable: {0}")]
    Transient(String),
    /// The circuit breaker is open: not even tried.
    #[error("WhatsApp circuit open; not sending for now")]
    CircuitOpen,
    /// Sent, but no answer came back (a timeout, a cut connection): Meta may have taken it.
    /// The Cloud API has no idempotency key, so it is not sent again at once; the message's
    /// status updates tell whether it went (see the outbox).
    #[error("WhatsApp did not confirm the message: {0}")]
    Unconfirmed(String),
}

/// Whether a call that may have been taken (sent, no answer) is tried again within the call.
#[derive(Clone, Copy, PartialEq)]
enum Repeat {
    /// Harmless twice (marking read, an upload).
    Always,
    /// A message: twice would be two messages for the guest.
    OnlyIfNotTaken,
}

pub struct CloudApi {
    http: reqwest::Client,
    config: Config,
    breaker: CircuitBreaker,
}

impl CloudApi {
    pub fn new(config: Config) -> Result<CloudApi, reqwest::Error> {
        let http = reqwest::Client::builder().timeout(config.timeout).build()?;
        Ok(CloudApi {
            breaker: CircuitBreaker::new(
                "whatsapp",
                config.breaker_threshold,
                config.breaker_cooldown,
            ),
            http,
            config,
        })
    }

    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// Sends a rendered message body; returns the new message's wamid.
    pub async fn send(&self, message: &Value) -> Result<String, SendError> {
        let answer = self
            .call("messages", Repeat::OnlyIfNotTaken, |request| {
                request.json(message)
            })
            .await;
        if matches!(answer, Err(SendError::Unconfirmed(_))) {
            // The attempt ended the call without counting against the provider: it does now.
            self.breaker.failure();
        }
        answer?
            .pointer("/messages/0/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            // A success whose body did not arrive whole: taken, id unknown.
            .ok_or_else(|| SendError::Unconfirmed("answer without a message id".into()))
    }

    /// Marks an inbound message as read (the guest sees the blue ticks).
    pub async fn mark_read(&self, wamid: &str) -> Result<(), SendError> {
        let body = json!({
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": wamid,
        });
        self.call("messages", Repeat::Always, |request| request.json(&body))
            .await
            .map(|_| ())
    }

    /// Uploads a file, to be sent by the id this answers (`POST {base}/{phone-number-id}/media`,
    /// multipart: `messaging_product`, `type` and `file`). Meta keeps an upload 30 days.
    pub async fn upload(
        &self,
        bytes: &[u8],
        mime_type: &str,
        filename: &str,
    ) -> Result<String, SendError> {
        let (content_type, body) = multipart(bytes, mime_type, filename);
        let answer = self
            .call("media", Repeat::Always, |request| {
                request
                    .header(reqwest::header::CONTENT_TYPE, content_type.as_str())
                    .body(body.clone())
            })
            .await?;
        answer
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| SendError::Transient("upload answer without a media id".into()))
    }

    /// `POST {base}/{phone-number-id}/{edge}` with the body `with` puts on it, retried as the
    /// module says.
    async fn call(
        &self,
        edge: &str,
        repeat: Repeat,
        with: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Value, SendError> {
        let url = format!(
            "{}/{}/{edge}",
            self.config.api_base, self.config.phone_number_id
        );
        let policy = RetryPolicy {
            attempts: self.config.attempts,
            backoff: self.config.backoff,
        };
        retry::call("whatsapp", &self.breaker, policy, || async {
            let request = with(self.http.post(&url).bearer_auth(&self.config.token));
            let answer = match Answer::of(request).await {
                Ok(a) => a,
                Err(unanswered) if unanswered.maybe_taken && repeat == Repeat::OnlyIfNotTaken => {
                    return Attempt::Fail(SendError::Unconfirmed(unanswered.why));
                }
                Err(unanswered) => return Attempt::Retry(unanswered.why, None),
            };
            if answer.status.is_success() {
                return Attempt::Done(answer.body);
            }
            let code = answer.body.pointer("/error/code").and_then(Value::as_i64);
            let message = answer.error_message();
            if answer.retryable() {
                Attempt::Retry(
                    format!("HTTP {}: {message}", answer.status),
                    answer.retry_after,
                )
            } else {
                Attempt::Fail(SendError::Permanent { code, message })
            }
        })
        .await
        .map_err(|failure| match failure {
            Failure::Refused(err) => err,
            Failure::Exhausted(why) => SendError::Transient(why),
            Failure::CircuitOpen => SendError::CircuitOpen,
        })
    }
}

/// A `multipart/form-data` body for a media upload, and its content type. The boundary is drawn
/// from the file's own digest, so it cannot occur in the file by any practical chance; the
/// names, which come from a guest's phone, are kept to characters that cannot break a header.
fn multipart(bytes: &[u8], mime_type: &str, filename: &str) -> (String, Vec<u8>) {
    use sha2::{Digest, Sha256};
    let boundary = format!("cabanas-{}", hex::encode(Sha256::digest(bytes)));
    let safe = |s: &str, keep: &[char]| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || keep.contains(&c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    // Parameters (`; codecs=…`) are not needed to store a file.
    let mime_type = safe(
        mime_type.split(';').next().unwrap_or_default().trim(),
        &['/', '.', '+', '-'],
    );
    let filename = safe(filename, &['.', '-', '_', ' ']);
    let mut body = Vec::with_capacity(bytes.len() + 512);
    for (name, value) in [
        ("messaging_product", "whatsapp"),
        ("type", mime_type.as_str()),
    ] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: {mime_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
