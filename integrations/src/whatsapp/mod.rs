//! WhatsApp Cloud API.

pub mod webhook;
