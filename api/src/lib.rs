//! The `cabanas` HTTP service: routes by audience, authentication, the guards every request
//! passes (rate limits, idempotency, body limits), problems (RFC 9457) from the application's
//! errors, metrics, and the command line. The use cases and workers are the `app` crate's.
//!
//! # Layout
//!
//! - `routes.rs`: the route table and the OpenAPI document; `server.rs` builds the service
//!   and starts the `app` workers; `state.rs` is what every handler gets.
//! - By audience: `public.rs` (guests and clients: availability, quotes, holds),
//!   `admin/` (accommodations, reservations, calendars, conversations, guests, payments),
//!   `audit.rs` (the log, histories, verification), `webhooks/` (WhatsApp, Mercado Pago, the
//!   payment return page), `ical_export.rs`, `ops.rs` (health, readiness, metrics, docs),
//!   `panel/` (the owner's web panel at `/panel/`: server-rendered HTML, sessions, ADR 0005).
//! - Around every route: `auth.rs` (bearer tokens and roles), `guard.rs` (rate limits,
//!   idempotency keys; `posted.rs` gives a write handler its body under the key), `input.rs`
//!   (parsing path and query input), `problem.rs` (every error
//!   as an RFC 9457 problem, `AppError` mapped in one place), `telemetry.rs` (metrics).
//! - `cli/`: the `cabanas` command line (the binary itself is `main.rs`).

pub mod admin;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod guard;
pub mod health;
pub mod ical_export;
pub mod input;
pub mod ops;
pub mod panel;
pub mod posted;
pub mod problem;
pub mod public;
pub mod routes;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod webhooks;

pub use app::config;
