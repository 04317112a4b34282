//! PostgreSQL backend with a gap-free, commit-safe global order (docs/adr/0001).
//!
//! Writers only insert into `events` and never wait for each other except on the same stream.
//! A sequencer stamps dense positions and the hash chain, in `(tx_id, seq)` order, onto events
//! of transactions older than the oldest one still in flight, as rows of `event_positions` (an
//! event row is written once and never updated). Any instance may stamp; the stamps' unique keys
//! refuse a stamper that went on from a stale head.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{Connection, PgConnection, PgPool, Postgres, Row};
use uuid::Uuid;

use crate::chain::{GENESIS, hash_recorded};
use crate::sql::{LogTx, Tx};
use crate::{
    AppendOutcome, Backend, Db, EventStore, ExpectedVersion, NewEvent, RecordedEvent, StoreError,
    StoreTx,
};
use combine::{Combiner, Turn, recorded_now};
use stamped::Stamped;

const BATCH: i64 = 2000;
/// A pooled connection idle longer than this is pinged before it is handed out (the server may
/// have restarted, or a firewall dropped the idle socket); a busy one is not.
const IDLE_PING: Duration = Duration::from_secs(30);
/// How long an idle sequencer waits for a wake-up before it looks again all the same.
const IDLE_LOOK: Duration = Duration::from_millis(50);
/// How soon it looks again instead while a caller here waits for a stamp (see `Waiting`).
const WAITED_LOOK: Duration = Duration::from_millis(3);
/// The sequencer connection's `application_name`.
pub const SEQUENCER_NAME: &str = "cabanas-sequencer";
/// Streams whose stored version this process remembers; beyond this the map starts over.
const HEADS_LIMIT: usize = 10_000;

/// The pool every PostgreSQL user in the process shares (the store, the read models, the
/// queues). sqlx's default pings each connection on every acquire: a second round trip on every
/// statement, as costly as many of the statements themselves. Only a connection that sat idle
/// long enough to have been cut is checked; a dead one that slips through fails its statement,
/// and the pool replaces it.
pub fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(16)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > IDLE_PING {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

pub struct PgStore {
    pool: PgPool,
    /// The newest version this process has seen stored, per stream (see `append`).
    heads: std::sync::Mutex<HashMap<String, i64>>,
    /// Lets concurrent appends share one insert and one commit (see `combine`).
    combiner: Arc<Combiner>,
    /// Wakes this process's sequencer right after a local commit.
    wake: Arc<tokio::sync::Notify>,
    /// How many callers here wait for stamps now (see `Waiting`).
    waiters: Arc<AtomicUsize>,
    /// What the sequencer stamped last, for those callers (see `stamped`).
    stamped: Arc<Stamped>,
    changes: tokio::sync::watch::Receiver<u64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    #[allow(dead_code)] // Kept so the task's lifetime is visibly tied to the store.
    sequencer: tokio::task::JoinHandle<()>,
}

impl Drop for PgStore {
    /// Stops the sequencer between passes (its task is not aborted): a pass cut between its
    /// two statements would only be done again, but one cut mid-statement leaves the server
    /// working for nobody.
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake.notify_one();
    }
}

/// An event with its stamp: `e` is `events`, `p` is `event_positions`.
const COLUMNS: &str = "p.position, e.stream_id, e.stream_version, e.event_id, e.event_type, e.schema_version, e.payload, e.metadata, e.recorded_at, p.hash";
/// The same columns for an event not stamped yet.
const UNSTAMPED: &str = "NULL::bigint AS position, e.stream_id, e.stream_version, e.event_id, e.event_type, e.schema_version, e.payload, e.metadata, e.recorded_at, NULL::text AS hash";

