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

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use domain::guest::VoiceNoteTranscribed;
use domain::{DomainEvent, GuestEvent, GuestId};
use eventstore::{ExpectedVersion, NewEvent, pii};
use integrations::voice::{self, Pool, TranscribeError, Transcriber, decode};
use integrations::whatsapp::media::{MediaClient, MediaError};
use integrations::whatsapp::webhook::InboundMessage;

use actix_web::web;

use crate::app::AppState;
use crate::problem::Problem;

/// Downloads that keep failing for a transient reason are given up on after this many tries
/// (about five minutes of backoff), and the guest is asked to type instead.
const MAX_ATTEMPTS: u32 = 6;

/// Why a voice note gets a polite "please type" instead of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No model configured, or downloads impossible (sandbox mode).
    Unavailable,
    /// Longer than the configured limit.
    TooLong(u32),
    /// Not OGG/Opus, empty, corrupt, or gone from Meta.
    Unreadable,
    /// Every transcription slot busy and the queue full.
    Busy,
}

impl Refusal {
    pub fn reply(self) -> String {
        match self {
            Refusal::Unavailable => "Todavía no puedo escuchar audios: ¿me lo escribís? 🙏".into(),
            Refusal::TooLong(secs) => format!(
                "Tu audio es un poco largo para mí (hasta {} escucho bien) 😅 ¿Me lo mandás más \
                 cortito o por escrito?",
                if secs % 60 == 0 {
                    format!("{} min", secs / 60)
                } else {
                    format!("{secs} s")
                }
            ),
            Refusal::Unreadable => {
                "No pude escuchar ese audio 🙉 ¿Me lo escribís, o me mandás otro?".into()
            }
            Refusal::Busy => "Estoy con muchos audios a la vez 🙈 ¿Me lo escribís así te \
                              respondo enseguida?"
                .into(),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Refusal::Unavailable => "unavailable",
            Refusal::TooLong(_) => "too_long",
            Refusal::Unreadable => "unreadable",
            Refusal::Busy => "busy",
        }
    }
}

/// What became of a voice note.
#[derive(Debug, Clone, PartialEq)]
pub enum Heard {
    Words { text: String, confidence: f32 },
    Refused(Refusal),
}

pub enum Resolution {
    Ready(Heard),
    /// Still being downloaded or transcribed; ask again when woken.
    Pending,
}

enum Job {
    Running,
    Finished(Heard),
    RetryAt(Instant, u32),
}

pub struct Voice {
    pool: Option<Pool>,
    media: Option<MediaClient>,
    max_secs: u32,
    jobs: Mutex<HashMap<String, Job>>,
}

impl Voice {
    /// Loads the model when one is configured; without it (or without WhatsApp credentials to
    /// download with) every voice note is answered with "please type".
    pub fn new(settings: &crate::config::Settings) -> Voice {
        let pool = settings.whisper_model.as_ref().and_then(|path| {
            match Transcriber::load(path) {
                Ok(model) => {
                    tracing::info!(model = model.model_name(), "Whisper model loaded");
                    Some(Pool::new(
                        model,
                        voice::Settings {
                            threads: settings.whisper_threads,
                            concurrency: settings.voice_concurrency,
                            queue: settings.voice_queue,
                            fit_window: true,
                        },
                    ))
                }
                Err(err) => {
                    tracing::warn!(error = %err, "voice notes will be answered with \"please type\"");
                    None
                }
            }
        });
        let media = settings.whatsapp_media(integrations::whatsapp::media::MAX_AUDIO_BYTES);
        Voice {
            pool,
            media,
            max_secs: settings.voice_max_secs,
            jobs: Mutex::new(HashMap::new()),
        }
    }

    /// For `/readyz`: whether voice notes are heard, with which model, and how many are in the
    /// works right now.
    pub fn status(&self) -> serde_json::Value {
        match (&self.pool, &self.media) {
            (Some(pool), Some(_)) => serde_json::json!({
                "transcription": "on",
                "model": pool.model_name(),
                "in_progress": pool.load(),
            }),
            (None, _) => serde_json::json!({"transcription": "off: no Whisper model"}),
            (Some(_), None) => {
                serde_json::json!({"transcription": "off: no WhatsApp credentials to download notes"})
            }
        }
    }

    /// What this instance knows of the note: heard (handed over once), still in the works, or
    /// nothing yet (`None`: look for a recorded transcript, then start a job).
    fn known(&self, wamid: &str) -> Option<Resolution> {
        let Ok(mut jobs) = self.jobs.lock() else {
            return Some(Resolution::Pending);
        };
        match jobs.get(wamid) {
            Some(Job::Running) => Some(Resolution::Pending),
            Some(Job::RetryAt(at, _)) if *at > Instant::now() => Some(Resolution::Pending),
            Some(Job::Finished(_)) => match jobs.remove(wamid) {
                Some(Job::Finished(heard)) => Some(Resolution::Ready(heard)),
                _ => Some(Resolution::Pending),
            },
            _ => None,
        }
    }
}

/// Where the audio message stands: heard (now or before a restart), or still in the works.
pub async fn resolve(
    state: &web::Data<AppState>,
    m: &InboundMessage,
) -> Result<Resolution, Problem> {
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
async fn listen(state: &AppState, m: &InboundMessage) -> Result<Heard, Retry> {
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
    let names: Vec<String> = projections::queries::accommodations(&state.db)
        .await
        .map(|all| all.into_iter().map(|a| a.name).collect())
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
        .map_err(|p| Retry(p.detail.clone()))?;
    Ok(Heard::Words {
        text: transcript.text,
        confidence: transcript.confidence,
    })
}

async fn record(
    state: &AppState,
    m: &InboundMessage,
    transcript: &voice::Transcript,
    duration_ms: u64,
    model: &str,
) -> Result<(), Problem> {
    let guest = pii::guest_for_phone(&state.db, &m.wa_id).await?;
    let key = pii::key_or_create(
        &state.db,
        &guest.stream_id(),
        state.now().timestamp_millis(),
    )
    .await?;
    let event = GuestEvent::VoiceNoteTranscribed(VoiceNoteTranscribed {
        wamid: m.wamid.clone(),
        sealed_text: pii::seal(&key, transcript.text.as_bytes()),
        duration_ms,
        model: model.to_owned(),
        transcribe_ms: transcript.elapsed_ms,
        confidence: transcript.confidence,
        at: state.now(),
    });
    state
        .store
        .append(
            &guest.stream_id(),
            ExpectedVersion::Any,
            &[NewEvent {
                event_id: crate::chat::derived(&m.wamid, "voice"),
                event_type: event.event_type().to_owned(),
                schema_version: event.event_version() as i32,
                payload: event.to_payload(),
                metadata: eventstore::Metadata {
                    correlation_id: Some(guest.as_uuid()),
                    provider_message_id: Some(m.wamid.clone()),
                    source: Some("whatsapp".into()),
                    actor: Some("guest".into()),
                    ..eventstore::Metadata::default()
                },
            }],
        )
        .await
        .map(|_| ())
        .or_else(|e| {
            // Recorded already (the same event id, sealed with another nonce) by a run that
            // crashed before answering: the first record stands.
            if matches!(e, eventstore::StoreError::EventIdReused(_)) {
                Ok(())
            } else {
                Err(Problem::from(e))
            }
        })
}

/// The words of voice note `wamid`, as recorded; `None` when it was never transcribed or the
/// guest's key was destroyed (then the words are gone for good).
pub async fn recorded(
    state: &AppState,
    guest: &GuestId,
    wamid: &str,
) -> Result<Option<Heard>, Problem> {
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
