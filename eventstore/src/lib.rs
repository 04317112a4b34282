//! The event store: an append-only log of events in streams, on PostgreSQL or SQLite behind one
//! trait, with optimistic concurrency per stream, a gap-free commit-ordered global position and a
//! SHA-256 hash chain over the global order.
//!
//! # Layout
//! - [`EventStore`]: the trait; [`postgres::PgStore`] and [`sqlite::SqliteStore`] implement it.
//! - [`chain`]: canonical JSON and the hash chain, shared by both backends and by `verify_chain`.
//! - [`handler`]: load → decide → append with bounded retry on conflict, with a state cache.
//! - [`connect`]: opens the store named by a database URL and applies migrations.
//! - [`sql`]: [`Db`]'s transaction type and the macros that run one statement on either backend.

pub mod backup;
pub mod chain;
pub mod checkpoint;
pub mod handler;
pub mod history;
pub mod pii;
pub mod postgres;
pub mod sql;
pub mod sqlite;
pub mod testing;
pub mod write_gate;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

pub use chain::{ChainBreak, ChainReport};
pub use handler::{CommandError, CommandHandler, CommandOutcome};
pub use sql::Tx;

/// What the writer believes the stream's version is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the current version is.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must be exactly at this version (0 means empty).
    Exact(i64),
}

impl ExpectedVersion {
    /// The version the stream must be at, when the writer names one (none for `Any`).
    pub(crate) fn known(self) -> Option<i64> {
        match self {
            ExpectedVersion::Exact(v) => Some(v),
            ExpectedVersion::NoStream => Some(0),
            ExpectedVersion::Any => None,
        }
    }
}

/// Why an event exists: the trail an auditor follows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_message_id: Option<String>,
}

/// An event about to be appended.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: Value,
    pub metadata: Metadata,
}

/// An event as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordedEvent {
    /// Dense global position; `None` only on PostgreSQL for the few milliseconds between commit
    /// and the sequencer's stamp (stream reads see the event before it has a position).
    pub position: Option<i64>,
    pub stream_id: String,
    pub stream_version: i64,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: Value,
    pub metadata: Value,
    pub recorded_at: DateTime<Utc>,
    pub hash: Option<String>,
}

