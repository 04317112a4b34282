//! What a voice note becomes (heard, refused, still in the works), and the transcription jobs
//! this instance runs: the Whisper pool, the media client, and each note's job.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use integrations::voice::{self, Pool, Transcriber};
use integrations::whatsapp::media::MediaClient;

/// Downloads that keep failing for a transient reason are given up on after this many tries
/// (about five minutes of backoff), and the guest is asked to type instead.
pub(super) const MAX_ATTEMPTS: u32 = 6;

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

    pub(super) fn label(self) -> &'static str {
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

pub(super) enum Job {
    Running,
    Finished(Heard),
    RetryAt(Instant, u32),
}

pub struct Voice {
    pub(super) pool: Option<Pool>,
    pub(super) media: Option<MediaClient>,
    pub(super) max_secs: u32,
    pub(super) jobs: Mutex<HashMap<String, Job>>,
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
    pub(super) fn known(&self, wamid: &str) -> Option<Resolution> {
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
