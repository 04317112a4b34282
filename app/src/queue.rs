//! The one work queue in a table, used by the Mercado Pago inbox (`mp_inbox`), the reactor's
//! side effects (`reactor_tasks`) and the WhatsApp reply outbox (`wa_outbox`): rows are claimed
//! with a deadline so two workers (or instances) never work one row at the same time and a
//! worker that dies leaves its rows to be claimed again; failures come back later with
//! exponential backoff; nothing is ever dropped: a row ends closed with its outcome (or its
//! error, for the admin to see).
//!
//! The tables share the queue's columns (`status`, `attempts`, `next_attempt_at_ms`,
//! `claimed_until_ms`, `last_error`, `created_at_ms`); how a row is closed is each table's own
//! (an inbox row keeps its outcome, a reply keeps Meta's message id).

use eventstore::{Db, Tx, db_exec, db_fetch, exec, tx_fetch};

/// How long a claimed row is left alone before another worker may take it.
const CLAIM_MS: i64 = 60_000;

/// A queue table and how it behaves.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub table: &'static str,
    /// The status of a claimed row (`working`; the outbox says `sending`).
    pub working: &'static str,
    /// The longest wait between two attempts.
    pub max_backoff_ms: i64,
    /// A column each claim hands back with the row (the outbox's `body`), read by the claim's
    /// own update instead of by a query per row after it.
    pub carry: Option<&'static str>,
}

impl Shape {
    /// An inbox or task table: claimed rows are `working`; retries wait up to ten minutes.
    pub const fn tasks(table: &'static str) -> Shape {
        Shape {
            table,
            working: "working",
            max_backoff_ms: 10 * 60 * 1000,
            carry: None,
        }
    }

    /// The reply outbox: claimed rows are `sending`; a reply never waits more than five minutes
    /// (a guest is waiting for it).
    pub const OUTBOX: Shape = Shape {
        table: "wa_outbox",
        working: "sending",
        max_backoff_ms: 5 * 60 * 1000,
        carry: Some("body"),
    };
}

pub struct Queue {
    db: Db,
    shape: Shape,
}

/// A claimed row: its id, how many attempts came before, and whether it was taken back from a
/// worker whose claim ran out (it may have done its work before it stopped).
pub struct Claimed {
    pub id: String,
    pub attempts: i32,
    pub retaken: bool,
    /// The shape's `carry` column, when it has one.
    pub carried: Option<String>,
}

impl Queue {
    pub fn new(db: Db, table: &'static str) -> Queue {
        Queue::with(db, Shape::tasks(table))
    }

    pub fn with(db: Db, shape: Shape) -> Queue {
        Queue { db, shape }
    }

    pub fn backoff_ms(&self, attempts: i32) -> i64 {
        (1000_i64 << attempts.clamp(0, 12)).min(self.shape.max_backoff_ms)
    }

