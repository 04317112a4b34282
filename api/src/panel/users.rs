//! The panel's users: an email, a role, an Argon2id hash (ADR 0005). Added from the command
//! line (`cabanas user add`); the panel only checks passwords.

use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use eventstore::{Db, db_exec, db_fetch};

use crate::auth::Role;

/// Shorter passwords are refused: the panel faces the internet.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// What `add` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    Created,
    /// The email was there: its password and role were replaced.
    Replaced,
}

/// An email as stored and compared: trimmed, lower-case; `None` when it is not one.
pub fn normalise_email(email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    let (user, host) = email.split_once('@')?;
    let plausible = !user.is_empty()
        && host.contains('.')
        && email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    plausible.then_some(email)
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Auditor => "auditor",
    }
}

fn role_of(name: &str) -> Option<Role> {
    match name {
        "admin" => Some(Role::Admin),
        "auditor" => Some(Role::Auditor),
        _ => None,
    }
}

/// The Argon2id PHC string of `password` with a fresh random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    // Salt from `rand` (already ours) rather than argon2's rand_core feature set.
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| anyhow::anyhow!("encoding the salt: {e}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?
        .to_string())
}

/// Adds the user, or replaces the password and role of the one with that email.
pub async fn add(
    db: &Db,
    email: &str,
    role: Role,
    password: &str,
    now_ms: i64,
) -> anyhow::Result<Added> {
    let email = normalise_email(email).context("that is not an email address")?;
    anyhow::ensure!(
        password.chars().count() >= MIN_PASSWORD_CHARS,
        "the password must have at least {MIN_PASSWORD_CHARS} characters"
    );
    let owned = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&owned))
        .await
        .context("hashing did not finish")??;
    let updated = db_exec!(
        db,
        "UPDATE panel_users SET role = $2, password_hash = $3 WHERE email = $1".to_owned(),
        email.clone(),
        role_name(role).to_owned(),
        hash.clone()
    )
    .context("updating the panel user")?;
    if updated > 0 {
        return Ok(Added::Replaced);
    }
    db_exec!(
        db,
        "INSERT INTO panel_users (email, role, password_hash, created_at_ms) \
         VALUES ($1, $2, $3, $4)"
            .to_owned(),
        email,
        role_name(role).to_owned(),
        hash,
        now_ms
    )
    .context("adding the panel user")?;
    Ok(Added::Created)
}

/// The user's role when `password` is theirs. An unknown email costs a hash as well, so the
/// answer's timing does not tell which emails exist.
pub async fn check_password(db: &Db, email: &str, password: &str) -> anyhow::Result<Option<Role>> {
    let row: Option<(String, String)> = db_fetch!(
        db,
        (String, String),
        fetch_optional,
        "SELECT role, password_hash FROM panel_users WHERE email = $1".to_owned(),
        email.to_owned()
    )
    .context("reading the panel user")?;
    let password = password.to_owned();
    // Argon2 takes tens of milliseconds of CPU on purpose: off the async workers.
    tokio::task::spawn_blocking(move || {
        let Some((role, stored)) = row else {
            let _ = hash_password(&password);
            return Ok(None);
        };
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| anyhow::anyhow!("a stored password hash is unreadable: {e}"))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(if matches { role_of(&role) } else { None })
    })
    .await
    .context("the password check did not finish")?
}

/// The role of a user (`None` once the user is gone or the role unknown).
pub async fn role(db: &Db, email: &str) -> anyhow::Result<Option<Role>> {
    let row: Option<(String,)> = db_fetch!(
        db,
        (String,),
        fetch_optional,
        "SELECT role FROM panel_users WHERE email = $1".to_owned(),
        email.to_owned()
    )
    .context("reading the panel user's role")?;
    Ok(row.and_then(|(r,)| role_of(&r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased_and_non_emails_refused() {
        assert_eq!(
            normalise_email("  Duena@Example.COM ").as_deref(),
            Some("duena@example.com")
        );
        assert_eq!(normalise_email("nadie"), None);
        assert_eq!(normalise_email("a b@example.com"), None);
        assert_eq!(normalise_email("@example.com"), None);
    }

    #[test]
    fn hashes_are_argon2id_and_salted() {
        let a = hash_password("una clave larga").unwrap();
        let b = hash_password("una clave larga").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b);
    }
}