impl PgStore {
    pub async fn connect(url: &str, tuning: crate::Tuning) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url.parse()?;
        let pool = pool_options()
            .acquire_timeout(tuning.acquire_timeout)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        let wake = Arc::new(tokio::sync::Notify::new());
        let (changed, changes) = tokio::sync::watch::channel(0);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Named, so that pg_stat_activity (and an operator, or the bench) can tell it apart.
        let sequencer_options = options.clone().application_name(SEQUENCER_NAME);
        let waiters = Arc::new(AtomicUsize::new(0));
        let stamped = Arc::new(Stamped::default());
        let sequencer = tokio::spawn(run_sequencer(
            Sequencer {
                options: sequencer_options,
                conn: None,
                head: None,
                stamped: stamped.clone(),
            },
            wake.clone(),
            waiters.clone(),
            changed,
            stop.clone(),
        ));
        Ok(PgStore {
            combiner: Combiner::new(pool.clone()),
            pool,
            heads: Default::default(),
            wake,
            waiters,
            stamped,
            changes,
            stop,
            sequencer,
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Whether `version` is known not to be above the stream's head: it is 0, or this process has
    /// seen the stream stored at that version or later. Versions only grow, so it still holds.
    fn at_or_below_head(&self, stream_id: &str, version: i64) -> bool {
        version == 0
            || self
                .heads
                .lock()
                .map(|heads| heads.get(stream_id).is_some_and(|&head| head >= version))
                .unwrap_or(false)
    }

    fn saw_version(&self, stream_id: &str, version: i64) {
        // A poisoned lock only means a panic elsewhere; forgetting is always safe here.
        let Ok(mut heads) = self.heads.lock() else {
            return;
        };
        // Every append lands here: a stream already known costs no allocation.
        if let Some(head) = heads.get_mut(stream_id) {
            *head = (*head).max(version);
            return;
        }
        if heads.len() >= HEADS_LIMIT {
            heads.clear();
        }
        heads.insert(stream_id.to_owned(), version);
    }

    /// `insert_at`, sharing an insert with concurrent appends when it may (see `combine`): only
    /// unchecked ones, whose sole check is the unique index, can go in a batch.
    async fn insert(
        &self,
        stream_id: &str,
        version: i64,
        events: &[NewEvent],
        checked: bool,
    ) -> Result<Option<AppendOutcome>, StoreError> {
        if checked || events.is_empty() {
            return insert_at(&self.pool, stream_id, version, events, checked).await;
        }
        match self.combiner.enter(stream_id, version, events) {
            Turn::Lead(_permit) => insert_at(&self.pool, stream_id, version, events, false).await,
            Turn::Wait(batch) => {
                if batch.await.unwrap_or(false) {
                    return Ok(Some(written(version, events)));
                }
                // The batch failed, or its outcome is unknown: this append goes alone and gets
                // its own outcome (an idempotent success if the batch did land after all).
                insert_at(&self.pool, stream_id, version, events, false).await
            }
        }
    }
}

/// Stamps in a loop: woken at once by this process's appends; with nothing to stamp, looking
/// again every `IDLE_LOOK` for other instances' writes, or every `WAITED_LOOK` while a caller
/// here waits for a stamp (late commits held back by an older transaction).
async fn run_sequencer(
    mut sequencer: Sequencer,
    wake: Arc<tokio::sync::Notify>,
    waiters: Arc<AtomicUsize>,
    changed: tokio::sync::watch::Sender<u64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    loop {
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let stamped = sequencer.pass().await;
        if let Ok(n) = stamped
            && n > 0
        {
            changed.send_modify(|c| *c += 1);
        }
        match stamped {
            Ok(n) if n as i64 == BATCH => continue,
            Ok(0) => {
                // Nothing to stamp: wait for this process's next commit (it wakes us), or look
                // again in a while for other instances' writes and for commits an older
                // transaction held back; soon, while a caller here waits for a stamp (see
                // `Waiting`). An idle service no longer asks the database two hundred times a
                // second.
                let look = if waiters.load(Ordering::Relaxed) > 0 {
                    WAITED_LOOK
                } else {
                    IDLE_LOOK
                };
                let _ = tokio::time::timeout(look, wake.notified()).await;
            }
            Ok(_) => {
                // At most one pass per 2 ms under load: stamps go out in batches instead of one
                // statement per append competing with the writers for the same two cores.
                tokio::time::sleep(Duration::from_millis(2)).await;
                let _ = tokio::time::timeout(Duration::from_millis(3), wake.notified()).await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "sequencer pass failed; retrying");
                sequencer.conn = None;
                sequencer.head = None;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// A caller waiting for stamps, counted while it waits. The sequencer, finding nothing it may
/// stamp yet, would otherwise sleep `IDLE_LOOK`: a commit it is not told of (a read model's
/// transaction that held the stamps back by being older) ends the hold-up unnoticed, and the
/// caller's client waited those 50 ms (one hold in ten under load, measured).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Waiting<'a> {
        count.fetch_add(1, Ordering::Relaxed);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The newest stamp: where the chain goes on from, and where the search for unstamped events
/// starts in `(tx_id, seq)` order.
struct Head {
    position: i64,
    hash: String,
    tx_id: String,
    seq: i64,
}

/// One process's stamper. A pass is two statements on a connection of its own, outside the
/// pool (no acquire, no ping on release): one finds what to stamp, one inserts the stamps. It
/// runs every few milliseconds under load, so each round trip it saves is CPU the writers get.
struct Sequencer {
    options: PgConnectOptions,
    conn: Option<PgConnection>,
    /// The newest stamp as this process last read or wrote it; `None`: read it first.
    head: Option<Head>,
    /// Each pass's stamps, once committed, for the callers here waiting for them.
    stamped: Arc<Stamped>,
}

impl Sequencer {
    /// Stamps what can be stamped now; returns how many events got a position.
    async fn pass(&mut self) -> Result<usize, StoreError> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => {
                let mut conn = PgConnection::connect_with(&self.options).await?;
                // Losing stamps in a crash is harmless: they are recomputed identically from
                // the same (tx_id, seq) order, so a stamping commit need not wait for the disk.
                // This connection does nothing else.
                sqlx::query("SET synchronous_commit = off")
                    .execute(&mut conn)
                    .await?;
                self.conn.insert(conn)
            }
        };
        let head = match self.head.take() {
            Some(head) => head,
            None => read_head(conn).await?,
        };
        // Stamping goes in (tx_id, seq) order, and a transaction below the snapshot's xmin can
        // no longer add events: so every event before the newest stamped one in that order is
        // stamped, none after it is, and the search is a range scan from it.
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {UNSTAMPED}, e.seq, e.tx_id::text AS tx_id FROM events e \
             WHERE (e.tx_id, e.seq) > ($1::text::xid8, $2) \
             AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot()) \
             ORDER BY e.tx_id, e.seq LIMIT {BATCH}"
        ));
        let rows = sqlx::query(sql)
            .bind(&head.tx_id)
            .bind(head.seq)
            .fetch_all(&mut *conn)
            .await?;
        let Some(last) = rows.last() else {
            self.head = Some(head);
            return Ok(0);
        };
        let next_head = (
            last.try_get::<String, _>("tx_id")?,
            last.try_get::<i64, _>("seq")?,
        );
        let mut position = head.position;
        let mut prev_hash = head.hash;
        let mut seqs = Vec::with_capacity(rows.len());
        let mut positions = Vec::with_capacity(rows.len());
        let mut hashes = Vec::with_capacity(rows.len());
        let mut ids = Vec::with_capacity(rows.len());
        for row in &rows {
            let event = decode(row)?;
            ids.push(event.event_id);
            position += 1;
            let hash = hash_recorded(&prev_hash, &event, position);
            seqs.push(row.try_get::<i64, _>("seq")?);
            positions.push(position);
            hashes.push(hash.clone());
            prev_hash = hash;
        }
        // No lock is taken: every instance's sequencer may stamp, and the stamps' keys decide.
        // This one statement inserts positions head+1… for events found after the head, so if
        // another stamper got there first (the head was stale), `position` or `seq` is already
        // taken and the whole statement fails: nothing half-stamped, and the head is read again.
        // The notification reaches every instance listening at commit: their projections wake.
        let inserted = sqlx::query(
            "WITH stamped AS (INSERT INTO event_positions (seq, position, hash) \
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[])) \
             SELECT pg_notify($4, '')",
        )
        .bind(&seqs)
        .bind(&positions)
        .bind(&hashes)
        .bind(crate::EVENTS_CHANNEL)
        .execute(&mut *conn)
        .await;
        match inserted {
            Ok(_) => {
                self.stamped.remember(ids.into_iter().zip(positions));
                self.head = Some(Head {
                    position,
                    hash: prev_hash,
                    tx_id: next_head.0,
                    seq: next_head.1,
                });
                Ok(rows.len())
            }
            // Another instance stamped first: start again from its head, next pass.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(0),
            Err(err) => Err(err.into()),
        }
    }
}

