//! Stored event names and versions, and the aggregate contract the command handler drives.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// An event as it is stored: a stable hand-written name and a schema version, never derived from
/// the Rust type's name, so renaming a variant never changes what is on disk.
pub trait DomainEvent: Sized + Clone + Send + Sync + 'static {
    fn event_type(&self) -> &'static str;
    fn event_version(&self) -> u32;
    fn to_payload(&self) -> Value;
    /// Reads a stored event, upcasting older schema versions to the current shape. An unknown
    /// type or version is an error, never silently skipped.
    fn from_stored(
        event_type: &str,
        version: u32,
        payload: Value,
    ) -> Result<Self, EventDecodeError>;
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EventDecodeError {
    #[error("unknown event type {event_type} (version {version})")]
    UnknownType { event_type: String, version: u32 },
    #[error("unsupported version {version} of {event_type}")]
    UnknownVersion { event_type: String, version: u32 },
    #[error("malformed {event_type} v{version}: {reason}")]
    Malformed {
        event_type: String,
        version: u32,
        reason: String,
    },
}

/// A consistency boundary: pure decisions over a state folded from its own events.
pub trait Aggregate: Default + Clone + Send + Sync + 'static {
    type Command: Send + Sync;
    type Event: DomainEvent;
    type Error: std::error::Error + Send + Sync + 'static;

    fn decide(
        &self,
        command: &Self::Command,
        now: DateTime<Utc>,
    ) -> Result<Vec<Self::Event>, Self::Error>;
    fn evolve(&mut self, event: &Self::Event);
}
