//! SQLite backend. `BEGIN IMMEDIATE` serialises writers, so position and hash are allocated
//! inside the append: the global order is the commit order, with no gaps.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection, SqlitePool};

use crate::sql::{LogTx, Tx};
use crate::write_gate::WriteTx;
use uuid::Uuid;

use crate::chain::{GENESIS, HashInput, event_hash};
use crate::{
    AppendOutcome, Backend, Db, EventStore, ExpectedVersion, NewEvent, RecordedEvent, StoreError,
    StoreTx,
};

pub struct SqliteStore {
    pool: SqlitePool,
    changes: Arc<tokio::sync::watch::Sender<u64>>,
}

const COLUMNS: &str = "position, stream_id, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at, hash";

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Checkpoints run in the background (below), not inside a writer's commit; this is
            // only the backstop should that task ever fall behind (400 MB of WAL).
            .pragma("wal_autocheckpoint", "100000")
            // After a checkpoint has emptied it, the WAL file is cut back to this size.
            .pragma("journal_size_limit", "67108864");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
        let changes = Arc::new(tokio::sync::watch::Sender::new(0));
        tokio::spawn(checkpoints(pool.clone(), Arc::downgrade(&changes)));
        Ok(SqliteStore { pool, changes })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Copies the WAL back into the database file every half second, off the writers' path.
///
/// With SQLite's default, the commit that pushes the WAL past 1000 pages does the copy itself,
/// with an fsync, while holding the write lock: measured, that was about 40 % of a full replay's
/// time. A passive checkpoint here waits for no one and blocks no one; pages rewritten many
/// times between two of them are copied once. Ends when the store is dropped.
async fn checkpoints(pool: SqlitePool, alive: std::sync::Weak<tokio::sync::watch::Sender<u64>>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if alive.strong_count() == 0 {
            break;
        }
        if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::debug!(error = %err, "WAL checkpoint skipped");
        }
    }
}

fn decode(row: &SqliteRow) -> Result<RecordedEvent, sqlx::Error> {
    let event_id: String = row.try_get("event_id")?;
    let payload: String = row.try_get("payload")?;
    let metadata: String = row.try_get("metadata")?;
    let bad = |e: Box<dyn std::error::Error + Send + Sync>| sqlx::Error::Decode(e);
    Ok(RecordedEvent {
        position: Some(row.try_get("position")?),
        stream_id: row.try_get("stream_id")?,
        stream_version: row.try_get("stream_version")?,
        event_id: Uuid::parse_str(&event_id).map_err(|e| bad(e.into()))?,
        event_type: row.try_get("event_type")?,
        schema_version: row.try_get("schema_version")?,
        payload: serde_json::from_str(&payload).map_err(|e| bad(e.into()))?,
        metadata: serde_json::from_str(&metadata).map_err(|e| bad(e.into()))?,
        recorded_at: row.try_get::<DateTime<Utc>, _>("recorded_at")?,
        hash: row.try_get("hash")?,
    })
}

async fn stream_version(conn: &mut SqliteConnection, stream_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(stream_version), 0) FROM events WHERE stream_id = ?")
        .bind(stream_id)
        .fetch_one(conn)
        .await
}

/// The append proper, inside a `BEGIN IMMEDIATE` transaction.
pub(crate) async fn append_in(
    conn: &mut SqliteConnection,
    stream_id: &str,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<AppendOutcome, StoreError> {
    if events.is_empty() {
        return Err(StoreError::EmptyAppend);
    }
    let current = stream_version(conn, stream_id).await?;
    let ok = match expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream => current == 0,
        ExpectedVersion::Exact(v) => current == v,
    };
    if !ok {
        return Err(StoreError::Conflict {
            stream_id: stream_id.to_owned(),
            expected,
            actual: current,
        });
    }
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let (mut position, mut prev_hash) = head.unwrap_or((0, GENESIS.to_owned()));
    // Microseconds: what PostgreSQL keeps, so the hash input is the same on both backends.
    let recorded_at = Utc::now().trunc_subsecs(6);
    let mut positions = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        position += 1;
        let version = current + 1 + i as i64;
        let metadata = serde_json::to_value(&e.metadata).unwrap_or_default();
        let hash = event_hash(
            &prev_hash,
            &HashInput {
                position,
                stream_id,
                stream_version: version,
                event_id: e.event_id,
                event_type: &e.event_type,
                schema_version: e.schema_version,
                payload: &e.payload,
                metadata: &metadata,
                recorded_at_micros: recorded_at.timestamp_micros(),
            },
        );
        sqlx::query(
            "INSERT INTO events (position, stream_id, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at, hash) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(position)
        .bind(stream_id)
        .bind(version)
        .bind(e.event_id.to_string())
        .bind(&e.event_type)
        .bind(e.schema_version)
        .bind(e.payload.to_string())
        .bind(metadata.to_string())
        .bind(recorded_at)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
        positions.push(position);
        prev_hash = hash;
    }
    Ok(AppendOutcome {
        stream_version: current + events.len() as i64,
        event_ids: events.iter().map(|e| e.event_id).collect(),
        positions,
        already_stored: false,
    })
}

#[async_trait]
impl EventStore for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn db(&self) -> Db {
        Db::Sqlite(self.pool.clone())
    }

    fn log_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendOutcome, StoreError> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        match append_in(&mut tx, stream_id, expected, events).await {
            Ok(outcome) => {
                tx.commit().await?;
                self.changes.send_modify(|n| *n += 1);
                Ok(outcome)
            }
            Err(err) => {
                tx.rollback().await?;
                crate::handler::after_failed_append(self, stream_id, expected, events, err).await
            }
        }
    }

    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError> {
        let changes = self.changes.clone();
        Ok(Box::new(LogTx::new(
            Tx::Sqlite(WriteTx::begin(&self.pool).await?),
            move || changes.send_modify(|n| *n += 1),
        )))
    }

    async fn read_stream(
        &self,
        stream_id: &str,
        after_version: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM events WHERE stream_id = ? AND stream_version > ? ORDER BY stream_version"
        ));
        let rows = sqlx::query(sql)
            .bind(stream_id)
            .bind(after_version)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(decode).collect::<Result<_, _>>()?)
    }

    async fn read_all(
        &self,
        after_position: i64,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?"
        ));
        let rows = sqlx::query(sql)
            .bind(after_position)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(decode).collect::<Result<_, _>>()?)
    }

    async fn head_position(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn positions_of(&self, event_ids: &[Uuid]) -> Result<Vec<Option<i64>>, StoreError> {
        let mut out = Vec::with_capacity(event_ids.len());
        for id in event_ids {
            let position: Option<i64> =
                sqlx::query_scalar("SELECT position FROM events WHERE event_id = ?")
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
            out.push(position);
        }
        Ok(out)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1 FROM events LIMIT 1")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
