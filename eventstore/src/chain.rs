//! The hash chain over the global order, and canonical JSON so that both backends (PostgreSQL's
//! JSONB reorders keys) hash exactly the same bytes.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::RecordedEvent;

/// The previous hash of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// JSON with object keys sorted at every level and no insignificant whitespace. The sequencer
/// runs this over every event, so it writes straight into `out`: no string per key or value.
pub fn canonical_json(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            out.push(b'{');
            // serde_json's map is already ordered by key (unless a dependency turns on its
            // `preserve_order` feature): then only the check is paid, not a sort.
            if map.keys().is_sorted() {
                for (i, (key, item)) in map.iter().enumerate() {
                    member(i, key, item, out);
                }
            } else {
                let mut members: Vec<_> = map.iter().collect();
                members.sort_unstable_by(|a, b| a.0.cmp(b.0));
                for (i, (key, item)) in members.into_iter().enumerate() {
                    member(i, key, item, out);
                }
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_json(item, out);
            }
            out.push(b']');
        }
        // A string, number, boolean or null: serde_json's compact form, as `to_string` gives.
        scalar => write_json(scalar, out),
    }
}

fn member(i: usize, key: &str, item: &Value, out: &mut Vec<u8>) {
    if i > 0 {
        out.push(b',');
    }
    write_json(key, out);
    out.push(b':');
    canonical_json(item, out);
}

fn write_json<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail, and strings, numbers, booleans and null always serialize.
    let _ = serde_json::to_writer(&mut *out, value);
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
    let mut json = Vec::with_capacity(1024);
    canonical_json(e.payload, &mut json);
    field(&json);
    json.clear();
    canonical_json(e.metadata, &mut json);
    field(&json);
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
    #![allow(clippy::unwrap_used)] // Test assertions.
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let mut out = Vec::new();
        canonical_json(
            &json!({"b": 1, "a": {"z": [1, {"y": "x", "c": null}], "m": true}}),
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":{"m":true,"z":[1,{"c":null,"y":"x"}]},"b":1}"#
        );
    }

    /// The form this crate hashed until it wrote into a buffer: stored hashes were computed
    /// over it, so the faster writer must give the very same bytes for any value.
    fn canonical_as_first_written(value: &Value, out: &mut String) {
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
                    canonical_as_first_written(&map[k], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical_as_first_written(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let scalar = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
                .prop_map(Value::from),
            // Quotes, backslashes, control characters and non-ASCII: everything that is escaped.
            r#"[a-z"\\\x00-\x1fñé€😀 ]{0,12}"#.prop_map(Value::String),
        ];
        scalar.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((r#"[a-zA-Z_ñ"\\]{0,8}"#, inner), 0..6)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn canonical_json_is_byte_for_byte_what_was_hashed_before(value in any_json()) {
            let mut fast = Vec::new();
            canonical_json(&value, &mut fast);
            let mut first = String::new();
            canonical_as_first_written(&value, &mut first);
            prop_assert_eq!(String::from_utf8(fast).unwrap(), first);
        }
    }
}
