//! Who is signed in: the session cookie and its row, the CSRF tokens, and the count of failed
//! sign-ins (ADR 0005). Cookies are read and written here by hand: actix-web is built without
//! its `cookies` feature, and two cookies do not justify it.

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

pub(crate) fn digest(text: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_equal_only_when_identical() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
