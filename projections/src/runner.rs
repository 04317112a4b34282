//! Runs projections: catch-up from each checkpoint, then a live tail woken by the store (local
//! commits), PostgreSQL NOTIFY (other instances' commits), and whatever else calls
//! [`Runner::wake`] (Redis pub/sub); a slow poll covers a missed wake-up.
//!
//! On PostgreSQL one runner per projection is active across instances: the lease is a
//! session-level advisory lock held on a dedicated connection. Correctness does not depend on
//! the lease: the checkpoint is re-read under a row lock inside each batch's transaction, so a
//! second runner only wastes work, never applies an event twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use eventstore::{Backend, Db, EventStore};
use serde::Serialize;
use tokio::sync::{Notify, watch};

use crate::lease::Lease;
use crate::sql::{LIVE, NEXT, Names, Tx, ddl};
use crate::{
    Applied, Batch, Decoded, Projection, ProjectionError, db_fetch, exec, for_update, tx_fetch,
};

/// Events applied per transaction.
const BATCH: i64 = 2000;
/// A fresh read model facing a log longer than this is filled before its PostgreSQL-only
/// guards (the exclusion constraint) are added: building that index in bulk at the end is far
/// cheaper than maintaining it row by row, and the guard is an alarm, not a control.
const BULK_FILL: i64 = 10_000;
/// Fallback poll when no wake-up arrives.
const IDLE_POLL: Duration = Duration::from_millis(500);

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ProjectionStatus {
    pub name: String,
    pub position: i64,
    pub behind_events: i64,
    pub behind_seconds: f64,
}

pub struct Runner {
    store: Arc<dyn EventStore>,
    db: Db,
    projections: Vec<Arc<dyn Projection>>,
    wake: Arc<Notify>,
    /// Bumped after every batch this process commits, for read-your-writes waiters.
    progress: watch::Sender<u64>,
    /// Live projections created for a bulk fill whose PostgreSQL guards are still to be added.
    pending_guards: std::sync::Mutex<Vec<&'static str>>,
}

impl Runner {
    pub fn new(store: Arc<dyn EventStore>, projections: Vec<Arc<dyn Projection>>) -> Arc<Runner> {
        Arc::new(Runner {
            db: store.db(),
            store,
            projections,
            wake: Arc::new(Notify::new()),
            progress: watch::Sender::new(0),
            pending_guards: std::sync::Mutex::new(Vec::new()),
        })
    }

    pub fn projections(&self) -> &[Arc<dyn Projection>] {
        &self.projections
    }

