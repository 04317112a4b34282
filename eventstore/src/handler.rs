//! Command handling: load the stream's state, decide, append with `Exact(version)`, and on a
//! conflict catch up and decide again on fresh state (bounded, with jitter).
//!
//! The state of recently used streams stays in memory with its version. The append's expected
//! version is the check against the stored one, so a warm command costs one append whatever the
//! stream's length; a stale cache (another instance wrote) shows up as a conflict and is caught
//! up from that version. A refusal (or a decision to do nothing) is only final on the stored
//! head: one made on a cache that turns out to be behind is made again once caught up (a hold
//! placed through another instance is found, confirmed or expired here too).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::{Aggregate, DomainEvent, EventDecodeError};
use rand::Rng;
use uuid::Uuid;

use crate::chain::canonical_json;
use crate::{
    AlsoWrite, AppendOutcome, EventStore, ExpectedVersion, Metadata, NewEvent, RecordedEvent,
    StoreError,
};

/// Conflicts are retried this many times before giving up; with jitter, 8 writers on one hot
/// stream settle well within it.
const MAX_ATTEMPTS: u32 = 50;
/// Streams kept warm; beyond this the cache starts over (cheap, and bounded memory).
const CACHE_LIMIT: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Domain(E),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("stored event unreadable: {0}")]
    Decode(#[from] EventDecodeError),
    #[error("gave up after {0} concurrency conflicts")]
    Contention(u32),
}

#[derive(Debug)]
pub struct CommandOutcome<Ev> {
    pub events: Vec<Ev>,
    pub stream_version: i64,
    pub event_ids: Vec<Uuid>,
    /// Global positions when assigned already (see `AppendOutcome::positions`).
    pub positions: Vec<i64>,
    /// How many conflicts were retried on the way.
    pub retries: u32,
}

/// One stream's cached state. The async mutex makes this process's commands on one stream take
/// turns (a hot cabin's writers queue here instead of colliding in the database) and lets the
/// state be changed in place, so a command costs the same on a long stream as on a short one.
type Slot<A> = Arc<tokio::sync::Mutex<Option<(i64, A)>>>;

pub struct CommandHandler<A: Aggregate> {
    store: Arc<dyn EventStore>,
    cache: Mutex<HashMap<String, Slot<A>>>,
}

fn decode_all<A: Aggregate>(
    state: &mut A,
    events: &[RecordedEvent],
) -> Result<i64, EventDecodeError> {
    let mut version = 0;
    for e in events {
        let event =
            A::Event::from_stored(&e.event_type, e.schema_version as u32, e.payload.clone())?;
        state.evolve(&event);
        version = e.stream_version;
    }
    Ok(version)
}

