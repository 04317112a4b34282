//! Whether this instance's database and Redis answer, measured in the background every second
//! and kept here, so `/readyz` never waits on a dependency that is gone: a load balancer asks
//! exactly when something is wrong, and an answer that hangs is no answer.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use eventstore::EventStore;
use redis::aio::ConnectionManager;

/// How often the dependencies are pinged.
pub const EVERY: Duration = Duration::from_secs(1);
/// How long one ping may take before its dependency counts as not answering.
pub const PROBE: Duration = Duration::from_millis(800);
/// A measurement older than this (the loop itself stuck) says nothing: not ready.
const STALE: Duration = Duration::from_secs(5);

/// The last measurement.
pub struct Health {
    database: AtomicBool,
    /// `None` when no Redis is configured.
    redis: Option<AtomicBool>,
    at: Mutex<Option<Instant>>,
}

impl Health {
    pub fn new(redis_configured: bool) -> Health {
        Health {
            database: AtomicBool::new(false),
            redis: redis_configured.then(|| AtomicBool::new(false)),
            at: Mutex::new(None),
        }
    }

    /// Whether the database answered at the last measurement, if that is recent.
    pub fn database_ok(&self) -> bool {
        self.fresh() && self.database.load(Ordering::Relaxed)
    }

    /// Whether Redis answered (`None`: not configured), if the measurement is recent.
    pub fn redis_ok(&self) -> Option<bool> {
        let fresh = self.fresh();
        self.redis
            .as_ref()
            .map(|ok| fresh && ok.load(Ordering::Relaxed))
    }

    fn fresh(&self) -> bool {
        let at = *self
            .at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        at.is_some_and(|at| at.elapsed() < STALE)
    }

    /// Pings each dependency once (each bounded by [`PROBE`]) and keeps the result.
    pub async fn measure(&self, store: &dyn EventStore, redis: Option<&ConnectionManager>) {
        let database = matches!(tokio::time::timeout(PROBE, store.ping()).await, Ok(Ok(())));
        if !database {
            tracing::warn!("readiness: the database is not answering");
        }
        self.database.store(database, Ordering::Relaxed);
        if let (Some(ok), Some(redis)) = (&self.redis, redis) {
            let mut conn = redis.clone();
            let ping = redis::cmd("PING");
            let pong = tokio::time::timeout(PROBE, ping.query_async::<String>(&mut conn)).await;
            ok.store(matches!(pong, Ok(Ok(_))), Ordering::Relaxed);
        }
        *self
            .at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Instant::now());
    }
}
