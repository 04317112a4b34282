//! Whole-store copies: a backup file written from a live store, a restore of one into an empty
//! store, and a move from one store to another (SQLite to PostgreSQL), all through one copier.
//!
//! What is copied is what cannot be rebuilt: the event log, with every event's position, hash
//! and recording time unchanged (so the copy's hash chain is the original's, event for event),
//! and every table beside it that is not a read model (`rm_*`): guest keys and the guest
//! directory, inboxes, outboxes and reactor tasks, calendar tokens and feeds, idempotency
//! records, the payment sandbox, and the checkpoints of reactors (a reactor's checkpoint says
//! which side effects are already queued; a read model's is rebuilt with its tables). Tables
//! are found in the database's catalogue, so a table a later migration adds is copied too.
//!
//! # Consistency
//!
//! A source is read inside one transaction: on SQLite a WAL read transaction, on PostgreSQL a
//! `REPEATABLE READ` one, so the log and the tables are one instant's state, taken while
//! writers go on. On PostgreSQL an event may be committed but not stamped yet (the sequencer
//! stamps a few milliseconds later, or waits for an older transaction still in flight): such
//! events are copied without a position, after the stamped ones, in the order the sequencer
//! would stamp them (`tx_id`, `seq`), and the copier stamps them. Leaving them out would lose
//! an event whose inbox row, written in the same transaction, is in the copy.
//!
//! # The file format (version 1)
//!
//! JSON lines. The first is the [`Header`]; then the events section, a [`Section`] line
//! followed by exactly `count` [`Line`]s (the lines `cabanas export-log` writes, with
//! `position` and `hash` absent for events not stamped yet); then one section per table, each
//! followed by `count` rows as JSON objects (column → value); then `{"section":"end"}`. The
//! counts make a truncated file an error rather than a smaller backup. A backup holds the guest
//! keys, so it is as secret as the database itself.
//!
//! # Writing into a target
//!
//! Events are written in batches, one transaction each, with their stamps: on SQLite as rows of
//! `events`; on PostgreSQL as rows of `events` inserted in position order (so the `(tx_id,
//! seq)` order the sequencer goes on from agrees with the positions) together with their
//! `event_positions` rows in the same transaction. A target whose log is a prefix of the
//! source's (same hash at its head) and whose tables are empty is an interrupted copy: the copy
//! resumes after its head. The tables go in last, in one transaction; a target with rows in
//! them and the source's whole log is a finished copy, and anything else is refused.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use anyhow::{Context, bail, ensure};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::chain::{GENESIS, HashInput, event_hash};
use crate::history::Line;
use crate::sql::Tx;
use crate::{Backend, Db, EventStore, db_fetch};

/// The format version this module writes and reads.
pub const FORMAT: u32 = 1;

/// Events per read and per target transaction.
pub const BATCH: usize = 1000;

/// Tables that are the log itself or its bookkeeping, never copied as rows.
const LOG_TABLES: &[&str] = &["events", "event_positions", "_sqlx_migrations"];

/// Where projections keep their checkpoints; only reactors' rows are copied (see the module).
pub const CHECKPOINTS: &str = "projection_checkpoints";

/// The first line of a backup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// The format version ([`FORMAT`]); the key also marks the file as a backup.
    pub cabanas_backup: u32,
    /// The backend it was taken from (`sqlite` or `postgres`).
    pub source: String,
    pub taken_at: DateTime<Utc>,
    /// Every event in the backup, stamped or not.
    pub events: u64,
    /// The last stamped event: the source's head when the backup was taken.
    pub head_position: i64,
    pub head_hash: String,
}

/// A line that opens a section (or ends the file).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "section", rename_all = "lowercase")]
pub enum Section {
    Events { count: u64 },
    Table { name: String, count: u64 },
    End,
}

/// One table's rows, each a JSON object of column → value.
#[derive(Clone, Debug, PartialEq)]
pub struct TableRows {
    pub name: String,
    pub rows: Vec<Map<String, Value>>,
}

/// What a copy found or did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Events in the source (the backup, or the snapshot of a store).
    pub events: u64,
    /// Events written into the target by this run (fewer when it resumed).
    pub events_written: u64,
    /// The copy's head once every event is stamped.
    pub head_position: i64,
    pub head_hash: String,
    /// Rows per table, as in the source.
    pub tables: BTreeMap<String, u64>,
    /// The target already held the whole copy: nothing was written.
    pub already_complete: bool,
}

