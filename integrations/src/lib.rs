//! The outside world: WhatsApp Cloud API, Mercado Pago, iCal feeds, and Whisper transcription
//! of voice notes. Clients written against each provider's documented shapes, and the parsing
//! and signature checks of what they send us; no workflow (that is `app`'s) and no route
//! (`api`'s).
//!
//! # Layout
//!
//! - `whatsapp/`: `webhook.rs` (deliveries and their `X-Hub-Signature-256`), `client.rs` (the
//!   Cloud API's messages endpoint), `media.rs` (downloads and uploads), `template.rs` (the
//!   notice template outside the 24-hour window).
//! - `mercadopago/`: `webhook.rs` (every notification shape, signed), `client.rs` (payments,
//!   preferences, refunds).
//! - `ical.rs`: feeds fetched (conditional GET, size and time limits) and parsed.
//! - `voice/`: decoding a note's audio and transcribing it with Whisper (feature `voice`).
//! - `retry.rs`, `breaker.rs`: bounded retries with jitter, and a circuit breaker per provider.

pub mod breaker;
pub mod ical;
pub mod mercadopago;
pub mod retry;
pub mod voice;
pub mod whatsapp;
