//! "panel": a link that signs the owner in to the web panel once, within ten minutes. It goes
//! out only to a delivery whose signature was checked (`CABANAS_WHATSAPP_APP_SECRET`): unlike
//! the other commands, not even in the sandbox, since the link itself is a way in. Only the
//! token's digest is stored; the panel (`/panel/enlace/{token}`) spends it.

use eventstore::db_exec;
use sha2::{Digest, Sha256};

use crate::context::Context;
use crate::error::AppError;

/// How long a link lasts.
const LIFETIME_MS: i64 = 10 * 60 * 1000;

/// The answer to "panel": the link, or why there is none.
pub async fn link(state: &Context) -> Result<String, AppError> {
    if state.settings.whatsapp_app_secret.is_none() {
        return Ok(
            "El enlace al panel solo lo mando cuando los mensajes llegan firmados: falta \
             configurar CABANAS_WHATSAPP_APP_SECRET. Mientras tanto, entrá con tu correo y \
             contraseña."
                .to_owned(),
        );
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    let digest = hex::encode(Sha256::digest(token.as_bytes()));
    let expires = state.now().timestamp_millis() + LIFETIME_MS;
    db_exec!(
        &state.db,
        "INSERT INTO panel_links (token_digest, expires_at_ms) VALUES ($1, $2)".to_owned(),
        digest,
        expires
    )?;
    Ok(format!(
        "Tu enlace para entrar al panel (sirve una vez, durante 10 minutos; no lo reenvíes): \
         {}/panel/enlace/{token}",
        state.settings.public_url
    ))
}
