//! Every parser of outside input, fed garbage and the real fixtures mangled: WhatsApp deliveries
//! and their signature header, Mercado Pago notifications (query, body, `x-signature`), iCal
//! feeds. Whatever arrives, each answers with a value or an error: never a panic. Bounded: a
//! few thousand cases per parser, seeded from `tests/fixtures/`.

#![allow(clippy::unwrap_used)] // Test fixtures are known-good files.

use std::collections::HashMap;

use integrations::mercadopago::webhook::{self as mp, Signed};
use integrations::whatsapp::webhook as wa;
use proptest::prelude::*;
use serde_json::Value;

/// Every file under `tests/fixtures/{dir}`, and each named payload inside pywa-style files.
fn seeds(dir: &str) -> Vec<Vec<u8>> {
    let root = format!("{}/tests/fixtures/{dir}", env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(root)];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            if let Ok(Value::Object(named)) = serde_json::from_slice::<Value>(&bytes) {
                for v in named.values().filter(|v| v.get("entry").is_some()) {
                    out.push(serde_json::to_vec(v).unwrap());
                }
            }
            out.push(bytes);
        }
    }
    out
}

/// A change to a byte string: a byte flipped, a span cut or repeated, the end cut off, garbage
/// put in.
#[derive(Clone, Debug)]
enum Edit {
    Flip(usize, u8),
    Cut(usize, usize),
    Repeat(usize, usize),
    Truncate(usize),
    Insert(usize, Vec<u8>),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), 0usize..64).prop_map(|(i, n)| Edit::Cut(i, n)),
        (any::<usize>(), 0usize..64).prop_map(|(i, n)| Edit::Repeat(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 0..16))
            .prop_map(|(i, g)| Edit::Insert(i, g)),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = bytes.len().max(1);
        match e {
            Edit::Flip(i, b) => {
                if let Some(x) = bytes.get_mut(i % len) {
                    *x ^= b;
                }
            }
            Edit::Cut(i, n) => {
                let start = (i % len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                bytes.drain(start..end);
            }
            Edit::Repeat(i, n) => {
                let start = (i % len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                bytes.splice(end..end, copy);
            }
            Edit::Truncate(i) => bytes.truncate(i % len),
            Edit::Insert(i, g) => {
                let at = (i % len).min(bytes.len());
                bytes.splice(at..at, g.iter().copied());
            }
        }
    }
    bytes
}

/// A fixture with one JSON leaf replaced by `value` (the shapes stay, the contents lie).
fn with_leaf(bytes: &[u8], pick: usize, value: Value) -> Vec<u8> {
    let Ok(mut json) = serde_json::from_slice::<Value>(bytes) else {
        return bytes.to_vec();
    };
    let mut leaves = 0usize;
    count_leaves(&json, &mut leaves);
    if leaves > 0 {
        let mut n = pick % leaves;
        replace_leaf(&mut json, &mut n, &value);
    }
    serde_json::to_vec(&json).unwrap()
}

fn count_leaves(v: &Value, n: &mut usize) {
    match v {
        Value::Object(m) => m.values().for_each(|v| count_leaves(v, n)),
        Value::Array(a) => a.iter().for_each(|v| count_leaves(v, n)),
        _ => *n += 1,
    }
}

fn replace_leaf(v: &mut Value, n: &mut usize, with: &Value) -> bool {
    match v {
        Value::Object(m) => m.values_mut().any(|v| replace_leaf(v, n, with)),
        Value::Array(a) => a.iter_mut().any(|v| replace_leaf(v, n, with)),
        leaf => {
            if *n == 0 {
                *leaf = with.clone();
                return true;
            }
            *n -= 1;
            false
        }
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::String),
        Just(Value::String("\u{0}".repeat(3))),
        Just(Value::String("9".repeat(400))),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn whatsapp_deliveries_never_panic(
        seed in 0usize..1000,
        edits in prop::collection::vec(edit(), 0..6),
        pick in any::<usize>(),
        leaf in json_value(),
        header in ".{0,90}",
    ) {
        let seeds = seeds("whatsapp");
        let base = &seeds[seed % seeds.len()];
        let mangled = apply(base.clone(), &edits);
        let _ = wa::parse(&mangled);
        let _ = wa::parse(&with_leaf(base, pick, leaf));
        let _ = wa::signature_is_valid(b"secret", &mangled, Some(&header));
        let _ = wa::signature_is_valid(b"secret", &mangled, Some(&format!("sha256={header}")));
    }

    #[test]
    fn mercado_pago_notifications_never_panic(
        seed in 0usize..1000,
        edits in prop::collection::vec(edit(), 0..6),
        query in prop::collection::hash_map(
            prop_oneof![Just("topic".to_owned()), Just("type".to_owned()), Just("id".to_owned()),
                        Just("data.id".to_owned()), ".{0,8}"],
            ".{0,30}",
            0..5,
        ),
        x_signature in prop_oneof![".{0,80}", "ts=[0-9]{0,14},v1=[0-9a-f]{0,64}"],
        x_request_id in proptest::option::of(".{0,40}"),
        now_secs in any::<i64>(),
        max_age_secs in any::<i64>(),
    ) {
        let seeds = seeds("mercadopago");
        let body = apply(seeds[seed % seeds.len()].clone(), &edits);
        let query: HashMap<String, String> = query;
        let _ = mp::parse(&query, &body);
        let signed = Signed {
            secret: "secret",
            x_signature: Some(&x_signature),
            x_request_id: x_request_id.as_deref(),
            now_secs,
            max_age_secs,
        };
        let _ = mp::authenticate(signed, &query, &body);
    }

    #[test]
    fn ical_feeds_never_panic(
        seed in 0usize..1000,
        edits in prop::collection::vec(edit(), 0..8),
        offset in -1500i32..1500,
    ) {
        let seeds = seeds("ical");
        let feed = apply(seeds[seed % seeds.len()].clone(), &edits);
        let _ = integrations::ical::parse(&feed, offset);
    }

    #[test]
    fn garbage_never_panics_any_parser(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = wa::parse(&bytes);
        let _ = mp::parse(&HashMap::new(), &bytes);
        let _ = integrations::ical::parse(&bytes, -180);
    }
}