/// How a copy runs.
pub struct Options<'a> {
    /// Events per transaction (a resumed copy goes on from the last committed batch).
    pub batch: usize,
    /// Checkpoint rows copied with the tables: the reactors' (their queued effects are in the
    /// copy, and they must not queue those again nor skip the ones still to come).
    pub keep_checkpoints: Vec<String>,
    /// Called after every committed batch with the target's head; an error stops the copy there
    /// (a caller's progress report, or a test's simulated interruption).
    pub progress: Option<&'a mut (dyn FnMut(i64) -> anyhow::Result<()> + Send)>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            batch: BATCH,
            keep_checkpoints: Vec::new(),
            progress: None,
        }
    }
}

/// Events and tables to copy, read in order: `seek`, then `events` until empty, then `tables`.
#[async_trait]
pub trait Source: Send {
    /// The last stamped event's position (events after it, if any, have none yet).
    fn stamped_head(&self) -> i64;
    /// Every event, stamped or not.
    fn total_events(&self) -> u64;
    /// Goes to just after `position` (at most `stamped_head`), returning the stored hash of the
    /// event there ([`GENESIS`] for 0).
    async fn seek(&mut self, position: i64) -> anyhow::Result<String>;
    /// Up to `max` of the next events, as stored (unstamped ones without position or hash);
    /// empty when there are no more.
    async fn events(&mut self, max: usize) -> anyhow::Result<Vec<Line>>;
    /// Every copied table (see the module), once the events are read.
    async fn tables(&mut self) -> anyhow::Result<Vec<TableRows>>;
}

/// The hash chain, walked while copying: checks each stamped event and stamps the others.
struct Chain {
    position: i64,
    hash: String,
}

impl Chain {
    fn next(&mut self, mut line: Line) -> anyhow::Result<Line> {
        let position = self.position + 1;
        if let Some(stored) = line.position {
            ensure!(
                stored == position,
                "expected the event at position {position}, found position {stored}: the copy \
                 is incomplete or out of order"
            );
        }
        let recorded_at = line
            .recorded_at
            .with_context(|| format!("the event at position {position} has no recording time"))?;
        let computed = event_hash(
            &self.hash,
            &HashInput {
                position,
                stream_id: &line.stream_id,
                stream_version: line.stream_version,
                event_id: line.event_id,
                event_type: &line.event_type,
                schema_version: line.schema_version,
                payload: &line.payload,
                metadata: &line.metadata,
                recorded_at_micros: recorded_at.timestamp_micros(),
            },
        );
        if let Some(stored) = &line.hash {
            ensure!(
                *stored == computed,
                "the event at position {position} does not match its hash: the source's chain \
                 is broken there (run cabanas verify on it)"
            );
        }
        line.position = Some(position);
        line.hash = Some(computed.clone());
        self.position = position;
        self.hash = computed;
        Ok(line)
    }
}

// ---------------------------------------------------------------------------------------------
// Reading a live store.

/// A store read in one transaction: every read sees the same instant.
pub struct StoreSource {
    tx: Tx,
    stamped_head: i64,
    head_hash: String,
    total: u64,
    /// The last stamped position returned.
    cursor: i64,
    /// Committed but not stamped yet (PostgreSQL), in stamping order; `None` until read.
    unstamped: Option<std::vec::IntoIter<Line>>,
}

/// A PostgreSQL event row as read here.
type PgEventRow = (
    Option<i64>,
    String,
    i64,
    Uuid,
    String,
    i32,
    Value,
    Value,
    DateTime<Utc>,
    Option<String>,
);
/// A SQLite event row as read here (ids and JSON are text there).
type SqliteEventRow = (
    i64,
    String,
    i64,
    String,
    String,
    i32,
    String,
    String,
    DateTime<Utc>,
    String,
);

fn pg_line(r: PgEventRow) -> Line {
    Line {
        position: r.0,
        stream_id: r.1,
        stream_version: r.2,
        event_id: r.3,
        event_type: r.4,
        schema_version: r.5,
        payload: r.6,
        metadata: r.7,
        recorded_at: Some(r.8),
        hash: r.9,
    }
}

fn sqlite_line(r: SqliteEventRow) -> anyhow::Result<Line> {
    Ok(Line {
        position: Some(r.0),
        stream_id: r.1,
        stream_version: r.2,
        event_id: Uuid::parse_str(&r.3).context("a stored event id")?,
        event_type: r.4,
        schema_version: r.5,
        payload: serde_json::from_str(&r.6).context("a stored payload")?,
        metadata: serde_json::from_str(&r.7).context("stored metadata")?,
        recorded_at: Some(r.8),
        hash: Some(r.9),
    })
}

const PG_STAMPED: &str = "SELECT p.position, e.stream_id, e.stream_version, e.event_id, \
     e.event_type, e.schema_version, e.payload, e.metadata, e.recorded_at, p.hash \
     FROM event_positions p JOIN events e ON e.seq = p.seq \
     WHERE p.position > $1 ORDER BY p.position LIMIT $2";
