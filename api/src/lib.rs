//! The `cabanas` HTTP service: routes by audience, authentication, the guards every request
//! passes (rate limits, idempotency, body limits), problems (RFC 9457) from the application's
//! errors, metrics, and the command line. The use cases and workers are the `app` crate's.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod guard;
pub mod ical_export;
pub mod input;
pub mod ops;
pub mod problem;
pub mod public;
pub mod routes;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod webhooks;

pub use app::config;