impl<A: Aggregate> CommandHandler<A> {
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        CommandHandler {
            store,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    fn slot(&self, stream_id: &str) -> Slot<A> {
        let mut cache = match self.cache.lock() {
            Ok(cache) => cache,
            // A panic elsewhere while holding this lock left only a map of slots behind: usable.
            Err(poisoned) => poisoned.into_inner(),
        };
        if cache.len() >= CACHE_LIMIT && !cache.contains_key(stream_id) {
            cache.clear();
        }
        cache.entry(stream_id.to_owned()).or_default().clone()
    }

    /// The stream's current state, read fresh from the store (not the cache).
    pub async fn load(&self, stream_id: &str) -> Result<(i64, A), CommandError<A::Error>> {
        let events = self.store.read_stream(stream_id, 0).await?;
        let mut state = A::default();
        let version = decode_all(&mut state, &events)?;
        Ok((version, state))
    }

    /// The stream's current state for a reader (answering a guest, a scheduled message): the
    /// cached state brought up to the stored head, which reads only the events since, or the
    /// stream loaded and then kept. A long stream is not replayed for every read.
    pub async fn current(&self, stream_id: &str) -> Result<(i64, A), CommandError<A::Error>> {
        let slot = self.slot(stream_id);
        let mut guard = slot.lock().await;
        if let Some((version, state)) = guard.as_mut() {
            match self.catch_up(stream_id, version, state).await {
                Ok(()) => return Ok((*version, state.clone())),
                // Part of the events may have been applied: start from the store.
                Err(err) => {
                    *guard = None;
                    return Err(err);
                }
            }
        }
        let loaded = self.load(stream_id).await?;
        Ok(guard.insert(loaded).clone())
    }

    /// Brings `version`/`state` up to the stored head.
    async fn catch_up(
        &self,
        stream_id: &str,
        version: &mut i64,
        state: &mut A,
    ) -> Result<(), CommandError<A::Error>> {
        let events = self.store.read_stream(stream_id, *version).await?;
        let newest = decode_all(state, &events)?;
        *version = newest.max(*version);
        Ok(())
    }

    pub async fn execute(
        &self,
        stream_id: &str,
        command: &A::Command,
        now: DateTime<Utc>,
        metadata: &Metadata,
    ) -> Result<CommandOutcome<A::Event>, CommandError<A::Error>> {
        self.execute_with(stream_id, command, now, metadata, None)
            .await
    }

    /// [`Self::execute`], with `also` written in the same transaction as the events: one commit
    /// where a use case would otherwise make two or three (a new guest's link and profile with
    /// their hold, a turn's replies with its dialogue). When the command decides nothing (a
    /// repeat), `also` is written on its own all the same; not when it is refused.
    pub async fn execute_with(
        &self,
        stream_id: &str,
        command: &A::Command,
        now: DateTime<Utc>,
        metadata: &Metadata,
        also: Option<&dyn AlsoWrite>,
    ) -> Result<CommandOutcome<A::Event>, CommandError<A::Error>> {
        let slot = self.slot(stream_id);
        let mut guard = slot.lock().await;
        let result = match guard.as_mut() {
            Some((version, state)) => {
                let current = (version, state);
                self.execute_on(stream_id, command, now, metadata, current, also)
                    .await
            }
            None => match self.load(stream_id).await {
                Ok(loaded) => {
                    let (version, state) = guard.insert(loaded);
                    self.execute_on(stream_id, command, now, metadata, (version, state), also)
                        .await
                }
                Err(err) => Err(err),
            },
        };
        if matches!(
            result,
            Err(CommandError::Store(_) | CommandError::Decode(_))
        ) {
            // Unsure what the store holds now: start from the store next time.
            *guard = None;
        }
        result
    }

    async fn execute_on(
        &self,
        stream_id: &str,
        command: &A::Command,
        now: DateTime<Utc>,
        metadata: &Metadata,
        (version, state): (&mut i64, &mut A),
        also: Option<&dyn AlsoWrite>,
    ) -> Result<CommandOutcome<A::Event>, CommandError<A::Error>> {
        for attempt in 0..MAX_ATTEMPTS {
            let decided = state.decide(command, now);
            if !matches!(&decided, Ok(events) if !events.is_empty()) {
                // A refusal (or nothing to do) stands only on the stored head: another instance
                // may have appended since this cache was current.
                let cached = *version;
                self.catch_up(stream_id, version, state).await?;
                if *version != cached {
                    continue;
                }
            }
            let events = decided.map_err(CommandError::Domain)?;
            if events.is_empty() {
                if let Some(also) = also {
                    let mut tx = self.store.begin().await?;
                    also.write(&mut *tx).await?;
                    tx.commit().await?;
                }
                return Ok(CommandOutcome {
                    events,
                    stream_version: *version,
                    event_ids: Vec::new(),
                    positions: Vec::new(),
                    retries: attempt,
                });
            }
            let new_events = to_new_events(&events, metadata);
            let expected = ExpectedVersion::Exact(*version);
            let appended = match also {
                None => self.store.append(stream_id, expected, &new_events).await,
                Some(also) => {
                    self.append_with(stream_id, expected, &new_events, also)
                        .await
                }
            };
            match appended {
                Ok(AppendOutcome {
                    stream_version,
                    event_ids,
                    positions,
                    ..
                }) => {
                    for e in &events {
                        state.evolve(e);
                    }
                    *version = stream_version;
                    return Ok(CommandOutcome {
                        events,
                        stream_version,
                        event_ids,
                        positions,
                        retries: attempt,
                    });
                }
                Err(StoreError::Conflict { .. }) => {
                    // Another instance wrote first: back off a little (jitter breaks lockstep
                    // among writers), catch up, and decide again on the fresh state.
                    let jitter =
                        rand::rng().random_range(0..=(200 * u64::from(attempt.min(10) + 1)));
                    tokio::time::sleep(Duration::from_micros(jitter)).await;
                    self.catch_up(stream_id, version, state).await?;
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(CommandError::Contention(MAX_ATTEMPTS))
    }

    /// The append and `also` in one transaction. A failed append is read as a plain append
    /// reads it: a conflict (decided again by the caller), or these very events found stored,
    /// in which case `also` is written on its own.
    async fn append_with(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
        also: &dyn AlsoWrite,
    ) -> Result<AppendOutcome, StoreError> {
        let mut tx = self.store.begin().await?;
        match tx.append(stream_id, expected, events).await {
            Ok(outcome) => {
                // An error of `also`'s own is returned as it is: not the stream's conflict.
                also.write(&mut *tx).await?;
                tx.commit().await?;
                Ok(outcome)
            }
            Err(err) => {
                // Rolled back before anything is read again (on SQLite it holds the write lock).
                drop(tx);
                let stored =
                    after_failed_append(&*self.store, stream_id, expected, events, err).await?;
                let mut tx = self.store.begin().await?;
                also.write(&mut *tx).await?;
                tx.commit().await?;
                Ok(stored)
            }
        }
    }
}

/// Decided events as they are appended: each with a fresh id and the command's metadata.
pub fn to_new_events<E: DomainEvent>(events: &[E], metadata: &Metadata) -> Vec<NewEvent> {
    events
        .iter()
        .map(|e| NewEvent {
            event_id: Uuid::now_v7(),
            event_type: e.event_type().to_owned(),
            schema_version: e.event_version() as i32,
            payload: e.to_payload(),
            metadata: metadata.clone(),
        })
        .collect()
}

/// Turns a failed append into its outcome: an idempotent success when the same events are
/// already stored, a `Conflict` when another writer won the race, or the error itself.
pub(crate) async fn after_failed_append(
    store: &dyn EventStore,
    stream_id: &str,
    expected: ExpectedVersion,
    events: &[NewEvent],
    err: StoreError,
) -> Result<AppendOutcome, StoreError> {
    let race = matches!(&err, StoreError::Database(e) if StoreError::is_race(e));
    if !race && !matches!(err, StoreError::Conflict { .. }) {
        return Err(err);
    }
    if let Some(outcome) = already_stored(store, stream_id, events).await? {
        return Ok(outcome);
    }
    if race {
        let actual = store
            .read_stream(stream_id, 0)
            .await?
            .last()
            .map_or(0, |e| e.stream_version);
        return Err(StoreError::Conflict {
            stream_id: stream_id.to_owned(),
            expected,
            actual,
        });
    }
    Err(err)
}

/// After a failed append: are these exact events already stored (a retry of a write that did
/// land)? `Some` when all are, with the same content; an error when an id is taken by other
/// content; `None` when none is stored.
pub(crate) async fn already_stored(
    store: &dyn EventStore,
    stream_id: &str,
    events: &[NewEvent],
) -> Result<Option<AppendOutcome>, StoreError> {
    // Rare path (only after a failed append), so reading the stream is acceptable here.
    let stored = store.read_stream(stream_id, 0).await?;
    let by_id: HashMap<Uuid, &RecordedEvent> = stored.iter().map(|e| (e.event_id, e)).collect();
    let mut found = 0;
    for e in events {
        let Some(s) = by_id.get(&e.event_id) else {
            continue;
        };
        let canon = |v: &serde_json::Value| {
            let mut out = Vec::new();
            canonical_json(v, &mut out);
            out
        };
        let same = s.event_type == e.event_type
            && s.schema_version == e.schema_version
            && canon(&s.payload) == canon(&e.payload);
        if !same {
            return Err(StoreError::EventIdReused(e.event_id));
        }
        found += 1;
    }
    if found == 0 {
        return Ok(None);
    }
    if found < events.len() {
        // Part of the batch is stored and part is not: not a retry of the same append.
        return Err(StoreError::EventIdReused(events[0].event_id));
    }
    let mine: Vec<&RecordedEvent> = events
        .iter()
        .filter_map(|e| by_id.get(&e.event_id).copied())
        .collect();
    Ok(Some(AppendOutcome {
        stream_version: stored.last().map_or(0, |e| e.stream_version),
        event_ids: events.iter().map(|e| e.event_id).collect(),
        positions: mine.iter().filter_map(|e| e.position).collect(),
        already_stored: true,
    }))
}