const PG_UNSTAMPED: &str = "SELECT NULL::bigint, e.stream_id, e.stream_version, e.event_id, \
     e.event_type, e.schema_version, e.payload, e.metadata, e.recorded_at, NULL::text \
     FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_positions p WHERE p.seq = e.seq) \
     ORDER BY e.tx_id, e.seq";
const SQLITE_STAMPED: &str = "SELECT position, stream_id, stream_version, event_id, event_type, \
     schema_version, payload, metadata, recorded_at, hash \
     FROM events WHERE position > $1 ORDER BY position LIMIT $2";

impl StoreSource {
    /// Opens the transaction every later read goes through.
    pub async fn open(store: &dyn EventStore) -> anyhow::Result<StoreSource> {
        let mut tx = match store.db() {
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
                Tx::Pg(tx)
            }
            // A deferred transaction: its first read fixes the WAL snapshot it sees, and it
            // never blocks a writer.
            Db::Sqlite(pool) => Tx::Sqlite(crate::write_gate::WriteTx::reading(&pool).await?),
        };
        let head_sql = match tx.backend() {
            Backend::Postgres => {
                "SELECT position, hash FROM event_positions ORDER BY position DESC LIMIT 1"
            }
            Backend::Sqlite => "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1",
        };
        let head: Option<(i64, String)> =
            crate::tx_fetch!(&mut tx, (i64, String), fetch_optional, head_sql)?;
        let (total,): (i64,) =
            crate::tx_fetch!(&mut tx, (i64,), fetch_one, "SELECT COUNT(*) FROM events")?;
        let (stamped_head, head_hash) = head.unwrap_or((0, GENESIS.to_owned()));
        Ok(StoreSource {
            tx,
            stamped_head,
            head_hash,
            total: u64::try_from(total).unwrap_or_default(),
            cursor: 0,
            unstamped: None,
        })
    }

    /// The source's head as the backup's header gives it.
    pub fn header(&self) -> Header {
        Header {
            cabanas_backup: FORMAT,
            source: match self.tx.backend() {
                Backend::Postgres => "postgres".into(),
                Backend::Sqlite => "sqlite".into(),
            },
            taken_at: Utc::now(),
            events: self.total,
            head_position: self.stamped_head,
            head_hash: self.head_hash.clone(),
        }
    }

    async fn stamped_after(&mut self, after: i64, max: usize) -> anyhow::Result<Vec<Line>> {
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        Ok(match &mut self.tx {
            Tx::Pg(t) => sqlx::query_as::<_, PgEventRow>(PG_STAMPED)
                .bind(after)
                .bind(limit)
                .fetch_all(&mut **t)
                .await?
                .into_iter()
                .map(pg_line)
                .collect(),
            Tx::Sqlite(t) => sqlx::query_as::<_, SqliteEventRow>(SQLITE_STAMPED)
                .bind(after)
                .bind(limit)
                .fetch_all(&mut **t)
                .await?
                .into_iter()
                .map(sqlite_line)
                .collect::<anyhow::Result<_>>()?,
        })
    }

    async fn unstamped(&mut self) -> anyhow::Result<Vec<Line>> {
        Ok(match &mut self.tx {
            Tx::Pg(t) => sqlx::query_as::<_, PgEventRow>(PG_UNSTAMPED)
                .fetch_all(&mut **t)
                .await?
                .into_iter()
                .map(pg_line)
                .collect(),
            // Every committed event has its position on SQLite.
            Tx::Sqlite(_) => Vec::new(),
        })
    }

    /// The tables this module copies (see the module), found in the catalogue.
    async fn table_names(&mut self) -> anyhow::Result<Vec<String>> {
        let sql = match self.tx.backend() {
            Backend::Postgres => {
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
            }
            Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1",
        };
        let names: Vec<(String,)> = crate::tx_fetch!(&mut self.tx, (String,), fetch_all, sql)?;
        Ok(names
            .into_iter()
            .map(|(n,)| n)
            .filter(|n| copied(n))
            .collect())
    }
}

/// Whether rows of this table are copied: everything but the log and the read models.
pub fn copied(table: &str) -> bool {
    !LOG_TABLES.contains(&table) && !table.starts_with("rm_") && !table.starts_with("sqlite_")
}

