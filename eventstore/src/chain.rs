//! The hash chain over the global order, and canonical JSON so that both backends (PostgreSQL's
//! JSONB reorders keys) hash exactly the same bytes.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::RecordedEvent;

/// The previous hash of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// JSON with object keys sorted at every level and no insignificant whitespace.
pub fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<_> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The fields an event's hash covers.
pub struct HashInput<'a> {
    pub position: i64,
    pub stream_id: &'a str,
    pub stream_version: i64,
    pub event_id: uuid::Uuid,
    pub event_type: &'a str,
    pub schema_version: i32,
    pub payload: &'a Value,
    pub metadata: &'a Value,
    pub recorded_at_micros: i64,
}

/// SHA-256 over the previous hash and every field, each length-prefixed so that no two
/// different events can produce the same byte string.
pub fn event_hash(prev_hash: &str, e: &HashInput<'_>) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    field(prev_hash.as_bytes());
    field(&e.position.to_be_bytes());
    field(e.stream_id.as_bytes());
    field(&e.stream_version.to_be_bytes());
    field(e.event_id.as_bytes());
    field(e.event_type.as_bytes());
    field(&e.schema_version.to_be_bytes());
    let mut json = String::new();
    canonical_json(e.payload, &mut json);
    field(json.as_bytes());
    json.clear();
    canonical_json(e.metadata, &mut json);
    field(json.as_bytes());
    field(&e.recorded_at_micros.to_be_bytes());
    hex::encode(hasher.finalize())
}

pub fn hash_recorded(prev_hash: &str, e: &RecordedEvent, position: i64) -> String {
    event_hash(
        prev_hash,
        &HashInput {
            position,
            stream_id: &e.stream_id,
            stream_version: e.stream_version,
            event_id: e.event_id,
            event_type: &e.event_type,
            schema_version: e.schema_version,
            payload: &e.payload,
            metadata: &e.metadata,
            recorded_at_micros: e.recorded_at.timestamp_micros(),
        },
    )
}

/// Result of walking the chain.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChainReport {
    pub verified_events: u64,
    pub head_position: i64,
    pub head_hash: String,
    pub first_break: Option<ChainBreak>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChainBreak {
    pub position: i64,
    pub reason: String,
}

/// Walks batches of the global log in order.
pub(crate) struct Verifier {
    prev_hash: String,
    expected_position: i64,
    verified: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            prev_hash: GENESIS.to_owned(),
            expected_position: 1,
            verified: 0,
        }
    }
}

impl Verifier {
    /// Returns a report as soon as the chain breaks.
    pub(crate) fn feed(&mut self, batch: &[RecordedEvent]) -> Option<ChainReport> {
        for e in batch {
            let position = e.position.unwrap_or_default();
            let broken = |reason: String| ChainReport {
                verified_events: self.verified,
                head_position: self.expected_position - 1,
                head_hash: self.prev_hash.clone(),
                first_break: Some(ChainBreak { position, reason }),
            };
            if position != self.expected_position {
                return Some(broken(format!(
                    "expected position {}, found {position}: an event was deleted or moved",
                    self.expected_position
                )));
            }
            let computed = hash_recorded(&self.prev_hash, e, position);
            if e.hash.as_deref() != Some(computed.as_str()) {
                return Some(broken(
                    "stored hash does not match the event's content or its predecessor".into(),
                ));
            }
            self.prev_hash = computed;
            self.expected_position += 1;
            self.verified += 1;
        }
        None
    }

    pub(crate) fn finish(self) -> ChainReport {
        ChainReport {
            verified_events: self.verified,
            head_position: self.expected_position - 1,
            head_hash: self.prev_hash,
            first_break: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let mut out = String::new();
        canonical_json(
            &json!({"b": 1, "a": {"z": [1, {"y": "x", "c": null}], "m": true}}),
            &mut out,
        );
        assert_eq!(out, r#"{"a":{"m":true,"z":[1,{"c":null,"y":"x"}]},"b":1}"#);
    }
}