/// The newest stamp in the database (the chain's start when there is none).
async fn read_head(conn: &mut PgConnection) -> Result<Head, sqlx::Error> {
    let head: Option<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT p.position, p.hash, e.tx_id::text, e.seq FROM event_positions p JOIN events e ON e.seq = p.seq \
         ORDER BY p.position DESC LIMIT 1",
    )
    .fetch_optional(conn)
    .await?;
    Ok(match head {
        Some((position, hash, tx_id, seq)) => Head {
            position,
            hash,
            tx_id,
            seq,
        },
        None => Head {
            position: 0,
            hash: GENESIS.to_owned(),
            tx_id: "0".to_owned(),
            seq: 0,
        },
    })
}

fn decode(row: &PgRow) -> Result<RecordedEvent, sqlx::Error> {
    Ok(RecordedEvent {
        position: row.try_get("position")?,
        stream_id: row.try_get("stream_id")?,
        stream_version: row.try_get("stream_version")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        schema_version: row.try_get("schema_version")?,
        payload: row.try_get("payload")?,
        metadata: row.try_get("metadata")?,
        recorded_at: row.try_get::<DateTime<Utc>, _>("recorded_at")?,
        hash: row.try_get("hash")?,
    })
}

/// An append's events as column arrays, for one multi-row `INSERT … FROM UNNEST(…)`.
struct Columns<'a> {
    recorded_at: DateTime<Utc>,
    versions: Vec<i64>,
    ids: Vec<Uuid>,
    types: Vec<&'a str>,
    schema_versions: Vec<i32>,
    payloads: Vec<serde_json::Value>,
    metadata: Vec<serde_json::Value>,
}

