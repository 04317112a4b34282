//! Mercado Pago notifications: the `x-signature` check and the two shapes they come in.
//!
//! The signature is `ts=…,v1=…` where `v1` is the hex HMAC-SHA256, keyed with the webhook
//! secret, of the manifest `id:{data.id};request-id:{x-request-id};ts:{ts};`: `data.id` from the
//! query string (lower-cased: alphanumeric ids are signed in lower case), any part absent from
//! the request left out. Only the query's id is signed, so it is the one acted on, and the body
//! is never trusted: the payment is always fetched.
//!
//! Shapes: webhooks (`?data.id=…&type=payment`, JSON body with the notification `id`, `type`,
//! `action`, `data.id`) and the older IPN (`?topic=payment&id=…` or `topic=merchant_order`).
//!
//! With a secret configured, [`authenticate`] is the only way in: every shape must be signed
//! (the IPN's `id` stands where a webhook's `data.id` does), a query naming two different ids is
//! refused, and the notification it returns names exactly the id the signature covers, never one
//! taken from the body.

use std::collections::HashMap;

use hmac::{KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("no x-signature header")]
    Missing,
    #[error("x-signature is not `ts=…,v1=…`")]
    Malformed,
    #[error("x-signature does not match")]
    Mismatch,
    #[error("x-signature timestamp is outside the accepted window")]
    Stale,
    #[error("the query names two different ids (data.id and id)")]
    TwoIds,
    #[error("the notification names no id in its query string, so no signed id to act on")]
    Unsigned,
}

/// The request parts a signature is checked against.
#[derive(Clone, Copy, Debug)]
pub struct Signed<'a> {
    pub secret: &'a str,
    pub x_signature: Option<&'a str>,
    pub x_request_id: Option<&'a str>,
    /// Current Unix time, seconds.
    pub now_secs: i64,
    pub max_age_secs: i64,
}

/// The id a notification's query string names: `data.id` (webhooks) or `id` (IPN). Both present
/// and different is refused: only one of them can be the signed one.
fn query_id(query: &HashMap<String, String>) -> Result<Option<&str>, SignatureError> {
    let data_id = query
        .get("data.id")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    let ipn_id = query
        .get("id")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    match (data_id, ipn_id) {
        (Some(a), Some(b)) if a != b => Err(SignatureError::TwoIds),
        (a, b) => Ok(a.or(b)),
    }
}

/// Verifies a notification of any shape and returns it, naming only the signed id. `Ok(None)`:
/// validly signed but names nothing we know (answered 400 by the caller).
pub fn authenticate(
    signed: Signed<'_>,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Result<Option<Notification>, SignatureError> {
    let id = query_id(query)?;
    verify(
        signed.secret,
        signed.x_signature,
        signed.x_request_id,
        id,
        signed.now_secs,
        signed.max_age_secs,
    )?;
    let Some(notification) = parse(query, body) else {
        return Ok(None);
    };
    // `parse` falls back on the body for the id; with a signature only the query's id counts.
    match (id, notification.topic.id()) {
        (Some(signed_id), Some(named)) if signed_id == named => Ok(Some(notification)),
        (_, None) => Ok(Some(notification)),
        _ => Err(SignatureError::Unsigned),
    }
}

/// The string Mercado Pago signs.
pub fn manifest(data_id: Option<&str>, request_id: Option<&str>, ts: &str) -> String {
    let mut m = String::new();
    if let Some(id) = data_id.filter(|s| !s.is_empty()) {
        m.push_str(&format!("id:{};", id.to_lowercase()));
    }
    if let Some(r) = request_id.filter(|s| !s.is_empty()) {
        m.push_str(&format!("request-id:{r};"));
    }
    m.push_str(&format!("ts:{ts};"));
    m
}

/// Checks `x-signature` against the request; `now_secs` is the current Unix time and a `ts` more
/// than `max_age_secs` away from it (either way) is refused. `ts` may be in seconds or in
/// milliseconds (Mercado Pago has sent both).
pub fn verify(
    secret: &str,
    x_signature: Option<&str>,
    x_request_id: Option<&str>,
    data_id: Option<&str>,
    now_secs: i64,
    max_age_secs: i64,
) -> Result<(), SignatureError> {
    let header = x_signature.ok_or(SignatureError::Missing)?;
    let mut ts = None;
    let mut v1 = None;
    for part in header.split(',') {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        match k.trim() {
            "ts" => ts = Some(v.trim()),
            "v1" => v1 = Some(v.trim()),
            _ => {}
        }
    }
    let (Some(ts), Some(v1)) = (ts, v1) else {
        return Err(SignatureError::Malformed);
    };
    let stamp: i64 = ts.parse().map_err(|_| SignatureError::Malformed)?;
    let expected = hex::decode(v1).map_err(|_| SignatureError::Malformed)?;
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| SignatureError::Malformed)?;
    mac.update(manifest(data_id, x_request_id, ts).as_bytes());
    // Constant-time comparison.
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)?;
    let secs = if stamp > 100_000_000_000 {
        stamp / 1000
    } else {
        stamp
    };
    if (now_secs - secs).abs() > max_age_secs {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// What a notification is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Topic {
    /// A payment to fetch.
    Payment(String),
    /// Acknowledged only: payments inside an order arrive as payment notifications too.
    MerchantOrder(String),
    /// Anything else (subscriptions, point, …): acknowledged and ignored.
    Other(String),
}

impl Topic {
    /// The resource id the notification names (`None` for topics we ignore).
    pub fn id(&self) -> Option<&str> {
        match self {
            Topic::Payment(id) | Topic::MerchantOrder(id) => Some(id),
            Topic::Other(_) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// Deduplication key: the notification id when there is one, else what it names.
    pub key: String,
    pub topic: Topic,
    /// True for the old IPN shape (`?topic=…&id=…`).
    pub ipn: bool,
}

/// Reads a notification from its query string and body. `None` when it names nothing at all.
pub fn parse(query: &HashMap<String, String>, body: &[u8]) -> Option<Notification> {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if let Some(topic) = query.get("topic") {
        let id = query.get("id").cloned().or_else(|| {
            json.get("resource")
                .and_then(Value::as_str)
                .map(last_segment)
        })?;
        let key = format!("ipn:{topic}:{id}");
        let topic = match topic.as_str() {
            "payment" => Topic::Payment(id),
            "merchant_order" => Topic::MerchantOrder(id),
            other => Topic::Other(other.to_owned()),
        };
        return Some(Notification {
            key,
            topic,
            ipn: true,
        });
    }
    let kind = query
        .get("type")
        .cloned()
        .or_else(|| json.get("type").and_then(Value::as_str).map(str::to_owned))?;
    let id = query.get("data.id").cloned().or_else(|| {
        json.pointer("/data/id").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    })?;
    let action = json.get("action").and_then(Value::as_str).unwrap_or("");
    let key = match json.get("id") {
        Some(Value::Number(n)) => format!("webhook:{n}"),
        Some(Value::String(s)) if !s.is_empty() => format!("webhook:{s}"),
        _ => format!("webhook:{kind}:{id}:{action}"),
    };
    let topic = match kind.as_str() {
        "payment" => Topic::Payment(id),
        "merchant_order" | "topic_merchant_order_wh" => Topic::MerchantOrder(id),
        other => Topic::Other(other.to_owned()),
    };
    Some(Notification {
        key,
        topic,
        ipn: false,
    })
}

fn last_segment(url: &str) -> String {
    url.rsplit('/').next().unwrap_or(url).to_owned()
}
