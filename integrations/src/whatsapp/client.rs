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
        let answer = self.post(message).await?;
        answer
            .pointer("/messages/0/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| SendError::Transient("answer without a message id".into()))
    }

    /// Marks an inbound message as read (the guest sees the blue ticks).
    pub async fn mark_read(&self, wamid: &str) -> Result<(), SendError> {
        self.post(&json!({
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": wamid,
        }))
        .await
        .map(|_| ())
    }

    async fn post(&self, body: &Value) -> Result<Value, SendError> {
        let url = format!(
            "{}/{}/messages",
            self.config.api_base, self.config.phone_number_id
        );
        let policy = RetryPolicy {
            attempts: self.config.attempts,
            backoff: self.config.backoff,
        };
        retry::call("whatsapp", &self.breaker, policy, || async {
            let request = self
                .http
                .post(&url)
                .bearer_auth(&self.config.token)
                .json(body);
            let answer = match Answer::of(request).await {
                Ok(a) => a,
                Err(why) => return Attempt::Retry(why, None),
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
