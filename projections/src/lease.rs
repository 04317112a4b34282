//! Work that one instance at a time should do (a projection, the WhatsApp conversation worker),
//! held as a lease. On PostgreSQL a lease is a session-level advisory lock on one dedicated
//! connection, so it is released the moment its holder dies and another instance takes it over
//! within a check. On SQLite one process owns the database file and holds every lease.

use std::time::Duration;

use eventstore::Db;
use sqlx::Connection;

/// How often a lease not held is tried for again, and a held one's connection checked.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// The leases of one kind (`kind` keeps their keys apart from other kinds of the same name)
/// this process holds.
pub struct Lease {
    kind: &'static str,
    conn: Option<sqlx::PgConnection>,
    held: Vec<&'static str>,
    checked: Option<tokio::time::Instant>,
}

impl Lease {
    pub fn new(kind: &'static str) -> Lease {
        Lease {
            kind,
            conn: None,
            held: Vec::new(),
            checked: None,
        }
    }

    /// Which of `names` this process holds now. Between checks the answer is remembered; an
    /// error means the lease connection failed and nothing is held until it is back.
    pub async fn acquire(
        &mut self,
        db: &Db,
        names: &[&'static str],
    ) -> Result<Vec<&'static str>, sqlx::Error> {
        let pool = match db {
            Db::Sqlite(_) => return Ok(names.to_vec()),
            Db::Postgres(pool) => pool,
        };
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => {
                self.held.clear();
                self.checked = None;
                self.conn.insert(pool.acquire().await?.detach())
            }
        };
        if self.checked.is_some_and(|at| at.elapsed() < CHECK_EVERY) {
            return Ok(self.held.clone());
        }
        self.checked = Some(tokio::time::Instant::now());
        if let Err(err) = try_for(conn, self.kind, names, &mut self.held).await {
            // The connection may be gone, and its locks with it: start over on a new one (a
            // live one is closed as it drops, which releases whatever it held).
            self.conn = None;
            self.held.clear();
            return Err(err);
        }
        Ok(self.held.clone())
    }
}

/// Checks the lease connection, then tries for each of `names` not yet `held`.
async fn try_for(
    conn: &mut sqlx::PgConnection,
    kind: &'static str,
    names: &[&'static str],
    held: &mut Vec<&'static str>,
) -> Result<(), sqlx::Error> {
    conn.ping().await?;
    for &name in names {
        if held.contains(&name) {
            continue;
        }
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key(kind, name))
            .fetch_one(&mut *conn)
            .await?;
        if got {
            tracing::info!(kind, name, "lease acquired");
            held.push(name);
        }
    }
    Ok(())
}

/// A stable 63-bit advisory-lock key per kind and name (FNV-1a); `pg_locks` shows it as
/// `classid` (high 32 bits) and `objid` (low 32 bits).
pub fn key(kind: &str, name: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("{kind}:{name}").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 1) as i64
}
