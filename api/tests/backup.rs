//! `cabanas backup`, `restore` and `migrate-store`, run as the CLI runs them (in process, through
//! `api::cli::run`), on SQLite and on PostgreSQL:
//!
//! - a backup taken while guests keep placing holds through the HTTP API restores into a fresh
//!   store (of the same backend, and of the other one) with the original's log, hashes and
//!   recording times unchanged, the tables beside it consistent with that log, and read models
//!   equal to the original's rebuilt at the same events;
//! - a season of history moves from SQLite to PostgreSQL, is interrupted half-way, and a second
//!   run finishes it with the same log, hash chain, availability and reservations; the moved
//!   store goes on appending; a third run writes nothing; a non-empty target is refused.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use api::cli::Command;
use api::config::Settings;
use common::{Backend, SECRET, TestApp, spawn};
use eventstore::backup::{self, Options, StoreSource};
use eventstore::history::Line;
use eventstore::{EventStore, ExpectedVersion, NewEvent, RecordedEvent};
use serde_json::{Value, json};

fn settings(url: &str) -> Settings {
    let url = url.to_owned();
    Settings::from_lookup(move |k| match k {
        "CABANAS_DATABASE_URL" => Some(url.clone()),
        "CABANAS_JWT_SECRET" => Some(SECRET.to_owned()),
        _ => None,
    })
    .unwrap()
}

/// Runs a `cabanas` command against the database at `url`.
async fn cabanas(command: Command, url: &str) -> anyhow::Result<()> {
    api::cli::run(Some(command), settings(url)).await
}

async fn fresh_url(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => eventstore::testing::temp_sqlite_url(),
        Backend::Postgres => eventstore::testing::fresh_postgres_url()
            .await
            .expect("PostgreSQL must be running (scripts/test starts it)"),
    }
}

fn other(backend: Backend) -> Backend {
    match backend {
        Backend::Sqlite => Backend::Postgres,
        Backend::Postgres => Backend::Sqlite,
    }
}

async fn all_events(store: &dyn EventStore) -> Vec<RecordedEvent> {
    let mut out = Vec::new();
    loop {
        let after = out
            .last()
            .and_then(|e: &RecordedEvent| e.position)
            .unwrap_or(0);
        let batch = store.read_all(after, 1000).await.unwrap();
        if batch.is_empty() {
            return out;
        }
        out.extend(batch);
    }
}

/// Every copied table's rows, in an order that does not depend on the backend's collation.
async fn tables(store: &dyn EventStore) -> BTreeMap<String, Vec<Value>> {
    backup::table_rows(store)
        .await
        .unwrap()
        .into_iter()
        .map(|t| {
            let mut rows: Vec<Value> = t.rows.into_iter().map(Value::Object).collect();
            rows.sort_by_key(|r| r.to_string());
            (t.name, rows)
        })
        .collect()
}

fn column<'a>(rows: &'a [Value], name: &str) -> Vec<&'a str> {
    rows.iter().filter_map(|r| r[name].as_str()).collect()
}

