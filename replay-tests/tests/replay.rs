//! Every recorded history in `histories/` is loaded into a fresh store on SQLite and on
//! PostgreSQL, every projection runs from zero, and the read models must equal the snapshot
//! recorded next to the history (`NAME.expected.json`), field by field.
//!
//! `REPLAY_RECORD=1` re-records the scripted histories and their snapshots (review the diff).

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

use std::path::PathBuf;
use std::sync::Arc;

use eventstore::EventStore;
use replay_tests::{Snapshot, diff, load, read_history, scenario, snapshot};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("histories")
}

async fn replay(url: &str, history: &[replay_tests::Line]) -> Snapshot {
    let store: Arc<dyn EventStore> = eventstore::connect(url).await.unwrap();
    load(&store, history).await.unwrap();
    let report = store.verify_chain().await.unwrap();
    assert!(report.is_intact(), "the loaded history's hash chain breaks");
    let runner = projections::Runner::new(store.clone(), projections::all());
    runner.ensure_schema().await.unwrap();
    runner.catch_up().await.unwrap();
    snapshot(&store.db()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_histories_rebuild_to_their_snapshots_on_both_backends() {
    let record = std::env::var("REPLAY_RECORD").is_ok_and(|v| v == "1");
    if record {
        std::fs::write(
            dir().join("season.jsonl"),
            scenario::to_jsonl(&scenario::season()),
        )
        .unwrap();
        std::fs::write(
            dir().join("legacy-v1.jsonl"),
            scenario::to_jsonl(&scenario::legacy_v1()),
        )
        .unwrap();
    }
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    names.sort();
    assert!(names.len() >= 2, "histories missing: {names:?}");
    for path in names {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let history = read_history(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let sqlite = replay(&eventstore::testing::temp_sqlite_url(), &history).await;
        let postgres = replay(
            &eventstore::testing::fresh_postgres_url()
                .await
                .expect("PostgreSQL must be running (scripts/test starts it)"),
            &history,
        )
        .await;
        let expected_path = dir().join(format!("{name}.expected.json"));
        if record {
            std::fs::write(
                &expected_path,
                serde_json::to_string_pretty(&sqlite).unwrap() + "\n",
            )
            .unwrap();
        }
        let expected: Snapshot =
            serde_json::from_str(&std::fs::read_to_string(&expected_path).unwrap()).unwrap();
        for (backend, actual) in [("sqlite", &sqlite), ("postgres", &postgres)] {
            let differences = diff(&expected, actual);
            assert!(
                differences.is_empty(),
                "{name} on {backend} does not rebuild to its snapshot:\n{}",
                differences.join("\n")
            );
        }
    }
}

#[test]
fn the_old_schema_history_really_holds_old_versions() {
    let history =
        read_history(&std::fs::read_to_string(dir().join("legacy-v1.jsonl")).unwrap()).unwrap();
    let v1_holds = history
        .iter()
        .filter(|l| l.event_type == "HoldPlaced" && l.schema_version == 1)
        .count();
    assert_eq!(v1_holds, 2);
    assert!(history.iter().all(|l| l.payload.get("quote").is_none()));
}

#[test]
fn a_difference_names_the_read_model_row_and_field() {
    let a: Snapshot = serde_json::from_value(serde_json::json!({
        "rm_reservations": [{"id": "r1", "status": "confirmed", "paid_cents": 100}]
    }))
    .unwrap();
    let b: Snapshot = serde_json::from_value(serde_json::json!({
        "rm_reservations": [{"id": "r1", "status": "held", "paid_cents": 100}]
    }))
    .unwrap();
    let d = diff(&a, &b);
    assert_eq!(
        d,
        vec![
            "rm_reservations row 0 (id=\"r1\"): field status: expected \"confirmed\", got \"held\""
        ]
    );
}
