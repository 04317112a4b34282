//! Calling a provider: retries with exponential backoff and jitter (honouring `Retry-After`),
//! behind the provider's circuit breaker. A refusal (a 4xx that retrying cannot fix) is an
//! answer, not an outage: it is returned at once and counts as the service being healthy.

use std::future::Future;
use std::time::Duration;

use crate::breaker::CircuitBreaker;

#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub backoff: Duration,
}

/// One try's outcome.
pub enum Attempt<T, E> {
    Done(T),
    /// Worth trying again (timeout, connection error, 429, 5xx), after `Retry-After` if given.
    Retry(String, Option<Duration>),
    /// Refused for good.
    Fail(E),
}

#[derive(Debug, PartialEq)]
pub enum Failure<E> {
    Refused(E),
    /// Still failing after every attempt; the caller keeps the work and tries later.
    Exhausted(String),
    /// The breaker is open: not even tried.
    CircuitOpen,
}

pub async fn call<T, E, F, Fut>(
    provider: &'static str,
    breaker: &CircuitBreaker,
    policy: RetryPolicy,
    mut attempt: F,
) -> Result<T, Failure<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Attempt<T, E>>,
{
    if !breaker.allow() {
        return Err(Failure::CircuitOpen);
    }
    let mut delay = policy.backoff;
    let mut last = String::new();
    for n in 1..=policy.attempts.max(1) {
        match attempt().await {
            Attempt::Done(v) => {
                breaker.success();
                return Ok(v);
            }
            Attempt::Fail(err) => {
                breaker.success();
                return Err(Failure::Refused(err));
            }
            Attempt::Retry(why, retry_after) => {
                metrics::counter!("cabanas_provider_retries_total", "provider" => provider)
                    .increment(1);
                last = why;
                if n < policy.attempts {
                    let jitter = Duration::from_millis(jitter_ms(delay.as_millis() as u64 / 4));
                    tokio::time::sleep(retry_after.unwrap_or(delay) + jitter).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
    breaker.failure();
    Err(Failure::Exhausted(last))
}

/// A response read in full: status, `Retry-After` (capped at a minute) and the JSON body
/// (`Null` when it is not JSON).
pub struct Answer {
    pub status: reqwest::StatusCode,
    pub retry_after: Option<Duration>,
    pub body: serde_json::Value,
}

impl Answer {
    /// Sends `request` and reads the answer; `Err` says why none came back.
    pub async fn of(request: reqwest::RequestBuilder) -> Result<Answer, Unanswered> {
        let response = request.send().await.map_err(|e| Unanswered {
            why: format!("request failed: {e}"),
            // Only a connection never made proves the provider never saw the request.
            maybe_taken: !(e.is_connect() || e.is_builder()),
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(60)));
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }

    /// 429 and 5xx are worth retrying; other failures are refusals.
    pub fn retryable(&self) -> bool {
        retryable_status(self.status)
    }

    /// The message of a Graph API error body (`{"error": {"message": …}}`), for logs and admins.
    pub fn error_message(&self) -> String {
        self.body
            .pointer("/error/message")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("no error message")
            .to_owned()
    }
}

/// A request that got no answer.
#[derive(Debug)]
pub struct Unanswered {
    pub why: String,
    /// It was sent (a timeout, a connection cut while waiting): the provider may have acted on
    /// it. Repeating such a request is only safe when the provider dedupes it (an idempotency
    /// key); otherwise the caller must find out what happened before sending it again.
    pub maybe_taken: bool,
}

/// Worth another try: rate limited, or the server's own failure.
pub fn retryable_status(status: reqwest::StatusCode) -> bool {
    status.as_u16() == 429 || status.is_server_error()
}

fn jitter_ms(max_ms: u64) -> u64 {
    if max_ms == 0 {
        return 0;
    }
    // Spreads retries of many callers; cryptographic quality is not needed.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    u64::from(nanos) % max_ms
}