/// `"name"`, for a name read from the catalogue.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every row of `table` as JSON objects, in a stable order.
async fn rows_in(tx: &mut Tx, table: &str) -> anyhow::Result<Vec<Map<String, Value>>> {
    let sql = match tx.backend() {
        Backend::Postgres => format!(
            "SELECT row_to_json(t)::text FROM {} t ORDER BY 1",
            quoted(table)
        ),
        Backend::Sqlite => {
            let columns: Vec<(String,)> = crate::tx_fetch!(
                &mut *tx,
                (String,),
                fetch_all,
                "SELECT name FROM pragma_table_info($1) ORDER BY cid".to_owned(),
                table
            )?;
            let pairs: Vec<String> = columns
                .iter()
                .map(|(c,)| format!("'{}', {}", c.replace('\'', "''"), quoted(c)))
                .collect();
            format!(
                "SELECT json_object({}) FROM {} ORDER BY 1",
                pairs.join(", "),
                quoted(table)
            )
        }
    };
    let raw: Vec<(String,)> = crate::tx_fetch!(&mut *tx, (String,), fetch_all, sql)?;
    raw.into_iter()
        .map(|(text,)| {
            serde_json::from_str(&text).with_context(|| format!("a row of {table} as JSON"))
        })
        .collect()
}

#[async_trait]
impl Source for StoreSource {
    fn stamped_head(&self) -> i64 {
        self.stamped_head
    }

    fn total_events(&self) -> u64 {
        self.total
    }

    async fn seek(&mut self, position: i64) -> anyhow::Result<String> {
        ensure!(
            (0..=self.stamped_head).contains(&position),
            "position {position} is not in the source's stamped log"
        );
        self.cursor = position;
        if position == 0 {
            return Ok(GENESIS.to_owned());
        }
        let found = self.stamped_after(position - 1, 1).await?;
        found
            .into_iter()
            .next()
            .and_then(|l| l.hash)
            .with_context(|| format!("the source has no event at position {position}"))
    }

    async fn events(&mut self, max: usize) -> anyhow::Result<Vec<Line>> {
        if self.cursor < self.stamped_head {
            let batch = self.stamped_after(self.cursor, max).await?;
            if let Some(p) = batch.last().and_then(|l| l.position) {
                self.cursor = p;
                return Ok(batch);
            }
        }
        if self.unstamped.is_none() {
            self.unstamped = Some(self.unstamped().await?.into_iter());
        }
        Ok(self
            .unstamped
            .as_mut()
            .map(|rest| rest.by_ref().take(max).collect())
            .unwrap_or_default())
    }

    async fn tables(&mut self) -> anyhow::Result<Vec<TableRows>> {
        let mut out = Vec::new();
        for name in self.table_names().await? {
            let rows = rows_in(&mut self.tx, &name).await?;
            out.push(TableRows { name, rows });
        }
        Ok(out)
    }
}

/// Writes a backup of `store` to `out`, read in one transaction while writers go on.
pub async fn write(store: &dyn EventStore, out: &mut impl Write) -> anyhow::Result<Summary> {
    let mut source = StoreSource::open(store).await?;
    let header = source.header();
    write_line(out, &header)?;
    write_line(
        out,
        &Section::Events {
            count: header.events,
        },
    )?;
    let mut summary = Summary {
        events: header.events,
        head_position: header.head_position,
        head_hash: header.head_hash.clone(),
        ..Summary::default()
    };
    let mut written = 0u64;
    loop {
        let batch = source.events(BATCH).await?;
        if batch.is_empty() {
            break;
        }
        for line in &batch {
            write_line(out, line)?;
        }
        written += batch.len() as u64;
    }
    ensure!(
        written == header.events,
        "read {written} events of the {} the snapshot counted",
        header.events
    );
    for table in source.tables().await? {
        let count = table.rows.len() as u64;
        write_line(
            out,
            &Section::Table {
                name: table.name.clone(),
                count,
            },
        )?;
        for row in &table.rows {
            write_line(out, row)?;
        }
        summary.tables.insert(table.name, count);
    }
    write_line(out, &Section::End)?;
    out.flush()?;
    Ok(summary)
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reading a backup file.

/// A backup file, read line by line.
pub struct FileSource<R> {
    lines: std::io::Lines<R>,
    line_no: usize,
    header: Header,
    /// Event lines not read yet.
    events_left: u64,
    /// The stamped head as checked by [`check`].
    checked: Checked,
}

/// What [`check`] found in a whole file.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    pub header: Header,
    /// The head once every event is stamped (past the header's when some were not).
    pub head_position: i64,
    pub head_hash: String,
    pub tables: BTreeMap<String, u64>,
}