impl<'a> Columns<'a> {
    /// `sql` (`INSERT_MANY` or `INSERT_MANY_CHECKED`) with $1…$8 bound to these events (sqlx
    /// encodes a value as it is bound, so the query borrows nothing).
    fn query(
        &self,
        stream_id: &str,
        sql: &'static str,
    ) -> sqlx::query::Query<'static, Postgres, sqlx::postgres::PgArguments> {
        sqlx::query(sql)
            .bind(stream_id)
            .bind(&self.versions)
            .bind(&self.ids)
            .bind(&self.types)
            .bind(&self.schema_versions)
            .bind(&self.payloads)
            .bind(&self.metadata)
            .bind(self.recorded_at)
    }

    fn new(after_version: i64, events: &'a [NewEvent]) -> Self {
        Columns {
            recorded_at: recorded_now(),
            versions: (1..=events.len() as i64)
                .map(|i| after_version + i)
                .collect(),
            ids: events.iter().map(|e| e.event_id).collect(),
            types: events.iter().map(|e| e.event_type.as_str()).collect(),
            schema_versions: events.iter().map(|e| e.schema_version).collect(),
            payloads: events.iter().map(|e| e.payload.clone()).collect(),
            metadata: events
                .iter()
                .map(|e| serde_json::to_value(&e.metadata).unwrap_or_default())
                .collect(),
        }
    }
}

async fn stream_version(conn: &mut PgConnection, stream_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COALESCE(MAX(stream_version), 0)::bigint FROM events WHERE stream_id = $1",
    )
    .bind(stream_id)
    .fetch_one(conn)
    .await
}

/// What an append of `events` after `after_version` did, once its insert succeeded (positions
/// come later, from the sequencer).
fn written(after_version: i64, events: &[NewEvent]) -> AppendOutcome {
    AppendOutcome {
        stream_version: after_version + events.len() as i64,
        event_ids: events.iter().map(|e| e.event_id).collect(),
        positions: Vec::new(),
        already_stored: false,
    }
}

/// The start of every append statement: one place names the columns.
macro_rules! insert_events {
    () => {
        "INSERT INTO events (stream_id, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at) "
    };
}