/// A scratch directory removed afterwards unless the test failed.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("cabanas-backup-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Places holds one after another, each for a new guest, until told to stop; returns the global
/// position each acknowledged hold was given, in the order they were acknowledged.
async fn place_holds(
    app: Arc<TestApp>,
    cabins: Vec<String>,
    stop: Arc<AtomicBool>,
    acked: Arc<std::sync::Mutex<Vec<i64>>>,
) {
    for i in 0..400i64 {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let from = 5 + (i / cabins.len() as i64) * 2;
        let r = app
            .post(
                "/v1/reservations",
                None,
                json!({
                    "accommodation_id": cabins[i as usize % cabins.len()],
                    "check_in": app.day(from),
                    "check_out": app.day(from + 2),
                    "guests": 2,
                    "guest": {"name": format!("Huésped {i}"), "phone": format!("+54 9 11 4000-{i:04}")}
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        acked
            .lock()
            .unwrap()
            .push(r.body["position"].as_i64().unwrap());
    }
}

async fn wait_for_holds(acked: &std::sync::Mutex<Vec<i64>>, n: usize) {
    for _ in 0..600 {
        if acked.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} holds placed in 30 s");
}

/// The original's read models at the restored log's events: a fresh store of the same backend
/// fed the original's events (those the copy holds, in its order) by `import-log`'s loader,
/// given the original's guest keys, and projected from zero.
async fn reference(
    backend: Backend,
    original: &dyn EventStore,
    restored: &[RecordedEvent],
) -> replay_tests::Snapshot {
    let by_id: HashMap<_, _> = all_events(original)
        .await
        .into_iter()
        .map(|e| (e.event_id, e))
        .collect();
    let lines: Vec<Line> = restored
        .iter()
        .map(|e| Line::from(by_id[&e.event_id].clone()))
        .collect();
    let store = eventstore::connect(&fresh_url(backend).await)
        .await
        .unwrap();
    eventstore::history::load(&store, &lines).await.unwrap();
    let keys = tables(original).await.remove("guest_keys").unwrap();
    for key in keys {
        eventstore::db_exec!(
            &store.db(),
            "INSERT INTO guest_keys (guest_id, key_hex, created_at_ms) VALUES ($1, $2, $3)"
                .to_owned(),
            key["guest_id"].as_str().unwrap(),
            key["key_hex"].as_str().unwrap(),
            key["created_at_ms"].as_i64().unwrap()
        )
        .unwrap();
    }
    api::cli::backup::rebuild_read_models(store.clone())
        .await
        .unwrap();
    replay_tests::snapshot(&store.db()).await.unwrap()
}

async fn backup_under_write_load_restores_the_same_store(backend: Backend) {
    let app = Arc::new(spawn(backend, &[("CABANAS_RATE_LIMIT_PER_MINUTE", "100000")]).await);
    let mut cabins = Vec::new();
    for name in ["Cabaña del Lago", "Cabaña del Bosque", "Cabaña del Río"] {
        cabins.push(app.register(name, 4).await.0);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let writer = tokio::spawn(place_holds(
        app.clone(),
        cabins,
        stop.clone(),
        acked.clone(),
    ));
    wait_for_holds(&acked, 15).await;
    let acked_before: Vec<i64> = acked.lock().unwrap().clone();

    let dir = Scratch::new();
    let file = dir.path("cabanas.backup.jsonl");
    cabanas(Command::Backup { out: file.clone() }, &app.database_url)
        .await
        .unwrap();
    let during = acked.lock().unwrap().len();
    wait_for_holds(&acked, during + 10).await;
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();

    let checked =
        backup::check(std::io::BufReader::new(std::fs::File::open(&file).unwrap())).unwrap();
    let stamped = checked.header.head_position;
    let original = app.state.store.clone();
    // Writes went on around the backup: everything acknowledged before it is in it, and the
    // original moved on after it.
    assert!(
        acked_before.iter().all(|p| *p <= stamped),
        "a hold acknowledged before the backup is missing from it"
    );
    let original_head = original.head_position().await.unwrap();
    assert!(
        original_head > checked.head_position,
        "no write after the backup's snapshot"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the backup is readable by others");
    }

    let original_events = all_events(&*original).await;
    let mut snapshots = Vec::new();
    for target in [backend, other(backend)] {
        let url = fresh_url(target).await;
        cabanas(Command::Restore { file: file.clone() }, &url)
            .await
            .unwrap();
        let restored = eventstore::connect(&url).await.unwrap();
        let report = restored.verify_chain().await.unwrap();
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.head_position, checked.head_position);
        assert_eq!(report.head_hash, checked.head_hash);

        // The log: the stamped part is the original's, event for event (position, hash and
        // recording time included); events committed but not stamped yet at the snapshot are
        // the original's too, stamped on restore.
        let events = all_events(&*restored).await;
        assert_eq!(events.len() as i64, checked.head_position);
        let by_id: HashMap<_, _> = original_events.iter().map(|e| (e.event_id, e)).collect();
        for e in &events {
            let position = e.position.unwrap();
            let o = by_id[&e.event_id];
            if position <= stamped {
                assert_eq!(e, o, "{target:?}: the event at position {position} differs");
            } else {
                let unstamped = |e: &RecordedEvent| RecordedEvent {
                    position: None,
                    hash: None,
                    ..e.clone()
                };
                assert_eq!(unstamped(e), unstamped(o), "{target:?}: event {position}");
            }
        }

        // The tables beside the log are the backup's, and consistent with its log: every guest
        // in it has a key, every hold with a deposit its payment-link task (queued before the
        // backup or by the restored reactor intake from its copied checkpoint, never twice).
        let copied = tables(&*restored).await;
        let originals = tables(&*original).await;
        for table in ["guest_keys", "guest_directory"] {
            let (copy, all) = (&copied[table], &originals[table]);
            assert!(!copy.is_empty(), "{table} not copied");
            assert!(
                copy.iter().all(|r| all.contains(r)),
                "{table}: a row changed"
            );
        }
        let keys = column(&copied["guest_keys"], "guest_id");
        let profiles: Vec<&str> = events
            .iter()
            .filter(|e| e.stream_id.starts_with("guest-"))
            .map(|e| e.stream_id.as_str())
            .collect();
        assert!(!profiles.is_empty());
        for guest in profiles {
            assert!(keys.contains(&guest), "{target:?}: no key for {guest}");
        }
        let holds = events
            .iter()
            .filter(|e| e.event_type == "HoldPlaced")
            .count();
        let links = copied["reactor_tasks"]
            .iter()
            .filter(|r| r["kind"] == "payment_link")
            .count();
        assert_eq!(links, holds, "{target:?}: payment-link tasks");

        // The read models: the original's, rebuilt at the same events.
        let snapshot = replay_tests::snapshot(&restored.db()).await.unwrap();
        if target == backend {
            let expected = reference(backend, &*original, &events).await;
            let differences = replay_tests::diff(&expected, &snapshot);
            assert!(
                differences.is_empty(),
                "{backend:?}: the restored read models differ:\n{}",
                differences.join("\n")
            );
        }
        assert!(!snapshot["rm_reservations"].is_empty());
        snapshots.push(snapshot);

        // Run again on the restored store: it already holds this backup, nothing is written.
        cabanas(Command::Restore { file: file.clone() }, &url)
            .await
            .unwrap();
        assert_eq!(
            restored.head_position().await.unwrap(),
            checked.head_position
        );
    }
    let differences = replay_tests::diff(&snapshots[0], &snapshots[1]);
    assert!(
        differences.is_empty(),
        "{backend:?}: restored on the other backend, the read models differ:\n{}",
        differences.join("\n")
    );

    // A store with another history (here the original itself, which went on) is refused.
    let err = cabanas(Command::Restore { file: file.clone() }, &app.database_url)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("not empty"), "{err:#}");
    // (The original's reactor may still be appending payment links: what was there is intact.)
    let now = all_events(&*original).await;
    assert!(
        now.starts_with(&original_events),
        "the refused restore changed the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_write_load_restores_the_same_store_on_sqlite() {
    backup_under_write_load_restores_the_same_store(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_write_load_restores_the_same_store_on_postgres() {
    backup_under_write_load_restores_the_same_store(Backend::Postgres).await;
}

fn noted(n: i64) -> NewEvent {
    NewEvent {
        event_id: uuid::Uuid::new_v4(),
        event_type: "Noted".into(),
        schema_version: 1,
        payload: json!({"n": n}),
        metadata: Default::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_committed_but_not_stamped_yet_is_in_a_postgres_backup_and_stamped_on_restore() {
    let url = fresh_url(Backend::Postgres).await;
    let store = eventstore::connect(&url).await.unwrap();
    let first = store
        .append("first", ExpectedVersion::NoStream, &[noted(1)])
        .await
        .unwrap();
    store
        .wait_for_positions(&first.event_ids, std::time::Duration::from_secs(10))
        .await
        .unwrap()
        .expect("stamped");
    // An older transaction still open holds the sequencer back: the later commit has no
    // position yet when the backup is taken.
    let mut held = store.begin().await.unwrap();
    held.append("held", ExpectedVersion::NoStream, &[noted(2)])
        .await
        .unwrap();
    let late = store
        .append("late", ExpectedVersion::NoStream, &[noted(3)])
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(
        store.positions_of(&late.event_ids).await.unwrap(),
        vec![None]
    );
    let dir = Scratch::new();
    let file = dir.path("late.jsonl");
    cabanas(Command::Backup { out: file.clone() }, &url)
        .await
        .unwrap();
    held.commit().await.unwrap();

    let checked =
        backup::check(std::io::BufReader::new(std::fs::File::open(&file).unwrap())).unwrap();
    assert_eq!(checked.header.events, 2);
    assert_eq!(checked.header.head_position, 1);
    assert_eq!(checked.head_position, 2);
    for target in [Backend::Sqlite, Backend::Postgres] {
        let restored_url = fresh_url(target).await;
        cabanas(Command::Restore { file: file.clone() }, &restored_url)
            .await
            .unwrap();
        let restored = eventstore::connect(&restored_url).await.unwrap();
        let events = all_events(&*restored).await;
        let streams: Vec<(Option<i64>, &str)> = events
            .iter()
            .map(|e| (e.position, e.stream_id.as_str()))
            .collect();
        assert_eq!(
            streams,
            vec![(Some(1), "first"), (Some(2), "late")],
            "{target:?}"
        );
        assert!(restored.verify_chain().await.unwrap().is_intact());
    }

    // An altered backup is refused before anything is written.
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(r#"{"n":1}"#));
    let altered = dir.path("altered.jsonl");
    std::fs::write(&altered, text.replace(r#"{"n":1}"#, r#"{"n":7}"#)).unwrap();
    let target = fresh_url(Backend::Sqlite).await;
    let err = cabanas(Command::Restore { file: altered }, &target)
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("does not match its hash"),
        "{err:#}"
    );
    let untouched = eventstore::connect(&target).await.unwrap();
    assert_eq!(untouched.head_position().await.unwrap(), 0);
}

/// A SQLite store with the scripted season, guest keys and directory entries, a calendar token,
/// and its read models built.
async fn season_on_sqlite() -> (String, Arc<dyn EventStore>) {
    let url = eventstore::testing::temp_sqlite_url();
    let store = eventstore::connect(&url).await.unwrap();
    replay_tests::load(&store, &replay_tests::scenario::season())
        .await
        .unwrap();
    let db = store.db();
    for g in 0..5 {
        let guest = eventstore::pii::guest_for_phone(&db, &format!("+54 9 11 4444-{g:04}"))
            .await
            .unwrap();
        eventstore::pii::key_or_create(&db, &guest.stream_id(), 1_700_000_000_000 + g)
            .await
            .unwrap();
    }
    eventstore::db_exec!(
        &db,
        "INSERT INTO ical_tokens (accommodation_id, token, rotated_at_ms) VALUES ($1, $2, $3)"
            .to_owned(),
        "cabin-1",
        "secret-token",
        1_700_000_000_000i64
    )
    .unwrap();
    api::cli::backup::rebuild_read_models(store.clone())
        .await
        .unwrap();
    (url, store)
}

fn without_checkpoints(mut t: BTreeMap<String, Vec<Value>>) -> BTreeMap<String, Vec<Value>> {
    t.remove(backup::CHECKPOINTS);
    t
}

fn checkpoint(t: &BTreeMap<String, Vec<Value>>, name: &str) -> Value {
    t[backup::CHECKPOINTS]
        .iter()
        .find(|r| r["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_season_moves_from_sqlite_to_postgres_and_an_interrupted_move_finishes_on_a_second_run() {
    let (from, source) = season_on_sqlite().await;
    let source_events = all_events(&*source).await;
    assert!(source_events.len() > 200, "{}", source_events.len());
    let to = eventstore::testing::fresh_postgres_url().await.unwrap();

    // The first run stops after its second batch of 50, as if the process died there.
    {
        let target = eventstore::connect(&to).await.unwrap();
        let mut snapshot = StoreSource::open(&*source).await.unwrap();
        let mut interrupt = |position: i64| {
            anyhow::ensure!(position < 100, "interrupted at {position}");
            Ok(())
        };
        let err = backup::copy(
            &mut snapshot,
            &*target,
            Options {
                batch: 50,
                keep_checkpoints: api::cli::backup::reactors(),
                progress: Some(&mut interrupt),
            },
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("interrupted"), "{err:#}");
        assert_eq!(target.head_position().await.unwrap(), 100);
        assert!(tables(&*target).await["guest_keys"].is_empty());
    }

    // The second run goes on from the target's head and finishes.
    cabanas(
        Command::MigrateStore {
            to: to.clone(),
            batch: 100,
        },
        &from,
    )
    .await
    .unwrap();
    let target = eventstore::connect(&to).await.unwrap();
    let (want, got) = (
        source.verify_chain().await.unwrap(),
        target.verify_chain().await.unwrap(),
    );
    assert!(got.is_intact(), "{got:?}");
    assert_eq!(got, want, "the hash chains differ");
    assert_eq!(all_events(&*target).await, source_events);
    let (source_tables, target_tables) = (tables(&*source).await, tables(&*target).await);
    assert_eq!(
        without_checkpoints(target_tables.clone()),
        without_checkpoints(source_tables.clone())
    );
    assert_eq!(target_tables["guest_keys"].len(), 5);
    assert_eq!(
        checkpoint(&target_tables, "reactions"),
        checkpoint(&source_tables, "reactions")
    );
    let (expected, actual) = (
        replay_tests::snapshot(&source.db()).await.unwrap(),
        replay_tests::snapshot(&target.db()).await.unwrap(),
    );
    for table in ["rm_stays", "rm_reservations", "rm_accommodations"] {
        assert!(!expected[table].is_empty(), "{table} is empty");
    }
    let differences = replay_tests::diff(&expected, &actual);
    assert!(
        differences.is_empty(),
        "availability, reservations or another read model differ:\n{}",
        differences.join("\n")
    );

    // The moved store goes on: its sequencer stamps the next event after the copied ones.
    let head = got.head_position;
    let appended = target
        .append("test-after-move", ExpectedVersion::NoStream, &[noted(1)])
        .await
        .unwrap();
    let positions = target
        .wait_for_positions(&appended.event_ids, std::time::Duration::from_secs(10))
        .await
        .unwrap()
        .expect("stamped");
    assert_eq!(positions, vec![head + 1]);
    assert!(target.verify_chain().await.unwrap().is_intact());

    // The target has gone on past the source: a third run refuses it like any store with
    // another history (a finished copy run again is the next test's).
    let err = cabanas(
        Command::MigrateStore {
            to: to.clone(),
            batch: 100,
        },
        &from,
    )
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("not empty"), "{err:#}");
    assert_eq!(target.head_position().await.unwrap(), head + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_move_run_again_writes_nothing_and_a_store_with_another_history_is_refused() {
    let (from, source) = season_on_sqlite().await;
    let to = eventstore::testing::fresh_postgres_url().await.unwrap();
    for _ in 0..2 {
        cabanas(
            Command::MigrateStore {
                to: to.clone(),
                batch: 1000,
            },
            &from,
        )
        .await
        .unwrap();
    }
    let target = eventstore::connect(&to).await.unwrap();
    assert_eq!(
        target.verify_chain().await.unwrap(),
        source.verify_chain().await.unwrap()
    );

    // A PostgreSQL database with one event of its own.
    let busy = eventstore::testing::fresh_postgres_url().await.unwrap();
    let store = eventstore::connect(&busy).await.unwrap();
    let ids = store
        .append("someone-else", ExpectedVersion::NoStream, &[noted(1)])
        .await
        .unwrap()
        .event_ids;
    store
        .wait_for_positions(&ids, std::time::Duration::from_secs(10))
        .await
        .unwrap()
        .expect("stamped");
    let err = cabanas(
        Command::MigrateStore {
            to: busy.clone(),
            batch: 1000,
        },
        &from,
    )
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("not empty"), "{err:#}");
    assert_eq!(store.head_position().await.unwrap(), 1);
    assert!(tables(&*store).await["guest_keys"].is_empty());
}

#[test]
fn the_commands_parse_as_documented() {
    use clap::Parser;
    let parse = |args: &[&str]| api::cli::Cli::try_parse_from(args).map(|c| c.command);
    assert!(matches!(
        parse(&["cabanas", "backup", "/tmp/x.jsonl"]),
        Ok(Some(Command::Backup { out })) if out == Path::new("/tmp/x.jsonl")
    ));
    assert!(matches!(
        parse(&["cabanas", "restore", "x.jsonl"]),
        Ok(Some(Command::Restore { .. }))
    ));
    assert!(matches!(
        parse(&["cabanas", "migrate-store", "--to", "postgres://h/db"]),
        Ok(Some(Command::MigrateStore { to, batch: 1000 })) if to == "postgres://h/db"
    ));
    assert!(parse(&["cabanas", "migrate-store"]).is_err());
}