impl<R: BufRead> FileSource<R> {
    fn new(reader: R) -> anyhow::Result<FileSource<R>> {
        let mut lines = reader.lines();
        let first = lines
            .next()
            .context("the file is empty, not a backup")?
            .context("reading line 1")?;
        let header: Header = serde_json::from_str(&first)
            .context("line 1 is not a cabanas backup header (was it written by cabanas backup?)")?;
        ensure!(
            header.cabanas_backup == FORMAT,
            "backup format {} is not the one this build reads ({FORMAT})",
            header.cabanas_backup
        );
        let mut source = FileSource {
            lines,
            line_no: 1,
            checked: Checked {
                header: header.clone(),
                head_position: 0,
                head_hash: GENESIS.to_owned(),
                tables: BTreeMap::new(),
            },
            header,
            events_left: 0,
        };
        match source.next::<Section>()? {
            Section::Events { count } => {
                ensure!(
                    count == source.header.events,
                    "the events section holds {count} events, the header says {}",
                    source.header.events
                );
                source.events_left = count;
            }
            other => bail!("line 2: expected the events section, found {other:?}"),
        }
        Ok(source)
    }

    fn next<T: serde::de::DeserializeOwned>(&mut self) -> anyhow::Result<T> {
        loop {
            self.line_no += 1;
            let n = self.line_no;
            let line = self
                .lines
                .next()
                .with_context(|| format!("the file ends at line {n}: the backup is truncated"))?
                .with_context(|| format!("reading line {n}"))?;
            if line.trim().is_empty() {
                continue;
            }
            return serde_json::from_str(&line).with_context(|| format!("line {n}"));
        }
    }

    fn read_tables(&mut self) -> anyhow::Result<Vec<TableRows>> {
        ensure!(self.events_left == 0, "tables read before the events");
        let mut out = Vec::new();
        loop {
            match self.next::<Section>()? {
                Section::Table { name, count } => {
                    let rows = (0..count)
                        .map(|_| self.next::<Map<String, Value>>())
                        .collect::<anyhow::Result<_>>()?;
                    out.push(TableRows { name, rows });
                }
                Section::End => break,
                Section::Events { .. } => bail!("line {}: a second events section", self.line_no),
            }
        }
        for rest in self.lines.by_ref() {
            ensure!(rest?.trim().is_empty(), "lines after the end of the backup");
        }
        Ok(out)
    }
}

/// Reads a whole backup file and checks it without writing anything: its structure and counts,
/// every event's position and hash (the chain from the first event on), and that the stamped
/// events end at the head the header names. A restore runs this first, so that a truncated or
/// altered file is refused before the target is touched.
pub fn check<R: BufRead>(reader: R) -> anyhow::Result<Checked> {
    let mut file = FileSource::new(reader)?;
    let mut chain = Chain {
        position: 0,
        hash: GENESIS.to_owned(),
    };
    let mut unstamped = false;
    while file.events_left > 0 {
        let line: Line = file.next()?;
        file.events_left -= 1;
        let stamped = line.position.is_some();
        ensure!(
            !(stamped && unstamped),
            "line {}: a stamped event after unstamped ones",
            file.line_no
        );
        if !stamped && !unstamped {
            unstamped = true;
            ensure_head(&chain, &file.header)?;
        }
        chain
            .next(line)
            .with_context(|| format!("line {}", file.line_no))?;
    }
    if !unstamped {
        ensure_head(&chain, &file.header)?;
    }
    let tables = file
        .read_tables()?
        .into_iter()
        .map(|t| (t.name, t.rows.len() as u64))
        .collect();
    Ok(Checked {
        header: file.header,
        head_position: chain.position,
        head_hash: chain.hash,
        tables,
    })
}

fn ensure_head(chain: &Chain, header: &Header) -> anyhow::Result<()> {
    ensure!(
        chain.position == header.head_position && chain.hash == header.head_hash,
        "the stamped events end at position {} ({}), the header says {} ({})",
        chain.position,
        chain.hash,
        header.head_position,
        header.head_hash
    );
    Ok(())
}

impl<R: BufRead> FileSource<R> {
    /// A file [`check`] accepted (the copier relies on its counts).
    pub fn open(reader: R, checked: Checked) -> anyhow::Result<FileSource<R>> {
        let mut source = FileSource::new(reader)?;
        ensure!(
            source.header == checked.header,
            "the file changed since it was checked"
        );
        source.checked = checked;
        Ok(source)
    }

    pub fn checked(&self) -> &Checked {
        &self.checked
    }
}

#[async_trait]
impl<R: BufRead + Send> Source for FileSource<R> {
    fn stamped_head(&self) -> i64 {
        self.header.head_position
    }

    fn total_events(&self) -> u64 {
        self.header.events
    }

