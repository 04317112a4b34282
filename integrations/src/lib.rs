//! The outside world: WhatsApp Cloud API (so far its inbound webhook), and later Mercado Pago,
//! iCal feeds and Whisper. Pure parsing and verification live here; the HTTP routes that use
//! them are in `api`.

pub mod breaker;
pub mod whatsapp;
