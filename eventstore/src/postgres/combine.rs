//! Group commit for appends: while enough inserts are already on their way to the server, the
//! appends that come meanwhile wait and then go together, as one multi-row INSERT and one commit.
//!
//! A lone writer never waits (it always finds room and inserts at once), so this costs it
//! nothing. Many writers on many streams pay one round trip, one statement and one commit per
//! batch instead of one each: on two cores that is most of what an append costs the server.
//!
//! Only appends whose version is known not to be above their stream's head come here (see
//! `PgStore::append`): the unique index is their only check, so a batch needs no per-stream
//! condition. A batch is one statement, so it lands whole or not at all. When it fails (a stale
//! writer in it trips the index) or its outcome is unknown (the connection broke), each append
//! is sent again alone by its own caller, which then gets its own outcome: a conflict, a success,
//! or, if the batch did commit after all, the idempotent success of finding its events stored.
//! One stale writer costs the others a second try, never a wrong answer.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::PgPool;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::NewEvent;

/// Inserts that may be on their way at once before appends start waiting to go together. With
/// 8 writers on this 2-core machine, 1, 2 and 3 measured alike within its noise and 4 clearly
/// worse (too little left behind to combine); 2 keeps the server busy while one batch's answer
/// travels back.
const IN_FLIGHT: usize = 2;

pub(super) struct Combiner {
    pool: PgPool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    in_flight: usize,
    next: Batch,
}

/// Appends waiting to go together, as the columns of one `INSERT … SELECT FROM UNNEST`.
#[derive(Default)]
struct Batch {
    streams: Vec<String>,
    versions: Vec<i64>,
    ids: Vec<Uuid>,
    types: Vec<String>,
    schema_versions: Vec<i32>,
    /// JSON text: an owned copy is needed to hand the events over, and text is the cheapest.
    payloads: Vec<String>,
    metadata: Vec<String>,
    waiters: Vec<oneshot::Sender<bool>>,
}

/// What [`Combiner::enter`] decided for one append.
pub(super) enum Turn {
    /// Insert the events yourself, now; dropping the permit lets the waiting batch go.
    Lead(Permit),
    /// The events are in the next batch: `true` once it committed; `false` when it failed or
    /// its outcome is unknown, and then the caller sends them again alone.
    Wait(oneshot::Receiver<bool>),
}

/// One insert on its way. Released on drop, so a caller that gives up half-way (its future
/// dropped) cannot leave a batch waiting forever.
pub(super) struct Permit(Arc<Combiner>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.release();
    }
}

const INSERT_BATCH: &str = concat!(
    insert_events!(),
    "SELECT s, v, id, t, sv, p::jsonb, m::jsonb, $8 FROM UNNEST($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::int[], $6::text[], $7::text[]) \
     AS u(s, v, id, t, sv, p, m)"
);

impl Combiner {
    pub(super) fn new(pool: PgPool) -> Arc<Self> {
        Arc::new(Combiner {
            pool,
            state: Mutex::default(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Only counters and queued rows live here, each change made whole under the lock: a
        // panic elsewhere cannot have left them half-updated.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Leads when there is room for another insert on its way; otherwise queues the events
    /// (versions `after_version + 1…`) for the next batch.
    pub(super) fn enter(
        self: &Arc<Self>,
        stream_id: &str,
        after_version: i64,
        events: &[NewEvent],
    ) -> Turn {
        if let Some(permit) = self.try_lead(&mut self.state()) {
            return Turn::Lead(permit);
        }
        // Serialised outside the lock: the other writers need it more than this one does.
        let payloads: Vec<String> = events.iter().map(|e| e.payload.to_string()).collect();
        let metadata: Vec<String> = events
            .iter()
            .map(|e| serde_json::to_string(&e.metadata).unwrap_or_else(|_| "{}".to_owned()))
            .collect();
        let mut state = self.state();
        // The inserts on their way may have finished meanwhile, and found nothing queued.
        if let Some(permit) = self.try_lead(&mut state) {
            return Turn::Lead(permit);
        }
        let (done, wait) = oneshot::channel();
        let next = &mut state.next;
        for (i, e) in events.iter().enumerate() {
            next.streams.push(stream_id.to_owned());
            next.versions.push(after_version + 1 + i as i64);
            next.ids.push(e.event_id);
            next.types.push(e.event_type.clone());
            next.schema_versions.push(e.schema_version);
        }
        next.payloads.extend(payloads);
        next.metadata.extend(metadata);
        next.waiters.push(done);
        Turn::Wait(wait)
    }

    fn try_lead(self: &Arc<Self>, state: &mut State) -> Option<Permit> {
        (state.in_flight < IN_FLIGHT).then(|| {
            state.in_flight += 1;
            Permit(self.clone())
        })
    }

    /// An insert is done: the batch that waited for it goes now, or the room is given back.
    fn release(self: &Arc<Self>) {
        let batch = {
            let mut state = self.state();
            if state.next.waiters.is_empty() {
                state.in_flight -= 1;
                return;
            }
            std::mem::take(&mut state.next)
        };
        // The batch inherits this insert's room: the permit moves into its task.
        let permit = Permit(self.clone());
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let stored = batch.insert(&permit.0.pool).await;
                    for waiter in batch.waiters {
                        // A waiter that gave up is gone; its events are stored all the same.
                        let _ = waiter.send(stored);
                    }
                    drop(permit);
                });
            }
            // No runtime (a store dropped outside one): the waiters see their batch fail and
            // insert alone; `permit` lets go of the room as it drops here.
            Err(_) => drop(batch),
        }
    }
}

