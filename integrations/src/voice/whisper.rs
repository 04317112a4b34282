//! whisper.cpp through whisper-rs: one context (the weights) shared by every transcription, and
//! a few decoding states (KV caches, a few tens of MB each) kept for reuse instead of being
//! allocated per note.

use std::path::Path;
use std::sync::{Mutex, Once};

use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use super::{Settings, TranscribeError, audio_ctx_for};

pub(super) struct Model {
    context: WhisperContext,
    idle: Mutex<Vec<WhisperState>>,
}

static LOGGING: Once = Once::new();

impl Model {
    pub(super) fn load(path: &Path) -> Result<Model, TranscribeError> {
        // whisper.cpp and ggml print to stderr by default; route them through tracing.
        LOGGING.call_once(whisper_rs::install_logging_hooks);
        let mut params = WhisperContextParameters::default();
        params.use_gpu(false);
        let context = WhisperContext::new_with_params(path, params)
            .map_err(|e| TranscribeError::Unavailable(format!("model not loaded: {e}")))?;
        if !context.is_multilingual() {
            return Err(TranscribeError::Unavailable(
                "the model is English-only; a multilingual model (ggml-base.bin) is needed".into(),
            ));
        }
        Ok(Model {
            context,
            idle: Mutex::new(Vec::new()),
        })
    }

    pub(super) fn run(
        &self,
        samples: &[f32],
        prompt: &str,
        settings: &Settings,
    ) -> Result<(String, f32), TranscribeError> {
        let failed = |e: whisper_rs::WhisperError| TranscribeError::Failed(e.to_string());
        let reused = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut state = match reused {
            Some(s) => s,
            None => self.context.create_state().map_err(failed)?,
        };

        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_language(Some("es"));
        params.set_n_threads(settings.threads.max(1) as i32);
        params.set_initial_prompt(prompt);
        params.set_no_context(true);
        params.set_single_segment(true);
        params.set_no_timestamps(true);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        if settings.fit_window {
            params.set_audio_ctx(audio_ctx_for(samples.len()));
        }
        state.full(params, samples).map_err(failed)?;

        let eot = self.context.token_eot();
        let mut text = String::new();
        let (mut sum, mut count) = (0.0f32, 0usize);
        for segment in state.as_iter() {
            text.push_str(&segment.to_str_lossy().map_err(failed)?);
            for i in 0..segment.n_tokens() {
                if let Some(token) = segment.get_token(i)
                    && token.token_id() < eot
                {
                    sum += token.token_probability();
                    count += 1;
                }
            }
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(state);
        }
        let confidence = if count == 0 { 0.0 } else { sum / count as f32 };
        Ok((text.trim().to_owned(), confidence))
    }
}
