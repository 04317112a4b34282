//! OGG/Opus voice notes to the 16 kHz mono f32 samples Whisper reads, in process (no ffmpeg).
//!
//! Opus decodes natively at 16 kHz, so no resampling step is needed: the decoder's own
//! band-limiting is what ffmpeg's decode-then-resample approximates. A stereo note is mixed
//! down. Half a second of silence goes in front, because Whisper tends to drop a first word
//! that starts right at the beginning of its window.

use std::io::Cursor;

use opus_pure::{MAX_PACKET_SAMPLES, OggOpusReader, Trim};

/// Whisper's sample rate.
pub const SAMPLE_RATE: u32 = 16_000;
/// Silence put in front of the speech.
pub const LEAD_IN_SAMPLES: usize = SAMPLE_RATE as usize / 2;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    /// Not an OGG/Opus stream (an mp4/aac or mp3 file, or garbage).
    #[error("not an OGG/Opus voice note: {0}")]
    NotOggOpus(String),
    /// Longer than the configured limit; decoding stopped there.
    #[error("the voice note is longer than {limit_secs} s")]
    TooLong { limit_secs: u32 },
    /// No sound at all.
    #[error("the voice note is empty")]
    Empty,
}

/// A decoded note: the samples Whisper gets (lead-in included) and how long the guest spoke.
#[derive(Debug, Clone)]
pub struct Pcm {
    pub samples: Vec<f32>,
    pub duration_ms: u64,
}

/// Decodes an OGG/Opus file, refusing anything longer than `max_secs` without decoding the rest.
pub fn ogg_opus(bytes: &[u8], max_secs: u32) -> Result<Pcm, DecodeError> {
    let bad = |e: opus_pure::Error| DecodeError::NotOggOpus(e.to_string());
    let mut reader = OggOpusReader::new(Cursor::new(bytes)).map_err(bad)?;
    let head = reader.head().clone();
    let channels = usize::from(head.channel_count.max(1));
    let mut decoder = head.decoder(SAMPLE_RATE as i32).map_err(bad)?;
    let mut trim = Trim::new(&head, SAMPLE_RATE as i32, channels).map_err(bad)?;
    let limit = max_secs as usize * SAMPLE_RATE as usize;

    let mut block = vec![0.0f32; MAX_PACKET_SAMPLES * channels];
    let mut samples = vec![0.0f32; LEAD_IN_SAMPLES];
    for packet in reader.packets() {
        let packet = packet.map_err(bad)?;
        let n = decoder
            .decode(&packet.data, MAX_PACKET_SAMPLES, &mut block)
            .map_err(bad)?;
        let kept = trim.keep(&packet, &block[..n * channels]);
        if channels == 1 {
            samples.extend_from_slice(kept);
        } else {
            samples.extend(
                kept.chunks_exact(channels)
                    .map(|frame| frame.iter().sum::<f32>() / channels as f32),
            );
        }
        if samples.len() - LEAD_IN_SAMPLES > limit {
            return Err(DecodeError::TooLong {
                limit_secs: max_secs,
            });
        }
    }
    let spoken = samples.len() - LEAD_IN_SAMPLES;
    if spoken == 0 {
        return Err(DecodeError::Empty);
    }
    Ok(Pcm {
        samples,
        duration_ms: spoken as u64 * 1000 / u64::from(SAMPLE_RATE),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opus_pure::{Application, MAX_PACKET_BYTES, OggOpusWriter, OpusEncoder, OpusHead};

    /// A tone encoded as a WhatsApp-style note (mono, 48 kHz input, 20 ms frames).
    fn note(secs: f32, channels: u8) -> Vec<u8> {
        let rate = 48_000;
        let mut encoder =
            OpusEncoder::new(rate, usize::from(channels), Application::Voip).expect("encoder");
        let head = OpusHead::for_encoder(&encoder, rate as u32);
        let mut out = Vec::new();
        let mut writer = OggOpusWriter::new(&mut out, head).expect("writer");
        let frame = 960;
        let total = (secs * rate as f32) as usize;
        let mut packet = vec![0u8; MAX_PACKET_BYTES];
        let mut t = 0usize;
        while t < total {
            let pcm: Vec<f32> = (0..frame)
                .flat_map(|i| {
                    let s = ((t + i) as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin();
                    std::iter::repeat_n(s * 0.3, usize::from(channels))
                })
                .collect();
            let n = encoder.encode(&pcm, frame, &mut packet).expect("encode");
            writer.write_packet(&packet[..n]).expect("write");
            t += frame;
        }
        writer.finish().expect("finish");
        out
    }

    #[test]
    fn decodes_at_16_khz_with_half_a_second_in_front() {
        let pcm = ogg_opus(&note(2.0, 1), 120).expect("decodes");
        assert!(
            (1_950..=2_050).contains(&pcm.duration_ms),
            "{}",
            pcm.duration_ms
        );
        let spoken = pcm.samples.len() - LEAD_IN_SAMPLES;
        assert_eq!(spoken / 16, pcm.duration_ms as usize, "16 samples per ms");
        assert!(pcm.samples[..LEAD_IN_SAMPLES].iter().all(|s| *s == 0.0));
        let energy: f32 = pcm.samples[LEAD_IN_SAMPLES..].iter().map(|s| s * s).sum();
        assert!(energy > 100.0, "the tone came through: {energy}");
    }

    #[test]
    fn stereo_is_mixed_down() {
        let pcm = ogg_opus(&note(1.0, 2), 120).expect("decodes");
        assert!((950..=1_050).contains(&pcm.duration_ms));
    }

    #[test]
    fn a_note_over_the_limit_is_refused() {
        assert_eq!(
            ogg_opus(&note(3.0, 1), 2).unwrap_err(),
            DecodeError::TooLong { limit_secs: 2 }
        );
    }

    #[test]
    fn other_formats_are_refused_not_panicked_on() {
        for bytes in [
            &b""[..],
            b"ID3\x04\x00mp3 data",
            b"\x00\x00\x00\x18ftypM4A ",
        ] {
            assert!(matches!(
                ogg_opus(bytes, 120),
                Err(DecodeError::NotOggOpus(_))
            ));
        }
    }
}
