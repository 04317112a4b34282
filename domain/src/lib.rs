//! Pure booking rules for cabanas.
//!
//! Nothing here does I/O, awaits, or reads a clock: the caller passes `now` and anything else
//! from the outside world. Each decision is `decide(&state, &command, now)`, returning the events
//! to append or a typed [`BookingError`]; `evolve` folds an event into the state and only assigns.
//!
//! # Layout
//! - [`money`]: `Money` on `Decimal`, formatted the Argentine way.
//! - [`stay`]: `StayDates`, the half-open range of nights.
//! - [`pricing`]: `Pricing` and the `Quote` a hold carries.
//! - [`ids`]: identifiers and reservation codes.
//! - [`accommodation`]: the accommodation aggregate, whose stream forbids double bookings.
//! - [`payment`]: what a provider reported about a payment, and cancellation policies.
//! - [`guest`]: the guest profile behind a reservation's `guest_ref`.
//! - [`house`]: what guests ask of a cabin besides nights and prices, and the owner's answers.
//! - [`event`]: how events are named, versioned and turned into stored JSON.

pub mod accommodation;
pub mod error;
pub mod event;
pub mod guest;
pub mod guest_aggregate;
pub mod house;
pub mod ids;
pub mod money;
pub mod payment;
pub mod pricing;
pub mod stay;
pub mod text;

pub use accommodation::{Accommodation, AccommodationCommand, AccommodationEvent};
pub use error::BookingError;
pub use event::{Aggregate, DomainEvent, EventDecodeError};
pub use guest::{GuestEvent, GuestId};
pub use guest_aggregate::{Guest, GuestCommand};
pub use ids::{AccommodationId, BlockId, ReservationCode, ReservationId};
pub use money::Money;
pub use pricing::{Pricing, Quote};
pub use stay::StayDates;
