//! Personal data in the log, sealed per guest (crypto-shredding): a guest's profile is
//! encrypted (ChaCha20-Poly1305) with a key of their own, kept in `guest_keys`, outside the
//! events. Erasing the guest deletes the key: the events stay, the hash chain still verifies,
//! and what they said about the person can no longer be read by anyone.
//!
//! Guest ids are random, not derived from the phone number (a number's hash would be found again
//! by trying every number): `guest_directory` links a number to its guest, and erasure deletes
//! that link with the key.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use domain::GuestId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::sql::Tx;
use crate::{Db, exec, tx_fetch};

/// What a sealed profile holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    pub phone: String,
    /// The guest asked to hear of their booking on WhatsApp at this number (a guest who booked
    /// there is written there anyway). Added later: older profiles read as not asked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whatsapp: bool,
}

fn cipher(key: &[u8; 32]) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(&Key::from(*key))
}

/// Hex of a fresh 12-byte nonce followed by the ciphertext.
pub fn seal(key: &[u8; 32], plaintext: &[u8]) -> String {
    let nonce: [u8; 12] = rand::random();
    // Encryption with a valid key and nonce does not fail; an empty seal would only fail to open.
    let ciphertext = cipher(key)
        .encrypt(&Nonce::from(nonce), plaintext)
        .unwrap_or_default();
    let mut out = nonce.to_vec();
    out.extend(ciphertext);
    hex::encode(out)
}