    /// Wakes the live tail: new events may be visible.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn find(&self, name: &str) -> Result<&Arc<dyn Projection>, ProjectionError> {
        self.projections
            .iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| ProjectionError::Unknown(name.to_owned()))
    }

    /// Creates each projection's tables if missing, and recreates them empty (checkpoint 0) when
    /// their schema version changed.
    pub async fn ensure_schema(&self) -> Result<(), ProjectionError> {
        for p in &self.projections {
            let mut tx = Tx::begin(&self.db).await?;
            let backend = tx.backend();
            exec!(
                &mut tx,
                "INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING"
                    .to_owned(),
                p.name()
            )?;
            let (version,): (i32,) = tx_fetch!(
                &mut tx,
                (i32,),
                fetch_one,
                format!(
                    "SELECT schema_version FROM projection_checkpoints WHERE name = $1{}",
                    for_update(backend)
                ),
                p.name()
            )?;
            if p.starts_at_head() {
                if version != p.schema_version() {
                    exec!(
                        &mut tx,
                        "UPDATE projection_checkpoints SET position = $2, schema_version = $3 WHERE name = $1"
                            .to_owned(),
                        p.name(),
                        self.store.head_position().await?,
                        p.schema_version()
                    )?;
                }
                tx.commit().await?;
                continue;
            }
            let exists = match p.tables().first() {
                Some(table) => table_exists(&mut tx, &LIVE.sql(table)).await?,
                None => true,
            };
            if version != p.schema_version() || !exists {
                tracing::info!(projection = p.name(), "creating read-model tables");
                drop_tables(&mut tx, p.as_ref(), LIVE).await?;
                let bulk = self.store.head_position().await? > BULK_FILL;
                create_tables(&mut tx, p.as_ref(), LIVE, "0", !bulk).await?;
                if bulk && !p.pg_ddl().is_empty() && backend == Backend::Postgres {
                    self.pending(|v| v.push(p.name()));
                }
                exec!(
                    &mut tx,
                    "UPDATE projection_checkpoints SET position = 0, schema_version = $2 WHERE name = $1"
                        .to_owned(),
                    p.name(),
                    p.schema_version()
                )?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    async fn step_into(
        &self,
        p: &dyn Projection,
        names: Names,
        checkpoint: &str,
    ) -> Result<usize, ProjectionError> {
        let from = self.checkpoint(checkpoint).await?;
        let events = self.store.read_all(from, BATCH).await?;
        if events.is_empty() {
            return Ok(0);
        }
        let events = crate::prepare(events)?;
        let mut tx = Tx::begin(&self.db).await?;
        let applied = apply_in(&mut tx, p, names, checkpoint, &events).await?;
        tx.commit().await?;
        if names == LIVE {
            self.progress.send_modify(|n| *n += 1);
        }
        Ok(applied)
    }

    /// One batch for several projections at once: the log is read and decoded once, then each
    /// projection applies it in its own transaction (one failing does not hold back the others).
    pub async fn step_many(&self, ps: &[&dyn Projection]) -> Result<usize, ProjectionError> {
        if ps.is_empty() {
            return Ok(0);
        }
        let from = self.lowest_checkpoint(ps).await?;
        let events = self.read_batch(from).await?;
        Ok(self.apply_batch(ps, &events).await?.0)
    }

    /// The lowest checkpoint of `ps` (0 for one not started), in one query: the live tail asks
    /// before every batch, and a query per projection was most of an idle pass's work.
    async fn lowest_checkpoint(&self, ps: &[&dyn Projection]) -> Result<i64, ProjectionError> {
        let rows: Vec<(String, i64)> = db_fetch!(
            &self.db,
            (String, i64),
            fetch_all,
            "SELECT name, position FROM projection_checkpoints".to_owned()
        )?;
        let at = |name: &str| rows.iter().find(|(n, _)| n == name).map_or(0, |(_, p)| *p);
        Ok(ps.iter().map(|p| at(p.name())).min().unwrap_or(i64::MAX))
    }

    async fn read_batch(&self, from: i64) -> Result<Vec<Applied>, ProjectionError> {
        crate::prepare(self.store.read_all(from, BATCH).await?)
    }

    /// Applies a batch to each projection; how many were applied, and whether every projection
    /// took it.
    async fn apply_batch(
        &self,
        ps: &[&dyn Projection],
        events: &[Applied],
    ) -> Result<(usize, bool), ProjectionError> {
        if events.is_empty() {
            return Ok((0, true));
        }
        // A read model with nothing to follow in the batch (a guest's dialogue moving, say) is
        // not given a transaction of its own: its checkpoint moves on with the others', in one
        // statement. Under load that is most read models for a third of the batches.
        let (busy, idle): (Vec<&dyn Projection>, Vec<&dyn Projection>) = ps
            .iter()
            .partition(|p| events.iter().any(|a| follows(**p, a)));
        let skipped = self.move_on(&idle, events).await?;
        // On PostgreSQL the projections write through separate connections at the same time
        // (the server does the work, in parallel); SQLite has one writer, so they take turns.
        let results: Vec<Result<usize, ProjectionError>> = match self.db {
            Db::Postgres(_) => {
                futures_util::future::join_all(busy.iter().map(|p| self.apply_live(*p, events)))
                    .await
            }
            Db::Sqlite(_) => {
                let mut out = Vec::with_capacity(busy.len());
                for p in &busy {
                    out.push(self.apply_live(*p, events).await);
                }
                out
            }
        };
        let mut applied = skipped;
        let mut failure = None;
        for (p, result) in busy.iter().zip(results) {
            match result {
                Ok(n) => applied += n,
                Err(err) => {
                    tracing::error!(projection = p.name(), error = %err, "projection batch failed");
                    failure = Some(err);
                }
            }
        }
        self.progress.send_modify(|n| *n += 1);
        match failure {
            Some(err) if applied == 0 => Err(err),
            other => Ok((applied, other.is_none())),
        }
    }

    /// Moves the checkpoints of `idle` past `events` (never back), in one statement; how many
    /// events that passes over.
    async fn move_on(
        &self,
        idle: &[&dyn Projection],
        events: &[Applied],
    ) -> Result<usize, ProjectionError> {
        let Some(last) = events.last().and_then(|a| a.event.position) else {
            return Ok(0);
        };
        if idle.is_empty() {
            return Ok(0);
        }
        // The names are the code's own; each is bound all the same.
        let slots: Vec<String> = (0..idle.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "UPDATE projection_checkpoints SET position = $1, updated_at_ms = $2 \
             WHERE position < $1 AND name IN ({})",
            slots.join(", ")
        );
        let now = Utc::now().timestamp_millis();
        let moved = match &self.db {
            Db::Postgres(pool) => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(last).bind(now);
                for p in idle {
                    q = q.bind(p.name());
                }
                q.execute(pool).await?.rows_affected()
            }
            Db::Sqlite(pool) => {
                // A write: it takes its turn rather than meet SQLite's busy handler.
                let _turn = eventstore::write_gate::turn(pool).await?;
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(last).bind(now);
                for p in idle {
                    q = q.bind(p.name());
                }
                q.execute(pool).await?.rows_affected()
            }
        };
        Ok(if moved > 0 { events.len() } else { 0 })
    }

    async fn apply_live(
        &self,
        p: &dyn Projection,
        events: &[Applied],
    ) -> Result<usize, ProjectionError> {
        let mut tx = Tx::begin(&self.db).await?;
        let n = apply_in(&mut tx, p, LIVE, p.name(), events).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Applies everything visible now to every projection (tests, rebuilds, start-up).
    pub async fn catch_up(&self) -> Result<(), ProjectionError> {
        let all: Vec<&dyn Projection> = self.projections.iter().map(|p| p.as_ref()).collect();
        if let Db::Sqlite(_) = self.db {
            // Reading ahead would only take turns with applying for the same two cores here.
            while self.step_many(&all).await? > 0 {}
            return self.add_pending_guards().await;
        }
        // On PostgreSQL the next batch is read and decoded while this one is applied: reading is
        // a good part of a replay's time, and the server and this process can do both at once.
        let mut events = self.read_batch(self.lowest_checkpoint(&all).await?).await?;
        while let Some(last) = events.last().and_then(|a| a.event.position) {
            let (applied, next) =
                tokio::join!(self.apply_batch(&all, &events), self.read_batch(last));
            let (_, everyone) = applied?;
            if !everyone {
                // A projection is behind the others now: go on one batch at a time from the
                // lowest checkpoint, as the live tail does.
                while self.step_many(&all).await? > 0 {}
                break;
            }
            events = next?;
        }
        self.add_pending_guards().await
    }

    fn pending<T>(&self, f: impl FnOnce(&mut Vec<&'static str>) -> T) -> T {
        match self.pending_guards.lock() {
            Ok(mut v) => f(&mut v),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Adds the guards of projections that were bulk-filled, once they have caught up.
    async fn add_pending_guards(&self) -> Result<(), ProjectionError> {
        let names = self.pending(std::mem::take);
        for name in names {
            let p = self.find(name)?.clone();
            let result = async {
                let mut tx = Tx::begin(&self.db).await?;
                for statement in p.pg_ddl() {
                    exec!(&mut tx, ddl(statement, Backend::Postgres, LIVE, "0"))?;
                }
                tx.commit().await
            }
            .await;
            if let Err(err) = result {
                self.pending(|v| v.push(name));
                return Err(err.into());
            }
            tracing::info!(
                projection = name,
                "read-model guards added after the bulk fill"
            );
        }
        Ok(())
    }

    /// A signal each time a batch is applied here (another instance's progress is not seen:
    /// poll [`Runner::checkpoint`] for that).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.progress.subscribe()
    }

    /// The position projection `name` has applied the log up to.
    pub async fn checkpoint(&self, name: &str) -> Result<i64, ProjectionError> {
        let row: Option<(i64,)> = db_fetch!(
            &self.db,
            (i64,),
            fetch_optional,
            "SELECT position FROM projection_checkpoints WHERE name = $1".to_owned(),
            name
        )?;
        Ok(row.map(|r| r.0).unwrap_or(0))
    }

    /// Waits (bounded) until every projection has applied the log up to `position`, so that a
    /// client that just wrote reads its own write. False on timeout.
    pub async fn wait_for(
        &self,
        position: i64,
        timeout: Duration,
    ) -> Result<bool, ProjectionError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut progress = self.progress.subscribe();
        loop {
            let mut behind = false;
            for p in &self.projections {
                if self.checkpoint(p.name()).await? < position {
                    behind = true;
                    break;
                }
            }
            if !behind {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            // Local batches signal at once; another instance's progress is seen by the poll.
            let _ = tokio::time::timeout(Duration::from_millis(20), progress.changed()).await;
        }
    }

    /// Checkpoints and lag of every projection; also exported as metrics.
    pub async fn status(&self) -> Result<Vec<ProjectionStatus>, ProjectionError> {
        let head = self.store.head_position().await?;
        let mut out = Vec::new();
        for p in &self.projections {
            let position = self.checkpoint(p.name()).await?;
            let behind_events = (head - position).max(0);
            let behind_seconds = if behind_events > 0 {
                match self.store.read_all(position, 1).await?.first() {
                    Some(next) => {
                        ((Utc::now() - next.recorded_at).num_milliseconds().max(0)) as f64 / 1000.0
                    }
                    None => 0.0,
                }
            } else {
                0.0
            };
            metrics::gauge!("cabanas_projection_lag_events", "projection" => p.name())
                .set(behind_events as f64);
            metrics::gauge!("cabanas_projection_lag_seconds", "projection" => p.name())
                .set(behind_seconds);
            out.push(ProjectionStatus {
                name: p.name().to_owned(),
                position,
                behind_events,
                behind_seconds,
            });
        }
        Ok(out)
    }

    /// Rebuilds one projection into fresh tables from position 0 while the live ones keep
    /// serving, then swaps them in one short transaction. Returns the position it reached.
    pub async fn rebuild(&self, name: &str) -> Result<i64, ProjectionError> {
        let p = self.find(name)?.clone();
        if p.starts_at_head() {
            return Err(ProjectionError::NotRebuildable(name.to_owned()));
        }
        let next_checkpoint = format!("{name}#rebuild");
        let tag = format!("{:08x}", rand::random::<u32>());
        {
            let mut tx = Tx::begin(&self.db).await?;
            drop_tables(&mut tx, p.as_ref(), NEXT).await?;
            create_tables(&mut tx, p.as_ref(), NEXT, &tag, false).await?;
            exec!(
                &mut tx,
                "DELETE FROM projection_checkpoints WHERE name = $1".to_owned(),
                &next_checkpoint
            )?;
            exec!(
                &mut tx,
                "INSERT INTO projection_checkpoints (name, position, schema_version) VALUES ($1, 0, $2)"
                    .to_owned(),
                &next_checkpoint,
                p.schema_version()
            )?;
            tx.commit().await?;
        }
        // The bulk of the work, in ordinary batches: readers and the live runner are unaffected.
        while self.step_into(p.as_ref(), NEXT, &next_checkpoint).await? > 0 {}
        if let Db::Postgres(_) = self.db {
            let mut tx = Tx::begin(&self.db).await?;
            for statement in p.pg_ddl() {
                exec!(&mut tx, ddl(statement, Backend::Postgres, NEXT, &tag))?;
            }
            tx.commit().await?;
        }

        let mut tx = Tx::begin(&self.db).await?;
        let backend = tx.backend();
        // Holding the live checkpoint's row lock parks the live runner until the swap commits.
        tx_fetch!(
            &mut tx,
            (i64,),
            fetch_one,
            format!(
                "SELECT position FROM projection_checkpoints WHERE name = $1{}",
                for_update(backend)
            ),
            name
        )?;
        let mut reached = self.checkpoint(&next_checkpoint).await?;
        loop {
            let events = crate::prepare(self.store.read_all(reached, BATCH).await?)?;
            let Some(last) = events.last().and_then(|a| a.event.position) else {
                break;
            };
            apply_in(&mut tx, p.as_ref(), NEXT, &next_checkpoint, &events).await?;
            reached = last;
        }
        for table in p.tables() {
            exec!(&mut tx, format!("DROP TABLE IF EXISTS {}", LIVE.sql(table)))?;
            exec!(
                &mut tx,
                format!(
                    "ALTER TABLE {} RENAME TO {}",
                    NEXT.sql(table),
                    LIVE.sql(table)
                )
            )?;
        }
        exec!(
            &mut tx,
            "UPDATE projection_checkpoints SET position = $2, schema_version = $3 WHERE name = $1"
                .to_owned(),
            name,
            reached,
            p.schema_version()
        )?;
        exec!(
            &mut tx,
            "DELETE FROM projection_checkpoints WHERE name = $1".to_owned(),
            &next_checkpoint
        )?;
        tx.commit().await?;
        self.progress.send_modify(|n| *n += 1);
        tracing::info!(projection = name, position = reached, "projection rebuilt");
        Ok(reached)
    }

    /// Starts the live tail; it stops when the returned handle is aborted.
    pub fn start(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        // Local commits / stamps wake the loop at once.
        let mut changes = self.store.log_changes();
        let wake = self.wake.clone();
        let local = tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                wake.notify_one();
            }
        });
        let listener = match &self.db {
            Db::Postgres(pool) => Some(tokio::spawn(listen(pool.clone(), self.wake.clone()))),
            Db::Sqlite(_) => None,
        };
        tokio::spawn(async move {
            let _guards = (AbortOnDrop(Some(local)), AbortOnDrop(listener));
            me.run().await;
        })
    }

    async fn run(&self) {
        if let Err(err) = self.ensure_schema().await {
            tracing::error!(error = %err, "read-model schema not ready; retrying");
        }
        let mut lease = Lease::new("cabanas-projection");
        let names: Vec<&'static str> = self.projections.iter().map(|p| p.name()).collect();
        loop {
            let held = match lease.acquire(&self.db, &names).await {
                Ok(held) => held,
                Err(err) => {
                    tracing::warn!(error = %err, "projection lease unavailable");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let mine: Vec<&dyn Projection> = self
                .projections
                .iter()
                .filter(|p| held.contains(&p.name()))
                .map(|p| p.as_ref())
                .collect();
            let mut busy = false;
            match self.step_many(&mine).await {
                Ok(n) => busy = n > 0,
                Err(err) => {
                    // A stuck projection shows as lag in /readyz and the metrics; its batch is
                    // retried (nothing of it was committed).
                    tracing::error!(error = %err, "projection batch failed");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            if !busy {
                if let Err(err) = self.add_pending_guards().await {
                    tracing::error!(error = %err, "adding read-model guards failed; will retry");
                }
                let _ = tokio::time::timeout(IDLE_POLL, self.wake.notified()).await;
            }
        }
    }
}

/// Whether `p` has anything to do with the event `a`.
fn follows(p: &dyn Projection, a: &Applied) -> bool {
    match &a.decoded {
        Some(Decoded::Accommodation(..)) => true,
        Some(Decoded::Guest(_)) => p.follows_guests(),
        None => false,
    }
}

/// Applies `events` after the checkpoint named `checkpoint` and moves it, inside `tx`.
async fn apply_in(
    tx: &mut Tx,
    p: &dyn Projection,
    names: Names,
    checkpoint: &str,
    events: &[Applied],
) -> Result<usize, ProjectionError> {
    let backend = tx.backend();
    let (current,): (i64,) = tx_fetch!(
        &mut *tx,
        (i64,),
        fetch_one,
        format!(
            "SELECT position FROM projection_checkpoints WHERE name = $1{}",
            for_update(backend)
        ),
        checkpoint
    )?;
    // Another runner may have moved ahead since the events were read (and a shared batch starts
    // at the slowest projection's checkpoint): skip what this one has applied already.
    let first = events.partition_point(|a| a.event.position.unwrap_or(0) <= current);
    let fresh = &events[first..];
    let Some(last) = fresh.last().and_then(|a| a.event.position) else {
        return Ok(0);
    };
    let batch = Batch {
        tx: &mut *tx,
        names,
        events: fresh,
    };
    p.apply(batch).await?;
    exec!(
        &mut *tx,
        "UPDATE projection_checkpoints SET position = $2, updated_at_ms = $3 WHERE name = $1"
            .to_owned(),
        checkpoint,
        last,
        Utc::now().timestamp_millis()
    )?;
    Ok(fresh.len())
}

async fn table_exists(tx: &mut Tx, table: &str) -> Result<bool, sqlx::Error> {
    let (n,): (i64,) = match tx.backend() {
        Backend::Postgres => tx_fetch!(
            tx,
            (i64,),
            fetch_one,
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1"
                .to_owned(),
            table
        )?,
        Backend::Sqlite => tx_fetch!(
            tx,
            (i64,),
            fetch_one,
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1".to_owned(),
            table
        )?,
    };
    Ok(n > 0)
}

async fn drop_tables(tx: &mut Tx, p: &dyn Projection, names: Names) -> Result<(), sqlx::Error> {
    for table in p.tables() {
        exec!(
            &mut *tx,
            format!("DROP TABLE IF EXISTS {}", names.sql(table))
        )?;
    }
    Ok(())
}

async fn create_tables(
    tx: &mut Tx,
    p: &dyn Projection,
    names: Names,
    tag: &str,
    guards: bool,
) -> Result<(), sqlx::Error> {
    let backend = tx.backend();
    let pg: &[&str] = match backend {
        Backend::Postgres if guards => p.pg_ddl(),
        _ => &[],
    };
    for statement in p.ddl().iter().chain(pg) {
        exec!(&mut *tx, ddl(statement, backend, names, tag))?;
    }
    Ok(())
}

/// Wakes the runner on every NOTIFY from any instance's sequencer.
async fn listen(pool: sqlx::PgPool, wake: Arc<Notify>) {
    loop {
        let result = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
            listener.listen(eventstore::EVENTS_CHANNEL).await?;
            loop {
                listener.recv().await?;
                wake.notify_one();
            }
            #[allow(unreachable_code)]
            Ok::<(), sqlx::Error>(())
        }
        .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, "LISTEN connection lost; polling until it is back");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(handle) = &self.0 {
            handle.abort();
        }
    }
}
