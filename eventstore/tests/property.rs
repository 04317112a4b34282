//! A property test of the store's semantics on both backends: random appends to a few streams
//! with right, stale, `Any` and `NoStream` expectations, plus idempotent re-appends, checked
//! against an in-memory model. The store must agree with the model on every outcome, the
//! streams must read back exactly, and the global log must stay dense, ordered and chained.

#![allow(clippy::unwrap_used)] // Test helpers: a failed set-up should stop the test loudly.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use eventstore::{ExpectedVersion, Metadata, NewEvent, StoreError};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use uuid::Uuid;

#[derive(Clone, Debug)]
enum Expect {
    Right,
    Stale,
    Any,
    NoStream,
}

#[derive(Clone, Debug)]
enum Op {
    Append {
        stream: u8,
        events: u8,
        expect: Expect,
    },
    /// Send the last successful append again, as a client retrying after a timeout would.
    Retry,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..3, 1u8..4, prop_oneof![
            4 => Just(Expect::Right),
            2 => Just(Expect::Stale),
            1 => Just(Expect::Any),
            1 => Just(Expect::NoStream),
        ])
            .prop_map(|(stream, events, expect)| Op::Append { stream, events, expect }),
        1 => Just(Op::Retry),
    ]
}

fn new_event(n: usize) -> NewEvent {
    NewEvent {
        event_id: Uuid::new_v4(),
        event_type: "Probe".into(),
        schema_version: 1,
        payload: serde_json::json!({"n": n, "text": "ñandú €"}),
        metadata: Metadata::default(),
    }
}

#[test]
fn the_store_agrees_with_a_model_of_its_semantics() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stores = rt.block_on(common::both());
    for t in &stores {
        let mut runner = TestRunner::new(Config {
            cases: 16,
            ..Config::default()
        });
        let result = runner.run(&prop::collection::vec(op(), 1..25), |ops| {
            rt.block_on(async {
                let case = Uuid::new_v4().simple().to_string();
                let stream = |s: u8| format!("probe-{case}-{s}");
                let mut model: HashMap<u8, Vec<Uuid>> = HashMap::new();
                let mut last: Option<(String, ExpectedVersion, Vec<NewEvent>)> = None;
                for (n, op) in ops.iter().enumerate() {
                    match op {
                        Op::Append {
                            stream: s,
                            events,
                            expect,
                        } => {
                            let current = model.get(s).map_or(0, Vec::len) as i64;
                            let expected = match expect {
                                Expect::Right => ExpectedVersion::Exact(current),
                                Expect::Stale => ExpectedVersion::Exact(if current == 0 {
                                    1
                                } else {
                                    current - 1
                                }),
                                Expect::Any => ExpectedVersion::Any,
                                Expect::NoStream => ExpectedVersion::NoStream,
                            };
                            let should_pass = match expected {
                                ExpectedVersion::Exact(v) => v == current,
                                ExpectedVersion::Any => true,
                                ExpectedVersion::NoStream => current == 0,
                            };
                            let batch: Vec<NewEvent> = (0..*events)
                                .map(|i| new_event(n * 10 + i as usize))
                                .collect();
                            let outcome = t.store.append(&stream(*s), expected, &batch).await;
                            match outcome {
                                Ok(o) => {
                                    prop_assert!(
                                        should_pass,
                                        "{} accepted {expected:?} at {current}",
                                        t.name
                                    );
                                    prop_assert!(!o.already_stored);
                                    prop_assert_eq!(o.stream_version, current + batch.len() as i64);
                                    model
                                        .entry(*s)
                                        .or_default()
                                        .extend(batch.iter().map(|e| e.event_id));
                                    last = Some((stream(*s), expected, batch));
                                }
                                Err(StoreError::Conflict { actual, .. }) => {
                                    prop_assert!(
                                        !should_pass,
                                        "{} refused {expected:?} at {current}",
                                        t.name
                                    );
                                    prop_assert_eq!(actual, current);
                                }
                                Err(other) => prop_assert!(false, "{}: {other}", t.name),
                            }
                        }
                        Op::Retry => {
                            if let Some((s, expected, batch)) = &last {
                                let o = t.store.append(s, *expected, batch).await;
                                prop_assert!(
                                    matches!(&o, Ok(o) if o.already_stored),
                                    "{}: a retried append is a no-op success, got {o:?}",
                                    t.name
                                );
                            }
                        }
                    }
                }
                for (s, ids) in &model {
                    let read = t.store.read_stream(&stream(*s), 0).await.unwrap();
                    let read_ids: Vec<Uuid> = read.iter().map(|e| e.event_id).collect();
                    prop_assert_eq!(&read_ids, ids);
                    let versions: Vec<i64> = read.iter().map(|e| e.stream_version).collect();
                    prop_assert_eq!(versions, (1..=ids.len() as i64).collect::<Vec<_>>());
                }
                // The global log: every event once, dense positions, each stream in order.
                let expected_total: usize = model.values().map(Vec::len).sum();
                let mut mine = Vec::new();
                for _ in 0..500 {
                    let all = t.store.read_all(0, 1_000_000).await.unwrap();
                    for (i, e) in all.iter().enumerate() {
                        prop_assert_eq!(e.position, Some(i as i64 + 1));
                    }
                    mine = all
                        .into_iter()
                        .filter(|e| e.stream_id.starts_with(&format!("probe-{case}-")))
                        .collect();
                    if mine.len() >= expected_total {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                prop_assert_eq!(mine.len(), expected_total, "{}", t.name);
                for (s, ids) in &model {
                    let in_log: Vec<Uuid> = mine
                        .iter()
                        .filter(|e| e.stream_id == stream(*s))
                        .map(|e| e.event_id)
                        .collect();
                    prop_assert_eq!(&in_log, ids);
                }
                Ok(())
            })
        });
        result.unwrap();
        let report = rt.block_on(t.store.verify_chain()).unwrap();
        assert!(report.is_intact(), "{}: {report:?}", t.name);
    }
}
