//! Voice notes: download, decode and transcribe off the conversation's path, then hand the
//! words to the same dialogue as typed text.
//!
//! The conversation worker asks [`Voice::resolve`] for an audio message. The first time, a job
//! starts (download from the Cloud API, OGG/Opus decode, Whisper on the bounded pool) and the
//! message waits in the inbox, with every later message of the same guest, so their order
//! holds; other guests are answered meanwhile. The transcript is recorded as a
//! `VoiceNoteTranscribed` event (sealed with the guest's key; the audio is not kept) before the
//! turn runs, so a crash after it does not transcribe again, and a crash before it loses
//! nothing: the message is still unprocessed and its job starts over.

use std::sync::Arc;

pub mod notes;
use std::time::{Duration, Instant};

use domain::guest::VoiceNoteTranscribed;
use domain::{DomainEvent, GuestCommand, GuestEvent, GuestId};
use eventstore::pii;
use integrations::voice::{self, TranscribeError, decode};
use integrations::whatsapp::media::MediaError;
use integrations::whatsapp::webhook::InboundMessage;

pub use notes::{Heard, Refusal, Resolution, Voice};
use notes::{Job, MAX_ATTEMPTS};

use crate::context::Context;
use crate::error::AppError;
use crate::execute::Origin;
use crate::guest_stream::execute_guest;

/// Where the audio message stands: heard (now or before a restart), or still in the works.
pub async fn resolve(state: &Arc<Context>, m: &InboundMessage) -> Result<Resolution, AppError> {
    if let Some(known) = state.voice.known(&m.wamid) {
        return Ok(known);
    }
    // Transcribed before a restart: the event has the words.
    if let Some(guest) = pii::find_guest(&state.db, &m.wa_id).await?
        && let Some(heard) = recorded(state, &guest, &m.wamid).await?
    {
        return Ok(Resolution::Ready(heard));
    }
    let attempts = {
        let Ok(mut jobs) = state.voice.jobs.lock() else {
            return Ok(Resolution::Pending);
        };
        let attempts = match jobs.get(&m.wamid) {
            Some(Job::RetryAt(_, n)) => *n,
            _ => 0,
        };
        jobs.insert(m.wamid.clone(), Job::Running);
        attempts
    };
    let state = state.clone();
    let message = m.clone();
    tokio::spawn(async move {
        let outcome = listen(&state, &message).await;
        let job = match outcome {
            Ok(heard) => Job::Finished(heard),
            Err(Retry(why)) if attempts + 1 < MAX_ATTEMPTS => {
                tracing::info!(reason = %why, attempt = attempts + 1, "voice note download will be retried");
                let backoff = Duration::from_secs(2u64.pow(attempts + 1).min(120));
                Job::RetryAt(Instant::now() + backoff, attempts + 1)
            }
            Err(Retry(why)) => {
                tracing::warn!(reason = %why, "voice note given up on after repeated failures");
                Job::Finished(Heard::Refused(Refusal::Unreadable))
            }
        };
        if let Job::Finished(Heard::Refused(r)) = &job {
            metrics::counter!("cabanas_voice_notes_total", "outcome" => r.label()).increment(1);
        }
        if let Ok(mut jobs) = state.voice.jobs.lock() {
            jobs.insert(message.wamid.clone(), job);
        }
        state.inbox_wake.notify_one();
    });
    Ok(Resolution::Pending)
}

/// A transient failure: the job runs again later.
struct Retry(String);