    /// Claims up to `limit` rows due at `now_ms`, oldest first.
    pub async fn claim(&self, now_ms: i64, limit: i64) -> Result<Vec<Claimed>, sqlx::Error> {
        let Shape {
            table,
            working,
            carry,
            ..
        } = self.shape;
        let due: Vec<(String, i32, String)> = db_fetch!(
            &self.db,
            (String, i32, String),
            fetch_all,
            format!(
                "SELECT id, attempts, status FROM {table} \
                 WHERE (status = 'pending' AND next_attempt_at_ms <= $1) \
                    OR (status = '{working}' AND claimed_until_ms < $1) \
                 ORDER BY created_at_ms, id LIMIT $2"
            ),
            now_ms,
            limit
        )?;
        if due.is_empty() {
            return Ok(Vec::new());
        }
        // Every claim of the batch in one transaction: one commit (one turn at SQLite's write
        // lock) for the batch, not one per row. Each row is still claimed only if no one else
        // took it since it was read.
        let mut tx = Tx::begin_durable(&self.db).await?;
        let mut claimed = Vec::with_capacity(due.len());
        let update = format!(
            "UPDATE {table} SET status = '{working}', claimed_until_ms = $2 WHERE id = $1 \
             AND (status = 'pending' OR (status = '{working}' AND claimed_until_ms < $3))"
        );
        let (until, due_by) = (now_ms + CLAIM_MS, now_ms);
        for (id, attempts, status) in due {
            // `Some` when the row was claimed here, with its carried column.
            let got: Option<Option<String>> = match carry {
                None => (exec!(&mut tx, update.clone(), id.clone(), until, due_by)? == 1)
                    .then_some(None),
                Some(column) => tx_fetch!(
                    &mut tx,
                    (String,),
                    fetch_optional,
                    format!("{update} RETURNING {column}"),
                    id.clone(),
                    until,
                    due_by
                )?
                .map(|(value,)| Some(value)),
            };
            if let Some(carried) = got {
                claimed.push(Claimed {
                    id,
                    attempts,
                    retaken: status == working,
                    carried,
                });
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Shortens every claim to end at `until_ms` (at the latest), so rows a stopped worker had
    /// claimed are taken up again then, as retaken (it may have done the work before it
    /// stopped), instead of after the claim's minute. Only for a worker that knows nobody else
    /// holds claims: the one process on SQLite as it starts, or a queue's lease holder as it
    /// takes the lease over.
    pub async fn release_claims(&self, until_ms: i64) -> Result<u64, sqlx::Error> {
        let Shape { table, working, .. } = self.shape;
        db_exec!(
            &self.db,
            format!(
                "UPDATE {table} SET claimed_until_ms = $1 \
                 WHERE status = '{working}' AND claimed_until_ms > $1"
            ),
            until_ms
        )
    }

    /// The row's work is finished; `outcome` says what it did (inbox and task tables).
    pub async fn done(&self, id: &str, outcome: &str, now_ms: i64) -> Result<(), sqlx::Error> {
        self.close(id, "done", Some(outcome), None, now_ms).await
    }

    /// Refused for good: kept with its error for the admin (inbox and task tables).
    pub async fn failed(&self, id: &str, error: &str, now_ms: i64) -> Result<(), sqlx::Error> {
        self.close(id, "failed", None, Some(error), now_ms).await
    }

    async fn close(
        &self,
        id: &str,
        status: &str,
        outcome: Option<&str>,
        error: Option<&str>,
        now_ms: i64,
    ) -> Result<(), sqlx::Error> {
        db_exec!(
            &self.db,
            self.close_sql(),
            id.to_owned(),
            status.to_owned(),
            outcome.map(str::to_owned),
            error.map(str::to_owned),
            now_ms
        )?;
        Ok(())
    }

    fn close_sql(&self) -> String {
        format!(
            "UPDATE {} SET status = $2, outcome = $3, last_error = COALESCE($4, last_error), \
             done_at_ms = $5, claimed_until_ms = NULL WHERE id = $1",
            self.shape.table
        )
    }

    /// [`Queue::done`] as a write beside a command's events: the row is closed in the
    /// transaction that records what its work did, so one commit covers both.
    pub fn done_with<'a>(&'a self, id: &'a str, outcome: &'a str, now_ms: i64) -> DoneWith<'a> {
        DoneWith {
            queue: self,
            id,
            outcome,
            now_ms,
        }
    }

    /// Tries again later, after a backoff that grows with every attempt.
    pub async fn retry(
        &self,
        claimed: &Claimed,
        error: &str,
        now_ms: i64,
    ) -> Result<(), sqlx::Error> {
        self.put_back(&claimed.id, claimed.attempts + 1, error, now_ms)
            .await
    }

    /// Back to pending with `attempts` counted (not an attempt of its own: a row waiting behind
    /// another's retry keeps its count).
    pub async fn put_back(
        &self,
        id: &str,
        attempts: i32,
        error: &str,
        now_ms: i64,
    ) -> Result<(), sqlx::Error> {
        self.put_back_until(id, attempts, error, now_ms + self.backoff_ms(attempts))
            .await
    }

    /// Puts a row back, due at `due_ms` whatever its attempts.
    pub async fn put_back_until(
        &self,
        id: &str,
        attempts: i32,
        error: &str,
        due_ms: i64,
    ) -> Result<(), sqlx::Error> {
        db_exec!(
            &self.db,
            format!(
                "UPDATE {} SET status = 'pending', attempts = $2, next_attempt_at_ms = $3, \
                 last_error = $4, claimed_until_ms = NULL WHERE id = $1",
                self.shape.table
            ),
            id.to_owned(),
            attempts,
            due_ms,
            error.to_owned()
        )?;
        Ok(())
    }
}

/// A row closed as done in a command's own transaction (see [`Queue::done_with`]).
pub struct DoneWith<'a> {
    queue: &'a Queue,
    id: &'a str,
    outcome: &'a str,
    now_ms: i64,
}

#[async_trait::async_trait]
impl eventstore::AlsoWrite for DoneWith<'_> {
    async fn write(&self, tx: &mut dyn eventstore::StoreTx) -> Result<(), eventstore::StoreError> {
        exec!(
            tx.sql(),
            self.queue.close_sql(),
            self.id.to_owned(),
            "done".to_owned(),
            Some(self.outcome.to_owned()),
            None::<String>,
            self.now_ms
        )?;
        Ok(())
    }
}