pub fn open(key: &[u8; 32], sealed: &str) -> Option<Vec<u8>> {
    let bytes = hex::decode(sealed).ok()?;
    if bytes.len() < 12 {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    cipher(key).decrypt(&Nonce::from(nonce), ciphertext).ok()
}

fn parse_key(hex_key: &str) -> Option<[u8; 32]> {
    hex::decode(hex_key).ok()?.try_into().ok()
}

/// The guest's key; `None` when there is none (never created, or erased).
pub async fn key(db: &Db, guest_id: &str) -> Result<Option<[u8; 32]>, sqlx::Error> {
    let sql = "SELECT key_hex FROM guest_keys WHERE guest_id = $1";
    let row: Option<(String,)> = match db {
        Db::Postgres(p) => sqlx::query_as(sql).bind(guest_id).fetch_optional(p).await?,
        Db::Sqlite(p) => sqlx::query_as(sql).bind(guest_id).fetch_optional(p).await?,
    };
    Ok(row.and_then(|(k,)| parse_key(&k)))
}

/// The guest's key, created on first use.
pub async fn key_or_create(db: &Db, guest_id: &str, now_ms: i64) -> Result<[u8; 32], sqlx::Error> {
    let fresh: [u8; 32] = rand::random();
    let sql = "INSERT INTO guest_keys (guest_id, key_hex, created_at_ms) VALUES ($1, $2, $3) \
               ON CONFLICT (guest_id) DO NOTHING";
    crate::db_exec!(db, sql, guest_id, hex::encode(fresh), now_ms)?;
    Ok(key(db, guest_id).await?.unwrap_or(fresh))
}

pub fn seal_profile(key: &[u8; 32], profile: &Profile) -> String {
    seal(key, &serde_json::to_vec(profile).unwrap_or_default())
}

pub fn open_profile(key: &[u8; 32], sealed: &str) -> Option<Profile> {
    serde_json::from_slice(&open(key, sealed)?).ok()
}

/// Opens a sealed profile with a key as stored (hex).
pub fn open_profile_hex(key_hex: &str, sealed: &str) -> Option<Profile> {
    open_profile(&parse_key(key_hex)?, sealed)
}

/// The same number written with or without spaces, dashes or a leading `+` is the same guest.
fn phone_digest(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    hex::encode(Sha256::digest(format!("cabanas-guest:{digits}")))
}

/// A guest found or linked for a phone number.
pub struct Linked {
    pub id: GuestId,
    /// `Some` when this call linked the number: a new guest, given this key, with nothing
    /// recorded yet (no profile to read or compare).
    pub new_key: Option<[u8; 32]>,
}

/// As [`guest_for_phone`], but a number seen for the first time gets its guest's key in the
/// same transaction: a new guest's first booking writes both at once, and its caller knows
/// there is nothing yet to read back.
pub async fn link_guest(db: &Db, phone: &str, now_ms: i64) -> Result<Linked, sqlx::Error> {
    if let Some(id) = find_guest(db, phone).await? {
        return Ok(Linked { id, new_key: None });
    }
    let fresh = GuestId::random();
    let key: [u8; 32] = rand::random();
    let mut tx = Tx::begin_durable(db).await?;
    if !link_new(&mut tx, phone, fresh, &key, now_ms).await? {
        // Another request linked it meanwhile: theirs.
        drop(tx);
        let id = find_guest(db, phone).await?.unwrap_or(fresh);
        return Ok(Linked { id, new_key: None });
    }
    tx.commit().await?;
    Ok(Linked {
        id: fresh,
        new_key: Some(key),
    })
}

/// Links `phone` to the new guest `id` with its `key`, inside `tx` (a booking's own transaction
/// may carry it); false, with nothing written, when another request linked the number first.
pub async fn link_new(
    tx: &mut Tx,
    phone: &str,
    id: GuestId,
    key: &[u8; 32],
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let linked: Option<(String,)> = tx_fetch!(
        &mut *tx,
        (String,),
        fetch_optional,
        "INSERT INTO guest_directory (phone_digest, guest_id) VALUES ($1, $2) \
         ON CONFLICT (phone_digest) DO NOTHING RETURNING guest_id"
            .to_owned(),
        phone_digest(phone),
        id.stream_id()
    )?;
    if linked.is_none() {
        return Ok(false);
    }
    exec!(
        &mut *tx,
        "INSERT INTO guest_keys (guest_id, key_hex, created_at_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (guest_id) DO NOTHING"
            .to_owned(),
        id.stream_id(),
        hex::encode(key),
        now_ms
    )?;
    Ok(true)
}

/// The guest known by this phone number, if any (an erased guest is not known any more).
pub async fn find_guest(db: &Db, phone: &str) -> Result<Option<GuestId>, sqlx::Error> {
    let sql = "SELECT guest_id FROM guest_directory WHERE phone_digest = $1";
    let digest = phone_digest(phone);
    let row: Option<(String,)> = match db {
        Db::Postgres(p) => sqlx::query_as(sql).bind(digest).fetch_optional(p).await?,
        Db::Sqlite(p) => sqlx::query_as(sql).bind(digest).fetch_optional(p).await?,
    };
    Ok(row.and_then(|(id,)| GuestId::from_stream_id(&id)))
}

/// The guest behind this phone number; a number seen for the first time gets a new random id.
/// Instances racing on a new number agree: the first insert wins and both read it back.
pub async fn guest_for_phone(db: &Db, phone: &str) -> Result<GuestId, sqlx::Error> {
    if let Some(id) = find_guest(db, phone).await? {
        return Ok(id);
    }
    let fresh = GuestId::random();
    // A row back means this call linked the number; none, that another linked it meanwhile.
    let sql = "INSERT INTO guest_directory (phone_digest, guest_id) VALUES ($1, $2) \
               ON CONFLICT (phone_digest) DO NOTHING RETURNING guest_id";
    let (digest, id) = (phone_digest(phone), fresh.stream_id());
    let linked: Option<String> = match db {
        Db::Postgres(p) => {
            sqlx::query_scalar(sql)
                .bind(digest)
                .bind(id)
                .fetch_optional(p)
                .await?
        }
        // A write: it takes its turn (see `write_gate`) rather than meet SQLite's busy handler,
        // whose sleeps stalled a WhatsApp turn 100–600 ms behind another writer's commit.
        Db::Sqlite(p) => {
            let _turn = crate::write_gate::turn(p).await?;
            sqlx::query_scalar(sql)
                .bind(digest)
                .bind(id)
                .fetch_optional(p)
                .await?
        }
    };
    if linked.is_some() {
        return Ok(fresh);
    }
    Ok(find_guest(db, phone).await?.unwrap_or(fresh))
}

/// Forgets a guest: destroys their key and the link from their phone number to their id.
/// True when there was a key to destroy.
pub async fn erase(db: &Db, guest_id: &str) -> Result<bool, sqlx::Error> {
    // One transaction: the link never outlives the key, and on SQLite the writes take their
    // turn (see `write_gate`).
    let mut tx = Tx::begin_durable(db).await?;
    exec!(
        &mut tx,
        "DELETE FROM guest_directory WHERE guest_id = $1".to_owned(),
        guest_id.to_owned()
    )?;
    let n = exec!(
        &mut tx,
        "DELETE FROM guest_keys WHERE guest_id = $1".to_owned(),
        guest_id.to_owned()
    )?;
    tx.commit().await?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_profile_opens_with_its_key_only() {
        let key: [u8; 32] = rand::random();
        let other: [u8; 32] = rand::random();
        let p = Profile {
            name: "Ana Pérez".into(),
            phone: "5491155551234".into(),
            whatsapp: false,
        };
        let sealed = seal_profile(&key, &p);
        assert!(!sealed.contains("5491155551234"));
        assert_eq!(open_profile(&key, &sealed), Some(p));
        assert_eq!(open_profile(&other, &sealed), None);
        assert_eq!(open_profile(&key, "zz"), None);
    }
}
