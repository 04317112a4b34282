//! A work queue in a table, for `reactor_tasks` and `mp_inbox` (same columns): rows are claimed
//! with a deadline so two workers (or instances) never work one row at the same time and a
//! worker that dies leaves its rows to be claimed again; failures come back later with
//! exponential backoff; nothing is ever dropped: a row ends `done` (with its outcome) or
//! `failed` (with its error, for the admin to see).

use eventstore::Db;
use projections::{db_exec, db_fetch};

/// How long a claimed row is left alone before another worker may take it.
const CLAIM_MS: i64 = 60_000;

pub struct Queue {
    db: Db,
    table: &'static str,
}

/// A claimed row: its id and how many attempts came before.
pub struct Claimed {
    pub id: String,
    pub attempts: i32,
}

fn backoff_ms(attempts: i32) -> i64 {
    (1000_i64 << attempts.clamp(0, 9)).min(10 * 60 * 1000)
}

impl Queue {
    pub fn new(db: Db, table: &'static str) -> Queue {
        Queue { db, table }
    }

    /// Claims up to `limit` rows due at `now_ms`, oldest first.
    pub async fn claim(&self, now_ms: i64, limit: i64) -> Result<Vec<Claimed>, sqlx::Error> {
        let due: Vec<(String, i32)> = db_fetch!(
            &self.db,
            (String, i32),
            fetch_all,
            format!(
                "SELECT id, attempts FROM {} \
                 WHERE (status = 'pending' AND next_attempt_at_ms <= $1) \
                    OR (status = 'working' AND claimed_until_ms < $1) \
                 ORDER BY created_at_ms, id LIMIT $2",
                self.table
            ),
            now_ms,
            limit
        )?;
        let mut claimed = Vec::with_capacity(due.len());
        for (id, attempts) in due {
            let got = db_exec!(
                &self.db,
                format!(
                    "UPDATE {} SET status = 'working', claimed_until_ms = $2 WHERE id = $1 \
                     AND (status = 'pending' OR (status = 'working' AND claimed_until_ms < $3))",
                    self.table
                ),
                id.clone(),
                now_ms + CLAIM_MS,
                now_ms
            )?;
            if got == 1 {
                claimed.push(Claimed { id, attempts });
            }
        }
        Ok(claimed)
    }

    /// The row's work is finished; `outcome` says what it did.
    pub async fn done(&self, id: &str, outcome: &str, now_ms: i64) -> Result<(), sqlx::Error> {
        self.close(id, "done", Some(outcome), None, now_ms).await
    }

    /// Refused for good: kept with its error for the admin.
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
            format!(
                "UPDATE {} SET status = $2, outcome = $3, last_error = COALESCE($4, last_error), \
                 done_at_ms = $5, claimed_until_ms = NULL WHERE id = $1",
                self.table
            ),
            id.to_owned(),
            status.to_owned(),
            outcome.map(str::to_owned),
            error.map(str::to_owned),
            now_ms
        )?;
        Ok(())
    }

    /// Tries again later, after a backoff that grows with every attempt.
    pub async fn retry(
        &self,
        claimed: &Claimed,
        error: &str,
        now_ms: i64,
    ) -> Result<(), sqlx::Error> {
        let attempts = claimed.attempts + 1;
        db_exec!(
            &self.db,
            format!(
                "UPDATE {} SET status = 'pending', attempts = $2, next_attempt_at_ms = $3, \
                 last_error = $4, claimed_until_ms = NULL WHERE id = $1",
                self.table
            ),
            claimed.id.clone(),
            attempts,
            now_ms + backoff_ms(attempts),
            error.to_owned()
        )?;
        Ok(())
    }
}
