//! The question after an unsure transcript ("Escuché esto en tu audio: «…» ¿Es así?") and the
//! guest's answer to it: its "yes" button, or a typed "sí" right after it.

use conversation::nlu::Understanding;
use conversation::reply::{ButtonsBuilder, Reply};
use integrations::whatsapp::webhook::{InboundMessage, MessageKind};

/// Button ids of the "is this what you said?" question after an unsure transcription.
const VOICE_YES: &str = "voice:yes:";
pub(super) const VOICE_NO: &str = "voice:no";

/// Said when the note a guest confirms is no longer on record (erased, say).
pub(super) const NOTE_GONE: &str = "Ese audio ya no lo tengo 🙈 ¿Me lo escribís?";

/// Asks the guest to confirm an unsure transcript, or to type instead.
pub(super) fn confirm_voice(wamid: &str, text: &str) -> Reply {
    let shown: String = text.chars().take(600).collect();
    ButtonsBuilder::new(format!("Escuché esto en tu audio:\n«{shown}»\n¿Es así?"))
        .button(format!("{VOICE_YES}{wamid}"), "Sí, es eso")
        .button(VOICE_NO, "No, te escribo")
        .build()
        .unwrap_or_else(|_| {
            Reply::Text(format!(
                "Escuché esto en tu audio: «{shown}». Si no es así, ¿me lo escribís?"
            ))
        })
}

/// The voice note the guest confirms was heard right: by its button, or by a typed "sí" while
/// the conversation's open question is that note (`asked_note`), which answers that question,
/// not the dialogue's last one.
pub(super) fn confirmed_note(
    m: &InboundMessage,
    body_read: Option<&Understanding>,
    asked_note: Option<&str>,
) -> Option<String> {
    match &m.kind {
        MessageKind::ButtonReply { id, .. } => id.strip_prefix(VOICE_YES).map(str::to_owned),
        MessageKind::Text { .. }
            if body_read.and_then(|u| u.intents.first())
                == Some(&conversation::nlu::Intent::Yes) =>
        {
            asked_note.map(str::to_owned)
        }
        _ => None,
    }
}