/// The stream's head is checked in the statement itself: it must be exactly `$2 - 1`.
const INSERT_ONE_CHECKED: &str = concat!(
    insert_events!(),
    "SELECT $1, $2, $3, $4, $5, $6, $7, $8 \
     WHERE (SELECT COALESCE(MAX(stream_version), 0) FROM events WHERE stream_id = $1) = $2 - 1"
);
/// For a version known not to be above the head: only a stale one can fail, and
/// UNIQUE (stream_id, stream_version) refuses it without a lookup of its own.
const INSERT_ONE: &str = concat!(insert_events!(), "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");

// After the statement macros, which it uses too.
mod combine;
mod stamped;
/// A batch, as column arrays (see `Columns`).
macro_rules! insert_many {
    () => {
        concat!(
            insert_events!(),
            "SELECT $1, v, id, t, sv, p, m, $8 FROM UNNEST($2::bigint[], $3::uuid[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[]) \
             AS u(v, id, t, sv, p, m)"
        )
    };
}
const INSERT_MANY: &str = insert_many!();
const INSERT_MANY_CHECKED: &str = concat!(
    insert_many!(),
    " WHERE (SELECT COALESCE(MAX(stream_version), 0) FROM events WHERE stream_id = $1) = $9"
);

pub(crate) async fn append_in(
    conn: &mut PgConnection,
    stream_id: &str,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<AppendOutcome, StoreError> {
    if events.is_empty() {
        return Err(StoreError::EmptyAppend);
    }
    if let Some(version) = expected.known() {
        // The head checked in the insert itself: one round trip, a second only on a conflict.
        if let Some(outcome) = insert_at(&mut *conn, stream_id, version, events, true).await? {
            return Ok(outcome);
        }
        return Err(StoreError::Conflict {
            stream_id: stream_id.to_owned(),
            expected,
            actual: stream_version(conn, stream_id).await?,
        });
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
    let c = Columns::new(current, events);
    // One statement for the whole batch: a concurrent writer of the same stream trips
    // UNIQUE (stream_id, stream_version), which becomes a Conflict.
    c.query(stream_id, INSERT_MANY).execute(&mut *conn).await?;
    Ok(written(current, events))
}

/// Inserts `events` after `version` in one autocommit statement. `checked`: the statement also
/// refuses a `version` above the stream's head (a gap), and returns `None` for it; without it,
/// the caller vouches that `version` is not above the head. Either way a stale `version` (another
/// writer got there first) trips UNIQUE (stream_id, stream_version).
async fn insert_at<'c>(
    conn: impl sqlx::PgExecutor<'c>,
    stream_id: &str,
    version: i64,
    events: &[NewEvent],
    checked: bool,
) -> Result<Option<AppendOutcome>, StoreError> {
    if events.is_empty() {
        return Err(StoreError::EmptyAppend);
    }
    if let [event] = events {
        return insert_one_at(conn, stream_id, version, event, checked).await;
    }
    let c = Columns::new(version, events);
    let query = c.query(
        stream_id,
        if checked {
            INSERT_MANY_CHECKED
        } else {
            INSERT_MANY
        },
    );
    let query = if checked { query.bind(version) } else { query };
    if query.execute(conn).await?.rows_affected() == 0 {
        return Ok(None);
    }
    Ok(Some(written(version, events)))
}

/// `insert_at` for the most common append, one event: plain parameters instead of arrays, less
/// work for the driver and the server alike.
async fn insert_one_at<'c>(
    conn: impl sqlx::PgExecutor<'c>,
    stream_id: &str,
    version: i64,
    event: &NewEvent,
    checked: bool,
) -> Result<Option<AppendOutcome>, StoreError> {
    let inserted = sqlx::query(if checked {
        INSERT_ONE_CHECKED
    } else {
        INSERT_ONE
    })
    .bind(stream_id)
    .bind(version + 1)
    .bind(event.event_id)
    .bind(&event.event_type)
    .bind(event.schema_version)
    .bind(&event.payload)
    .bind(sqlx::types::Json(&event.metadata))
    .bind(recorded_now())
    .execute(conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(None);
    }
    Ok(Some(written(version, std::slice::from_ref(event))))
}

