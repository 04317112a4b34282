//! SQLite's writers take turns in this process, in the order they came, before they ask SQLite
//! for its one write lock.
//!
//! Without this, a writer that finds the lock taken is left to SQLite's busy handler, which
//! sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms between tries however soon the lock is
//! free again. With eight connections writing a few milliseconds each, those sleeps (not the
//! writes) made the tail of a hold's latency: a writer could sleep 100 ms behind a 2 ms write,
//! and a later one could overtake it. Here the next writer is woken when the last one commits.
//!
//! One gate per database file, shared by every pool this process opens on it. Another process
//! writing the same file (a backup from the command line) still meets SQLite's busy handler, as
//! before. Readers never wait here: WAL lets them read beside a writer.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::OwnedMutexGuard;

/// As long as SQLite's own busy timeout: a writer that waits longer than this for its turn
/// gets the same error it would have had from SQLite.
const WAIT: Duration = Duration::from_secs(10);

type Gate = Arc<tokio::sync::Mutex<()>>;

static GATES: LazyLock<Mutex<HashMap<PathBuf, Gate>>> = LazyLock::new(Default::default);

/// This writer's turn on `pool`'s database, held until dropped.
pub async fn turn(pool: &SqlitePool) -> Result<OwnedMutexGuard<()>, sqlx::Error> {
    let file = pool.connect_options().get_filename().to_path_buf();
    let gate = {
        let mut gates = GATES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        gates.entry(file).or_default().clone()
    };
    tokio::time::timeout(WAIT, gate.lock_owned())
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)
}

/// A SQLite transaction holding the write lock (`BEGIN IMMEDIATE`) and this process's turn,
/// which is given up after the commit or the rollback. It reads as the connection, as a
/// `Transaction` does.
pub struct WriteTx {
    // Declared first, so it is dropped (rolled back) before the turn is given up.
    tx: Transaction<'static, Sqlite>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// Waits for this process's turn, then takes SQLite's write lock.
    pub async fn begin(pool: &SqlitePool) -> Result<WriteTx, sqlx::Error> {
        let turn = turn(pool).await?;
        Ok(WriteTx {
            tx: pool.begin_with("BEGIN IMMEDIATE").await?,
            _turn: Some(turn),
        })
    }

    /// A deferred transaction that only reads: no turn, no lock until it writes (it should not).
    pub async fn reading(pool: &SqlitePool) -> Result<WriteTx, sqlx::Error> {
        Ok(WriteTx {
            tx: pool.begin().await?,
            _turn: None,
        })
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let WriteTx { tx, _turn } = self;
        tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        let WriteTx { tx, _turn } = self;
        tx.rollback().await
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}