    async fn seek(&mut self, position: i64) -> anyhow::Result<String> {
        ensure!(
            (0..=self.header.head_position).contains(&position),
            "position {position} is not in the backup's stamped log"
        );
        let mut hash = GENESIS.to_owned();
        for _ in 0..position {
            let line: Line = self.next()?;
            self.events_left -= 1;
            hash = line.hash.context("a stamped event without its hash")?;
        }
        Ok(hash)
    }

    async fn events(&mut self, max: usize) -> anyhow::Result<Vec<Line>> {
        let n = (max as u64).min(self.events_left);
        let mut out = Vec::with_capacity(n as usize);
        for _ in 0..n {
            out.push(self.next()?);
            self.events_left -= 1;
        }
        Ok(out)
    }

    async fn tables(&mut self) -> anyhow::Result<Vec<TableRows>> {
        self.read_tables()
    }
}

// ---------------------------------------------------------------------------------------------
// Writing into a target.

/// Copies `source` into `target` (see the module for what a target may already hold), then
/// checks the target's whole chain. The read models are the caller's to rebuild. Long on
/// purpose: the copy's steps in order (refuse another history, the log in batches, the tables
/// that are not rebuilt, the chain), each a short block.
pub async fn copy(
    source: &mut dyn Source,
    target: &dyn EventStore,
    mut options: Options<'_>,
) -> anyhow::Result<Summary> {
    let db = target.db();
    let batch_size = options.batch.max(1);
    let (target_head, target_hash) = head_of(target).await?;
    let names = target_tables(&db).await?;
    let mut occupied = Vec::new();
    for name in names.iter().filter(|n| *n != CHECKPOINTS) {
        if has_rows(&db, name).await? {
            occupied.push(name.clone());
        }
    }
    // With rows beside the log, the target is either a finished copy of this source (then only
    // checked) or something else (refused); only an empty one, or an interrupted copy, is written.
    let write = occupied.is_empty();
    let start = target_head.min(source.stamped_head());
    let mut chain = Chain {
        position: start,
        hash: source.seek(start).await?,
    };
    let not_a_prefix = || {
        anyhow::anyhow!(
            "the target is not empty: its log (head {target_head}) is not the start of this \
             source's{}",
            if write {
                String::new()
            } else {
                format!(", and {} hold rows", occupied.join(", "))
            }
        )
    };
    if chain.position == target_head && chain.hash != target_hash {
        return Err(not_a_prefix());
    }
    let mut summary = Summary {
        events: source.total_events(),
        ..Summary::default()
    };
    loop {
        let lines = source.events(batch_size).await?;
        if lines.is_empty() {
            break;
        }
        let mut batch = Vec::with_capacity(lines.len());
        for line in lines {
            let line = chain.next(line)?;
            if chain.position < target_head {
                continue;
            }
            if chain.position == target_head {
                if chain.hash != target_hash {
                    return Err(not_a_prefix());
                }
                continue;
            }
            if !write {
                return Err(not_a_prefix());
            }
            batch.push(line);
        }
        if batch.is_empty() {
            continue;
        }
        append(&db, &batch).await?;
        summary.events_written += batch.len() as u64;
        if let Some(progress) = options.progress.as_mut() {
            progress(chain.position)?;
        }
    }
    if chain.position < target_head {
        return Err(not_a_prefix());
    }
    let tables = source.tables().await?;
    summary.tables = tables
        .iter()
        .map(|t| (t.name.clone(), t.rows.len() as u64))
        .collect();
    if write {
        load_tables(&db, &tables, &options.keep_checkpoints).await?;
    } else {
        summary.already_complete = true;
    }
    let report = target.verify_chain().await?;
    if let Some(broken) = &report.first_break {
        bail!(
            "the copy's hash chain breaks at position {}: {}",
            broken.position,
            broken.reason
        );
    }
    ensure!(
        report.head_position == chain.position && report.head_hash == chain.hash,
        "the copy's head is {} ({}), the source's {} ({})",
        report.head_position,
        report.head_hash,
        chain.position,
        chain.hash
    );
    summary.head_position = chain.position;
    summary.head_hash = chain.hash;
    Ok(summary)
}

/// The target's head position and hash; refused while it has events not stamped yet (a writer
/// is at work on it).
async fn head_of(store: &dyn EventStore) -> anyhow::Result<(i64, String)> {
    let head = store.head_position().await?;
    let (count,): (i64,) = db_fetch!(
        &store.db(),
        (i64,),
        fetch_one,
        "SELECT COUNT(*) FROM events".to_owned()
    )?;
    ensure!(
        count == head,
        "the target holds {count} events of which {head} have a position: something is writing \
         to it (stop it first)"
    );
    if head == 0 {
        return Ok((0, GENESIS.to_owned()));
    }
    let last = store.read_all(head - 1, 1).await?;
    let hash = last
        .into_iter()
        .next()
        .and_then(|e| e.hash)
        .context("the target's head event has no hash")?;
    Ok((head, hash))
}

