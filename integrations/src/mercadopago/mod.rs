//! Mercado Pago: Checkout Pro preferences (the payment link), payments fetched by id, refunds,
//! and the signed notifications it sends.

pub mod client;
pub mod webhook;

pub use client::{MercadoPago, MpError, Payment, PaymentProvider, Preference, Refund};