/// Download, decode, transcribe, record.
async fn listen(state: &Context, m: &InboundMessage) -> Result<Heard, Retry> {
    let (Some(pool), Some(media)) = (&state.voice.pool, &state.voice.media) else {
        return Ok(Heard::Refused(Refusal::Unavailable));
    };
    let integrations::whatsapp::webhook::MessageKind::Audio { media_id, .. } = &m.kind else {
        return Ok(Heard::Refused(Refusal::Unreadable));
    };
    let audio = match media.download(media_id).await {
        Ok(a) => a,
        Err(MediaError::Transient(why)) => return Err(Retry(why)),
        Err(MediaError::CircuitOpen) => return Err(Retry("circuit open".into())),
        Err(MediaError::TooLarge { .. }) => {
            return Ok(Heard::Refused(Refusal::TooLong(state.voice.max_secs)));
        }
        Err(err) => {
            tracing::info!(error = %err, "voice note not downloadable");
            return Ok(Heard::Refused(Refusal::Unreadable));
        }
    };
    // WhatsApp voice notes are OGG/Opus; an mp4/aac or mpeg audio file is refused politely
    // (it would need a decoder this build does not carry).
    let max_secs = state.voice.max_secs;
    let bytes = audio.bytes;
    let pcm = match tokio::task::spawn_blocking(move || decode::ogg_opus(&bytes, max_secs)).await {
        Ok(Ok(pcm)) => pcm,
        Ok(Err(decode::DecodeError::TooLong { limit_secs })) => {
            return Ok(Heard::Refused(Refusal::TooLong(limit_secs)));
        }
        Ok(Err(err)) => {
            tracing::info!(error = %err, mime = %audio.mime_type, "voice note not decodable");
            return Ok(Heard::Refused(Refusal::Unreadable));
        }
        Err(err) => return Err(Retry(err.to_string())),
    };
    let names = projections::queries::accommodation_names(&state.db)
        .await
        .unwrap_or_default();
    let transcript = match pool
        .transcribe(pcm.samples, voice::vocabulary_prompt(&names))
        .await
    {
        Ok(t) => t,
        Err(TranscribeError::Overloaded) => return Ok(Heard::Refused(Refusal::Busy)),
        Err(TranscribeError::Unavailable(_)) => return Ok(Heard::Refused(Refusal::Unavailable)),
        Err(TranscribeError::Failed(why)) => {
            tracing::warn!(reason = %why, "transcription failed");
            return Ok(Heard::Refused(Refusal::Unreadable));
        }
    };
    metrics::counter!("cabanas_voice_notes_total", "outcome" => "transcribed").increment(1);
    tracing::info!(
        duration_ms = pcm.duration_ms,
        transcribe_ms = transcript.elapsed_ms,
        confidence = transcript.confidence,
        "voice note transcribed"
    );
    record(state, m, &transcript, pcm.duration_ms, pool.model_name())
        .await
        .map_err(|e| Retry(e.to_string()))?;
    Ok(Heard::Words {
        text: transcript.text,
        confidence: transcript.confidence,
    })
}

async fn record(
    state: &Context,
    m: &InboundMessage,
    transcript: &voice::Transcript,
    duration_ms: u64,
    model: &str,
) -> Result<(), AppError> {
    let guest = pii::guest_for_phone(&state.db, &m.wa_id).await?;
    let key = pii::key_or_create(
        &state.db,
        &guest.stream_id(),
        state.now().timestamp_millis(),
    )
    .await?;
    // Recorded already (by a run that crashed before answering): the guest's aggregate knows
    // the note, and the first record stands.
    let cmd = GuestCommand::RecordVoiceNote(VoiceNoteTranscribed {
        wamid: m.wamid.clone(),
        sealed_text: pii::seal(&key, transcript.text.as_bytes()),
        duration_ms,
        model: model.to_owned(),
        transcribe_ms: transcript.elapsed_ms,
        confidence: transcript.confidence,
        at: state.now(),
    });
    let origin = Origin::guest_whatsapp(&m.wamid).correlated(guest.as_uuid());
    execute_guest(state, guest, cmd, &origin).await?;
    Ok(())
}

/// The words of voice note `wamid`, as recorded; `None` when it was never transcribed or the
/// guest's key was destroyed (then the words are gone for good).
pub async fn recorded(
    state: &Context,
    guest: &GuestId,
    wamid: &str,
) -> Result<Option<Heard>, AppError> {
    let events = state.store.read_stream(&guest.stream_id(), 0).await?;
    let Some(note) = events.iter().rev().find_map(|e| {
        match GuestEvent::from_stored(&e.event_type, e.schema_version as u32, e.payload.clone()) {
            Ok(GuestEvent::VoiceNoteTranscribed(v)) if v.wamid == wamid => Some(v),
            _ => None,
        }
    }) else {
        return Ok(None);
    };
    let key = pii::key(&state.db, &guest.stream_id()).await?;
    Ok(key
        .and_then(|k| pii::open(&k, &note.sealed_text))
        .and_then(|b| String::from_utf8(b).ok())
        .map(|text| Heard::Words {
            text,
            confidence: note.confidence,
        }))
}
