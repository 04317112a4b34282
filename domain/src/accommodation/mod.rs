//! The accommodation aggregate: its stream `accommodation-{id}` holds every decision that
//! occupies nights (holds, confirmations, cancellations, expiries, blocks). Because each
//! decision is taken on the stream's current version, no two active stays ever overlap.
//!
//! # Layout
//! - this file: the limits, the [`Accommodation`] aggregate, and `decide` / `evolve`, which hand
//!   each command and each event to its family below. Everything public is re-exported here, so
//!   it is reached as `domain::accommodation::X` whichever file holds it.
//! - `commands.rs`: what can be asked, one struct per command, and [`AccommodationCommand`].
//! - `events.rs`: what is stored: the events, the value types they carry, the one table of
//!   stored names and versions, and the upcasters of older versions.
//! - `state.rs`: what the events leave behind (the cabin's details, its reservations, blocks and
//!   what occupies each night) and how it is read.
//! - `listing.rs`: registering the cabin, changing its prices and its details.
//! - `stays.rs`: holds and reservations, from placed to confirmed, moved, cancelled or expired,
//!   and how a stay claims its nights.
//! - `payments.rs`: payment links, payments from the provider or taken by hand, late payments
//!   and refunds.
//! - `calendar.rs`: nights blocked by the owner or by an imported calendar (Airbnb,
//!   Booking.com, …), and the sync that keeps the imported ones current.
//! - `validate.rs`: every check a command's input must pass, and the owner's calendar day.
//! - `tests.rs`: given / when / then tests for every rule.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::event::Aggregate;
use crate::ids::{BlockId, ReservationId};
use crate::{BookingError, StayDates};

mod calendar;
mod commands;
mod events;
mod listing;
mod payments;
mod state;
mod stays;
mod validate;

pub use commands::{
    AccommodationCommand, ApplyPayment, BlockDates, CancelReservation, ChangeDetails,
    ChangePricing, ChangeStay, ConfirmLate, ConfirmReservation, ExpireHold, ExtendHold,
    ExternalStay, PlaceHold, RecordManualPayment, RecordPaymentLink, RecordRefund,
    RegisterAccommodation, ReplaceHold, SyncCalendar, UnblockDates,
};
pub use events::{
    AccommodationDetailsChanged, AccommodationEvent, AccommodationRegistered, BlockMoved,
    BlockSource, CancelledBy, Channel, DatesBlocked, DatesUnblocked, EVENT_TYPES,
    ExternalConflictDetected, ExternalConflictResolved, ExternalKind, HOLD_PLACED_VERSION,
    HoldExpired, HoldExtended, HoldPlaced, LatePaymentAccepted, LatePaymentRejected,
    ManualPaymentRecorded, OccupantRef, PaymentLinkCreated, PaymentRecorded, PaymentReversed,
    PricingChanged, RefundDue, RefundIssued, ReservationCancelled, ReservationConfirmed,
    StayChanged, UnderpaymentReceived, upcast_hold_placed_v1,
};
pub use state::{
    AccommodationInfo, Block, Occupant, PaymentEntry, RefundState, Reservation, ReservationStatus,
};
pub use validate::{local_time, local_today, valid_calendar_name, validate_stay, within_calendar};

/// The longest stay one hold may take; longer ones are arranged with the owner.
pub const MAX_NIGHTS: u32 = 30;
/// How far ahead the calendar opens, for holds and the owner's blocks alike (two years: what
/// the channels offer; a year 9999 is a typo, not a plan).
pub const MAX_DAYS_AHEAD: u64 = 731;
/// The longest block the owner may put in one go (a season closed is under a year).
pub const MAX_BLOCK_NIGHTS: u32 = 366;
/// How payments through Mercado Pago are marked in `ReservationConfirmed::provider`.
pub const PROVIDER: &str = "mercadopago";
/// Argentina keeps UTC−3 all year (no daylight saving since 2009).
pub const ARGENTINA_UTC_OFFSET_MINUTES: i32 = -180;
/// Largest sensible cabin; a typo like 400 guests is refused at registration.
pub const MAX_CAPACITY: u32 = 50;
/// Longest directions kept: an address, a map link and a few lines about the keys.
pub const MAX_DIRECTIONS: usize = 1000;

