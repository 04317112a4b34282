//! The one-time link the owner gets by writing "panel" from their WhatsApp
//! (`app::owner::panel_link`). Opening it shows a button; pressing it spends the link and signs
//! the owner in. The GET changes nothing, so a link preview or a prefetch cannot spend it.
//!
//! The owner signs in as `OWNER`, a panel user with the admin role and no password (its hash
//! is a value no Argon2 hash can equal), created the first time: the events their clicks cause
//! are recorded with that actor.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use anyhow::Context;
use eventstore::{Db, db_exec};
use sha2::{Digest, Sha256};

use super::html::{html, page, refusal};
use super::session::{self, SESSION_COOKIE, SESSION_HOURS};
use super::{internal, see_other, with_cookie};
use crate::state::AppState;

/// Who signs in through a WhatsApp link.
pub const OWNER: &str = "dueño@whatsapp";

/// `GET /panel/enlace/{token}`: a button that spends the link (nothing spent yet).
pub async fn open(token: web::Path<String>) -> HttpResponse {
    let token = token.into_inner();
    if !well_formed(&token) {
        return spent();
    }
    page(
        StatusCode::OK,
        "Entrar al panel",
        html!(
            "<form class=\"in\" method=\"post\" action=\"/panel/enlace/{}\">\
             <p>Este enlace sirve una sola vez.</p>\
             <button type=\"submit\">Entrar al panel</button></form>",
            token.as_str()
        ),
    )
}

/// `POST /panel/enlace/{token}`: spends the link and signs the owner in.
pub async fn enter(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    let now = state.now().timestamp_millis();
    let spent_now = match spend(&state.db, &token, now).await {
        Ok(spent_now) => spent_now,
        Err(err) => return internal(&err),
    };
    if !spent_now {
        return spent();
    }
    let opened = async {
        ensure_owner(&state.db, now).await?;
        session::open(&state.db, OWNER, now).await
    };
    match opened.await {
        Ok(session) => {
            let secure = session::secure(&state.settings);
            let cookie =
                session::set_cookie(SESSION_COOKIE, &session, SESSION_HOURS * 3600, secure);
            with_cookie(see_other("/panel/calendario"), &cookie)
        }
        Err(err) => internal(&err),
    }
}

/// 64 hex characters, as `app::owner::panel_link` makes them.
fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Marks the link used, if it is unused and not lapsed: true when this call spent it (of two
/// presses at once, one wins).
async fn spend(db: &Db, token: &str, now_ms: i64) -> anyhow::Result<bool> {
    if !well_formed(token) {
        return Ok(false);
    }
    let digest = hex::encode(Sha256::digest(token.as_bytes()));
    let spent = db_exec!(
        db,
        "UPDATE panel_links SET used_at_ms = $2 \
         WHERE token_digest = $1 AND used_at_ms IS NULL AND expires_at_ms > $2"
            .to_owned(),
        digest,
        now_ms
    )
    .context("spending a panel link")?;
    Ok(spent == 1)
}

/// The owner's panel user, made the first time a link is used.
async fn ensure_owner(db: &Db, now_ms: i64) -> anyhow::Result<()> {
    db_exec!(
        db,
        "INSERT INTO panel_users (email, role, password_hash, created_at_ms) \
         VALUES ($1, 'admin', '!', $2) ON CONFLICT (email) DO NOTHING"
            .to_owned(),
        OWNER.to_owned(),
        now_ms
    )
    .context("making the owner's panel user")?;
    Ok(())
}

fn spent() -> HttpResponse {
    refusal(
        StatusCode::GONE,
        "Enlace vencido",
        "Este enlace ya se usó o venció. Escribí «panel» de nuevo desde tu WhatsApp.",
    )
}
