//! Every rule a booking decision can break, as one typed error.

use chrono::{DateTime, NaiveDate, Utc};

use crate::ids::{BlockId, ReservationId};
use crate::money::Money;

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum BookingError {
    #[error("the accommodation is not registered")]
    NotRegistered,
    #[error("the accommodation is already registered")]
    AlreadyRegistered,
    #[error("invalid accommodation: {0}")]
    InvalidAccommodation(String),
    #[error("invalid pricing: {0}")]
    InvalidPricing(String),
    #[error("check-out ({check_out}) must be after check-in ({check_in})")]
    CheckOutNotAfterCheckIn {
        check_in: NaiveDate,
        check_out: NaiveDate,
    },
    #[error("check-in {check_in} is in the past (today is {today})")]
    CheckInInPast {
        check_in: NaiveDate,
        today: NaiveDate,
    },
    #[error("{nights} nights is below the minimum of {minimum}")]
    StayTooShort { nights: u32, minimum: u32 },
    #[error("{nights} nights is above the maximum of {maximum}")]
    StayTooLong { nights: u32, maximum: u32 },
    #[error("{check_in} is too far ahead: the calendar opens until {latest}")]
    TooFarAhead {
        check_in: NaiveDate,
        latest: NaiveDate,
    },
    #[error("{guests} guests does not fit: between 1 and {capacity}")]
    InvalidGuestCount { guests: u32, capacity: u32 },
    #[error("the nights from {check_in} to {check_out} are not available")]
    DatesUnavailable {
        /// The first occupied range that clashes with the request.
        check_in: NaiveDate,
        check_out: NaiveDate,
    },
    #[error("reservation {0} already exists")]
    DuplicateReservation(ReservationId),
    #[error("reservation {0} not found")]
    ReservationNotFound(ReservationId),
    #[error("the hold expired at {expired_at}")]
    HoldExpired { expired_at: DateTime<Utc> },
    #[error("the reservation was cancelled")]
    ReservationCancelled,
    #[error("the reservation is already confirmed")]
    AlreadyConfirmed,
    #[error("the hold was already extended once")]
    HoldAlreadyExtended,
    #[error("the reservation is not on hold")]
    NotHeld,
    #[error("the reservation is not confirmed: a hold is confirmed with its deposit")]
    NotConfirmed,
    #[error("nothing is left to pay on this reservation")]
    NothingToPay,
    #[error("the link asks for {asked}, but what is owed is {owed}")]
    LinkNotForWhatIsOwed { asked: Money, owed: Money },
    #[error("the payment reference must have 1 to 100 characters")]
    InvalidPaymentReference,
    #[error("payment {0} is already recorded with another amount")]
    PaymentReferenceTaken(String),
    #[error("the hold is not due to expire until {expires_at}")]
    HoldNotDue { expires_at: DateTime<Utc> },
    #[error("the paid amount must be positive")]
    InvalidAmount,
    #[error("the hold duration must be positive")]
    InvalidHoldDuration,
    #[error("block {0} not found")]
    BlockNotFound(BlockId),
    #[error("block {0} already exists")]
    DuplicateBlock(BlockId),
    #[error("no refund {0} is due on this reservation")]
    UnknownRefund(String),
    #[error("a hold's nights do not change: cancel it and place a new hold")]
    HoldNightsFixed,
    #[error("the stay would end on {check_out}, which is not after today ({today})")]
    StayOver {
        check_out: NaiveDate,
        today: NaiveDate,
    },
    #[error(
        "{paid} is already paid, more than the new total of {total}: cancel the reservation (its policy refunds) or choose other nights"
    )]
    PaidAboveTotal { paid: Money, total: Money },
}
