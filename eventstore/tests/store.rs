//! Event-store semantics, proved on SQLite and PostgreSQL alike.

#![allow(clippy::unwrap_used)] // Test helpers: a failed set-up should stop the test loudly.

mod common;

use std::time::Duration;

use eventstore::{EventStore, ExpectedVersion, Metadata, NewEvent, StoreError};
use serde_json::json;
use uuid::Uuid;

fn event(kind: &str, n: i64) -> NewEvent {
    NewEvent {
        event_id: Uuid::new_v4(),
        event_type: kind.to_owned(),
        schema_version: 1,
        payload: json!({"n": n, "nested": {"b": 2, "a": [1, 2, 3]}}),
        metadata: Metadata {
            actor: Some("test".into()),
            ..Metadata::default()
        },
    }
}

/// Waits until the global log shows at least `n` events (PostgreSQL stamps a few ms after commit).
async fn read_all_eventually(store: &dyn EventStore, n: usize) -> Vec<eventstore::RecordedEvent> {
    for _ in 0..400 {
        let all = store.read_all(0, 100_000).await.unwrap();
        if all.len() >= n {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    store.read_all(0, 100_000).await.unwrap()
}

/// `result` is a typed `Conflict` that names the stream's actual version.
/// `n` events, each the first of its own stream (`s0`, `s1`, …), read back once stamped.
async fn one_event_streams(store: &dyn EventStore, n: i64) {
    for i in 0..n {
        store
            .append(
                &format!("s{i}"),
                ExpectedVersion::NoStream,
                &[event("X", i)],
            )
            .await
            .unwrap();
    }
    read_all_eventually(store, n as usize).await;
}

fn assert_conflict(
    result: Result<eventstore::AppendOutcome, StoreError>,
    actual_version: i64,
    backend: &str,
) {
    match result {
        Err(StoreError::Conflict { actual, .. }) if actual == actual_version => {}
        other => {
            panic!("{backend}: expected a conflict at version {actual_version}, got {other:?}")
        }
    }
}

fn assert_dense(events: &[eventstore::RecordedEvent], backend: &str) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e.position,
            Some(i as i64 + 1),
            "{backend}: positions must be 1, 2, 3… without holes"
        );
    }
}

#[tokio::test]
async fn appends_are_read_back_per_stream_and_globally_in_order() {
    for t in common::both().await {
        let s = &*t.store;
        s.append(
            "a",
            ExpectedVersion::NoStream,
            &[event("X", 1), event("X", 2)],
        )
        .await
        .unwrap();
        s.append("b", ExpectedVersion::NoStream, &[event("Y", 1)])
            .await
            .unwrap();
        let out = s
            .append("a", ExpectedVersion::Exact(2), &[event("X", 3)])
            .await
            .unwrap();
        assert_eq!(out.stream_version, 3, "{}", t.name);

        let a = s.read_stream("a", 0).await.unwrap();
        assert_eq!(
            a.iter().map(|e| e.stream_version).collect::<Vec<_>>(),
            vec![1, 2, 3],
            "{}",
            t.name
        );
        assert_eq!(a[2].payload["n"], 3);
        assert_eq!(s.read_stream("a", 2).await.unwrap().len(), 1);

        let all = read_all_eventually(s, 4).await;
        assert_dense(&all, t.name);
        let order: Vec<_> = all
            .iter()
            .map(|e| (e.stream_id.as_str(), e.stream_version))
            .collect();
        assert_eq!(
            order,
            vec![("a", 1), ("a", 2), ("b", 1), ("a", 3)],
            "{}",
            t.name
        );
        assert_eq!(all[0].metadata["actor"], "test");
        assert_eq!(s.read_all(2, 1).await.unwrap()[0].stream_id, "b");
    }
}

#[tokio::test]
async fn a_stale_expected_version_is_a_typed_conflict() {
    for t in common::both().await {
        let s = &*t.store;
        s.append("a", ExpectedVersion::NoStream, &[event("X", 1)])
            .await
            .unwrap();
        assert_conflict(
            s.append("a", ExpectedVersion::NoStream, &[event("X", 2)])
                .await,
            1,
            t.name,
        );
        assert_conflict(
            s.append("a", ExpectedVersion::Exact(5), &[event("X", 2)])
                .await,
            1,
            t.name,
        );
        let out = s
            .append("a", ExpectedVersion::Any, &[event("X", 2)])
            .await
            .unwrap();
        assert_eq!(out.stream_version, 2);
    }
}

