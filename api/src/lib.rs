//! The cabanas service: configuration, the HTTP application and its start-up.
//!
//! # Layout
//! - [`config`]: settings from the environment (names in docs/ARCHITECTURE), embedded defaults.
//! - [`app`]: `Application::build` binds the listener and wires routes; `run` serves until
//!   SIGTERM/Ctrl-C.

pub mod app;
pub mod config;
