//! One code path for both databases, for every component that keeps tables next to the log
//! (read models, inbox, outbox, queues).
//!
//! SQL is written once with `$1`-style placeholders, which SQLite also accepts. The macros
//! expand the same statement for each backend, so the binds are checked against both at compile
//! time. They live here, beside [`Db`], because they are about the database and not about any
//! one kind of table; `projections` re-exports them for its older callers.

use sqlx::{Postgres, Transaction};

use crate::write_gate::WriteTx;
use crate::{AppendOutcome, Backend, Db, ExpectedVersion, NewEvent, StoreError, StoreTx};

/// A transaction on either backend.
pub enum Tx {
    Pg(Transaction<'static, Postgres>),
    /// Holding SQLite's write lock and this process's turn for it (see `write_gate`).
    Sqlite(WriteTx),
}

impl Tx {
    /// On SQLite the transaction takes the write lock up front (`BEGIN IMMEDIATE`): a deferred
    /// transaction that reads and then writes fails with "database is locked" under contention.
    /// A transaction whose commit is on disk before it returns: for anything acknowledged to
    /// the outside world (a webhook answered 200 is never sent again).
    pub async fn begin_durable(db: &Db) -> Result<Tx, sqlx::Error> {
        Ok(match db {
            Db::Postgres(pool) => Tx::Pg(pool.begin().await?),
            Db::Sqlite(pool) => Tx::Sqlite(WriteTx::begin(pool).await?),
        })
    }

    /// A read model's transaction (see below: its commit may trail the disk by a moment).
    pub async fn begin(db: &Db) -> Result<Tx, sqlx::Error> {
        Ok(match db {
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                // A read model and its checkpoint commit together, and both are rebuilt from the
                // log: losing the last few milliseconds of them in a crash only means applying
                // those events again. Not waiting for the disk doubles catch-up speed.
                sqlx::query("SET LOCAL synchronous_commit = off")
                    .execute(&mut *tx)
                    .await?;
                Tx::Pg(tx)
            }
            Db::Sqlite(pool) => Tx::Sqlite(WriteTx::begin(pool).await?),
        })
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Pg(tx) => tx.commit().await,
            Tx::Sqlite(tx) => tx.commit().await,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Pg(_) => Backend::Postgres,
            Tx::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// The one [`StoreTx`]: an append transaction on either backend, open for the writes beside the
/// log too.
pub(crate) struct LogTx {
    tx: Tx,
    /// Run after the commit: wakes this process's readers (SQLite) or its sequencer (PostgreSQL).
    committed: Box<dyn FnOnce() + Send>,
}

impl LogTx {
    pub(crate) fn new(tx: Tx, committed: impl FnOnce() + Send + 'static) -> LogTx {
        LogTx {
            tx,
            committed: Box::new(committed),
        }
    }
}

#[async_trait::async_trait]
impl StoreTx for LogTx {
    async fn append(
        &mut self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendOutcome, StoreError> {
        match &mut self.tx {
            Tx::Pg(t) => crate::postgres::append_in(t, stream_id, expected, events).await,
            Tx::Sqlite(t) => crate::sqlite::append_in(t, stream_id, expected, events).await,
        }
    }

    fn sql(&mut self) -> &mut Tx {
        &mut self.tx
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        let LogTx { tx, committed } = *self;
        tx.commit().await?;
        committed();
        Ok(())
    }
}

/// `exec!(tx, sql, binds…)`: runs a statement in a [`Tx`], returning rows affected.
#[macro_export]
macro_rules! exec {
    ($tx:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $tx {
            $crate::sql::Tx::Pg(t) => sqlx::query(sqlx::AssertSqlSafe($sql))
                $(.bind($arg))*
                .execute(&mut **t)
                .await
                .map(|r| r.rows_affected()),
            $crate::sql::Tx::Sqlite(t) => sqlx::query(sqlx::AssertSqlSafe($sql))
                $(.bind($arg))*
                .execute(&mut **t)
                .await
                .map(|r| r.rows_affected()),
        }
    };
}

/// `tx_fetch!(tx, RowType, fetch_all|fetch_optional|fetch_one, sql, binds…)` inside a [`Tx`].
#[macro_export]
macro_rules! tx_fetch {
    ($tx:expr, $ty:ty, $method:ident, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $tx {
            $crate::sql::Tx::Pg(t) => sqlx::query_as::<_, $ty>(sqlx::AssertSqlSafe($sql))
                $(.bind($arg))*
                .$method(&mut **t)
                .await,
            $crate::sql::Tx::Sqlite(t) => sqlx::query_as::<_, $ty>(sqlx::AssertSqlSafe($sql))
                $(.bind($arg))*
                .$method(&mut **t)
                .await,
        }
    };
}

/// `db_fetch!(db, RowType, fetch_all|fetch_optional|fetch_one, sql, binds…)` on a pool.
#[macro_export]
macro_rules! db_fetch {
    ($db:expr, $ty:ty, $method:ident, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $db {
            $crate::Db::Postgres(p) => sqlx::query_as::<_, $ty>(sqlx::AssertSqlSafe($sql))
                $(.bind($arg))*
                .$method(p)
                .await,
            $crate::Db::Sqlite(p) => sqlx::query_as::<_, $ty>(sqlx::AssertSqlSafe($sql))
                $(.bind($arg))*
                .$method(p)
                .await,
        }
    };
}

/// `db_exec!(db, sql, binds…)` on a pool, returning rows affected.
#[macro_export]
macro_rules! db_exec {
    ($db:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $db {
            $crate::Db::Postgres(p) => sqlx::query(sqlx::AssertSqlSafe($sql))
                $(.bind($arg))*
                .execute(p)
                .await
                .map(|r| r.rows_affected()),
            // A write: in this process's queue for SQLite's lock, like a transaction.
            $crate::Db::Sqlite(p) => match $crate::write_gate::turn(p).await {
                Ok(_turn) => sqlx::query(sqlx::AssertSqlSafe($sql))
                    $(.bind($arg))*
                    .execute(p)
                    .await
                    .map(|r| r.rows_affected()),
                Err(e) => Err(e),
            },
        }
    };
}
