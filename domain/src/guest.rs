//! A guest's profile: who is behind a reservation's `guest_ref`.
//!
//! The guest stream (`guest-{id}`) holds what the guest told us about themselves. The id is
//! random; the event store's guest directory finds it from a phone number, so the same person
//! gets the same id whichever channel they use.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::event::{DomainEvent, EventDecodeError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GuestId(Uuid);

impl GuestId {
    /// A new guest. Ids are random so that nothing in the log can be tied back to a person once
    /// the link kept outside it (the guest directory) is deleted.
    pub fn random() -> GuestId {
        GuestId(Uuid::new_v4())
    }

    /// The same id for the same seed: for generated histories and tests, never for real guests.
    /// (Seeded with a number's digits, it gives the id earlier versions derived from the number,
    /// so recorded histories regenerate byte for byte.)
    pub fn from_seed(seed: &str) -> GuestId {
        let digest = Sha256::digest(format!("cabanas-guest:{seed}").as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        GuestId(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    pub fn stream_id(&self) -> String {
        format!("guest-{}", self.0)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// The id behind a stream id `guest-{uuid}`.
    pub fn from_stream_id(stream: &str) -> Option<GuestId> {
        stream.strip_prefix("guest-")?.parse().ok().map(GuestId)
    }
}

/// Digits only, at least 6 and at most 15 (E.164), so `+54 9 11 5555-1234` is accepted.
pub fn valid_phone(phone: &str) -> bool {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    (6..=15).contains(&digits)
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'))
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestProfileRecorded {
    pub guest_id: GuestId,
    pub name: String,
    pub phone: String,
    pub recorded_at: DateTime<Utc>,
}

/// The guest's name and phone, sealed with the guest's own key (kept outside the log): the
/// event can be replayed forever, and destroying the key erases what it says. The seal is opened
/// by the infrastructure (`eventstore::pii`), never here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestProfileSealed {
    pub guest_id: GuestId,
    /// Hex of nonce and ciphertext of `{"name": …, "phone": …}`.
    pub sealed: String,
    pub recorded_at: DateTime<Utc>,
}

/// The guest asked to be forgotten: their key was destroyed, their profile reads as erased.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestPersonalDataErased {
    pub guest_id: GuestId,
    pub erased_at: DateTime<Utc>,
}

/// Where the guest's WhatsApp conversation stands after one of their messages. The state is
/// the conversation's own (opaque here); keeping it in the log lets any instance carry on the
/// conversation and an auditor replay it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DialogueAdvanced {
    /// The WhatsApp message that moved it.
    pub wamid: String,
    pub state: Value,
    pub at: DateTime<Utc>,
}

/// A voice note the guest sent, as Whisper heard it. The words are personal data, so they are
/// sealed with the guest's key like the profile; the audio itself is never kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VoiceNoteTranscribed {
    /// The WhatsApp message that carried the note.
    pub wamid: String,
    /// Hex of nonce and ciphertext of the transcript's text.
    pub sealed_text: String,
    /// How long the guest spoke.
    pub duration_ms: u64,
    /// Which model heard it (`ggml-base`).
    pub model: String,
    /// How long the transcription took.
    pub transcribe_ms: u64,
    /// Mean token probability (0–1); under the configured threshold the guest was asked to
    /// confirm what was understood.
    pub confidence: f32,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum GuestEvent {
    /// Written in clear by earlier versions; new profiles are [`GuestEvent::ProfileSealed`].
    ProfileRecorded(GuestProfileRecorded),
    ProfileSealed(GuestProfileSealed),
    PersonalDataErased(GuestPersonalDataErased),
    DialogueAdvanced(DialogueAdvanced),
    VoiceNoteTranscribed(VoiceNoteTranscribed),
}

impl DomainEvent for GuestEvent {
    fn event_type(&self) -> &'static str {
        match self {
            GuestEvent::ProfileRecorded(_) => "GuestProfileRecorded",
            GuestEvent::ProfileSealed(_) => "GuestProfileSealed",
            GuestEvent::PersonalDataErased(_) => "GuestPersonalDataErased",
            GuestEvent::DialogueAdvanced(_) => "DialogueAdvanced",
            GuestEvent::VoiceNoteTranscribed(_) => "VoiceNoteTranscribed",
        }
    }

    fn event_version(&self) -> u32 {
        1
    }

    fn to_payload(&self) -> Value {
        match self {
            // Strings, a UUID and a timestamp always serialize.
            GuestEvent::ProfileRecorded(e) => serde_json::to_value(e).unwrap_or(Value::Null),
            GuestEvent::ProfileSealed(e) => serde_json::to_value(e).unwrap_or(Value::Null),
            GuestEvent::PersonalDataErased(e) => serde_json::to_value(e).unwrap_or(Value::Null),
            GuestEvent::DialogueAdvanced(e) => serde_json::to_value(e).unwrap_or(Value::Null),
            GuestEvent::VoiceNoteTranscribed(e) => serde_json::to_value(e).unwrap_or(Value::Null),
        }
    }

    fn from_stored(
        event_type: &str,
        version: u32,
        payload: Value,
    ) -> Result<Self, EventDecodeError> {
        let malformed = |e: serde_json::Error| EventDecodeError::Malformed {
            event_type: event_type.to_owned(),
            version,
            reason: e.to_string(),
        };
        match (event_type, version) {
            ("GuestProfileRecorded", 1) => serde_json::from_value(payload)
                .map(GuestEvent::ProfileRecorded)
                .map_err(malformed),
            ("DialogueAdvanced", 1) => serde_json::from_value(payload)
                .map(GuestEvent::DialogueAdvanced)
                .map_err(malformed),
            ("GuestProfileSealed", 1) => serde_json::from_value(payload)
                .map(GuestEvent::ProfileSealed)
                .map_err(malformed),
            ("GuestPersonalDataErased", 1) => serde_json::from_value(payload)
                .map(GuestEvent::PersonalDataErased)
                .map_err(malformed),
            ("VoiceNoteTranscribed", 1) => serde_json::from_value(payload)
                .map(GuestEvent::VoiceNoteTranscribed)
                .map_err(malformed),
            (
                "GuestProfileRecorded"
                | "DialogueAdvanced"
                | "GuestProfileSealed"
                | "GuestPersonalDataErased"
                | "VoiceNoteTranscribed",
                _,
            ) => Err(EventDecodeError::UnknownVersion {
                event_type: event_type.to_owned(),
                version,
            }),
            _ => Err(EventDecodeError::UnknownType {
                event_type: event_type.to_owned(),
                version,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_are_stable_and_random_ones_are_not() {
        assert_eq!(GuestId::from_seed("a"), GuestId::from_seed("a"));
        assert_ne!(GuestId::from_seed("a"), GuestId::from_seed("b"));
        assert_ne!(GuestId::random(), GuestId::random());
    }

    #[test]
    fn phones_are_checked_loosely_but_not_blindly() {
        assert!(valid_phone("+54 9 11 5555-1234"));
        assert!(!valid_phone("12"));
        assert!(!valid_phone("call me maybe"));
    }

    #[test]
    fn a_profile_round_trips_through_storage() {
        let e = GuestEvent::ProfileRecorded(GuestProfileRecorded {
            guest_id: GuestId::random(),
            name: "Ana".into(),
            phone: "1155551234".into(),
            recorded_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
        });
        let back = GuestEvent::from_stored(e.event_type(), 1, e.to_payload()).unwrap();
        assert_eq!(back, e);
    }
}