/// What an append did.
#[derive(Clone, Debug, PartialEq)]
pub struct AppendOutcome {
    /// The stream's version after the append.
    pub stream_version: i64,
    pub event_ids: Vec<Uuid>,
    /// Global positions, when already assigned (always on SQLite).
    pub positions: Vec<i64>,
    /// True when every event was already stored with the same content (an idempotent retry).
    pub already_stored: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stream is not at the expected version: reload and decide again.
    #[error("stream {stream_id} is at version {actual}, expected {expected:?}")]
    Conflict {
        stream_id: String,
        expected: ExpectedVersion,
        actual: i64,
    },
    /// An event id is already stored with other content: a bug in the caller, never retried.
    #[error("event {0} is already stored with different content")]
    EventIdReused(Uuid),
    #[error("an append needs at least one event")]
    EmptyAppend,
    /// A write beside a command's events (see [`AlsoWrite`]) found it should not go ahead (a
    /// new guest's number linked by another request meanwhile): nothing was written.
    #[error("the command's transaction was called off: {0}")]
    CalledOff(&'static str),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL (use sqlite://PATH or postgres://…)")]
    UnsupportedUrl,
}

impl StoreError {
    /// SQLite reports a writer that lost the race as "database is locked" (5 / 517), not as a
    /// constraint violation: both mean "someone else wrote first", so both are conflicts.
    pub(crate) fn is_race(err: &sqlx::Error) -> bool {
        match err {
            sqlx::Error::Database(db) => {
                db.is_unique_violation()
                    || matches!(db.code().as_deref(), Some("5" | "517" | "261" | "23505"))
            }
            _ => false,
        }
    }
}

/// Which database backs the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The database behind a store, for components that keep their own tables next to the log
/// (read models, inbox, outbox) and must write them in their own transactions.
#[derive(Clone, Debug)]
pub enum Db {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

/// The PostgreSQL channel the sequencer notifies after stamping positions, so every instance's
/// subscribers wake without polling.
pub const EVENTS_CHANNEL: &str = "cabanas_events";

/// An append transaction kept open by the caller, so that other writes (a command's guest link,
/// a turn's replies, a test's late commit) share its fate.
#[async_trait]
pub trait StoreTx: Send {
    async fn append(
        &mut self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendOutcome, StoreError>;
    /// The transaction itself, for statements on the tables beside the log (`exec!`, `tx_fetch!`).
    fn sql(&mut self) -> &mut Tx;
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// Writes that go into a command's own transaction (see [`CommandHandler::execute_with`]): they
/// are committed with its events or not at all, and cost no commit of their own. Written again
/// if the command is decided again after a conflict, so they must not assume a first try.
#[async_trait]
pub trait AlsoWrite: Send + Sync {
    async fn write(&self, tx: &mut dyn StoreTx) -> Result<(), StoreError>;
}

#[async_trait]
pub trait EventStore: Send + Sync {
    fn backend(&self) -> Backend;

    /// The pool this store writes through.
    fn db(&self) -> Db;

    /// Ticks whenever this process makes new events visible in the global log (after a commit on
    /// SQLite, after the sequencer stamps on PostgreSQL). Other instances' events are announced
    /// by NOTIFY on [`EVENTS_CHANNEL`] (PostgreSQL) instead.
    fn log_changes(&self) -> tokio::sync::watch::Receiver<u64>;

    /// Appends atomically with optimistic concurrency. Re-appending event ids already stored
    /// with the same content succeeds without writing (`already_stored`).
    async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendOutcome, StoreError>;

    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError>;

    /// Events of one stream with `stream_version > after_version`, in version order.
    async fn read_stream(
        &self,
        stream_id: &str,
        after_version: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Up to `limit` events with `position > after_position`, in position order, without gaps.
    async fn read_all(
        &self,
        after_position: i64,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The highest position a reader can see now.
    async fn head_position(&self) -> Result<i64, StoreError>;

    /// Database reachable and schema in place.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The global positions of these events, `None` for any not stamped yet.
    async fn positions_of(&self, event_ids: &[Uuid]) -> Result<Vec<Option<i64>>, StoreError>;

    /// Waits (bounded by `timeout`) until every event has its global position, so a command's
    /// caller can read its own writes from the global log. `None` on timeout, e.g. while an
    /// older transaction elsewhere holds the sequencer back.
    ///
    /// Asks again when this process's log moves ([`EventStore::log_changes`]: its sequencer
    /// stamped something), not on a fixed poll: under load the stamps come in batches, and every
    /// waiter asking every 2 ms was most of the database's work. At most `RECHECK` apart all
    /// the same, since another instance's sequencer may stamp these events first.
    async fn wait_for_positions(
        &self,
        event_ids: &[Uuid],
        timeout: std::time::Duration,
    ) -> Result<Option<Vec<i64>>, StoreError> {
        wait_until_stamped(self, event_ids, timeout, None).await
    }

    /// Walks the whole global log and reports the first event whose hash does not match.
    async fn verify_chain(&self) -> Result<ChainReport, StoreError> {
        let mut verifier = chain::Verifier::default();
        let mut after = 0;
        loop {
            let batch = self.read_all(after, 1000).await?;
            let Some(last) = batch.last() else { break };
            after = last.position.unwrap_or(after);
            if let Some(report) = verifier.feed(&batch) {
                return Ok(report);
            }
        }
        Ok(verifier.finish())
    }
}

/// Opens the store named by `url` (`sqlite://PATH` or `postgres://…`) and applies migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn EventStore>, StoreError> {
    connect_with(url, Tuning::default()).await
}

/// How the store's pool behaves when the database server is slow or gone (PostgreSQL).
#[derive(Clone, Copy, Debug)]
pub struct Tuning {
    /// How long a statement waits for a pooled connection (or for a new one to the server)
    /// before it fails. Short, so that during an outage a request is told so at once (a 503 a
    /// load balancer can route around) instead of hanging; sqlx's own default is 30 s.
    pub acquire_timeout: std::time::Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            acquire_timeout: std::time::Duration::from_millis(1500),
        }
    }
}

/// [`connect`], with the pool tuned.
pub async fn connect_with(url: &str, tuning: Tuning) -> Result<Arc<dyn EventStore>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url, tuning).await?))
    } else if url.starts_with("sqlite:") {
        // In-process: never "down", so a wait for one of its connections is only load, and
        // is not cut short.
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// Where a waiter finds stamps without asking the database: what this process's sequencer
/// has just stamped (PostgreSQL); `None` when it does not know all of them.
pub(crate) type StampedHere<'a> = &'a (dyn Fn(&[Uuid]) -> Option<Vec<i64>> + Sync);

/// [`EventStore::wait_for_positions`]'s loop. With `here`, each look reads it first and the
/// database only when it does not know every event, and never on the first look: the events
/// were just written, and the sequencer that may have stamped them since is this one.
pub(crate) async fn wait_until_stamped<S: EventStore + ?Sized>(
    store: &S,
    event_ids: &[Uuid],
    timeout: std::time::Duration,
    here: Option<StampedHere<'_>>,
) -> Result<Option<Vec<i64>>, StoreError> {
    const RECHECK: std::time::Duration = std::time::Duration::from_millis(20);
    let deadline = tokio::time::Instant::now() + timeout;
    // Subscribed before the first look, so a stamp between the look and the wait is seen.
    let mut changes = store.log_changes();
    changes.borrow_and_update();
    let mut first = true;
    loop {
        if let Some(found) = here.and_then(|here| here(event_ids)) {
            return Ok(Some(found));
        }
        if !(first && here.is_some()) {
            let found = store.positions_of(event_ids).await?;
            if found.iter().all(Option::is_some) {
                return Ok(Some(found.into_iter().flatten().collect()));
            }
        }
        first = false;
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        // This process's sequencer announces each pass; another instance's is not heard of,
        // so the database is asked again at least every `RECHECK`.
        let wait = RECHECK.min(deadline - now);
        if let Ok(Err(_)) = tokio::time::timeout(wait, changes.changed()).await {
            // The store is closing: no more ticks, only the recheck.
            tokio::time::sleep(wait).await;
        }
    }
}