/// The accommodation as its events left it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Accommodation {
    info: Option<AccommodationInfo>,
    reservations: BTreeMap<ReservationId, Reservation>,
    /// Every reservation by check-in date (kept current when a stay changes), so that a new
    /// stay is checked against those starting at most `longest_nights` before it, not against
    /// the cabin's whole history: a command costs the same in its tenth year as in its first.
    by_check_in: BTreeMap<NaiveDate, Vec<ReservationId>>,
    longest_nights: u32,
    blocks: BTreeMap<BlockId, Block>,
    /// Open conflicts by (calendar, UID), with the nights the import wanted.
    conflicts: BTreeMap<(String, String), StayDates>,
}

impl Aggregate for Accommodation {
    type Command = AccommodationCommand;
    type Event = AccommodationEvent;
    type Error = BookingError;

    fn decide(
        &self,
        command: &AccommodationCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        use AccommodationCommand as C;
        match command {
            // listing.rs
            C::Register(cmd) => self.decide_register(cmd, now),
            C::ChangePricing(cmd) => self.decide_change_pricing(cmd, now),
            C::ChangeDetails(cmd) => self.decide_change_details(cmd, now),
            // stays.rs
            C::PlaceHold(cmd) => self.decide_place_hold(cmd, now),
            C::ExtendHold(cmd) => self.decide_extend_hold(cmd, now),
            C::Confirm(cmd) => self.decide_confirm(cmd, now),
            C::ConfirmLate(cmd) => self.decide_confirm_late(cmd, now),
            C::ChangeStay(cmd) => self.decide_change_stay(cmd, now),
            C::ReplaceHold(cmd) => self.decide_replace_hold(cmd, now),
            C::Cancel(cmd) => self.decide_cancel(cmd, now),
            C::ExpireHold(cmd) => self.decide_expire_hold(cmd, now),
            // payments.rs
            C::RecordPaymentLink(cmd) => self.decide_link(cmd, now),
            C::ApplyPayment(cmd) => self.decide_payment(cmd, now),
            C::RecordManualPayment(cmd) => self.decide_manual_payment(cmd, now),
            C::RecordRefund(cmd) => self.decide_refund(cmd, now),
            // calendar.rs
            C::BlockDates(cmd) => self.decide_block(cmd, now),
            C::UnblockDates(cmd) => self.decide_unblock(cmd, now),
            C::SyncCalendar(cmd) => self.decide_sync(cmd, now),
        }
    }

    fn evolve(&mut self, event: &AccommodationEvent) {
        use AccommodationEvent as E;
        match event {
            // listing.rs
            E::Registered(e) => self.evolve_registered(e),
            E::PricingChanged(e) => self.evolve_pricing_changed(e),
            E::DetailsChanged(e) => self.evolve_details_changed(e),
            // stays.rs
            E::HoldPlaced(e) => self.evolve_hold_placed(e),
            E::HoldExtended(e) => self.evolve_hold_extended(e),
            E::Confirmed(e) => self.evolve_confirmed(e),
            E::StayChanged(e) => self.evolve_stay_changed(e),
            E::Cancelled(e) => self.evolve_cancelled(e),
            E::HoldExpired(e) => self.evolve_hold_expired(e),
            // payments.rs
            E::PaymentLinkCreated(e) => self.evolve_payment_link_created(e),
            E::PaymentRecorded(e) => self.evolve_payment_recorded(e),
            E::ManualPaymentRecorded(e) => self.evolve_manual_payment_recorded(e),
            E::UnderpaymentReceived(e) => self.evolve_underpayment_received(e),
            E::LatePaymentAccepted(e) => self.evolve_late_payment_accepted(e),
            E::LatePaymentRejected(e) => self.evolve_late_payment_rejected(e),
            E::RefundDue(e) => self.evolve_refund_due(e),
            E::RefundIssued(e) => self.evolve_refund_issued(e),
            E::PaymentReversed(e) => self.evolve_payment_reversed(e),
            // calendar.rs
            E::DatesBlocked(e) => self.evolve_dates_blocked(e),
            E::DatesUnblocked(e) => self.evolve_dates_unblocked(e),
            E::BlockMoved(e) => self.evolve_block_moved(e),
            E::ExternalConflictDetected(e) => self.evolve_conflict_detected(e),
            E::ExternalConflictResolved(e) => self.evolve_conflict_resolved(e),
        }
    }
}

#[cfg(test)]
mod tests;
