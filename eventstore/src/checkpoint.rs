//! Signed checkpoints: the owner signs "the log's hash at position N is H" with an Ed25519 key
//! and publishes it (hands it to an auditor, a channel, a lawyer). The hash chain alone proves
//! that no single event was edited, removed or reordered; it cannot prove that the whole history
//! was not rewritten and re-chained from scratch. A checkpoint held by someone else can: a
//! rewritten history no longer has hash H at position N, and the owner cannot produce a new
//! checkpoint for it under the key the auditor pinned.

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::{EventStore, StoreError};

/// What is published.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub position: i64,
    /// The stored hash of the event at `position` (hex SHA-256, the chain's head then).
    pub head_hash: String,
    pub signed_at: DateTime<Utc>,
    /// Hex of the Ed25519 public key that signed.
    pub public_key: String,
    /// Hex of the signature over [`Checkpoint::message`].
    pub signature: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CheckpointError {
    #[error("not a valid Ed25519 key: {0}")]
    BadKey(String),
    #[error("the signature does not match the checkpoint")]
    BadSignature,
    #[error("signed by {actual}, not by the pinned key {pinned}")]
    OtherSigner { pinned: String, actual: String },
}

impl Checkpoint {
    /// The exact bytes signed: versioned, and every field fixed in form.
    pub fn message(position: i64, head_hash: &str, signed_at: &DateTime<Utc>) -> Vec<u8> {
        format!(
            "cabanas-checkpoint:v1:{position}:{head_hash}:{}",
            signed_at.timestamp_micros()
        )
        .into_bytes()
    }

    pub fn sign(
        secret: &[u8; 32],
        position: i64,
        head_hash: &str,
        signed_at: DateTime<Utc>,
    ) -> Checkpoint {
        let key = SigningKey::from_bytes(secret);
        let signature = key.sign(&Self::message(position, head_hash, &signed_at));
        Checkpoint {
            position,
            head_hash: head_hash.to_owned(),
            signed_at,
            public_key: hex::encode(key.verifying_key().to_bytes()),
            signature: hex::encode(signature.to_bytes()),
        }
    }

    /// Checks the signature, and that it is the `pinned` key's when one is given (an auditor
    /// pins the owner's published key; without it, anyone could sign a rewritten history).
    pub fn check_signature(&self, pinned: Option<&str>) -> Result<(), CheckpointError> {
        if let Some(pinned) = pinned
            && !pinned.eq_ignore_ascii_case(&self.public_key)
        {
            return Err(CheckpointError::OtherSigner {
                pinned: pinned.to_owned(),
                actual: self.public_key.clone(),
            });
        }
        let key: [u8; 32] = hex::decode(&self.public_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| CheckpointError::BadKey("public key is not 32 hex bytes".into()))?;
        let key =
            VerifyingKey::from_bytes(&key).map_err(|e| CheckpointError::BadKey(e.to_string()))?;
        let signature: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(CheckpointError::BadSignature)?;
        key.verify(
            &Self::message(self.position, &self.head_hash, &self.signed_at),
            &Signature::from_bytes(&signature),
        )
        .map_err(|_| CheckpointError::BadSignature)
    }
}

/// The public key of a secret key, hex.
pub fn public_key(secret: &[u8; 32]) -> String {
    hex::encode(SigningKey::from_bytes(secret).verifying_key().to_bytes())
}

/// Reads a secret key written by `cabanas checkpoint keygen` (64 hex characters).
pub fn parse_secret(text: &str) -> Result<[u8; 32], CheckpointError> {
    hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| CheckpointError::BadKey("expected 64 hex characters".into()))
}

/// What the store says about a checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckpointReport {
    pub position: i64,
    pub signature_valid: bool,
    pub signature_error: Option<String>,
    /// The stored hash at that position (`None` when the log is shorter: history was removed).
    pub stored_hash: Option<String>,
    pub hash_matches: bool,
}

impl CheckpointReport {
    pub fn holds(&self) -> bool {
        self.signature_valid && self.hash_matches
    }
}

/// Signs the current head of `store`'s log.
pub async fn sign_head(
    store: &dyn EventStore,
    secret: &[u8; 32],
    now: DateTime<Utc>,
) -> Result<Option<Checkpoint>, StoreError> {
    let report = store.verify_chain().await?;
    if report.head_position == 0 || !report.is_intact() {
        // Nothing to vouch for, or a broken chain nobody should sign.
        return Ok(None);
    }
    Ok(Some(Checkpoint::sign(
        secret,
        report.head_position,
        &report.head_hash,
        now,
    )))
}

/// Checks a checkpoint against the stored log: a valid signature (by `pinned`, when given) and
/// the same hash at its position. Pair it with [`EventStore::verify_chain`], which proves the
/// stored hashes themselves are consistent with the events.
pub async fn verify(
    store: &dyn EventStore,
    checkpoint: &Checkpoint,
    pinned: Option<&str>,
) -> Result<CheckpointReport, StoreError> {
    let signature = checkpoint.check_signature(pinned);
    let stored = if checkpoint.position >= 1 {
        store
            .read_all(checkpoint.position - 1, 1)
            .await?
            .into_iter()
            .find(|e| e.position == Some(checkpoint.position))
            .and_then(|e| e.hash)
    } else {
        None
    };
    Ok(CheckpointReport {
        position: checkpoint.position,
        signature_valid: signature.is_ok(),
        signature_error: signature.err().map(|e| e.to_string()),
        hash_matches: stored
            .as_deref()
            .is_some_and(|h| h.eq_ignore_ascii_case(&checkpoint.head_hash)),
        stored_hash: stored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_only_as_signed_and_only_under_its_key() {
        let secret = [7u8; 32];
        let at = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        let cp = Checkpoint::sign(&secret, 42, &"ab".repeat(32), at);
        assert_eq!(cp.check_signature(None), Ok(()));
        assert_eq!(cp.check_signature(Some(&public_key(&secret))), Ok(()));

        let mut moved = cp.clone();
        moved.position = 41;
        assert_eq!(
            moved.check_signature(None),
            Err(CheckpointError::BadSignature)
        );
        let mut rehashed = cp.clone();
        rehashed.head_hash = "cd".repeat(32);
        assert_eq!(
            rehashed.check_signature(None),
            Err(CheckpointError::BadSignature)
        );

        // Someone else's key signs a perfectly valid checkpoint: refused when the owner's key
        // is pinned.
        let forged = Checkpoint::sign(&[9u8; 32], 42, &"cd".repeat(32), at);
        assert_eq!(forged.check_signature(None), Ok(()));
        assert!(matches!(
            forged.check_signature(Some(&public_key(&secret))),
            Err(CheckpointError::OtherSigner { .. })
        ));
    }

    #[test]
    fn keys_round_trip_through_hex() {
        let secret = [3u8; 32];
        assert_eq!(
            parse_secret(&format!("{}\n", hex::encode(secret))),
            Ok(secret)
        );
        assert!(parse_secret("not hex").is_err());
    }
}
