//! What the booking engine tells guests and the owner outside a dialogue turn, in Spanish
//! (Argentina): pure formatting of plain data (domain types and strings). The `app` crate decides
//! when each notice is sent and to whom; the words are here, beside the tests that read them.
//!
//! # Layout
//!
//! - [`payments`]: what a payment event means to the guest (links as buttons, confirmations,
//!   refunds, a hold lapsed, a stay moved), the reminder before an unpaid hold lapses, and the
//!   owner's notices of a booking paid, a balance paid online, a paid stay cancelled, a payment
//!   that needs them.
//! - [`arrivals`]: what a confirmed guest needs to arrive (told on confirmation and the day
//!   before), and the owner's agenda of who arrives and who leaves.
//! - [`alerts`]: the owner's alerts raised from the chat: a guest who asked for a person, a
//!   transfer to check (and the guest's thanks for the receipt), a question nobody answered.

pub mod alerts;
pub mod arrivals;
pub mod payments;

pub use arrivals::arrival;

#[cfg(test)]
mod fixtures;
