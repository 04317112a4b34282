//! Who is signed in: the session cookie and its row, the CSRF tokens, and the count of failed
//! sign-ins (ADR 0005). Cookies are read and written here by hand: actix-web is built without
//! its `cookies` feature, and two cookies do not justify it.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, web};
use anyhow::Context;
use eventstore::{Db, db_exec, db_fetch};
use sha2::{Digest, Sha256};

use super::users;
use crate::auth::Role;
use crate::guard::TrustForwarded;

/// The session cookie: a random token whose SHA-256 digest is the session's key.
pub const SESSION_COOKIE: &str = "cabanas_panel";
/// Before signing in there is no session to hold a CSRF token: the sign-in form's token is
/// this cookie's value, which the form must repeat (double submit).
pub const SIGN_IN_COOKIE: &str = "panel_csrf";
/// How long a session lasts from signing in.
pub const SESSION_HOURS: i64 = 12;

/// A signed-in user.
pub struct Session {
    pub email: String,
    pub role: Role,
    /// This session's CSRF token, for the hidden field of every form.
    pub csrf: String,
    /// The cookie's token, to end the session with.
    token: String,
}

/// The value of cookie `name` in the request, if sent.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, scoped to the panel; `max_age` 0 deletes.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{name}={value}; Path=/panel; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{secure}"
    )
}

/// Whether cookies must be Secure: the service is reached over https.
pub fn secure(settings: &app::config::Settings) -> bool {
    settings.public_url.starts_with("https://")
}

/// 256 random bits, hex.
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Equality that takes as long whatever the first differing byte (tokens are secrets).
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The signed-in user of this request, if the cookie names a live session of a user who
/// still exists.
pub async fn current(db: &Db, req: &HttpRequest, now_ms: i64) -> anyhow::Result<Option<Session>> {
    let Some(token) = cookie(req, SESSION_COOKIE) else {
        return Ok(None);
    };
    let row: Option<(String, String)> = db_fetch!(
        db,
        (String, String),
        fetch_optional,
        "SELECT email, csrf FROM panel_sessions WHERE token_digest = $1 AND expires_at_ms > $2"
            .to_owned(),
        digest(&token),
        now_ms
    )
    .context("reading the panel session")?;
    let Some((email, csrf)) = row else {
        return Ok(None);
    };
    let Some(role) = users::role(db, &email).await? else {
        return Ok(None);
    };
    Ok(Some(Session {
        email,
        role,
        csrf,
        token,
    }))
}

/// Starts a session for `email`; the token to put in the cookie. Expired sessions are swept
/// here, the one moment sessions are written anyway.
pub async fn open(db: &Db, email: &str, now_ms: i64) -> anyhow::Result<String> {
    db_exec!(
        db,
        "DELETE FROM panel_sessions WHERE expires_at_ms <= $1".to_owned(),
        now_ms
    )
    .context("sweeping expired panel sessions")?;
    let token = random_token();
    db_exec!(
        db,
        "INSERT INTO panel_sessions (token_digest, email, csrf, expires_at_ms) \
         VALUES ($1, $2, $3, $4)"
            .to_owned(),
        digest(&token),
        email.to_owned(),
        random_token(),
        now_ms + SESSION_HOURS * 3600 * 1000
    )
    .context("opening a panel session")?;
    Ok(token)
}

impl Session {
    /// Ends this session everywhere (its row is gone, the cookie alone is worth nothing).
    pub async fn close(self, db: &Db) -> anyhow::Result<()> {
        db_exec!(
            db,
            "DELETE FROM panel_sessions WHERE token_digest = $1".to_owned(),
            digest(&self.token)
        )
        .context("closing the panel session")?;
        Ok(())
    }

    /// Whether a form's token is this session's.
    pub fn csrf_ok(&self, sent: Option<&str>) -> bool {
        sent.is_some_and(|s| same(s, &self.csrf))
    }
}

/// The client's address as the rate limiter sees it (the proxy's header only when trusted).
pub fn client_ip(req: &HttpRequest) -> String {
    let trust = req
        .app_data::<web::Data<TrustForwarded>>()
        .is_some_and(|t| t.0);
    let info = req.connection_info();
    let ip = if trust {
        info.realip_remote_addr()
    } else {
        info.peer_addr()
    };
    ip.unwrap_or("unknown").to_owned()
}

/// Failed sign-ins over a sliding window, in memory (per instance; ADR 0005): at most
/// `PER_USER` per email and address, `PER_ADDRESS` per address over all emails.
pub struct Throttle {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

const WINDOW: Duration = Duration::from_secs(15 * 60);
const PER_USER: usize = 5;
const PER_ADDRESS: usize = 20;

impl Default for Throttle {
    fn default() -> Throttle {
        Throttle {
            failures: Mutex::new(HashMap::new()),
        }
    }
}

impl Throttle {
    /// The counters' keys: the email only as a digest, so memory holds no address book.
    fn keys(email: &str, ip: &str) -> [(String, usize); 2] {
        [
            (format!("{ip}|{}", digest(email)), PER_USER),
            (ip.to_owned(), PER_ADDRESS),
        ]
    }

    /// `Some(seconds to wait)` when either counter is full.
    pub fn refused(&self, email: &str, ip: &str) -> Option<u64> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        Self::keys(email, ip).into_iter().find_map(|(key, limit)| {
            let times = map.get_mut(&key)?;
            times.retain(|t| now.duration_since(*t) < WINDOW);
            let oldest = *times.front()?;
            (times.len() >= limit).then(|| (WINDOW - now.duration_since(oldest)).as_secs() + 1)
        })
    }

    pub fn failed(&self, email: &str, ip: &str) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 50_000 {
            // Bounded memory under a spray of addresses: forget the stale ones first.
            map.retain(|_, t| t.back().is_some_and(|l| now.duration_since(*l) < WINDOW));
        }
        for (key, _) in Self::keys(email, ip) {
            map.entry(key).or_default().push_back(now);
        }
    }

    /// A good password forgets that user's failures from that address.
    pub fn succeeded(&self, email: &str, ip: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let [(user_key, _), _] = Self::keys(email, ip);
        map.remove(&user_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_failure_of_one_user_from_one_address_is_refused() {
        let throttle = Throttle::default();
        for _ in 0..PER_USER {
            assert_eq!(throttle.refused("a@b.ar", "10.0.0.1"), None);
            throttle.failed("a@b.ar", "10.0.0.1");
        }
        assert!(throttle.refused("a@b.ar", "10.0.0.1").is_some());
        assert_eq!(throttle.refused("a@b.ar", "10.0.0.2"), None);
        assert_eq!(throttle.refused("c@b.ar", "10.0.0.1"), None);
    }

    #[test]
    fn tokens_compare_equal_only_when_identical() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