/// PostgreSQL skips the head check in the statement for a version it has seen stored (the
/// unique index refuses a stale one by itself): a writer that read the stream and then fell
/// behind another instance must still get a Conflict, never a second event at one version.
#[tokio::test]
async fn a_writer_behind_another_instance_is_refused_at_a_version_it_has_seen() {
    for (t, other) in common::both_with_twin().await {
        let s = &*t.store;
        s.append(
            "a",
            ExpectedVersion::NoStream,
            &[event("X", 1), event("X", 2)],
        )
        .await
        .unwrap();
        assert_eq!(s.read_stream("a", 0).await.unwrap().len(), 2);
        other
            .append("a", ExpectedVersion::Exact(2), &[event("Y", 3)])
            .await
            .unwrap();

        for batch in [vec![event("X", 3)], vec![event("X", 3), event("X", 4)]] {
            assert_conflict(
                s.append("a", ExpectedVersion::Exact(2), &batch).await,
                3,
                t.name,
            );
        }
        // Above the head is still a conflict, from the writer that has seen the most.
        assert_conflict(
            s.append("a", ExpectedVersion::Exact(4), &[event("X", 5)])
                .await,
            3,
            t.name,
        );
        let stored = other.read_stream("a", 0).await.unwrap();
        assert_eq!(
            stored
                .iter()
                .map(|e| (e.stream_version, e.event_type.as_str()))
                .collect::<Vec<_>>(),
            vec![(1, "X"), (2, "X"), (3, "Y")],
            "{}",
            t.name
        );
        // Caught up, the same writer appends at the version it now knows.
        let out = s
            .append("a", ExpectedVersion::Exact(3), &[event("X", 4)])
            .await
            .unwrap();
        assert_eq!(out.stream_version, 4, "{}", t.name);
        // A batch above the head, from the instance that has seen only version 3.
        assert_conflict(
            other
                .append(
                    "a",
                    ExpectedVersion::Exact(6),
                    &[event("Y", 7), event("Y", 8)],
                )
                .await,
            4,
            t.name,
        );
    }
}

/// Two instances write at once. On PostgreSQL each runs a sequencer and no lock picks one: a
/// stamper that went on from a stale head must be refused whole, so the log stays dense, every
/// event is stamped exactly once, and the chain verifies.
#[tokio::test]
async fn two_instances_writing_at_once_stamp_one_dense_intact_log() {
    for (t, other) in common::both_with_twin().await {
        let mut tasks = Vec::new();
        for (name, store) in [("one", t.store.clone()), ("two", other.clone())] {
            for writer in 0..4 {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    for i in 0..25 {
                        let stream = format!("{name}-{writer}-{i}");
                        store
                            .append(&stream, ExpectedVersion::NoStream, &[event("E", i)])
                            .await
                            .unwrap();
                    }
                }));
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
        for store in [&t.store, &other] {
            let all = read_all_eventually(&**store, 200).await;
            assert_eq!(all.len(), 200, "{}", t.name);
            assert_dense(&all, t.name);
            let streams: std::collections::HashSet<&str> =
                all.iter().map(|e| e.stream_id.as_str()).collect();
            assert_eq!(streams.len(), 200, "{}: each event stamped once", t.name);
            assert!(
                store.verify_chain().await.unwrap().is_intact(),
                "{}",
                t.name
            );
        }
    }
}

/// Many writers at once, a few of them stale. On PostgreSQL concurrent appends may share one
/// insert (group commit), and a stale one fails its whole batch: every caller must still get its
/// own outcome, and nothing be lost or written twice.
#[tokio::test]
async fn concurrent_appends_each_get_their_own_outcome_with_stale_ones_among_them() {
    for t in common::both().await {
        let store = t.store.clone();
        store
            .append("contested", ExpectedVersion::NoStream, &[event("First", 0)])
            .await
            .unwrap();
        let mut fresh = 0;
        for round in 0..5 {
            let mut tasks = Vec::new();
            for i in 0..16 {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    let stale = i % 4 == 0;
                    let outcome = if stale {
                        store
                            .append("contested", ExpectedVersion::Exact(0), &[event("Late", i)])
                            .await
                    } else {
                        let stream = format!("fresh-{round}-{i}");
                        let events = [event("Fresh", i), event("Fresh", i + 100)];
                        store
                            .append(&stream, ExpectedVersion::NoStream, &events)
                            .await
                    };
                    (stale, outcome)
                }));
            }
            for task in tasks {
                match task.await.unwrap() {
                    (true, outcome) => assert_conflict(outcome, 1, t.name),
                    (false, outcome) => {
                        let outcome = outcome.unwrap_or_else(|e| panic!("{}: {e:?}", t.name));
                        assert_eq!(outcome.stream_version, 2, "{}", t.name);
                        assert!(!outcome.already_stored, "{}", t.name);
                        fresh += 1;
                    }
                }
            }
        }
        assert_eq!(fresh, 60);
        let all = read_all_eventually(&*store, 1 + 2 * fresh).await;
        assert_eq!(
            all.len(),
            1 + 2 * fresh,
            "{}: nothing lost or doubled",
            t.name
        );
        assert_dense(&all, t.name);
        assert_eq!(store.read_stream("contested", 0).await.unwrap().len(), 1);
        for e in all.iter().filter(|e| e.stream_id.starts_with("fresh-")) {
            let n = e.payload["n"].as_i64().unwrap();
            assert_eq!(e.stream_version, if n >= 100 { 2 } else { 1 }, "{}", t.name);
        }
    }
}

