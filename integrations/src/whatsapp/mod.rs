//! WhatsApp Cloud API.

pub mod client;
pub mod webhook;
