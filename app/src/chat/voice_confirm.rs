//! The question after an unsure transcript ("Escuché esto en tu audio: «…» ¿Es así?") and the
//! guest's answer to it: its "yes" button, or a typed "sí" right after it.

use conversation::nlu::Understanding;
use conversation::reply::{ButtonsBuilder, Reply};
use integrations::whatsapp::webhook::{InboundMessage, MessageKind};
use projections::db_fetch;

use crate::context::Context;
use crate::error::AppError;

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

/// The voice note the guest confirms was heard right: by its button, or by a typed "sí" right
/// after the question (which answers that question, not the dialogue's last one). Only a
/// "sí" costs a look at the last reply sent.
pub(super) async fn confirmed_note(
    state: &Context,
    m: &InboundMessage,
    body_read: Option<&Understanding>,
) -> Result<Option<String>, AppError> {
    Ok(match &m.kind {
        MessageKind::ButtonReply { id, .. } => id.strip_prefix(VOICE_YES).map(str::to_owned),
        MessageKind::Text { .. }
            if body_read.and_then(|u| u.intents.first())
                == Some(&conversation::nlu::Intent::Yes) =>
        {
            pending_transcript(state, &m.wa_id).await?
        }
        _ => None,
    })
}

/// The voice note whose transcript the bot asked this guest to confirm, when that question is
/// the last thing it sent them.
async fn pending_transcript(state: &Context, wa_id: &str) -> Result<Option<String>, AppError> {
    // The owner's alerts are not questions (an owner trying the bot from their own phone).
    let last: Option<(String,)> = db_fetch!(
        &state.db,
        (String,),
        fetch_optional,
        "SELECT body FROM wa_outbox WHERE wa_id = $1 AND id NOT LIKE 'owner:%' \
         ORDER BY created_at_ms DESC, id DESC LIMIT 1"
            .to_owned(),
        wa_id.to_owned()
    )?;
    let Some((body,)) = last else {
        return Ok(None);
    };
    let sent: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    Ok(sent["interactive"]["action"]["buttons"]
        .as_array()
        .and_then(|buttons| {
            buttons.iter().find_map(|b| {
                b["reply"]["id"]
                    .as_str()?
                    .strip_prefix(VOICE_YES)
                    .map(str::to_owned)
            })
        }))
}