#[async_trait]
impl EventStore for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn db(&self) -> Db {
        Db::Postgres(self.pool.clone())
    }

    fn log_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.clone()
    }

    async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendOutcome, StoreError> {
        if let Some(version) = expected.known() {
            // One autocommit statement, a single round trip. The head check inside it is skipped
            // when this process has already seen the stream at `version` or later (a command
            // handler appends at the version it just read or wrote): then only a stale version
            // can fail, and the unique index refuses that by itself.
            let checked = !self.at_or_below_head(stream_id, version);
            return match self.insert(stream_id, version, events, checked).await {
                Ok(Some(outcome)) => {
                    self.saw_version(stream_id, outcome.stream_version);
                    self.wake.notify_one();
                    Ok(outcome)
                }
                Ok(None) => {
                    let actual =
                        stream_version(&mut *self.pool.acquire().await?, stream_id).await?;
                    self.saw_version(stream_id, actual);
                    let err = StoreError::Conflict {
                        stream_id: stream_id.to_owned(),
                        expected,
                        actual,
                    };
                    crate::handler::after_failed_append(self, stream_id, expected, events, err)
                        .await
                }
                Err(err) => {
                    crate::handler::after_failed_append(self, stream_id, expected, events, err)
                        .await
                }
            };
        }
        let mut tx = self.pool.begin().await?;
        match append_in(&mut tx, stream_id, expected, events).await {
            Ok(outcome) => {
                tx.commit().await?;
                // Stamping happens off the write path, so a writer pays for its own commit only.
                self.wake.notify_one();
                Ok(outcome)
            }
            Err(err) => {
                tx.rollback().await?;
                crate::handler::after_failed_append(self, stream_id, expected, events, err).await
            }
        }
    }

    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError> {
        let wake = self.wake.clone();
        Ok(Box::new(LogTx::new(
            Tx::Pg(self.pool.begin().await?),
            // Stamped at once rather than on the sequencer's next look.
            move || wake.notify_one(),
        )))
    }

    async fn read_stream(
        &self,
        stream_id: &str,
        after_version: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM events e LEFT JOIN event_positions p ON p.seq = e.seq \
             WHERE e.stream_id = $1 AND e.stream_version > $2 ORDER BY e.stream_version"
        ));
        let rows = sqlx::query(sql)
            .bind(stream_id)
            .bind(after_version)
            .fetch_all(&self.pool)
            .await?;
        let events: Vec<RecordedEvent> = rows.iter().map(decode).collect::<Result<_, _>>()?;
        if let Some(last) = events.last() {
            self.saw_version(stream_id, last.stream_version);
        }
        Ok(events)
    }

    async fn read_all(
        &self,
        after_position: i64,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        // Only stamped events are visible here, and stamps are dense: a reader cannot skip one.
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM event_positions p JOIN events e ON e.seq = p.seq \
             WHERE p.position > $1 ORDER BY p.position LIMIT $2"
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
            sqlx::query_scalar("SELECT COALESCE(MAX(position), 0)::bigint FROM event_positions")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn wait_for_positions(
        &self,
        event_ids: &[Uuid],
        timeout: std::time::Duration,
    ) -> Result<Option<Vec<i64>>, StoreError> {
        let _waiting = Waiting::new(&self.waiters);
        self.wake.notify_one();
        let here = |ids: &[Uuid]| self.stamped.all_of(ids);
        crate::wait_until_stamped(self, event_ids, timeout, Some(&here)).await
    }

    async fn positions_of(&self, event_ids: &[Uuid]) -> Result<Vec<Option<i64>>, StoreError> {
        let rows: Vec<(Uuid, Option<i64>)> =
            sqlx::query_as(
                "SELECT e.event_id, p.position FROM events e LEFT JOIN event_positions p ON p.seq = e.seq \
                 WHERE e.event_id = ANY($1)",
            )
                .bind(event_ids)
                .fetch_all(&self.pool)
                .await?;
        Ok(event_ids
            .iter()
            .map(|id| rows.iter().find(|(e, _)| e == id).and_then(|(_, p)| *p))
            .collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1 FROM events LIMIT 1")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
