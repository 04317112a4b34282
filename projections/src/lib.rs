//! Read models built from the global log.
//!
//! Each [`Projection`] has a stable name, a checkpoint and its own tables. The [`Runner`] feeds
//! it batches of events after its checkpoint and moves the checkpoint in the same transaction,
//! so at-least-once delivery has an exactly-once effect on the read model.
//!
//! # Layout
//! - [`sql`]: one SQL dialect for both backends, and the table-suffix scheme rebuilds use.
//! - [`runner`]: catch-up, live tail, the lease, checkpoints, lag, rebuild.
//! - [`accommodations`], [`availability`], [`reservations`], [`stats`]: the read models.
//! - [`channels`]: when each exported calendar changed, and open conflicts with imported ones.
//! - [`payments`]: payments, refunds and alerts; and the reactor's intake of side effects.
//! - [`queries`]: what the rest of the service reads, by read model (no other crate writes SQL
//!   against an `rm_*` table).

pub mod accommodations;
pub mod availability;
pub mod channels;
pub mod lease;
pub mod payments;
pub mod queries;
pub mod reservations;
pub mod runner;
pub mod sql;
pub mod stats;

use std::sync::Arc;

use async_trait::async_trait;
use domain::{AccommodationEvent, AccommodationId, DomainEvent, EventDecodeError, GuestEvent};
use eventstore::{Backend, RecordedEvent, StoreError};

pub use availability::StayStatus;
pub use reservations::ReservationStatus;
pub use runner::{ProjectionStatus, Runner};
pub use sql::{Names, Tx};
// Moved to `eventstore` (they are about the database, not about read models); re-exported so
// that existing callers keep compiling.
pub use eventstore::{db_exec, db_fetch, exec, tx_fetch};

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event store: {0}")]
    Store(#[from] StoreError),
    #[error("event at position {position} unreadable: {source}")]
    Decode {
        position: i64,
        source: EventDecodeError,
    },
    #[error("unknown projection {0}")]
    Unknown(String),
    #[error("{0} feeds side effects and is never rebuilt (it would repeat them)")]
    NotRebuildable(String),
}

/// A projection's name and tables, declared once beside the code that writes them.
pub struct Schema {
    /// Stable: it names the checkpoint.
    pub name: &'static str,
    /// Bumped whenever the tables change shape: the runner then rebuilds them from position 0.
    pub version: i32,
    /// Every table, as `name{s}` templates; the first one is checked for existence.
    pub tables: &'static [&'static str],
    /// `CREATE TABLE` / `CREATE INDEX` templates (see [`sql::ddl`]).
    pub ddl: &'static [&'static str],
    /// Extra statements on PostgreSQL only (constraints SQLite cannot express).
    pub pg_ddl: &'static [&'static str],
}

/// A read model fed from the global log.
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    fn schema(&self) -> &'static Schema;
    fn name(&self) -> &'static str {
        self.schema().name
    }
    fn schema_version(&self) -> i32 {
        self.schema().version
    }
    fn tables(&self) -> &'static [&'static str] {
        self.schema().tables
    }
    fn ddl(&self) -> &'static [&'static str] {
        self.schema().ddl
    }
    fn pg_ddl(&self) -> &'static [&'static str] {
        self.schema().pg_ddl
    }
    /// A reactor's intake starts at the head of the log when first created (it acts on what
    /// happens from then on) and is never rebuilt; a read model starts at 0.
    fn starts_at_head(&self) -> bool {
        false
    }
    /// Whether it reads guest streams' events too (most read models follow accommodations
    /// only). A batch with nothing it follows is not applied: its checkpoint just moves on.
    fn follows_guests(&self) -> bool {
        false
    }
    /// Applies a batch of events. An implementation is one match arm per event it follows, in
    /// one function on purpose: the whole of what an event does to the tables is read in one
    /// place, not across helpers (long, but a table).
    async fn apply(&self, batch: Batch<'_>) -> Result<(), ProjectionError>;
}

/// What one [`Projection::apply`] is given: events in position order, the runner's
/// transaction to write them in, and the names the tables have in this run (a rebuild writes
/// to shadow tables).
pub struct Batch<'a> {
    pub tx: &'a mut Tx,
    pub names: Names,
    pub events: &'a [Applied],
}

/// Every projection the service runs, in a stable order.
pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(accommodations::Accommodations),
        Arc::new(availability::Availability),
        Arc::new(reservations::Reservations),
        Arc::new(stats::Stats),
        Arc::new(channels::Channels),
        Arc::new(payments::Payments),
        Arc::new(payments::Reactions),
    ]
}

/// An event as stored, with its decoded form (decoded once per batch, shared by every
/// projection: decoding JSON is most of a catch-up's cost).
pub struct Applied {
    pub event: RecordedEvent,
    pub decoded: Option<Decoded>,
}

/// The accommodation events of a batch, in order, each with its stream's id: what most read
/// models follow (guest events are the reservations model's alone).
pub fn accommodation_events(
    events: &[Applied],
) -> impl Iterator<Item = (&Applied, AccommodationId, &AccommodationEvent)> {
    events.iter().filter_map(|a| match &a.decoded {
        Some(Decoded::Accommodation(id, event)) => Some((a, *id, event)),
        _ => None,
    })
}

/// Decodes a batch read from the log.
pub fn prepare(events: Vec<RecordedEvent>) -> Result<Vec<Applied>, ProjectionError> {
    events
        .into_iter()
        .map(|event| {
            let decoded = decode(&event)?;
            Ok(Applied { event, decoded })
        })
        .collect()
}

/// An event of a stream this crate understands.
#[derive(Clone)]
pub enum Decoded {
    Accommodation(AccommodationId, AccommodationEvent),
    Guest(GuestEvent),
}

/// Decodes an event by its stream's kind; `None` for streams no read model here reads.
pub fn decode(e: &RecordedEvent) -> Result<Option<Decoded>, ProjectionError> {
    let position = e.position.unwrap_or_default();
    let fail = |source| ProjectionError::Decode { position, source };
    if let Some(id) = e.stream_id.strip_prefix("accommodation-") {
        let Ok(id) = id.parse::<AccommodationId>() else {
            return Ok(None);
        };
        let event = AccommodationEvent::from_stored(
            &e.event_type,
            e.schema_version as u32,
            e.payload.clone(),
        )
        .map_err(fail)?;
        return Ok(Some(Decoded::Accommodation(id, event)));
    }
    if e.stream_id.starts_with("guest-") {
        let event =
            GuestEvent::from_stored(&e.event_type, e.schema_version as u32, e.payload.clone())
                .map_err(fail)?;
        return Ok(Some(Decoded::Guest(event)));
    }
    Ok(None)
}

/// The backend-specific spelling of "lock this row until commit".
pub(crate) fn for_update(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE",
        // BEGIN IMMEDIATE already holds the database's write lock.
        Backend::Sqlite => "",
    }
}
