//! The outside world: WhatsApp Cloud API, Mercado Pago, iCal feeds, and Whisper transcription of voice notes. Pure parsing and verification live here; the HTTP routes that use
//! them are in `api`.

pub mod breaker;
pub mod ical;
pub mod mercadopago;
pub mod retry;
pub mod voice;
pub mod whatsapp;