#[tokio::test]
async fn re_appending_the_same_event_is_a_no_op_and_other_content_is_refused() {
    for t in common::both().await {
        let s = &*t.store;
        let e = event("X", 1);
        let first = s
            .append("a", ExpectedVersion::NoStream, std::slice::from_ref(&e))
            .await
            .unwrap();
        assert!(!first.already_stored);
        // A retry of the same append, e.g. after a timeout whose write did land.
        let again = s
            .append("a", ExpectedVersion::NoStream, std::slice::from_ref(&e))
            .await
            .unwrap();
        assert!(again.already_stored, "{}", t.name);
        assert_eq!(again.stream_version, 1);
        assert_eq!(
            s.read_stream("a", 0).await.unwrap().len(),
            1,
            "{}: nothing written twice",
            t.name
        );

        let mut changed = e.clone();
        changed.payload = json!({"n": 999});
        let err = s
            .append("a", ExpectedVersion::Any, &[changed])
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::EventIdReused(id) if id == e.event_id),
            "{}: {err:?}",
            t.name
        );
        assert_eq!(s.read_stream("a", 0).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_reader_never_skips_an_event_whose_transaction_commits_late() {
    for t in common::both().await {
        let s = t.store.clone();
        s.append("seed", ExpectedVersion::NoStream, &[event("S", 0)])
            .await
            .unwrap();
        read_all_eventually(&*s, 1).await;

        // Connection 1 opens an append and holds it uncommitted.
        let mut late = s.begin().await.unwrap();
        late.append("late", ExpectedVersion::NoStream, &[event("L", 1)])
            .await
            .unwrap();

        // Connection 2 appends and commits meanwhile (on SQLite it waits for the write lock).
        let s2 = s.clone();
        let early = tokio::spawn(async move {
            s2.append("early", ExpectedVersion::NoStream, &[event("E", 1)])
                .await
        });
        tokio::time::sleep(Duration::from_millis(300)).await;

        // A reader at this moment must not see anything past what is final.
        let mut seen = s.read_all(0, 1000).await.unwrap();
        assert_dense(&seen, t.name);
        assert!(
            seen.iter().all(|e| e.stream_id != "late"),
            "{}: the uncommitted event is invisible",
            t.name
        );

        late.commit().await.unwrap();
        early.await.unwrap().unwrap();

        // The reader continues from its checkpoint and still gets every event, the late one too.
        let checkpoint = seen.last().and_then(|e| e.position).unwrap_or(0);
        for _ in 0..400 {
            let more = s.read_all(checkpoint, 1000).await.unwrap();
            if seen.len() + more.len() >= 3 {
                seen.extend(more);
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_dense(&seen, t.name);
        let streams: Vec<_> = seen.iter().map(|e| e.stream_id.as_str()).collect();
        assert_eq!(seen.len(), 3, "{}: {streams:?}", t.name);
        assert!(
            streams.contains(&"late") && streams.contains(&"early"),
            "{}: {streams:?}",
            t.name
        );
    }
}

#[tokio::test]
async fn a_rolled_back_append_leaves_no_hole_in_positions() {
    for t in common::both().await {
        let s = &*t.store;
        s.append("a", ExpectedVersion::NoStream, &[event("X", 1)])
            .await
            .unwrap();
        {
            let mut tx = s.begin().await.unwrap();
            tx.append(
                "b",
                ExpectedVersion::NoStream,
                &[event("Y", 1), event("Y", 2)],
            )
            .await
            .unwrap();
            // Dropped without commit: rolled back.
        }
        // A failed append (conflict) is rolled back as well.
        assert!(
            s.append("a", ExpectedVersion::NoStream, &[event("X", 9)])
                .await
                .is_err()
        );
        s.append("c", ExpectedVersion::NoStream, &[event("Z", 1)])
            .await
            .unwrap();
        let all = read_all_eventually(s, 2).await;
        assert_eq!(all.len(), 2, "{}", t.name);
        assert_dense(&all, t.name);
    }
}

#[tokio::test]
async fn verify_chain_accepts_an_intact_log_and_finds_the_first_altered_event() {
    for t in common::both().await {
        let s = &*t.store;
        one_event_streams(s, 5).await;
        let report = s.verify_chain().await.unwrap();
        assert!(report.is_intact(), "{}: {report:?}", t.name);
        assert_eq!(report.verified_events, 5);

        t.exec_each(
            &["UPDATE events SET payload = '{\"n\": 42}' \
               WHERE seq = (SELECT seq FROM event_positions WHERE position = 3)"],
            &["UPDATE events SET payload = '{\"n\": 42}' WHERE position = 3"],
        )
        .await;
        let report = s.verify_chain().await.unwrap();
        let broken = report.first_break.expect("tampering must be caught");
        assert_eq!(broken.position, 3, "{}", t.name);
        assert_eq!(report.verified_events, 2);
    }
}

#[tokio::test]
async fn verify_chain_notices_a_deleted_event() {
    for t in common::both().await {
        let s = &*t.store;
        one_event_streams(s, 4).await;
        t.exec_each(
            &[
                "DELETE FROM events WHERE seq = (SELECT seq FROM event_positions WHERE position = 2)",
                "DELETE FROM event_positions WHERE position = 2",
            ],
            &["DELETE FROM events WHERE position = 2"],
        )
        .await;
        let report = s.verify_chain().await.unwrap();
        assert_eq!(
            report.first_break.map(|b| b.position),
            Some(3),
            "{}",
            t.name
        );
    }
}

#[tokio::test]
async fn verify_chain_notices_reordered_events() {
    for t in common::both().await {
        let s = &*t.store;
        one_event_streams(s, 4).await;
        // Swap the order of events 2 and 3, hashes and all.
        t.exec_each(
            &[
                "UPDATE event_positions SET position = -2 WHERE position = 2",
                "UPDATE event_positions SET position = 2 WHERE position = 3",
                "UPDATE event_positions SET position = 3 WHERE position = -2",
            ],
            &[
                "UPDATE events SET position = -2 WHERE position = 2",
                "UPDATE events SET position = 2 WHERE position = 3",
                "UPDATE events SET position = 3 WHERE position = -2",
            ],
        )
        .await;
        let report = s.verify_chain().await.unwrap();
        assert_eq!(
            report.first_break.map(|b| b.position),
            Some(2),
            "{}",
            t.name
        );
    }
}

#[tokio::test]
async fn a_writer_can_wait_for_the_global_positions_of_its_events() {
    for t in common::both().await {
        let s = &*t.store;
        s.append("a", ExpectedVersion::NoStream, &[event("X", 1)])
            .await
            .unwrap();
        let out = s
            .append(
                "b",
                ExpectedVersion::NoStream,
                &[event("Y", 1), event("Y", 2)],
            )
            .await
            .unwrap();
        let positions = s
            .wait_for_positions(&out.event_ids, Duration::from_secs(5))
            .await
            .unwrap()
            .expect("stamped within the timeout");
        assert_eq!(positions, vec![2, 3], "{}", t.name);
        let unknown = s.positions_of(&[Uuid::new_v4()]).await.unwrap();
        assert_eq!(unknown, vec![None]);
    }
}

#[tokio::test]
async fn a_signed_checkpoint_holds_the_owner_to_a_published_head() {
    use eventstore::checkpoint::{self, public_key};
    let owner = [11u8; 32];
    let now = chrono::Utc::now();
    for t in common::both().await {
        let s = &*t.store;
        one_event_streams(s, 5).await;
        let published = checkpoint::sign_head(s, &owner, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(published.position, 5, "{}", t.name);
        let pinned = public_key(&owner);
        let report = checkpoint::verify(s, &published, Some(&pinned))
            .await
            .unwrap();
        assert!(report.holds(), "{}: {report:?}", t.name);

        // The log grows: the old checkpoint still holds.
        s.append("later", ExpectedVersion::NoStream, &[event("X", 9)])
            .await
            .unwrap();
        read_all_eventually(s, 6).await;
        assert!(
            checkpoint::verify(s, &published, Some(&pinned))
                .await
                .unwrap()
                .holds()
        );

        // The same history written again with one event different: its own chain is intact,
        // but it does not have the published hash at position 5.
        let rewritten = match t.name {
            "sqlite" => common::sqlite().await,
            _ => common::postgres().await,
        };
        let r = &*rewritten.store;
        for i in 0..5 {
            let n = if i == 2 { 99 } else { i };
            r.append(
                &format!("s{i}"),
                ExpectedVersion::NoStream,
                &[event("X", n)],
            )
            .await
            .unwrap();
        }
        read_all_eventually(r, 5).await;
        assert!(r.verify_chain().await.unwrap().is_intact());
        let report = checkpoint::verify(r, &published, Some(&pinned))
            .await
            .unwrap();
        assert!(
            report.signature_valid && !report.hash_matches,
            "{}: {report:?}",
            t.name
        );
        // And a checkpoint the rewriter signs for it is not under the owner's key.
        let forged = checkpoint::sign_head(r, &[12u8; 32], now)
            .await
            .unwrap()
            .unwrap();
        assert!(
            !checkpoint::verify(r, &forged, Some(&pinned))
                .await
                .unwrap()
                .holds()
        );

        // History cut short: nothing at the published position any more.
        t.exec_each(
            &[
                "DELETE FROM events WHERE seq IN (SELECT seq FROM event_positions WHERE position >= 4)",
                "DELETE FROM event_positions WHERE position >= 4",
            ],
            &["DELETE FROM events WHERE position >= 4"],
        )
        .await;
        let report = checkpoint::verify(s, &published, Some(&pinned))
            .await
            .unwrap();
        assert_eq!(report.stored_hash, None, "{}", t.name);
        assert!(!report.holds());
    }
}

#[tokio::test]
async fn a_new_number_is_linked_with_its_key_once_however_many_ask_at_once() {
    use eventstore::pii;
    for t in common::both().await {
        let db = t.store.db();
        let phone = "+54 9 11 4444-0001";
        let mut asks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let db = db.clone();
            asks.spawn(async move { pii::link_guest(&db, phone, 0).await.unwrap() });
        }
        let linked: Vec<pii::Linked> = asks.join_all().await;
        // One guest; exactly one caller linked it, and its key is the one stored.
        let id = linked[0].id;
        assert!(linked.iter().all(|l| l.id == id), "{}", t.name);
        let new: Vec<_> = linked.iter().filter_map(|l| l.new_key).collect();
        assert_eq!(new.len(), 1, "{}", t.name);
        assert_eq!(pii::key(&db, &id.stream_id()).await.unwrap(), Some(new[0]));
        assert_eq!(
            pii::find_guest(&db, "5491144440001").await.unwrap(),
            Some(id)
        );
        // Known now: linked by nobody, as `guest_for_phone` finds it.
        let again = pii::link_guest(&db, phone, 0).await.unwrap();
        assert_eq!((again.id, again.new_key), (id, None));
        assert_eq!(pii::guest_for_phone(&db, phone).await.unwrap(), id);
    }
}

#[tokio::test]
async fn a_phone_number_finds_its_guest_until_the_guest_is_erased() {
    use eventstore::pii;
    for t in common::both().await {
        let db = t.store.db();
        assert_eq!(
            pii::find_guest(&db, "+54 9 11 5555-1234").await.unwrap(),
            None
        );
        let ana = pii::guest_for_phone(&db, "+54 9 11 5555-1234")
            .await
            .unwrap();
        // However the number is written, and from however many tasks at once: one guest.
        let (a, b, c) = tokio::join!(
            pii::guest_for_phone(&db, "5491155551234"),
            pii::guest_for_phone(&db, "549 11 5555 1234"),
            pii::find_guest(&db, "5491155551234"),
        );
        assert_eq!((a.unwrap(), b.unwrap(), c.unwrap()), (ana, ana, Some(ana)));
        let other = pii::guest_for_phone(&db, "5491155551235").await.unwrap();
        assert_ne!(other, ana);
        // Random, not a function of the number: another database gives the number another id.
        let elsewhere = pii::guest_for_phone(&common::sqlite().await.store.db(), "5491155551234")
            .await
            .unwrap();
        assert_ne!(elsewhere, ana);

        pii::key_or_create(&db, &ana.stream_id(), 0).await.unwrap();
        assert!(pii::erase(&db, &ana.stream_id()).await.unwrap());
        assert_eq!(pii::find_guest(&db, "5491155551234").await.unwrap(), None);
        assert_eq!(
            pii::find_guest(&db, "5491155551235").await.unwrap(),
            Some(other)
        );
    }
}
