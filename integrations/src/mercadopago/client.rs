//! The Mercado Pago REST client, written against the documented API:
//!
//! - `POST /checkout/preferences` creates a Checkout Pro preference (the payment link); the
//!   answer carries `id` and `init_point`.
//! - `GET /v1/payments/{id}` is the payment as it really is (status, amount, external reference).
//! - `POST /v1/payments/{id}/refunds` refunds all (empty body) or part (`{"amount": …}`).
//!
//! Bearer token auth; creating calls carry `X-Idempotency-Key` so that a retry after a timeout
//! never creates a second preference or refund. 429, 5xx, timeouts and connection failures are
//! retried with backoff behind a circuit breaker; other 4xx are refusals, returned at once.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use crate::breaker::CircuitBreaker;
use crate::retry::{self, Answer, Attempt, Failure, RetryPolicy};

#[derive(Clone, Debug)]
pub struct Config {
    pub api_base: String,
    pub access_token: String,
    pub timeout: Duration,
    pub attempts: u32,
    pub backoff: Duration,
    pub breaker_threshold: u32,
    pub breaker_cooldown: Duration,
}

impl Config {
    pub fn new(api_base: &str, access_token: &str) -> Config {
        Config {
            api_base: api_base.trim_end_matches('/').to_owned(),
            access_token: access_token.to_owned(),
            timeout: Duration::from_secs(10),
            attempts: 4,
            backoff: Duration::from_millis(250),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MpError {
    #[error("Mercado Pago refused the request (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
    #[error("not found at Mercado Pago")]
    NotFound,
    #[error("Mercado Pago unavailable: {0}")]
    Unavailable(String),
    #[error("Mercado Pago circuit open; not calling for now")]
    CircuitOpen,
    #[error("unexpected answer from Mercado Pago: {0}")]
    BadAnswer(String),
}

impl MpError {
    /// Worth trying again later (the work stays queued); a refusal is not.
    pub fn is_transient(&self) -> bool {
        matches!(self, MpError::Unavailable(_) | MpError::CircuitOpen)
    }
}

/// What the payment link is for.
#[derive(Clone, Debug)]
pub struct PreferenceRequest {
    /// Our reservation id: comes back as the payment's `external_reference`.
    pub external_reference: String,
    pub title: String,
    pub amount: Decimal,
    pub expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// Where notifications go (`…/webhooks/mercadopago?source_news=webhooks`).
    pub notification_url: String,
    /// The return page for success, pending and failure alike.
    pub back_url: String,
}

impl PreferenceRequest {
    /// The `POST /checkout/preferences` body: one item in ARS, approved-or-rejected only
    /// (`binary_mode`, so no payment lingers pending past the hold) and expiring with the hold.
    pub fn body(&self) -> Value {
        let at = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        json!({
            "items": [{
                "id": self.external_reference,
                "title": self.title,
                "quantity": 1,
                "unit_price": self.amount.to_f64().unwrap_or_default(),
                "currency_id": "ARS",
            }],
            "external_reference": self.external_reference,
            "notification_url": self.notification_url,
            "back_urls": {
                "success": self.back_url,
                "pending": self.back_url,
                "failure": self.back_url,
            },
            "auto_return": "approved",
            "binary_mode": true,
            "expires": true,
            "expiration_date_from": at(self.now),
            "expiration_date_to": at(self.expires_at),
            "date_of_expiration": at(self.expires_at),
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Preference {
    pub id: String,
    pub init_point: String,
}

/// The fields of `GET /v1/payments/{id}` this service acts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Payment {
    pub id: String,
    pub status: String,
    pub status_detail: Option<String>,
    pub external_reference: Option<String>,
    pub amount: Decimal,
    pub currency_id: Option<String>,
    pub method: Option<String>,
}

impl Payment {
    pub fn from_json(v: &Value) -> Result<Payment, MpError> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let id = match v.get("id") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => return Err(MpError::BadAnswer("payment without an id".into())),
        };
        Ok(Payment {
            id,
            status: text("status")
                .ok_or_else(|| MpError::BadAnswer("payment without a status".into()))?,
            status_detail: text("status_detail"),
            external_reference: text("external_reference").filter(|s| !s.is_empty()),
            amount: decimal(v.get("transaction_amount"))
                .ok_or_else(|| MpError::BadAnswer("payment without an amount".into()))?,
            currency_id: text("currency_id"),
            method: text("payment_method_id"),
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Refund {
    pub id: String,
    pub amount: Decimal,
}

/// A JSON number (or numeric string) as an exact decimal.
fn decimal(v: Option<&Value>) -> Option<Decimal> {
    match v? {
        Value::Number(n) => Decimal::from_str(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .ok(),
        Value::String(s) => Decimal::from_str(s).ok(),
        _ => None,
    }
}

/// Everything the payment workers need from a provider; the sandbox implements it too, so a
/// local `cabanas pay` drives the same code as a real notification.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    async fn create_preference(
        &self,
        request: &PreferenceRequest,
        idempotency_key: &str,
    ) -> Result<Preference, MpError>;
    async fn payment(&self, id: &str) -> Result<Payment, MpError>;
    /// `amount: None` refunds the whole payment.
    async fn refund(
        &self,
        payment_id: &str,
        amount: Option<Decimal>,
        idempotency_key: &str,
    ) -> Result<Refund, MpError>;
}

pub struct MercadoPago {
    http: reqwest::Client,
    config: Config,
    breaker: CircuitBreaker,
}

impl MercadoPago {
    pub fn new(config: Config) -> Result<MercadoPago, reqwest::Error> {
        let http = reqwest::Client::builder().timeout(config.timeout).build()?;
        Ok(MercadoPago {
            breaker: CircuitBreaker::new(
                "mercadopago",
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

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<Value, MpError> {
        let url = format!("{}{path}", self.config.api_base);
        let policy = RetryPolicy {
            attempts: self.config.attempts,
            backoff: self.config.backoff,
        };
        retry::call("mercadopago", &self.breaker, policy, || async {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&self.config.access_token);
            if let Some(key) = idempotency_key {
                request = request.header("X-Idempotency-Key", key);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let answer = match Answer::of(request).await {
                Ok(a) => a,
                // Safe to repeat even if it was taken: every call carries its idempotency key.
                Err(unanswered) => return Attempt::Retry(unanswered.why, None),
            };
            if answer.status.is_success() {
                return Attempt::Done(answer.body);
            }
            let message = answer
                .body
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message")
                .to_owned();
            if answer.retryable() {
                Attempt::Retry(
                    format!("HTTP {}: {message}", answer.status),
                    answer.retry_after,
                )
            } else if answer.status.as_u16() == 404 {
                Attempt::Fail(MpError::NotFound)
            } else {
                Attempt::Fail(MpError::Refused {
                    status: answer.status.as_u16(),
                    message,
                })
            }
        })
        .await
        .map_err(|failure| match failure {
            Failure::Refused(err) => err,
            Failure::Exhausted(why) => MpError::Unavailable(why),
            Failure::CircuitOpen => MpError::CircuitOpen,
        })
    }
}

#[async_trait]
impl PaymentProvider for MercadoPago {
    async fn create_preference(
        &self,
        request: &PreferenceRequest,
        idempotency_key: &str,
    ) -> Result<Preference, MpError> {
        let answer = self
            .send(
                reqwest::Method::POST,
                "/checkout/preferences",
                Some(&request.body()),
                Some(idempotency_key),
            )
            .await?;
        let text = |k: &str| answer.get(k).and_then(Value::as_str).map(str::to_owned);
        match (text("id"), text("init_point")) {
            (Some(id), Some(init_point)) => Ok(Preference { id, init_point }),
            _ => Err(MpError::BadAnswer(
                "preference without id or init_point".into(),
            )),
        }
    }

    async fn payment(&self, id: &str) -> Result<Payment, MpError> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            // Never build a URL from something that is not a plain id.
            return Err(MpError::NotFound);
        }
        let answer = self
            .send(
                reqwest::Method::GET,
                &format!("/v1/payments/{id}"),
                None,
                None,
            )
            .await?;
        Payment::from_json(&answer)
    }

    async fn refund(
        &self,
        payment_id: &str,
        amount: Option<Decimal>,
        idempotency_key: &str,
    ) -> Result<Refund, MpError> {
        if payment_id.is_empty() || !payment_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(MpError::NotFound);
        }
        let body = match amount {
            Some(a) => json!({"amount": a.to_f64().unwrap_or_default()}),
            None => json!({}),
        };
        let answer = self
            .send(
                reqwest::Method::POST,
                &format!("/v1/payments/{payment_id}/refunds"),
                Some(&body),
                Some(idempotency_key),
            )
            .await?;
        let id = match answer.get("id") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => return Err(MpError::BadAnswer("refund without an id".into())),
        };
        Ok(Refund {
            id,
            amount: decimal(answer.get("amount")).unwrap_or_default(),
        })
    }
}
