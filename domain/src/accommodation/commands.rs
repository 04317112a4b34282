//! What can be asked of an accommodation: one struct per command, and the enum `decide` takes.

use chrono::{DateTime, Duration, NaiveTime, Utc};

use crate::house::Answers;
use crate::ids::{AccommodationId, BlockId, ReservationCode, ReservationId};
use crate::payment::PaymentFacts;
use crate::pricing::Pricing;
use crate::{Money, StayDates};

use super::{BlockSource, CancelledBy, Channel, ExternalKind};

#[derive(Clone, Debug, PartialEq)]
pub struct RegisterAccommodation {
    pub accommodation_id: AccommodationId,
    pub name: String,
    pub capacity: u32,
    pub pricing: Pricing,
    pub min_nights: u32,
    pub check_in_time: NaiveTime,
    pub check_out_time: NaiveTime,
    /// How to get there (address, a map link, the key box): told to guests whose stay is
    /// confirmed, never shown publicly.
    pub directions: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChangePricing {
    pub pricing: Pricing,
    /// `None` keeps the current minimum.
    pub min_nights: Option<u32>,
}

/// Name, capacity and house times; pricing has its own command. Absent fields stay as they are.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ChangeDetails {
    pub name: Option<String>,
    pub capacity: Option<u32>,
    pub check_in_time: Option<NaiveTime>,
    pub check_out_time: Option<NaiveTime>,
    /// `Some("")` removes them.
    pub directions: Option<String>,
    /// Answers to lay over the current ones (a blank one removes its topic); `None` keeps them.
    pub answers: Option<Answers>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PlaceHold {
    pub reservation_id: ReservationId,
    pub code: ReservationCode,
    /// An opaque reference to the guest (never their phone or name: those live encrypted
    /// elsewhere so that the history survives an erasure request).
    pub guest_ref: String,
    pub stay: StayDates,
    pub guests: u32,
    pub channel: Channel,
    pub hold_duration: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExtendHold {
    pub reservation_id: ReservationId,
    pub by: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConfirmReservation {
    pub reservation_id: ReservationId,
    pub payment_reference: String,
    pub amount_paid: Money,
}

/// A deposit the owner took by hand after the hold lapsed: a bank transfer that arrived, or was
/// seen, too late. `Confirm` refuses a lapsed hold; this is how the transfer's payment flow
/// honours it, as a late payment online is honoured: the reservation is confirmed if its nights
/// are still free, and nothing is recorded if they are not (the owner gives the money back).
#[derive(Clone, Debug, PartialEq)]
pub struct ConfirmLate {
    pub reservation_id: ReservationId,
    pub payment_reference: String,
    pub amount_paid: Money,
}

/// A payment the owner took by hand on a confirmed stay: the balance paid in cash on arrival,
/// a bank transfer. The deposit of a hold taken by hand confirms it instead (`Confirm`).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordManualPayment {
    pub reservation_id: ReservationId,
    /// The owner's own reference (a receipt number, the transfer's id): the same reference told
    /// again is the same payment.
    pub reference: String,
    pub amount: Money,
    /// How it was paid (`efectivo`, `transferencia`, …), as the owner says it.
    pub method: Option<String>,
}

/// New nights (and, if given, a new party) for a confirmed reservation: the guest moves their
/// stay, or stays longer. Priced again at the cabin's current prices; what was paid stays paid.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeStay {
    pub reservation_id: ReservationId,
    pub stay: StayDates,
    /// `None`: the party stays as it was.
    pub guests: Option<u32>,
}

/// A hold's nights or party corrected before it is paid: the hold is cancelled and another
/// placed in the same decision. A hold's price is what its payment link asks for, so its
/// nights never move; doing both at once means the guest neither holds twice nor loses the
/// first hold when the second cannot be had.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplaceHold {
    /// The hold being corrected: it must still be held, and be the same guest's.
    pub previous: ReservationId,
    pub hold: PlaceHold,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CancelReservation {
    pub reservation_id: ReservationId,
    pub by: CancelledBy,
    pub reason: String,
    /// Give back everything paid, whatever the cancellation policy says: the owner cancels a
    /// confirmed stay for reasons of their own (the cabin cannot be used), not at the guest's
    /// request. False: a confirmed stay follows the policy.
    pub refund_all: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExpireHold {
    pub reservation_id: ReservationId,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BlockDates {
    pub block_id: BlockId,
    pub stay: StayDates,
    pub source: BlockSource,
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UnblockDates {
    pub block_id: BlockId,
}

/// One event of an imported calendar, reduced to what matters: its UID and its nights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalStay {
    pub uid: String,
    pub stay: StayDates,
    pub kind: ExternalKind,
}

/// A fetched calendar (Airbnb, Booking.com, …) as a full snapshot of what it holds: new UIDs are
/// blocked, moved ones move their block, vanished ones are unblocked (only when `complete`: a
/// feed that lost its closing line may be cut short, so it adds and moves but never removes).
#[derive(Clone, Debug, PartialEq)]
pub struct SyncCalendar {
    pub calendar: String,
    pub events: Vec<ExternalStay>,
    pub complete: bool,
}

/// A payment link was created at the provider for a held reservation.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordPaymentLink {
    pub reservation_id: ReservationId,
    pub preference_id: String,
    pub init_point: String,
    pub amount: Money,
    pub expires_at: DateTime<Utc>,
}

/// A payment as fetched from the provider, to be decided on (confirm, top up, refund, record).
#[derive(Clone, Debug, PartialEq)]
pub struct ApplyPayment {
    pub reservation_id: ReservationId,
    pub payment: PaymentFacts,
}

/// The provider carried out a refund this stream had decided (`RefundDue`).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordRefund {
    pub reservation_id: ReservationId,
    pub refund_key: String,
    pub refund_id: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AccommodationCommand {
    Register(RegisterAccommodation),
    ChangePricing(ChangePricing),
    ChangeDetails(ChangeDetails),
    PlaceHold(PlaceHold),
    ExtendHold(ExtendHold),
    Confirm(ConfirmReservation),
    ConfirmLate(ConfirmLate),
    Cancel(CancelReservation),
    ExpireHold(ExpireHold),
    BlockDates(BlockDates),
    UnblockDates(UnblockDates),
    RecordPaymentLink(RecordPaymentLink),
    ApplyPayment(ApplyPayment),
    RecordManualPayment(RecordManualPayment),
    RecordRefund(RecordRefund),
    SyncCalendar(SyncCalendar),
    ChangeStay(ChangeStay),
    ReplaceHold(ReplaceHold),
}

impl AccommodationCommand {
    /// Stable name for metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Register(_) => "RegisterAccommodation",
            Self::ChangePricing(_) => "ChangePricing",
            Self::ChangeDetails(_) => "ChangeDetails",
            Self::PlaceHold(_) => "PlaceHold",
            Self::ExtendHold(_) => "ExtendHold",
            Self::Confirm(_) => "ConfirmReservation",
            Self::ConfirmLate(_) => "ConfirmLate",
            Self::Cancel(_) => "CancelReservation",
            Self::ExpireHold(_) => "ExpireHold",
            Self::BlockDates(_) => "BlockDates",
            Self::UnblockDates(_) => "UnblockDates",
            Self::RecordPaymentLink(_) => "RecordPaymentLink",
            Self::ApplyPayment(_) => "ApplyPayment",
            Self::RecordManualPayment(_) => "RecordManualPayment",
            Self::RecordRefund(_) => "RecordRefund",
            Self::SyncCalendar(_) => "SyncCalendar",
            Self::ChangeStay(_) => "ChangeStay",
            Self::ReplaceHold(_) => "ReplaceHold",
        }
    }
}
