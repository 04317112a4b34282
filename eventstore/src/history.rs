//! A history as a file: one stored event per JSON line, in global order. `cabanas export-log`
//! writes it, `cabanas import-log` and the replay tests load it into a fresh store, where every
//! event lands at the stream version it was recorded at (so the hash chain of the copy verifies
//! like the original's, event for event).

use std::sync::Arc;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{EventStore, ExpectedVersion, Metadata, NewEvent, RecordedEvent};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Line {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    pub stream_id: String,
    pub stream_version: i64,
    pub event_id: uuid::Uuid,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: Value,
    #[serde(default)]
    pub metadata: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

impl From<RecordedEvent> for Line {
    fn from(e: RecordedEvent) -> Line {
        Line {
            position: e.position,
            stream_id: e.stream_id,
            stream_version: e.stream_version,
            event_id: e.event_id,
            event_type: e.event_type,
            schema_version: e.schema_version,
            payload: e.payload,
            metadata: e.metadata,
            recorded_at: Some(e.recorded_at),
            hash: e.hash,
        }
    }
}

pub fn read(text: &str) -> anyhow::Result<Vec<Line>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| serde_json::from_str(l).with_context(|| format!("line {}", n + 1)))
        .collect()
}

/// Writes every event from `from` (exclusive) on, in order, to `out`; returns how many.
pub async fn export(
    store: &Arc<dyn EventStore>,
    from: i64,
    out: &mut impl std::io::Write,
) -> anyhow::Result<u64> {
    let mut position = from;
    let mut n = 0;
    loop {
        let batch = store.read_all(position, 1000).await?;
        let Some(last) = batch.last().and_then(|e| e.position) else {
            break;
        };
        for e in batch {
            serde_json::to_writer(&mut *out, &Line::from(e))?;
            out.write_all(b"\n")?;
            n += 1;
        }
        position = last;
    }
    Ok(n)
}

/// Appends a history, event by event, each at the stream version it was recorded at.
pub async fn load(store: &Arc<dyn EventStore>, history: &[Line]) -> anyhow::Result<()> {
    for line in history {
        let expected = if line.stream_version <= 1 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(line.stream_version - 1)
        };
        let metadata: Metadata = serde_json::from_value(line.metadata.clone()).unwrap_or_default();
        store
            .append(
                &line.stream_id,
                expected,
                &[NewEvent {
                    event_id: line.event_id,
                    event_type: line.event_type.clone(),
                    schema_version: line.schema_version,
                    payload: line.payload.clone(),
                    metadata,
                }],
            )
            .await
            .with_context(|| format!("appending {} v{}", line.stream_id, line.stream_version))?;
    }
    Ok(())
}
