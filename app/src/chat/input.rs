//! What a message says to the dialogue: its words (read once), a tap, a voice note's transcript
//! (confirmed first when unsure), one of the guest's own codes written in words. Or the answer
//! it gets at once, without a turn: a note to confirm or to say again, a file.

use chrono::DateTime;
use conversation::dialogue::{self, Input, Setting, State};
use conversation::nlu::Understanding;
use conversation::reply::Reply;
use domain::{GuestId, ReservationCode};
use integrations::whatsapp::webhook::{InboundMessage, MessageKind};
use projections::queries;

use super::voice_confirm::{self, NOTE_GONE, VOICE_NO};
use crate::context::Context;
use crate::error::AppError;
use crate::voice::{self, Heard, Refusal};

/// What is known of a message before its turn.
pub(super) struct Said {
    /// A voice note's transcript.
    pub heard: Option<Heard>,
    /// Its words, read already.
    pub body_read: Option<Understanding>,
    /// The voice note the guest was just asked to confirm (the conversation's open question).
    pub asked_note: Option<String>,
}

/// The dialogue's input from message `m`; `None` when the message was answered here and the
/// dialogue does not move (or only opened a voice note's question).
pub(super) async fn of(
    state: &Context,
    m: &InboundMessage,
    guest: &GuestId,
    said: Said,
    dialogue: &State,
    setting: &Setting<'_>,
) -> Result<Option<Input>, AppError> {
    let Said {
        heard,
        mut body_read,
        asked_note,
    } = said;
    let confirmed_note =
        voice_confirm::confirmed_note(m, body_read.as_ref(), asked_note.as_deref());
    let input = match &m.kind {
        _ if confirmed_note.is_some() => {
            let note = confirmed_note.unwrap_or_default();
            match voice::recorded(state, guest, &note).await? {
                Some(Heard::Words { text, .. }) => Input::Text(text),
                _ => return answered(state, m, NOTE_GONE).await,
            }
        }
        MessageKind::Text { body } => match body_read.take() {
            Some(u) => Input::Read(body.clone(), Box::new(u)),
            None => Input::Text(body.clone()),
        },
        MessageKind::ButtonReply { id, .. } if id == VOICE_NO => {
            // The note's question is closed: a "sí" after this is not about the note.
            let at = DateTime::from_timestamp(m.timestamp, 0).unwrap_or_else(|| state.now());
            let reply =
                Reply::Text("Dale, escribime qué necesitás y te respondo enseguida 🙂".into());
            super::advance(state, guest, m, (dialogue, at), &[reply]).await?;
            return Ok(None);
        }
        MessageKind::ButtonReply { id, .. } | MessageKind::ListReply { id, .. } => {
            Input::Choice(id.clone())
        }
        MessageKind::QuickReply { payload, .. } => Input::Choice(payload.clone()),
        MessageKind::Audio { .. } => match voice_note(state, m, (guest, dialogue), heard).await? {
            Some(input) => input,
            None => return Ok(None),
        },
        MessageKind::Media { kind, .. } | MessageKind::Unsupported { kind } => {
            super::payments::not_text(state, m, guest, kind).await?;
            return Ok(None);
        }
    };
    // A transcript heard from a voice note is read here, once, as a typed message is above.
    let input = match input {
        Input::Text(words) => {
            let u = dialogue::read(dialogue, &words, setting);
            Input::Read(words, Box::new(u))
        }
        other => other,
    };
    Ok(Some(match &input {
        Input::Read(words, u) => own_code_said(state, guest.stream_id(), words, u)
            .await?
            .unwrap_or(input),
        _ => input,
    }))
}

/// A voice note's words, when they were heard well enough to act on; otherwise `None`, the
/// guest answered: asked to confirm an unsure transcript, to say it again, or to write.
async fn voice_note(
    state: &Context,
    m: &InboundMessage,
    (guest, dialogue): (&GuestId, &State),
    heard: Option<Heard>,
) -> Result<Option<Input>, AppError> {
    match heard {
        Some(Heard::Words { text, confidence }) if !text.trim().is_empty() => {
            if confidence < state.settings.voice_min_confidence {
                // The question is the conversation's now: a "sí" typed next answers it.
                let asking = dialogue.clone().asking_about_voice_note(&m.wamid);
                let at = DateTime::from_timestamp(m.timestamp, 0).unwrap_or_else(|| state.now());
                let question = voice_confirm::confirm_voice(&m.wamid, &text);
                super::advance(state, guest, m, (&asking, at), &[question]).await?;
                return Ok(None);
            }
            Ok(Some(Input::Text(text)))
        }
        Some(Heard::Words { .. }) => {
            answered(
                state,
                m,
                "No te escuché bien 🙉 ¿Me lo escribís o me mandás otro audio?",
            )
            .await
        }
        Some(Heard::Refused(why)) => answered(state, m, why.reply()).await,
        None => answered(state, m, Refusal::Unavailable.reply()).await,
    }
}

/// Answers `m` with `text` at once: the message says nothing to the dialogue.
async fn answered(
    state: &Context,
    m: &InboundMessage,
    text: impl Into<String>,
) -> Result<Option<Input>, AppError> {
    crate::outbox::reply(state, m, &[Reply::Text(text.into())]).await?;
    Ok(None)
}

/// One of the guest's own codes written among their words when it is of letters alone, which
/// the dialogue cannot tell from a word ("mi reserva es la KMPQRST"): taken as if tapped in
/// their list (or its "Cancelar reserva", when they say cancel). Only a word that is one of
/// their codes counts, so "mi RESERVA" stays a word; a code with a digit is the dialogue's.
async fn own_code_said(
    state: &Context,
    guest_ref: String,
    words: &str,
    u: &Understanding,
) -> Result<Option<Input>, AppError> {
    let mut candidates = Vec::new();
    for word in words
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() == 7)
    {
        if word.chars().any(|c| c.is_ascii_digit()) {
            if ReservationCode::parse(word).is_ok() && word.chars().any(|c| c.is_ascii_alphabetic())
            {
                return Ok(None);
            }
            continue;
        }
        if let Ok(code) = ReservationCode::parse(word) {
            candidates.push(code.as_str().to_owned());
        }
    }
    // Most messages hold no seven-letter word that could be a code: no query for them.
    if candidates.is_empty() {
        return Ok(None);
    }
    let filter = queries::ReservationFilter {
        guest_ref: Some(guest_ref),
        limit: 50,
        ..queries::ReservationFilter::default()
    };
    let mine = queries::search_reservations(&state.db, &filter).await?;
    let Some(code) = candidates
        .into_iter()
        .find(|c| mine.iter().any(|r| &r.code == c))
    else {
        return Ok(None);
    };
    let cancel = u.intents.contains(&conversation::nlu::Intent::Cancel);
    let prefix = if cancel {
        conversation::dialogue::ids::CANCEL_PREFIX
    } else {
        conversation::dialogue::ids::RESERVATION_PREFIX
    };
    Ok(Some(Input::Choice(format!("{prefix}{code}"))))
}