async fn target_tables(db: &Db) -> anyhow::Result<Vec<String>> {
    let names: Vec<(String,)> = match db {
        Db::Postgres(p) => {
            sqlx::query_as(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
            )
            .fetch_all(p)
            .await?
        }
        Db::Sqlite(p) => {
            sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
                .fetch_all(p)
                .await?
        }
    };
    Ok(names
        .into_iter()
        .map(|(n,)| n)
        .filter(|n| copied(n))
        .collect())
}

async fn has_rows(db: &Db, table: &str) -> anyhow::Result<bool> {
    let row: Option<(i32,)> = db_fetch!(
        db,
        (i32,),
        fetch_optional,
        format!("SELECT 1 FROM {} LIMIT 1", quoted(table))
    )?;
    Ok(row.is_some())
}

/// The rows of every copied table of a store, read now (for comparisons and checks).
pub async fn table_rows(store: &dyn EventStore) -> anyhow::Result<Vec<TableRows>> {
    StoreSource::open(store).await?.tables().await
}

/// Writes stamped events in one transaction.
async fn append(db: &Db, lines: &[Line]) -> anyhow::Result<()> {
    match db {
        Db::Sqlite(pool) => {
            let mut tx = crate::write_gate::WriteTx::begin(pool).await?;
            for l in lines {
                sqlx::query(
                    "INSERT INTO events (position, stream_id, stream_version, event_id, \
                     event_type, schema_version, payload, metadata, recorded_at, hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(l.position)
                .bind(&l.stream_id)
                .bind(l.stream_version)
                .bind(l.event_id.to_string())
                .bind(&l.event_type)
                .bind(l.schema_version)
                .bind(l.payload.to_string())
                .bind(l.metadata.to_string())
                .bind(l.recorded_at)
                .bind(&l.hash)
                .execute(&mut *tx)
                .await
                .with_context(|| format!("writing the event at position {:?}", l.position))?;
            }
            tx.commit().await?;
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            // The events go in in position order, so their identity `seq` grows with the
            // position, and their stamps in the same transaction: the sequencer finds nothing to
            // stamp, and goes on from the last of them in (tx_id, seq) order.
            sqlx::query(
                "WITH input AS ( \
                   SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::uuid[], $4::text[], \
                     $5::int[], $6::jsonb[], $7::jsonb[], $8::timestamptz[], $9::bigint[], \
                     $10::text[]) WITH ORDINALITY \
                   AS u(stream_id, stream_version, event_id, event_type, schema_version, \
                     payload, metadata, recorded_at, position, hash, n)), \
                 inserted AS ( \
                   INSERT INTO events (stream_id, stream_version, event_id, event_type, \
                     schema_version, payload, metadata, recorded_at) \
                   SELECT stream_id, stream_version, event_id, event_type, schema_version, \
                     payload, metadata, recorded_at FROM input ORDER BY n \
                   RETURNING seq, event_id) \
                 INSERT INTO event_positions (position, seq, hash) \
                 SELECT input.position, inserted.seq, input.hash \
                 FROM inserted JOIN input ON input.event_id = inserted.event_id",
            )
            .bind(
                lines
                    .iter()
                    .map(|l| l.stream_id.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(lines.iter().map(|l| l.stream_version).collect::<Vec<_>>())
            .bind(lines.iter().map(|l| l.event_id).collect::<Vec<_>>())
            .bind(
                lines
                    .iter()
                    .map(|l| l.event_type.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(lines.iter().map(|l| l.schema_version).collect::<Vec<_>>())
            .bind(lines.iter().map(|l| l.payload.clone()).collect::<Vec<_>>())
            .bind(lines.iter().map(|l| l.metadata.clone()).collect::<Vec<_>>())
            .bind(lines.iter().map(|l| l.recorded_at).collect::<Vec<_>>())
            .bind(lines.iter().map(|l| l.position).collect::<Vec<_>>())
            .bind(lines.iter().map(|l| l.hash.clone()).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .context("writing a batch of events")?;
            // The order the sequencer relies on, checked rather than assumed: along the
            // positions of this batch (and the one before it), `seq` only grows.
            let first = lines.first().and_then(|l| l.position).unwrap_or(1);
            let last = lines.last().and_then(|l| l.position).unwrap_or(first);
            let (out_of_order,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM (SELECT e.seq, lag(e.seq) OVER (ORDER BY p.position) AS prev \
                 FROM event_positions p JOIN events e ON e.seq = p.seq \
                 WHERE p.position BETWEEN $1 AND $2) x WHERE x.prev >= x.seq",
            )
            .bind(first - 1)
            .bind(last)
            .fetch_one(&mut *tx)
            .await?;
            ensure!(
                out_of_order == 0,
                "the events were stored out of position order"
            );
            tx.commit().await?;
        }
    }
    Ok(())
}

/// Writes every table's rows, and the kept checkpoints, in one transaction.
async fn load_tables(db: &Db, tables: &[TableRows], keep: &[String]) -> anyhow::Result<()> {
    let mut tx = Tx::begin_durable(db).await?;
    for table in tables {
        if table.name == CHECKPOINTS {
            for row in &table.rows {
                let name = row.get("name").and_then(Value::as_str).unwrap_or_default();
                if !keep.iter().any(|k| k == name) {
                    continue;
                }
                let int = |c: &str| row.get(c).and_then(Value::as_i64).unwrap_or_default();
                crate::exec!(
                    &mut tx,
                    "INSERT INTO projection_checkpoints (name, position, schema_version, updated_at_ms) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET \
                     position = excluded.position, schema_version = excluded.schema_version, \
                     updated_at_ms = excluded.updated_at_ms"
                        .to_owned(),
                    name,
                    int("position"),
                    i32::try_from(int("schema_version")).unwrap_or_default(),
                    int("updated_at_ms")
                )?;
            }
            continue;
        }
        for chunk in table.rows.chunks(5000) {
            let rows = Value::Array(chunk.iter().cloned().map(Value::Object).collect());
            let written = match &mut tx {
                // Each JSON value is cast to its column's type by the server.
                Tx::Pg(t) => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {0} SELECT * FROM jsonb_populate_recordset(NULL::{0}, $1)",
                    quoted(&table.name)
                )))
                .bind(rows)
                .execute(&mut **t)
                .await
                .map(|r| r.rows_affected()),
                Tx::Sqlite(t) => {
                    let columns: Vec<(String,)> =
                        sqlx::query_as("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                            .bind(&table.name)
                            .fetch_all(&mut **t)
                            .await?;
                    let names: Vec<String> = columns.iter().map(|(c,)| quoted(c)).collect();
                    let values: Vec<String> = columns
                        .iter()
                        .map(|(c,)| {
                            format!("json_extract(value, '$.\"{}\"')", c.replace('\'', "''"))
                        })
                        .collect();
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO {} ({}) SELECT {} FROM json_each($1)",
                        quoted(&table.name),
                        names.join(", "),
                        values.join(", ")
                    )))
                    .bind(rows.to_string())
                    .execute(&mut **t)
                    .await
                    .map(|r| r.rows_affected())
                }
            }
            .with_context(|| format!("writing the rows of {}", table.name))?;
            ensure!(
                written == chunk.len() as u64,
                "{} of {} rows of {} written",
                written,
                chunk.len(),
                table.name
            );
        }
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test assertions.
    use super::*;

    #[test]
    fn the_log_and_the_read_models_are_not_copied_as_rows() {
        for table in [
            "events",
            "event_positions",
            "_sqlx_migrations",
            "rm_stays",
            "sqlite_stat1",
        ] {
            assert!(!copied(table), "{table}");
        }
        for table in ["guest_keys", "wa_inbox", "reactor_tasks", CHECKPOINTS] {
            assert!(copied(table), "{table}");
        }
    }

    #[test]
    fn a_truncated_backup_is_refused() {
        let header = Header {
            cabanas_backup: FORMAT,
            source: "sqlite".into(),
            taken_at: Utc::now(),
            events: 0,
            head_position: 0,
            head_hash: GENESIS.into(),
        };
        let mut text = serde_json::to_string(&header).unwrap() + "\n";
        text += "{\"section\":\"events\",\"count\":0}\n";
        text += "{\"section\":\"table\",\"name\":\"guest_keys\",\"count\":2}\n";
        text += "{\"guest_id\":\"guest-1\",\"key_hex\":\"00\",\"created_at_ms\":1}\n";
        let err = check(text.as_bytes()).unwrap_err();
        assert!(format!("{err:#}").contains("truncated"), "{err:#}");
        text += "{\"guest_id\":\"guest-2\",\"key_hex\":\"00\",\"created_at_ms\":1}\n";
        assert!(format!("{:#}", check(text.as_bytes()).unwrap_err()).contains("truncated"));
        text += "{\"section\":\"end\"}\n";
        let checked = check(text.as_bytes()).unwrap();
        assert_eq!(checked.tables.get("guest_keys"), Some(&2));
    }
}
