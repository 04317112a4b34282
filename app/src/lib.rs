//! The application layer: the use cases and workflows of the booking engine, with no HTTP in
//! them. Routes (in `api`) and background workers call the same functions; every workflow
//! matches typed errors ([`AppError`]), never a problem type, a status code or a rendered body.
//!
//! # Layout
//!
//! - [`context`]: what every workflow works with ([`Context`]: store, handler, read models'
//!   database, settings, clock, providers, wake-ups); [`config`]: the settings.
//! - [`execute`]: the one way into the command handler, with typed metadata ([`Origin`]:
//!   source, actor, causation); [`error`]: [`AppError`].
//! - [`bookings`]: placing a hold (web and WhatsApp alike), the guest's profile, codes.
//! - [`chat`]: the WhatsApp conversation worker; [`owner`]: the owner's WhatsApp commands;
//!   [`voice`]: voice notes; [`outbox`]: the reply sender.
//! - [`payments`]: Mercado Pago notifications, the reactor's side effects, the sandbox.
//! - [`expiry`], [`arrivals`]: the scheduled passes; [`calendar`]: iCal import and export.
//! - [`guests`]: guests' personal data (reading it, erasing it).
//! - [`queue`]: the table queue the inboxes and reactor tasks share; [`stop`]: stopping workers.
//! - [`workers`]: every background worker, started together and stopped together.

pub mod arrivals;
pub mod bookings;
pub mod calendar;
pub mod chat;
pub mod config;
pub mod context;
pub mod error;
pub mod execute;
pub mod expiry;
pub mod guest_stream;
pub mod guests;
pub mod inbox;
pub mod outbox;
pub mod owner;
pub mod payments;
pub mod queue;
pub mod reservations;
pub mod start;
pub mod stop;
pub mod voice;
pub mod workers;

pub use context::{Clock, Context, system_clock};
pub use error::AppError;
pub use execute::{Executed, Origin, Source, execute};
pub use stop::Stop;
