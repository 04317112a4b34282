//! The guest's stream as an aggregate: every append to it is a decision on its current version
//! (through the same command handler as an accommodation's), so two of a guest's requests at
//! once are retried on fresh state instead of failing, and a message taken up twice records
//! nothing twice.
//!
//! What it knows is what the log says without opening a seal: whether a profile was recorded
//! and erased since, which messages moved the conversation, and which voice notes were heard. The
//! personal data itself stays sealed (see `GuestProfileSealed`); comparing a new profile with
//! the last one is the caller's, who holds the key.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::event::Aggregate;
use crate::guest::{
    DialogueAdvanced, GuestEvent, GuestId, GuestPersonalDataErased, GuestProfileSealed,
    VoiceNoteTranscribed,
};

/// What can be decided on a guest's stream.
#[derive(Clone, Debug, PartialEq)]
pub enum GuestCommand {
    /// A new or changed profile, sealed with the guest's key.
    SealProfile { guest_id: GuestId, sealed: String },
    /// The conversation moved after the WhatsApp message `wamid` (or a person handed it back).
    AdvanceDialogue {
        wamid: String,
        state: Value,
        at: DateTime<Utc>,
    },
    /// A voice note heard (its words sealed).
    RecordVoiceNote(VoiceNoteTranscribed),
    /// The guest asked to be forgotten.
    Erase { guest_id: GuestId },
}

/// Nothing of the guest stream's rules can be broken: every command is either recorded or,
/// told twice, a no-op. The type says so.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GuestError {}

/// What the guest's stream says, without opening a seal.
#[derive(Clone, Debug, Default)]
pub struct Guest {
    /// A profile was recorded (in clear by earlier versions, or sealed).
    profile: bool,
    /// Erased, with no profile recorded since.
    erased: bool,
    /// The messages that moved the conversation, so a message taken up twice moves it once.
    /// Where the conversation stands is not kept: nothing decided here depends on it, and this
    /// state stays cached per guest (see `CommandHandler`), where a dialogue offering fifty
    /// cabins weighed about 50 KB as a JSON tree. The conversation worker reads it from the log.
    advanced_by: BTreeSet<String>,
    /// The voice notes heard, by message id.
    notes: BTreeSet<String>,
}

impl Guest {
    pub fn has_profile(&self) -> bool {
        self.profile && !self.erased
    }

    pub fn is_erased(&self) -> bool {
        self.erased
    }

    pub fn heard(&self, wamid: &str) -> bool {
        self.notes.contains(wamid)
    }
}

impl Aggregate for Guest {
    type Command = GuestCommand;
    type Event = GuestEvent;
    type Error = GuestError;

    fn decide(
        &self,
        command: &GuestCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<GuestEvent>, GuestError> {
        Ok(match command {
            GuestCommand::SealProfile { guest_id, sealed } => {
                vec![GuestEvent::ProfileSealed(GuestProfileSealed {
                    guest_id: *guest_id,
                    sealed: sealed.clone(),
                    recorded_at: now,
                })]
            }
            GuestCommand::AdvanceDialogue { wamid, .. } if self.advanced_by.contains(wamid) => {
                Vec::new()
            }
            GuestCommand::AdvanceDialogue { wamid, state, at } => {
                vec![GuestEvent::DialogueAdvanced(DialogueAdvanced {
                    wamid: wamid.clone(),
                    state: state.clone(),
                    at: *at,
                })]
            }
            GuestCommand::RecordVoiceNote(note) if self.notes.contains(&note.wamid) => Vec::new(),
            GuestCommand::RecordVoiceNote(note) => {
                vec![GuestEvent::VoiceNoteTranscribed(note.clone())]
            }
            // Erased already, with nothing recorded since: asking again records nothing.
            GuestCommand::Erase { .. } if self.erased => Vec::new(),
            GuestCommand::Erase { guest_id } => {
                vec![GuestEvent::PersonalDataErased(GuestPersonalDataErased {
                    guest_id: *guest_id,
                    erased_at: now,
                })]
            }
        })
    }

    fn evolve(&mut self, event: &GuestEvent) {
        match event {
            GuestEvent::ProfileRecorded(_) | GuestEvent::ProfileSealed(_) => {
                self.profile = true;
                self.erased = false;
            }
            GuestEvent::PersonalDataErased(_) => self.erased = true,
            GuestEvent::DialogueAdvanced(d) => {
                self.advanced_by.insert(d.wamid.clone());
            }
            GuestEvent::VoiceNoteTranscribed(v) => {
                self.notes.insert(v.wamid.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-07T15:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn given(events: &[GuestEvent]) -> Guest {
        let mut g = Guest::default();
        for e in events {
            g.evolve(e);
        }
        g
    }

    fn advanced(wamid: &str) -> GuestEvent {
        GuestEvent::DialogueAdvanced(DialogueAdvanced {
            wamid: wamid.into(),
            state: serde_json::json!({"step": "menu"}),
            at: now(),
        })
    }

    #[test]
    fn a_message_taken_up_twice_moves_the_conversation_once() {
        let g = given(&[advanced("wamid.1")]);
        let again = GuestCommand::AdvanceDialogue {
            wamid: "wamid.1".into(),
            state: serde_json::json!({"step": "booking"}),
            at: now(),
        };
        assert_eq!(g.decide(&again, now()), Ok(Vec::new()));
        let next = GuestCommand::AdvanceDialogue {
            wamid: "wamid.2".into(),
            state: serde_json::json!({"step": "booking"}),
            at: now(),
        };
        assert_eq!(g.decide(&next, now()).map(|e| e.len()), Ok(1));
    }

    #[test]
    fn erasing_twice_records_one_erasure_and_a_new_profile_starts_over() {
        let id = GuestId::from_seed("5491122334455");
        let erase = GuestCommand::Erase { guest_id: id };
        let seal = |g: &Guest| {
            g.decide(
                &GuestCommand::SealProfile {
                    guest_id: id,
                    sealed: "00".into(),
                },
                now(),
            )
        };
        let mut g = given(&[]);
        for e in seal(&g).unwrap_or_default() {
            g.evolve(&e);
        }
        assert!(g.has_profile());
        let erased = g.decide(&erase, now()).unwrap_or_default();
        assert_eq!(erased.len(), 1);
        g.evolve(&erased[0]);
        assert!(g.is_erased() && !g.has_profile());
        assert_eq!(g.decide(&erase, now()), Ok(Vec::new()));
        // The guest comes back: a new profile, and a new erasure may be asked for.
        for e in seal(&g).unwrap_or_default() {
            g.evolve(&e);
        }
        assert!(g.has_profile());
        assert_eq!(g.decide(&erase, now()).map(|e| e.len()), Ok(1));
    }
}
