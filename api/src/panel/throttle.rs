//! Failed sign-ins to the panel, counted so that guessing passwords is slow: at most
//! `PER_USER` failures per email and address and `PER_ADDRESS` per address over all emails in
//! `WINDOW`; beyond that, the sign-in is refused (429) until the window has passed.
//!
//! Counted in this process (a sliding window) and, when Redis is configured, also in Redis, so
//! that several instances behind one proxy share one count: an attacker spreading guesses over
//! them gets no more. In Redis each counter lives `WINDOW` from its first failure. Either count
//! refuses; when Redis fails, this process's count still holds (a sign-in is not a guest's
//! request: it is refused on doubt rather than let through, as the API's rate limit is).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

use super::session::digest;

const WINDOW: Duration = Duration::from_secs(15 * 60);
const PER_USER: usize = 5;
const PER_ADDRESS: usize = 20;

pub struct Throttle {
    local: Mutex<HashMap<String, VecDeque<Instant>>>,
    /// Redis and the deployment's key prefix, when configured.
    shared: Option<(ConnectionManager, String)>,
}

impl Throttle {
    pub fn new(redis: Option<ConnectionManager>, prefix: &str) -> Throttle {
        Throttle {
            local: Mutex::new(HashMap::new()),
            shared: redis.map(|r| (r, prefix.to_owned())),
        }
    }

    /// The counters' keys and limits: the email only as a digest, so neither memory nor Redis
    /// holds an address book.
    fn keys(email: &str, ip: &str) -> [(String, usize); 2] {
        [
            (format!("{ip}|{}", digest(email)), PER_USER),
            (ip.to_owned(), PER_ADDRESS),
        ]
    }

    fn redis_key(prefix: &str, key: &str) -> String {
        format!("{prefix}:signin:{key}")
    }

    /// `Some(seconds to wait)` when a counter is full, here or in Redis.
    pub async fn refused(&self, email: &str, ip: &str) -> Option<u64> {
        if let Some(wait) = self.refused_here(email, ip) {
            return Some(wait);
        }
        let (redis, prefix) = self.shared.as_ref()?;
        let mut pipe = redis::pipe();
        for (key, _) in Self::keys(email, ip) {
            let key = Self::redis_key(prefix, &key);
            pipe.get(&key).ttl(&key);
        }
        let mut conn = redis.clone();
        type Counts = (Option<u64>, i64, Option<u64>, i64);
        let counts: Counts = match pipe.query_async(&mut conn).await {
            Ok(counts) => counts,
            Err(err) => {
                tracing::warn!(error = %err, "sign-in throttle: Redis unavailable; counting here only");
                return None;
            }
        };
        let [(_, user_limit), (_, address_limit)] = Self::keys(email, ip);
        [
            (counts.0, counts.1, user_limit),
            (counts.2, counts.3, address_limit),
        ]
        .into_iter()
        .find_map(|(n, ttl, limit)| (n.unwrap_or(0) >= limit as u64).then(|| ttl.max(1) as u64))
    }

    fn refused_here(&self, email: &str, ip: &str) -> Option<u64> {
        let now = Instant::now();
        let mut map = self.local.lock().unwrap_or_else(|p| p.into_inner());
        Self::keys(email, ip).into_iter().find_map(|(key, limit)| {
            let times = map.get_mut(&key)?;
            times.retain(|t| now.duration_since(*t) < WINDOW);
            let oldest = *times.front()?;
            (times.len() >= limit).then(|| (WINDOW - now.duration_since(oldest)).as_secs() + 1)
        })
    }

    pub async fn failed(&self, email: &str, ip: &str) {
        {
            let now = Instant::now();
            let mut map = self.local.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() > 50_000 {
                // Bounded memory under a spray of addresses: forget the stale ones first.
                map.retain(|_, t| t.back().is_some_and(|l| now.duration_since(*l) < WINDOW));
            }
            for (key, _) in Self::keys(email, ip) {
                map.entry(key).or_default().push_back(now);
            }
        }
        let Some((redis, prefix)) = &self.shared else {
            return;
        };
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (key, _) in Self::keys(email, ip) {
            let key = Self::redis_key(prefix, &key);
            // The window starts at the first failure: set with its expiry only when absent.
            pipe.cmd("SET")
                .arg(&key)
                .arg(0)
                .arg("EX")
                .arg(WINDOW.as_secs())
                .arg("NX")
                .ignore()
                .incr(&key, 1)
                .ignore();
        }
        let mut conn = redis.clone();
        if let Err(err) = pipe.query_async::<()>(&mut conn).await {
            tracing::warn!(error = %err, "sign-in throttle: Redis unavailable; counted here only");
        }
    }

    /// A good password forgets that user's failures from that address.
    pub async fn succeeded(&self, email: &str, ip: &str) {
        let [(user_key, _), _] = Self::keys(email, ip);
        self.local
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&user_key);
        if let Some((redis, prefix)) = &self.shared {
            let mut conn = redis.clone();
            let key = Self::redis_key(prefix, &user_key);
            if let Err(err) = redis::cmd("DEL")
                .arg(key)
                .query_async::<()>(&mut conn)
                .await
            {
                tracing::warn!(error = %err, "sign-in throttle: Redis unavailable");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sixth_failure_of_one_user_from_one_address_is_refused() {
        let throttle = Throttle::new(None, "t");
        for _ in 0..PER_USER {
            assert_eq!(throttle.refused("a@b.ar", "10.0.0.1").await, None);
            throttle.failed("a@b.ar", "10.0.0.1").await;
        }
        assert!(throttle.refused("a@b.ar", "10.0.0.1").await.is_some());
        assert_eq!(throttle.refused("a@b.ar", "10.0.0.2").await, None);
        assert_eq!(throttle.refused("c@b.ar", "10.0.0.1").await, None);
        throttle.succeeded("a@b.ar", "10.0.0.1").await;
        assert_eq!(throttle.refused("a@b.ar", "10.0.0.1").await, None);
    }
}
