//! Voice notes, understood on the owner's own machine: OGG/Opus decoding ([`decode`]) and
//! Whisper transcription ([`Transcriber`], behind the `voice` feature) run on a bounded pool
//! ([`Pool`]) so a burst of notes queues instead of piling up threads, and an overload is an
//! answer ("send it as text"), not a stall.

pub mod decode;
#[cfg(feature = "voice")]
mod whisper;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::Semaphore;

/// What Whisper heard.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub text: String,
    /// Mean probability of the text tokens (0–1): how sure the model was.
    pub confidence: f32,
    /// Wall time of the transcription itself.
    pub elapsed_ms: u64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TranscribeError {
    /// No model could be loaded (none configured, a bad file, or a build without `voice`).
    #[error("voice transcription unavailable: {0}")]
    Unavailable(String),
    /// Every slot is busy and the queue is full.
    #[error("too many voice notes at once")]
    Overloaded,
    #[error("transcription failed: {0}")]
    Failed(String),
}

/// How transcriptions run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Threads per transcription.
    pub threads: usize,
    /// Transcriptions at the same time.
    pub concurrency: usize,
    /// Notes allowed to wait for a slot; one more is refused as overload.
    pub queue: usize,
    /// Shrink the encoder's window to the note's length (see [`audio_ctx_for`]).
    pub fit_window: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            threads: 2,
            concurrency: 1,
            queue: 32,
            fit_window: true,
        }
    }
}

/// Whisper's encoder always looks at a 30 s window (1500 frames, 50 per second), so a 5 s note
/// costs almost what a 30 s one does. Telling it the note is shorter cuts that work in
/// proportion; the margin keeps the last word from being clipped, and a floor keeps very short
/// notes from confusing the model.
pub fn audio_ctx_for(samples: usize) -> i32 {
    let frames = samples.div_ceil(decode::SAMPLE_RATE as usize / 50);
    (frames + 64).clamp(256, 1500) as i32
}

/// The domain's words, given to Whisper as context so `cabaña` does not come out as `caballa`
/// and the cabins' names are spelled as the owner spells them.
pub fn vocabulary_prompt(accommodation_names: &[String]) -> String {
    let mut prompt = String::from(
        "Reservar una cabaña el finde, noches, personas, seña. Enero, febrero, marzo, \
         abril, mayo, julio, septiembre, octubre, noviembre, diciembre, Semana Santa.",
    );
    for name in accommodation_names.iter().take(12) {
        prompt.push(' ');
        prompt.push_str(name.trim());
        prompt.push('.');
    }
    prompt
}

/// One Whisper model, loaded once and shared.
pub struct Transcriber {
    #[cfg(feature = "voice")]
    model: whisper::Model,
    name: String,
}

impl Transcriber {
    /// Loads a ggml model file. Takes a fraction of a second for `base`, and about 330 MB.
    pub fn load(path: &Path) -> Result<Transcriber, TranscribeError> {
        if !path.is_file() {
            return Err(TranscribeError::Unavailable(format!(
                "no model file at {}",
                path.display()
            )));
        }
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "whisper".into());
        #[cfg(feature = "voice")]
        {
            Ok(Transcriber {
                model: whisper::Model::load(path)?,
                name,
            })
        }
        #[cfg(not(feature = "voice"))]
        {
            let _ = name;
            Err(TranscribeError::Unavailable(
                "this build has no voice support (built without the `voice` feature)".into(),
            ))
        }
    }

    /// The model's name as recorded with each transcript (`ggml-base`).
    pub fn model_name(&self) -> &str {
        &self.name
    }

    /// Transcribes 16 kHz mono samples as Spanish. Blocking: run it off the async threads.
    pub fn transcribe(
        &self,
        samples: &[f32],
        prompt: &str,
        settings: &Settings,
    ) -> Result<Transcript, TranscribeError> {
        let started = Instant::now();
        #[cfg(feature = "voice")]
        {
            let (text, confidence) = self.model.run(samples, prompt, settings)?;
            Ok(Transcript {
                text,
                confidence,
                elapsed_ms: started.elapsed().as_millis() as u64,
            })
        }
        #[cfg(not(feature = "voice"))]
        {
            let _ = (samples, prompt, settings, started);
            Err(TranscribeError::Unavailable("no voice support".into()))
        }
    }
}

/// Transcriptions on a bounded blocking pool: at most `concurrency` at a time, at most `queue`
/// waiting, anything beyond refused at once.
pub struct Pool {
    model: Arc<Transcriber>,
    settings: Settings,
    slots: Arc<Semaphore>,
    admitted: AtomicUsize,
}

impl Pool {
    pub fn new(model: Transcriber, settings: Settings) -> Pool {
        Pool {
            model: Arc::new(model),
            slots: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            settings,
            admitted: AtomicUsize::new(0),
        }
    }

    pub fn model_name(&self) -> &str {
        self.model.model_name()
    }

    /// Notes being transcribed or waiting.
    pub fn load(&self) -> usize {
        self.admitted.load(Ordering::Relaxed)
    }

    pub async fn transcribe(
        &self,
        samples: Vec<f32>,
        prompt: String,
    ) -> Result<Transcript, TranscribeError> {
        let limit = self.settings.concurrency.max(1) + self.settings.queue;
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= limit {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            metrics::counter!("cabanas_voice_overloaded_total").increment(1);
            return Err(TranscribeError::Overloaded);
        }
        let _admitted = Admitted(&self.admitted);
        // The queue an operator watches: notes being heard or waiting for a slot.
        metrics::gauge!("cabanas_voice_notes_in_progress").set(self.load() as f64);
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| TranscribeError::Failed("pool closed".into()))?;
        let model = self.model.clone();
        let settings = self.settings.clone();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            model.transcribe(&samples, &prompt, &settings)
        })
        .await
        .map_err(|e| TranscribeError::Failed(e.to_string()))?;
        if let Ok(t) = &result {
            metrics::histogram!("cabanas_voice_transcription_seconds")
                .record(t.elapsed_ms as f64 / 1000.0);
        }
        result
    }
}

/// Gives back an admission slot however the transcription ends (even if its future is dropped).
struct Admitted<'a>(&'a AtomicUsize);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        let left = self.0.fetch_sub(1, Ordering::AcqRel).saturating_sub(1);
        metrics::gauge!("cabanas_voice_notes_in_progress").set(left as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_fits_the_note() {
        assert_eq!(audio_ctx_for(16_000), 256, "a floor for very short notes");
        assert_eq!(audio_ctx_for(16_000 * 10), 564);
        assert_eq!(
            audio_ctx_for(16_000 * 45),
            1500,
            "never past Whisper's window"
        );
    }

    #[test]
    fn the_prompt_carries_the_cabins_names() {
        let p = vocabulary_prompt(&["Cabaña del Lago".into(), " El Refugio ".into()]);
        assert!(p.contains("cabaña") && p.contains("finde"));
        assert!(p.ends_with("Cabaña del Lago. El Refugio."));
    }

    #[test]
    fn a_missing_model_is_reported_not_panicked_on() {
        let err = Transcriber::load(Path::new("/nonexistent/ggml-base.bin"))
            .err()
            .expect("no model");
        assert!(matches!(err, TranscribeError::Unavailable(_)));
    }
}