impl Batch {
    async fn insert(&self, pool: &PgPool) -> bool {
        let result = sqlx::query(INSERT_BATCH)
            .bind(&self.streams)
            .bind(&self.versions)
            .bind(&self.ids)
            .bind(&self.types)
            .bind(&self.schema_versions)
            .bind(&self.payloads)
            .bind(&self.metadata)
            .bind(recorded_now())
            .execute(pool)
            .await;
        if let Err(err) = &result {
            // Expected now and then (a stale writer among them); each append goes again alone.
            tracing::debug!(error = %err, rows = self.ids.len(), "combined append failed");
        }
        result.is_ok()
    }
}

/// Now, truncated to the microseconds the column keeps, so the hash input round-trips exactly.
pub(super) fn recorded_now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    //! The batching itself, on a real PostgreSQL database. The room is filled by hand (two
    //! permits held, as if two inserts were on their way), so what waits and what goes together
    //! is certain rather than left to timing. The outcome every caller sees, batched or not, is
    //! proved on both backends in tests/store.rs.
    #![allow(clippy::unwrap_used)] // A failed set-up should stop the test loudly.

    use super::*;
    use crate::postgres::PgStore;
    use crate::{EventStore, ExpectedVersion, Metadata};

    fn event(n: i64) -> NewEvent {
        NewEvent {
            event_id: Uuid::now_v7(),
            event_type: "Tested".to_owned(),
            schema_version: 1,
            payload: serde_json::json!({"n": n}),
            metadata: Metadata {
                actor: Some("test".into()),
                ..Metadata::default()
            },
        }
    }

    async fn store() -> PgStore {
        let url = crate::testing::fresh_postgres_url()
            .await
            .expect("PostgreSQL must be running (scripts/test starts it)");
        PgStore::connect(&url, crate::Tuning::default())
            .await
            .unwrap()
    }

    /// Takes all the room, so that whatever enters next waits.
    fn fill(combiner: &Arc<Combiner>) -> Vec<Permit> {
        (0..IN_FLIGHT)
            .map(|i| match combiner.enter("filler", i as i64, &[event(0)]) {
                Turn::Lead(permit) => permit,
                Turn::Wait(_) => panic!("the room should have been free"),
            })
            .collect()
    }

    fn waits(turn: Turn) -> oneshot::Receiver<bool> {
        match turn {
            Turn::Wait(batch) => batch,
            Turn::Lead(_) => panic!("the room was full: this append should have waited"),
        }
    }

    #[tokio::test]
    async fn appends_that_wait_go_as_one_insert_and_one_transaction() {
        let store = store().await;
        let room = fill(&store.combiner);
        let first = waits(store.combiner.enter("a", 0, &[event(1), event(2)]));
        let second = waits(store.combiner.enter("b", 0, &[event(3)]));
        let third = waits(store.combiner.enter("c", 0, &[event(4)]));
        drop(room);
        for batch in [first, second, third] {
            assert!(batch.await.unwrap(), "the batch should have committed");
        }
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT stream_id, stream_version, (payload->>'n')::bigint FROM events ORDER BY seq",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        let expected = [("a", 1, 1), ("a", 2, 2), ("b", 1, 3), ("c", 1, 4)];
        let rows: Vec<(&str, i64, i64)> =
            rows.iter().map(|(s, v, n)| (s.as_str(), *v, *n)).collect();
        assert_eq!(rows, expected);
        let transactions: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT tx_id) FROM events")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(
            transactions, 1,
            "one insert, one commit for the whole batch"
        );
        // Stamped like any other append, in the batch's order.
        let all = loop {
            let all = store.read_all(0, 100).await.unwrap();
            if all.len() == 4 {
                break all;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        };
        let order: Vec<(&str, i64)> = all
            .iter()
            .map(|e| (e.stream_id.as_str(), e.stream_version))
            .collect();
        assert_eq!(order, [("a", 1), ("a", 2), ("b", 1), ("c", 1)]);
        assert!(store.verify_chain().await.unwrap().is_intact());
    }

    #[tokio::test]
    async fn a_stale_append_fails_its_whole_batch_and_the_batch_stores_nothing() {
        let store = store().await;
        store
            .append("taken", ExpectedVersion::NoStream, &[event(0)])
            .await
            .unwrap();
        let room = fill(&store.combiner);
        let stale = waits(store.combiner.enter("taken", 0, &[event(1)]));
        let fresh = waits(store.combiner.enter("fresh", 0, &[event(2)]));
        drop(room);
        assert!(!stale.await.unwrap());
        assert!(!fresh.await.unwrap(), "a batch lands whole or not at all");
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(stored, 1, "only the append made before the batch");
    }

    #[tokio::test]
    async fn the_room_is_given_back_when_a_caller_gives_up() {
        let store = store().await;
        let room = fill(&store.combiner);
        let gone = waits(store.combiner.enter("gone", 0, &[event(1)]));
        drop(gone);
        drop(room);
        // The abandoned append's batch still went, and every slot came back afterwards.
        for _ in 0..200 {
            if store.combiner.state().in_flight == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(store.combiner.state().in_flight, 0);
        let stored: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE stream_id = 'gone'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(
            stored, 1,
            "an append already handed over is stored all the same"
        );
        let fresh = fill(&store.combiner);
        assert_eq!(fresh.len(), IN_FLIGHT);
    }
}
