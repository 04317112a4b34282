//! The `cabanas` service: configuration, the HTTP application and its workers.

pub mod app;
pub mod arrivals;
pub mod audit;
pub mod auth;
pub mod chat;
pub mod chat_cli;
pub mod config;
pub mod expiry;
pub mod guard;
pub mod guests;
pub mod ical;
pub mod outbox;
pub mod owner;
pub mod payments;
pub mod problem;
pub mod queue;
pub mod routes;
pub mod telemetry;
pub mod voice;
pub mod whatsapp;
