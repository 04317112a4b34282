//! The outside world: WhatsApp Cloud API, Mercado Pago, and later iCal feeds and Whisper. Pure parsing and verification live here; the HTTP routes that use
//! them are in `api`.

pub mod breaker;
pub mod mercadopago;
pub mod retry;
pub mod whatsapp;
