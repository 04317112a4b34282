//! WhatsApp Cloud API.

pub mod client;
pub mod media;
pub mod template;
pub mod webhook;
