//! The accommodation aggregate: its stream `accommodation-{id}` holds every decision that
//! occupies nights (holds, confirmations, cancellations, expiries, blocks). Because each
//! decision is taken on the stream's current version, no two active stays ever overlap.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Offset, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::{Aggregate, DomainEvent, EventDecodeError};
use crate::house::Answers;
use crate::ids::{AccommodationId, BlockId, ReservationCode, ReservationId};
use crate::payment::{PaymentFacts, PaymentStatus, RefundReason, RefundVia};
use crate::pricing::{Pricing, Quote};
use crate::{BookingError, Money, StayDates};

/// The longest stay one hold may take; longer ones are arranged with the owner.
pub const MAX_NIGHTS: u32 = 30;
/// How payments through Mercado Pago are marked in `ReservationConfirmed::provider`.
pub const PROVIDER: &str = "mercadopago";
/// Argentina keeps UTC−3 all year (no daylight saving since 2009).
pub const ARGENTINA_UTC_OFFSET_MINUTES: i32 = -180;
/// Largest sensible cabin; a typo like 400 guests is refused at registration.
pub const MAX_CAPACITY: u32 = 50;

// ---------------------------------------------------------------------------------------------
// Value types shared by commands and events
// ---------------------------------------------------------------------------------------------

/// Where a booking came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Direct,
    Whatsapp,
    Admin,
    Airbnb,
    Booking,
}

/// Who cancelled a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelledBy {
    Guest,
    Admin,
    System,
}

/// Who decided that some nights are not for sale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BlockSource {
    Admin,
    /// An imported calendar (Airbnb, Booking.com, …) and the event's UID in it.
    External {
        calendar: String,
        uid: String,
    },
}

/// What an imported calendar event says the nights are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExternalKind {
    /// A guest booked on the channel ("Reserved", a guest name, …).
    Reservation,
    /// Closed by the owner or the channel ("Airbnb (Not available)", "CLOSED - Not available").
    NotAvailable,
}

/// One event of an imported calendar, reduced to what matters: its UID and its nights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalStay {
    pub uid: String,
    pub stay: StayDates,
    pub kind: ExternalKind,
}

/// What occupies nights an imported event wants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum OccupantRef {
    Reservation(ReservationId),
    Block(BlockId),
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccommodationRegistered {
    pub accommodation_id: AccommodationId,
    pub name: String,
    pub capacity: u32,
    pub pricing: Pricing,
    pub min_nights: u32,
    pub check_in_time: NaiveTime,
    pub check_out_time: NaiveTime,
    /// The offset that turns "now" into the owner's calendar day.
    #[serde(default = "default_offset")]
    pub utc_offset_minutes: i32,
    pub registered_at: DateTime<Utc>,
    /// Added later: older events have none, and an event without them is written as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directions: Option<String>,
}

fn default_offset() -> i32 {
    ARGENTINA_UTC_OFFSET_MINUTES
}

/// Longest directions kept: an address, a map link and a few lines about the keys.
pub const MAX_DIRECTIONS: usize = 1000;

/// Directions as given, trimmed; blank means none.
fn directions(given: Option<&str>) -> Result<Option<String>, BookingError> {
    let Some(text) = given.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_DIRECTIONS {
        return Err(BookingError::InvalidAccommodation(format!(
            "directions must have at most {MAX_DIRECTIONS} characters"
        )));
    }
    Ok(Some(text.to_owned()))
}

/// The accommodation's new name, capacity, house times and directions (all of them, after the
/// change).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccommodationDetailsChanged {
    pub name: String,
    pub capacity: u32,
    pub check_in_time: NaiveTime,
    pub check_out_time: NaiveTime,
    pub changed_at: DateTime<Utc>,
    /// As in `AccommodationRegistered`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directions: Option<String>,
    /// The owner's answers to what guests ask (all of them, after the change). Added later:
    /// older events have none.
    #[serde(default, skip_serializing_if = "Answers::is_empty")]
    pub answers: Answers,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PricingChanged {
    pub pricing: Pricing,
    pub min_nights: u32,
    pub changed_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HoldPlaced {
    pub reservation_id: ReservationId,
    pub code: ReservationCode,
    pub guest_ref: String,
    #[serde(flatten)]
    pub stay: StayDates,
    pub guests: u32,
    pub channel: Channel,
    pub quote: Quote,
    pub placed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HoldExtended {
    pub reservation_id: ReservationId,
    pub expires_at: DateTime<Utc>,
    pub extended_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReservationConfirmed {
    pub reservation_id: ReservationId,
    pub payment_reference: String,
    pub amount_paid: Money,
    /// The provider's payment method (`account_money`, `visa`, …); absent for manual payments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// `mercadopago` when the payment came through the provider (and can be refunded there);
    /// absent when an admin recorded a payment taken by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    pub confirmed_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentLinkCreated {
    pub reservation_id: ReservationId,
    pub preference_id: String,
    pub init_point: String,
    pub amount: Money,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// A provider payment that changes nothing by itself (pending, rejected, an extra approved
/// payment on a confirmed reservation, the provider's echo of our own refund), kept so that the
/// history shows every payment and a repeated notification is recognised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentRecorded {
    pub reservation_id: ReservationId,
    pub payment: PaymentFacts,
    pub recorded_at: DateTime<Utc>,
}

/// A payment the owner took by hand on a confirmed stay (usually the balance, on arrival). Kept
/// apart from the provider's payments because it can only be refunded by hand.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManualPaymentRecorded {
    pub reservation_id: ReservationId,
    pub reference: String,
    pub amount: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// An approved payment below what confirmation needs: the hold stays, the admin is alerted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnderpaymentReceived {
    pub reservation_id: ReservationId,
    pub payment: PaymentFacts,
    pub deposit: Money,
    /// Everything received so far, this payment included.
    pub paid_total: Money,
    pub received_at: DateTime<Utc>,
}

/// Paid after the hold lapsed (or was cancelled) while the nights were still free: the
/// reservation is confirmed and occupies its nights again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatePaymentAccepted {
    pub reservation_id: ReservationId,
    pub code: ReservationCode,
    pub channel: Channel,
    #[serde(flatten)]
    pub stay: StayDates,
    pub payment: PaymentFacts,
    pub accepted_at: DateTime<Utc>,
    /// A deposit the owner took by hand (`ConfirmLate`), not through the provider: only a person
    /// can give it back. Added later: older events have none, and one without it is written as
    /// before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_hand: bool,
}

/// Paid after the hold lapsed, for nights no longer free: refunded in full (see `RefundDue`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatePaymentRejected {
    pub reservation_id: ReservationId,
    pub payment: PaymentFacts,
    pub reason: String,
    pub rejected_at: DateTime<Utc>,
}

/// Money this stream decided to give back; a reactor carries it out and records `RefundIssued`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefundDue {
    pub reservation_id: ReservationId,
    /// Unique per refund; also the provider's idempotency key, so a retry never pays twice.
    pub refund_key: String,
    pub payment_id: String,
    pub amount: Money,
    pub reason: RefundReason,
    pub via: RefundVia,
    pub due_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefundIssued {
    pub reservation_id: ReservationId,
    pub refund_key: String,
    pub refund_id: String,
    pub amount: Money,
    pub issued_at: DateTime<Utc>,
}

/// The provider reports money taken back that we did not refund (a chargeback, or a refund made
/// from the provider's own panel): the admin decides what follows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentReversed {
    pub reservation_id: ReservationId,
    pub payment: PaymentFacts,
    /// What of this payment was still ours before the reversal.
    pub amount: Money,
    pub reversed_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReservationCancelled {
    pub reservation_id: ReservationId,
    #[serde(flatten)]
    pub stay: StayDates,
    pub by: CancelledBy,
    pub reason: String,
    /// Whether the reservation had been confirmed (paid) when it was cancelled.
    pub was_confirmed: bool,
    pub cancelled_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HoldExpired {
    pub reservation_id: ReservationId,
    #[serde(flatten)]
    pub stay: StayDates,
    pub expired_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatesBlocked {
    pub block_id: BlockId,
    #[serde(flatten)]
    pub stay: StayDates,
    pub source: BlockSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For imported blocks: what the channel said the nights are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_kind: Option<ExternalKind>,
    pub blocked_at: DateTime<Utc>,
}

/// An imported block whose dates changed in its calendar (Airbnb's rolling "not available"
/// window moves every day): the same block, new nights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockMoved {
    pub block_id: BlockId,
    pub source: BlockSource,
    pub previous: StayDates,
    #[serde(flatten)]
    pub stay: StayDates,
    pub moved_at: DateTime<Utc>,
}

/// A confirmed reservation moved to other nights, or its party changed: priced again (`quote`)
/// at the cabin's prices of the day; what was paid stays paid, so the balance follows the new
/// total. Carries the code and channel so a calendar reads it without the original hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StayChanged {
    pub reservation_id: ReservationId,
    pub code: ReservationCode,
    pub channel: Channel,
    pub previous: StayDates,
    #[serde(flatten)]
    pub stay: StayDates,
    pub previous_guests: u32,
    pub guests: u32,
    pub quote: Quote,
    pub changed_at: DateTime<Utc>,
}

/// An imported reservation wants nights something here already occupies: a double booking
/// across channels. Nothing is merged; the admin must resolve it with the guest and the channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExternalConflictDetected {
    pub calendar: String,
    pub uid: String,
    pub kind: ExternalKind,
    #[serde(flatten)]
    pub stay: StayDates,
    pub occupant: OccupantRef,
    /// The reservation code when the other side is one of our reservations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupant_code: Option<ReservationCode>,
    pub detected_at: DateTime<Utc>,
}

/// The conflict is gone: the import moved or vanished, or our side freed the nights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExternalConflictResolved {
    pub calendar: String,
    pub uid: String,
    pub resolved_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatesUnblocked {
    pub block_id: BlockId,
    #[serde(flatten)]
    pub stay: StayDates,
    pub source: BlockSource,
    pub unblocked_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AccommodationEvent {
    Registered(AccommodationRegistered),
    PricingChanged(PricingChanged),
    DetailsChanged(AccommodationDetailsChanged),
    HoldPlaced(HoldPlaced),
    HoldExtended(HoldExtended),
    Confirmed(ReservationConfirmed),
    Cancelled(ReservationCancelled),
    HoldExpired(HoldExpired),
    DatesBlocked(DatesBlocked),
    DatesUnblocked(DatesUnblocked),
    PaymentLinkCreated(PaymentLinkCreated),
    PaymentRecorded(PaymentRecorded),
    ManualPaymentRecorded(ManualPaymentRecorded),
    UnderpaymentReceived(UnderpaymentReceived),
    LatePaymentAccepted(LatePaymentAccepted),
    LatePaymentRejected(LatePaymentRejected),
    RefundDue(RefundDue),
    RefundIssued(RefundIssued),
    PaymentReversed(PaymentReversed),
    BlockMoved(BlockMoved),
    ExternalConflictDetected(ExternalConflictDetected),
    ExternalConflictResolved(ExternalConflictResolved),
    StayChanged(StayChanged),
}

impl AccommodationEvent {
    /// The reservation the event is about, if any.
    pub fn reservation_id(&self) -> Option<ReservationId> {
        Some(match self {
            Self::HoldPlaced(e) => e.reservation_id,
            Self::HoldExtended(e) => e.reservation_id,
            Self::StayChanged(e) => e.reservation_id,
            Self::Confirmed(e) => e.reservation_id,
            Self::Cancelled(e) => e.reservation_id,
            Self::HoldExpired(e) => e.reservation_id,
            Self::PaymentLinkCreated(e) => e.reservation_id,
            Self::PaymentRecorded(e) => e.reservation_id,
            Self::ManualPaymentRecorded(e) => e.reservation_id,
            Self::UnderpaymentReceived(e) => e.reservation_id,
            Self::LatePaymentAccepted(e) => e.reservation_id,
            Self::LatePaymentRejected(e) => e.reservation_id,
            Self::RefundDue(e) => e.reservation_id,
            Self::RefundIssued(e) => e.reservation_id,
            Self::PaymentReversed(e) => e.reservation_id,
            Self::Registered(_)
            | Self::PricingChanged(_)
            | Self::DetailsChanged(_)
            | Self::DatesBlocked(_)
            | Self::DatesUnblocked(_)
            | Self::BlockMoved(_)
            | Self::ExternalConflictDetected(_)
            | Self::ExternalConflictResolved(_) => return None,
        })
    }
}

/// Every stored name of this stream's events; the catalogue in docs/events.md lists the same.
pub const EVENT_TYPES: &[&str] = &[
    "AccommodationRegistered",
    "PricingChanged",
    "AccommodationDetailsChanged",
    "HoldPlaced",
    "HoldExtended",
    "ReservationConfirmed",
    "ReservationCancelled",
    "HoldExpired",
    "DatesBlocked",
    "DatesUnblocked",
    "PaymentLinkCreated",
    "PaymentRecorded",
    "ManualPaymentRecorded",
    "UnderpaymentReceived",
    "LatePaymentAccepted",
    "LatePaymentRejected",
    "RefundDue",
    "RefundIssued",
    "PaymentReversed",
    "BlockMoved",
    "ExternalConflictDetected",
    "ExternalConflictResolved",
    "StayChanged",
];

/// `HoldPlaced` v2 carries the full price breakdown (`quote`). v1 is the seed system's shape:
/// only `total` and `deposit`. Holds this system wrote as v1 already had the breakdown.
pub const HOLD_PLACED_VERSION: u32 = 2;

/// Turns a stored `HoldPlaced` v1 into the v2 shape. A v1 written by the seed system has no
/// breakdown: the quote is rebuilt from what it had (the whole total as lodging, no per-night
/// prices, the deposit percentage implied by the two amounts), so old holds keep their figures.
pub fn upcast_hold_placed_v1(mut payload: Value) -> Value {
    if payload.get("quote").is_some() {
        return payload;
    }
    let amount = |k: &str| -> rust_decimal::Decimal {
        match payload.get(k) {
            Some(Value::String(s)) => s.parse().unwrap_or_default(),
            Some(Value::Number(n)) => n.to_string().parse().unwrap_or_default(),
            _ => rust_decimal::Decimal::ZERO,
        }
    };
    let total = amount("total");
    let deposit = amount("deposit");
    let percent = if total.is_zero() {
        rust_decimal::Decimal::ZERO
    } else {
        (deposit * rust_decimal::Decimal::ONE_HUNDRED / total).round_dp(2)
    };
    let nights = match (
        payload
            .get("check_in")
            .and_then(Value::as_str)
            .and_then(|d| d.parse::<NaiveDate>().ok()),
        payload
            .get("check_out")
            .and_then(Value::as_str)
            .and_then(|d| d.parse::<NaiveDate>().ok()),
    ) {
        (Some(a), Some(b)) => (b - a).num_days().max(0),
        _ => 0,
    };
    if let Value::Object(map) = &mut payload {
        map.remove("total");
        map.remove("deposit");
        map.insert(
            "quote".into(),
            serde_json::json!({
                "nights": nights,
                "per_night": [],
                "weekend_nights": 0,
                "seasonal_adjustment": "0",
                "lodging": total.to_string(),
                "cleaning_fee": "0",
                "total": total.to_string(),
                "deposit_percent": percent.to_string(),
                "deposit": deposit.to_string(),
            }),
        );
    }
    payload
}

fn decode<T: serde::de::DeserializeOwned>(
    event_type: &str,
    version: u32,
    payload: Value,
) -> Result<T, EventDecodeError> {
    serde_json::from_value(payload).map_err(|e| EventDecodeError::Malformed {
        event_type: event_type.to_owned(),
        version,
        reason: e.to_string(),
    })
}

impl DomainEvent for AccommodationEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Registered(_) => "AccommodationRegistered",
            Self::PricingChanged(_) => "PricingChanged",
            Self::DetailsChanged(_) => "AccommodationDetailsChanged",
            Self::HoldPlaced(_) => "HoldPlaced",
            Self::HoldExtended(_) => "HoldExtended",
            Self::Confirmed(_) => "ReservationConfirmed",
            Self::Cancelled(_) => "ReservationCancelled",
            Self::HoldExpired(_) => "HoldExpired",
            Self::DatesBlocked(_) => "DatesBlocked",
            Self::DatesUnblocked(_) => "DatesUnblocked",
            Self::PaymentLinkCreated(_) => "PaymentLinkCreated",
            Self::PaymentRecorded(_) => "PaymentRecorded",
            Self::ManualPaymentRecorded(_) => "ManualPaymentRecorded",
            Self::UnderpaymentReceived(_) => "UnderpaymentReceived",
            Self::LatePaymentAccepted(_) => "LatePaymentAccepted",
            Self::LatePaymentRejected(_) => "LatePaymentRejected",
            Self::RefundDue(_) => "RefundDue",
            Self::RefundIssued(_) => "RefundIssued",
            Self::PaymentReversed(_) => "PaymentReversed",
            Self::BlockMoved(_) => "BlockMoved",
            Self::ExternalConflictDetected(_) => "ExternalConflictDetected",
            Self::ExternalConflictResolved(_) => "ExternalConflictResolved",
            Self::StayChanged(_) => "StayChanged",
        }
    }

    fn event_version(&self) -> u32 {
        match self {
            Self::HoldPlaced(_) => HOLD_PLACED_VERSION,
            _ => 1,
        }
    }

    fn to_payload(&self) -> Value {
        let result = match self {
            Self::Registered(e) => serde_json::to_value(e),
            Self::PricingChanged(e) => serde_json::to_value(e),
            Self::DetailsChanged(e) => serde_json::to_value(e),
            Self::HoldPlaced(e) => serde_json::to_value(e),
            Self::HoldExtended(e) => serde_json::to_value(e),
            Self::Confirmed(e) => serde_json::to_value(e),
            Self::Cancelled(e) => serde_json::to_value(e),
            Self::HoldExpired(e) => serde_json::to_value(e),
            Self::DatesBlocked(e) => serde_json::to_value(e),
            Self::DatesUnblocked(e) => serde_json::to_value(e),
            Self::PaymentLinkCreated(e) => serde_json::to_value(e),
            Self::PaymentRecorded(e) => serde_json::to_value(e),
            Self::ManualPaymentRecorded(e) => serde_json::to_value(e),
            Self::UnderpaymentReceived(e) => serde_json::to_value(e),
            Self::LatePaymentAccepted(e) => serde_json::to_value(e),
            Self::LatePaymentRejected(e) => serde_json::to_value(e),
            Self::RefundDue(e) => serde_json::to_value(e),
            Self::RefundIssued(e) => serde_json::to_value(e),
            Self::PaymentReversed(e) => serde_json::to_value(e),
            Self::BlockMoved(e) => serde_json::to_value(e),
            Self::ExternalConflictDetected(e) => serde_json::to_value(e),
            Self::ExternalConflictResolved(e) => serde_json::to_value(e),
            Self::StayChanged(e) => serde_json::to_value(e),
        };
        // These types contain only strings, integers, dates and maps with string keys, which
        // serde_json always serializes; Null would only appear if that ever changed.
        result.unwrap_or(Value::Null)
    }

    fn from_stored(
        event_type: &str,
        version: u32,
        payload: Value,
    ) -> Result<Self, EventDecodeError> {
        if event_type == "HoldPlaced" {
            return match version {
                1 => Ok(Self::HoldPlaced(decode(
                    event_type,
                    version,
                    upcast_hold_placed_v1(payload),
                )?)),
                HOLD_PLACED_VERSION => Ok(Self::HoldPlaced(decode(event_type, version, payload)?)),
                _ => Err(EventDecodeError::UnknownVersion {
                    event_type: event_type.to_owned(),
                    version,
                }),
            };
        }
        if version != 1 {
            if EVENT_TYPES.contains(&event_type) {
                return Err(EventDecodeError::UnknownVersion {
                    event_type: event_type.to_owned(),
                    version,
                });
            }
            return Err(EventDecodeError::UnknownType {
                event_type: event_type.to_owned(),
                version,
            });
        }
        let t = event_type;
        Ok(match t {
            "AccommodationRegistered" => Self::Registered(decode(t, version, payload)?),
            "PricingChanged" => Self::PricingChanged(decode(t, version, payload)?),
            "AccommodationDetailsChanged" => Self::DetailsChanged(decode(t, version, payload)?),
            "HoldPlaced" => Self::HoldPlaced(decode(t, version, payload)?),
            "HoldExtended" => Self::HoldExtended(decode(t, version, payload)?),
            "ReservationConfirmed" => Self::Confirmed(decode(t, version, payload)?),
            "ReservationCancelled" => Self::Cancelled(decode(t, version, payload)?),
            "HoldExpired" => Self::HoldExpired(decode(t, version, payload)?),
            "DatesBlocked" => Self::DatesBlocked(decode(t, version, payload)?),
            "DatesUnblocked" => Self::DatesUnblocked(decode(t, version, payload)?),
            "PaymentLinkCreated" => Self::PaymentLinkCreated(decode(t, version, payload)?),
            "PaymentRecorded" => Self::PaymentRecorded(decode(t, version, payload)?),
            "ManualPaymentRecorded" => Self::ManualPaymentRecorded(decode(t, version, payload)?),
            "UnderpaymentReceived" => Self::UnderpaymentReceived(decode(t, version, payload)?),
            "LatePaymentAccepted" => Self::LatePaymentAccepted(decode(t, version, payload)?),
            "LatePaymentRejected" => Self::LatePaymentRejected(decode(t, version, payload)?),
            "RefundDue" => Self::RefundDue(decode(t, version, payload)?),
            "RefundIssued" => Self::RefundIssued(decode(t, version, payload)?),
            "PaymentReversed" => Self::PaymentReversed(decode(t, version, payload)?),
            "BlockMoved" => Self::BlockMoved(decode(t, version, payload)?),
            "ExternalConflictDetected" => {
                Self::ExternalConflictDetected(decode(t, version, payload)?)
            }
            "ExternalConflictResolved" => {
                Self::ExternalConflictResolved(decode(t, version, payload)?)
            }
            "StayChanged" => Self::StayChanged(decode(t, version, payload)?),
            other => {
                return Err(EventDecodeError::UnknownType {
                    event_type: other.to_owned(),
                    version,
                });
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
pub struct AccommodationInfo {
    pub id: AccommodationId,
    pub name: String,
    pub capacity: u32,
    pub pricing: Pricing,
    pub min_nights: u32,
    pub check_in_time: NaiveTime,
    pub check_out_time: NaiveTime,
    pub utc_offset_minutes: i32,
    pub directions: Option<String>,
    /// The owner's answers to what guests ask of this cabin.
    pub answers: Answers,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    Held,
    Confirmed,
    Cancelled,
    Expired,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Reservation {
    pub id: ReservationId,
    pub code: ReservationCode,
    pub guest_ref: String,
    pub stay: StayDates,
    pub guests: u32,
    pub channel: Channel,
    pub quote: Quote,
    pub status: ReservationStatus,
    pub expires_at: DateTime<Utc>,
    pub extended: bool,
    pub payment_reference: Option<String>,
    /// Everything received, before refunds.
    pub amount_paid: Money,
    pub payments: Vec<PaymentEntry>,
    /// Every (payment, status) already decided on: a repeated notification changes nothing.
    pub seen: BTreeSet<(String, PaymentStatus)>,
    /// The provider's payment link, once one exists (one per hold).
    pub payment_url: Option<String>,
    /// What that link asks for: the deposit, or (on a confirmed stay) the balance.
    pub payment_link_amount: Option<Money>,
    pub refunds: BTreeMap<String, RefundState>,
}

/// One payment received for a reservation and how much of it went back.
#[derive(Clone, Debug, PartialEq)]
pub struct PaymentEntry {
    pub payment_id: String,
    pub amount: Money,
    pub refunded: Money,
    /// Through the provider (refundable there) rather than recorded by hand.
    pub via_provider: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RefundState {
    pub payment_id: String,
    pub amount: Money,
    pub refund_id: Option<String>,
}

/// A payment the owner took by hand, as they told it: a positive amount, and the reference
/// it is known by (trimmed, 1 to 100 characters).
fn taken_by_hand(amount: Money, reference: &str) -> Result<&str, BookingError> {
    if amount <= Money::ZERO {
        return Err(BookingError::InvalidAmount);
    }
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().count() > 100 {
        return Err(BookingError::InvalidPaymentReference);
    }
    Ok(reference)
}

impl Reservation {
    /// The refunds decided and not yet made of money taken by hand (a transfer, cash): only a
    /// person can give it back. Refund key and amount, in key order.
    pub fn owed_by_hand(&self) -> Vec<(&str, Money)> {
        self.refunds
            .iter()
            .filter(|(_, due)| due.refund_id.is_none())
            .filter(|(_, due)| {
                self.payments
                    .iter()
                    .any(|p| p.payment_id == due.payment_id && !p.via_provider)
            })
            .map(|(key, due)| (key.as_str(), due.amount))
            .collect()
    }

    /// Held or confirmed: occupies its nights.
    pub fn is_active(&self) -> bool {
        matches!(
            self.status,
            ReservationStatus::Held | ReservationStatus::Confirmed
        )
    }

    /// What was received and not given back (or decided to be given back).
    pub fn net_paid(&self) -> Money {
        self.payments.iter().map(|p| p.amount - p.refunded).sum()
    }

    /// The refusal for a command on a reservation that is over: cancelled, or a hold that
    /// expired (whose payment flow decides what to do with money that arrives late).
    fn over(&self) -> BookingError {
        match self.status {
            ReservationStatus::Expired => BookingError::HoldExpired {
                expired_at: self.expires_at,
            },
            _ => BookingError::ReservationCancelled,
        }
    }

    /// What the guest still owes of the stay's total (the balance after the deposit, usually
    /// paid on arrival); nothing once the reservation is no longer active.
    pub fn balance_due(&self) -> Money {
        self.balance_due_on(self.quote.total)
    }

    /// What the guest would still owe of `total` (a total this stay had before a later change).
    pub fn balance_due_on(&self, total: Money) -> Money {
        if !self.is_active() {
            return Money::ZERO;
        }
        (total - self.net_paid()).max(Money::ZERO)
    }

    fn payment(&self, payment_id: &str) -> Option<&PaymentEntry> {
        self.payments.iter().find(|p| p.payment_id == payment_id)
    }

    fn payment_mut(&mut self, payment_id: &str) -> Option<&mut PaymentEntry> {
        self.payments
            .iter_mut()
            .find(|p| p.payment_id == payment_id)
    }

    fn add_payment(&mut self, payment_id: &str, amount: Money, via_provider: bool) {
        self.amount_paid = self.amount_paid + amount;
        match self.payment_mut(payment_id) {
            Some(p) => p.amount = p.amount + amount,
            None => self.payments.push(PaymentEntry {
                payment_id: payment_id.to_owned(),
                amount,
                refunded: Money::ZERO,
                via_provider,
            }),
        }
    }

    /// `RefundDue` events giving back `amount` of what is still held, largest payments first.
    fn refunds(
        &self,
        amount: Money,
        reason: RefundReason,
        now: DateTime<Utc>,
    ) -> Vec<AccommodationEvent> {
        let mut left = amount;
        let mut entries: Vec<&PaymentEntry> = self.payments.iter().collect();
        entries.sort_by_key(|p| std::cmp::Reverse(p.amount - p.refunded));
        let mut out = Vec::new();
        for p in entries {
            let remaining = p.amount - p.refunded;
            if left <= Money::ZERO || remaining <= Money::ZERO {
                continue;
            }
            let give = remaining.min(left);
            left = left - give;
            out.push(AccommodationEvent::RefundDue(RefundDue {
                reservation_id: self.id,
                refund_key: format!("{}-refund-{}", self.id, self.refunds.len() + out.len() + 1),
                payment_id: p.payment_id.clone(),
                amount: give,
                reason,
                via: if p.via_provider {
                    RefundVia::Provider
                } else {
                    RefundVia::Manual
                },
                due_at: now,
            }));
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub id: BlockId,
    pub stay: StayDates,
    pub source: BlockSource,
}

/// What holds a range of nights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Occupant {
    Reservation(ReservationId),
    Block(BlockId),
}

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

impl Accommodation {
    pub fn info(&self) -> Option<&AccommodationInfo> {
        self.info.as_ref()
    }

    pub fn reservation(&self, id: ReservationId) -> Option<&Reservation> {
        self.reservations.get(&id)
    }

    pub fn reservations(&self) -> impl Iterator<Item = &Reservation> {
        self.reservations.values()
    }

    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.blocks.values()
    }

    /// Open conflicts: (calendar, UID) and the nights the import wanted.
    pub fn conflicts(&self) -> impl Iterator<Item = (&(String, String), &StayDates)> {
        self.conflicts.iter()
    }

    /// Every range that is taken: holds (even past due until expired), confirmed stays, blocks.
    pub fn active_stays(&self) -> impl Iterator<Item = (StayDates, Occupant)> + '_ {
        let reservations = self
            .reservations
            .values()
            .filter(|r| r.is_active())
            .map(|r| (r.stay, Occupant::Reservation(r.id)));
        let blocks = self
            .blocks
            .values()
            .map(|b| (b.stay, Occupant::Block(b.id)));
        reservations.chain(blocks)
    }

    /// The active stays that share a night with `stay`, in the order of `active_stays`.
    fn active_stays_overlapping(&self, stay: &StayDates) -> Vec<(StayDates, Occupant)> {
        let earliest = stay
            .check_in()
            .checked_sub_days(chrono::Days::new(u64::from(self.longest_nights)))
            .unwrap_or(NaiveDate::MIN);
        let mut ids: Vec<ReservationId> = self
            .by_check_in
            .range(earliest..stay.check_out())
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        // The same order as the full scan (by id): which clash is reported, and the order of
        // lapsed holds' events, do not depend on how the candidates were found.
        ids.sort_unstable();
        let reservations = ids
            .into_iter()
            .filter_map(|id| self.reservations.get(&id))
            .filter(|r| r.is_active() && r.stay.overlaps(stay))
            .map(|r| (r.stay, Occupant::Reservation(r.id)));
        let blocks = self
            .blocks
            .values()
            .filter(|b| b.stay.overlaps(stay))
            .map(|b| (b.stay, Occupant::Block(b.id)));
        reservations.chain(blocks).collect()
    }

    /// Held reservations whose expiry has passed: the scheduler's to-do list.
    pub fn due_holds(&self, now: DateTime<Utc>) -> impl Iterator<Item = ReservationId> + '_ {
        self.reservations
            .values()
            .filter(move |r| r.status == ReservationStatus::Held && now >= r.expires_at)
            .map(|r| r.id)
    }

    /// Files a reservation under its check-in (see `by_check_in`).
    fn index(&mut self, id: ReservationId, stay: &StayDates) {
        let ids = self.by_check_in.entry(stay.check_in()).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
        self.longest_nights = self.longest_nights.max(stay.nights());
    }

    fn registered(&self) -> Result<&AccommodationInfo, BookingError> {
        self.info.as_ref().ok_or(BookingError::NotRegistered)
    }

    fn reservation_mut_checked(&self, id: ReservationId) -> Result<&Reservation, BookingError> {
        self.reservations
            .get(&id)
            .ok_or(BookingError::ReservationNotFound(id))
    }

    /// Frees past-due holds that stand in the way of `stay`, then checks that nothing else does.
    /// A hold whose time is up must not keep a paying guest out just because the scheduler has
    /// not run yet; expiring it here keeps the event history free of overlapping active stays.
    fn claim(
        &self,
        stay: &StayDates,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        self.claim_for(stay, now, None)
    }

    /// `claim` for a reservation that already occupies nights of its own (`moving`): its own
    /// nights do not stand in its way.
    fn claim_for(
        &self,
        stay: &StayDates,
        now: DateTime<Utc>,
        moving: Option<ReservationId>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        let mut expired = Vec::new();
        for (taken, occupant) in self.active_stays_overlapping(stay) {
            if moving.is_some_and(|id| occupant == Occupant::Reservation(id)) {
                continue;
            }
            let lapsed = match occupant {
                Occupant::Reservation(id) => self
                    .reservations
                    .get(&id)
                    .filter(|r| r.status == ReservationStatus::Held && now >= r.expires_at),
                Occupant::Block(_) => None,
            };
            match lapsed {
                Some(r) => expired.extend(lapse(r, now)),
                None => {
                    return Err(BookingError::DatesUnavailable {
                        check_in: taken.check_in(),
                        check_out: taken.check_out(),
                    });
                }
            }
        }
        Ok(expired)
    }

    fn decide_place_hold(
        &self,
        cmd: &PlaceHold,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        let info = self.registered()?;
        if self.reservations.contains_key(&cmd.reservation_id) {
            return Err(BookingError::DuplicateReservation(cmd.reservation_id));
        }
        if cmd.hold_duration <= Duration::zero() {
            return Err(BookingError::InvalidHoldDuration);
        }
        validate_stay(
            info.capacity,
            info.min_nights,
            info.utc_offset_minutes,
            &cmd.stay,
            cmd.guests,
            now,
        )?;
        let mut events = self.claim(&cmd.stay, now)?;
        events.push(AccommodationEvent::HoldPlaced(HoldPlaced {
            reservation_id: cmd.reservation_id,
            code: cmd.code.clone(),
            guest_ref: cmd.guest_ref.clone(),
            stay: cmd.stay,
            guests: cmd.guests,
            channel: cmd.channel,
            quote: info.pricing.quote(&cmd.stay),
            placed_at: now,
            expires_at: now + cmd.hold_duration,
        }));
        Ok(events)
    }

    fn decide_confirm_late(
        &self,
        cmd: &ConfirmLate,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        use AccommodationEvent as E;
        let info = self.registered()?;
        let r = self.reservation_mut_checked(cmd.reservation_id)?;
        let reference = taken_by_hand(cmd.amount_paid, &cmd.payment_reference)?;
        match r.status {
            // Not lapsed yet, whatever the clock says: its nights are still its own, as for a
            // payment online that arrives before the hold is expired.
            ReservationStatus::Held => Ok(vec![E::Confirmed(ReservationConfirmed {
                reservation_id: r.id,
                payment_reference: reference.to_owned(),
                amount_paid: cmd.amount_paid,
                method: None,
                provider: None,
                confirmed_at: now,
            })]),
            // As `Confirm` answers: the same payment told twice is done.
            ReservationStatus::Confirmed => self.decide_confirm(
                &ConfirmReservation {
                    reservation_id: r.id,
                    payment_reference: reference.to_owned(),
                    amount_paid: cmd.amount_paid,
                },
                now,
            ),
            ReservationStatus::Cancelled => Err(r.over()),
            ReservationStatus::Expired => {
                let today = local_today(now, info.utc_offset_minutes);
                if r.stay.check_in() < today {
                    return Err(BookingError::CheckInInPast {
                        check_in: r.stay.check_in(),
                        today,
                    });
                }
                // Other lapsed holds in the way lapse first; a stay or a block in the way is
                // `DatesUnavailable`, and nothing is recorded.
                let mut events = self.claim(&r.stay, now)?;
                events.push(E::LatePaymentAccepted(LatePaymentAccepted {
                    reservation_id: r.id,
                    code: r.code.clone(),
                    channel: r.channel,
                    stay: r.stay,
                    payment: PaymentFacts {
                        payment_id: reference.to_owned(),
                        status: PaymentStatus::Approved,
                        status_detail: Some("recorded by hand".into()),
                        amount: cmd.amount_paid,
                        method: None,
                    },
                    accepted_at: now,
                    by_hand: true,
                }));
                Ok(events)
            }
        }
    }

    fn decide_confirm(
        &self,
        cmd: &ConfirmReservation,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        self.registered()?;
        let r = self.reservation_mut_checked(cmd.reservation_id)?;
        if cmd.amount_paid.is_negative() || cmd.amount_paid == Money::ZERO {
            return Err(BookingError::InvalidAmount);
        }
        match r.status {
            ReservationStatus::Confirmed
                if r.payment_reference.as_deref() == Some(&cmd.payment_reference) =>
            {
                // The same payment told twice: already done, nothing new happened.
                Ok(Vec::new())
            }
            ReservationStatus::Confirmed => Err(BookingError::AlreadyConfirmed),
            ReservationStatus::Cancelled | ReservationStatus::Expired => Err(r.over()),
            ReservationStatus::Held if now >= r.expires_at => Err(BookingError::HoldExpired {
                expired_at: r.expires_at,
            }),
            ReservationStatus::Held => {
                Ok(vec![AccommodationEvent::Confirmed(ReservationConfirmed {
                    reservation_id: r.id,
                    payment_reference: cmd.payment_reference.clone(),
                    amount_paid: cmd.amount_paid,
                    method: None,
                    provider: None,
                    confirmed_at: now,
                })])
            }
        }
    }

    fn decide_change_stay(
        &self,
        cmd: &ChangeStay,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        let info = self.registered()?;
        let r = self.reservation_mut_checked(cmd.reservation_id)?;
        match r.status {
            ReservationStatus::Confirmed => {}
            // A hold's price is what its payment link asks for: it is cancelled and placed again.
            ReservationStatus::Held => return Err(BookingError::HoldNightsFixed),
            ReservationStatus::Cancelled | ReservationStatus::Expired => return Err(r.over()),
        }
        let guests = cmd.guests.unwrap_or(r.guests);
        if cmd.stay == r.stay && guests == r.guests {
            // Told twice (a retried request): already so.
            return Ok(Vec::new());
        }
        let today = local_today(now, info.utc_offset_minutes);
        // A stay under way keeps its check-in, in the past, and may still grow or shrink; any
        // other change is checked like a new stay.
        if cmd.stay.check_in() == r.stay.check_in() {
            validate_nights_and_party(info.capacity, info.min_nights, &cmd.stay, guests)?;
        } else {
            validate_stay(
                info.capacity,
                info.min_nights,
                info.utc_offset_minutes,
                &cmd.stay,
                guests,
                now,
            )?;
        }
        if cmd.stay.check_out() <= today {
            return Err(BookingError::StayOver {
                check_out: cmd.stay.check_out(),
                today,
            });
        }
        let quote = if cmd.stay == r.stay {
            // Only the party changed: prices are per night, so the price stands.
            r.quote.clone()
        } else {
            info.pricing.quote(&cmd.stay)
        };
        let paid = r.net_paid();
        if paid > quote.total {
            return Err(BookingError::PaidAboveTotal {
                paid,
                total: quote.total,
            });
        }
        let mut events = self.claim_for(&cmd.stay, now, Some(r.id))?;
        events.push(AccommodationEvent::StayChanged(StayChanged {
            reservation_id: r.id,
            code: r.code.clone(),
            channel: r.channel,
            previous: r.stay,
            stay: cmd.stay,
            previous_guests: r.guests,
            guests,
            quote,
            changed_at: now,
        }));
        Ok(events)
    }

    fn decide_replace_hold(
        &self,
        cmd: &ReplaceHold,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        self.registered()?;
        let r = self.reservation_mut_checked(cmd.previous)?;
        if r.status != ReservationStatus::Held || r.guest_ref != cmd.hold.guest_ref {
            return Err(BookingError::NotHeld);
        }
        let cancel = CancelReservation {
            reservation_id: cmd.previous,
            by: CancelledBy::Guest,
            reason: "corregida por el huésped".into(),
            refund_all: false,
        };
        let mut events = self.decide_cancel(&cancel, now)?;
        // The new hold is decided on the state the cancellation leaves: its nights are free.
        let mut after = self.clone();
        for e in &events {
            after.evolve(e);
        }
        events.extend(after.decide_place_hold(&cmd.hold, now)?);
        Ok(events)
    }

    fn decide_manual_payment(
        &self,
        cmd: &RecordManualPayment,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        self.registered()?;
        let r = self.reservation_mut_checked(cmd.reservation_id)?;
        let reference = taken_by_hand(cmd.amount, &cmd.reference)?;
        if let Some(known) = r.payment(reference) {
            // The same payment told twice is already done; another amount under its reference
            // is a mistake to show, not a second payment to count.
            return if known.amount == cmd.amount && !known.via_provider {
                Ok(Vec::new())
            } else {
                Err(BookingError::PaymentReferenceTaken(reference.to_owned()))
            };
        }
        match r.status {
            ReservationStatus::Confirmed => Ok(vec![AccommodationEvent::ManualPaymentRecorded(
                ManualPaymentRecorded {
                    reservation_id: r.id,
                    reference: reference.to_owned(),
                    amount: cmd.amount,
                    method: cmd
                        .method
                        .as_deref()
                        .map(str::trim)
                        .filter(|m| !m.is_empty())
                        .map(str::to_owned),
                    recorded_at: now,
                },
            )]),
            // A hold is confirmed by its deposit, taken by hand or not (`Confirm`).
            ReservationStatus::Held => Err(BookingError::NotConfirmed),
            ReservationStatus::Cancelled | ReservationStatus::Expired => Err(r.over()),
        }
    }

    fn decide_link(
        &self,
        cmd: &RecordPaymentLink,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        self.registered()?;
        let r = self.reservation_mut_checked(cmd.reservation_id)?;
        match r.status {
            // Created before a crash or by another instance: one link per hold.
            ReservationStatus::Held if r.payment_url.is_some() => return Ok(Vec::new()),
            ReservationStatus::Held => {}
            // A confirmed stay's link is for its balance, one per amount owed.
            ReservationStatus::Confirmed => {
                let due = r.balance_due();
                if due == Money::ZERO {
                    return Err(BookingError::NothingToPay);
                }
                if cmd.amount != due {
                    // A deposit's link made while its hold was being confirmed, or a balance
                    // that changed while the provider answered.
                    return Err(BookingError::LinkNotForWhatIsOwed {
                        asked: cmd.amount,
                        owed: due,
                    });
                }
                if r.payment_url.is_some() && r.payment_link_amount == Some(due) {
                    return Ok(Vec::new());
                }
            }
            _ => return Err(BookingError::NotHeld),
        }
        Ok(vec![AccommodationEvent::PaymentLinkCreated(
            PaymentLinkCreated {
                reservation_id: r.id,
                preference_id: cmd.preference_id.clone(),
                init_point: cmd.init_point.clone(),
                amount: cmd.amount,
                expires_at: cmd.expires_at,
                created_at: now,
            },
        )])
    }

    /// What a payment fetched from the provider does to its reservation. Decided here, on the
    /// stream's current version, because a late payment may only take nights that are free.
    fn decide_payment(
        &self,
        cmd: &ApplyPayment,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        use AccommodationEvent as E;
        let info = self.registered()?;
        let r = self.reservation_mut_checked(cmd.reservation_id)?;
        let p = &cmd.payment;
        if p.amount.is_negative() {
            return Err(BookingError::InvalidAmount);
        }
        if r.seen.contains(&(p.payment_id.clone(), p.status)) {
            return Ok(Vec::new());
        }
        let recorded = || {
            Ok(vec![E::PaymentRecorded(PaymentRecorded {
                reservation_id: r.id,
                payment: p.clone(),
                recorded_at: now,
            })])
        };
        match p.status {
            PaymentStatus::Approved => {
                if p.amount == Money::ZERO {
                    return Err(BookingError::InvalidAmount);
                }
                let paid_total = r.net_paid() + p.amount;
                match r.status {
                    ReservationStatus::Held if paid_total >= r.quote.deposit => {
                        Ok(vec![E::Confirmed(ReservationConfirmed {
                            reservation_id: r.id,
                            payment_reference: p.payment_id.clone(),
                            amount_paid: p.amount,
                            method: p.method.clone(),
                            provider: Some(PROVIDER.to_owned()),
                            confirmed_at: now,
                        })])
                    }
                    ReservationStatus::Held => {
                        Ok(vec![E::UnderpaymentReceived(UnderpaymentReceived {
                            reservation_id: r.id,
                            payment: p.clone(),
                            deposit: r.quote.deposit,
                            paid_total,
                            received_at: now,
                        })])
                    }
                    // A balance paid on a confirmed stay.
                    ReservationStatus::Confirmed => recorded(),
                    ReservationStatus::Expired | ReservationStatus::Cancelled => {
                        self.decide_late_payment(info, r, p, paid_total, now)
                    }
                }
            }
            PaymentStatus::Refunded | PaymentStatus::ChargedBack => {
                match r.payment(&p.payment_id) {
                    Some(entry) if entry.refunded < entry.amount => {
                        Ok(vec![E::PaymentReversed(PaymentReversed {
                            reservation_id: r.id,
                            payment: p.clone(),
                            amount: entry.amount - entry.refunded,
                            reversed_at: now,
                        })])
                    }
                    // Our own refund coming back from the provider, or a payment we never counted.
                    _ => recorded(),
                }
            }
            _ => recorded(),
        }
    }

    fn decide_late_payment(
        &self,
        info: &AccommodationInfo,
        r: &Reservation,
        p: &PaymentFacts,
        paid_total: Money,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        use AccommodationEvent as E;
        let today = local_today(now, info.utc_offset_minutes);
        let why = if paid_total < r.quote.deposit {
            Some("the amount is below the deposit".to_owned())
        } else if r.stay.check_in() < today {
            Some("the stay has already begun".to_owned())
        } else {
            match self.claim(&r.stay, now) {
                Ok(mut events) => {
                    // The guest paid and the nights are still free: honour it.
                    events.push(E::LatePaymentAccepted(LatePaymentAccepted {
                        reservation_id: r.id,
                        code: r.code.clone(),
                        channel: r.channel,
                        stay: r.stay,
                        payment: p.clone(),
                        accepted_at: now,
                        by_hand: false,
                    }));
                    return Ok(events);
                }
                Err(BookingError::DatesUnavailable { .. }) => {
                    Some("the nights were taken after the hold lapsed".to_owned())
                }
                Err(other) => return Err(other),
            }
        };
        let mut events = vec![E::LatePaymentRejected(LatePaymentRejected {
            reservation_id: r.id,
            payment: p.clone(),
            reason: why.unwrap_or_default(),
            rejected_at: now,
        })];
        // Never keep money for nothing: this payment goes back whole.
        let mut after = r.clone();
        after.add_payment(&p.payment_id, p.amount, true);
        events.extend(
            after
                .refunds(p.amount, RefundReason::LatePayment, now)
                .into_iter()
                .filter(|e| matches!(e, E::RefundDue(d) if d.payment_id == p.payment_id)),
        );
        Ok(events)
    }

    fn decide_cancel(
        &self,
        cmd: &CancelReservation,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        let info = self.registered()?;
        let r = self.reservation_mut_checked(cmd.reservation_id)?;
        match r.status {
            ReservationStatus::Held | ReservationStatus::Confirmed => {
                let confirmed = r.status == ReservationStatus::Confirmed;
                let mut events = vec![AccommodationEvent::Cancelled(ReservationCancelled {
                    reservation_id: r.id,
                    stay: r.stay,
                    by: cmd.by,
                    reason: cmd.reason.clone(),
                    was_confirmed: confirmed,
                    cancelled_at: now,
                })];
                let paid = r.net_paid();
                // A confirmed stay follows the owner's policy unless the owner gives it all
                // back; money towards a hold that never became a booking goes back whole.
                let refund = if confirmed && !cmd.refund_all {
                    let today = local_today(now, info.utc_offset_minutes);
                    let days_before = (r.stay.check_in() - today).num_days();
                    info.pricing.cancellation.refund(paid, days_before)
                } else {
                    paid
                };
                events.extend(r.refunds(refund, RefundReason::Cancellation, now));
                Ok(events)
            }
            ReservationStatus::Cancelled | ReservationStatus::Expired => Err(r.over()),
        }
    }

    fn decide_refund(
        &self,
        cmd: &RecordRefund,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        self.registered()?;
        let r = self.reservation_mut_checked(cmd.reservation_id)?;
        let due = r
            .refunds
            .get(&cmd.refund_key)
            .ok_or_else(|| BookingError::UnknownRefund(cmd.refund_key.clone()))?;
        if due.refund_id.is_some() {
            return Ok(Vec::new());
        }
        Ok(vec![AccommodationEvent::RefundIssued(RefundIssued {
            reservation_id: r.id,
            refund_key: cmd.refund_key.clone(),
            refund_id: cmd.refund_id.clone(),
            amount: due.amount,
            issued_at: now,
        })])
    }

    fn decide_block(
        &self,
        cmd: &BlockDates,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        self.registered()?;
        if self.blocks.contains_key(&cmd.block_id) {
            return Err(BookingError::DuplicateBlock(cmd.block_id));
        }
        let mut events = self.claim(&cmd.stay, now)?;
        events.push(AccommodationEvent::DatesBlocked(DatesBlocked {
            block_id: cmd.block_id,
            stay: cmd.stay,
            source: cmd.source.clone(),
            note: cmd.note.clone(),
            external_kind: None,
            blocked_at: now,
        }));
        Ok(events)
    }

    /// Reconciles one imported calendar with the blocks it produced before (see
    /// [`SyncCalendar`]). Decided event by event on a working copy of the state, so each
    /// decision sees the ones before it.
    fn decide_sync(
        &self,
        cmd: &SyncCalendar,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        use AccommodationEvent as E;
        let info = self.registered()?;
        let calendar = cmd.calendar.trim();
        if !valid_calendar_name(calendar) {
            return Err(BookingError::InvalidAccommodation(
                "a calendar name is 1 to 40 lower-case letters, digits, - or _".into(),
            ));
        }
        let today = local_today(now, info.utc_offset_minutes);
        let accommodation = info.id;
        let mut work = self.clone();
        let mut out = Vec::new();
        let mut emit = |work: &mut Accommodation, e: AccommodationEvent| {
            work.evolve(&e);
            out.push(e);
        };
        let mine = |work: &Accommodation, uid: &str| -> Vec<Block> {
            let mut v: Vec<Block> = work
                .blocks
                .values()
                .filter(|b| matches!(&b.source, BlockSource::External { calendar: c, uid: u } if c == calendar && u == uid))
                .cloned()
                .collect();
            v.sort_by_key(|b| b.stay.check_in());
            v
        };
        // Past stays are history: neither added nor removed.
        let mut wanted: Vec<&ExternalStay> = Vec::new();
        for e in &cmd.events {
            if e.stay.check_out() > today && !wanted.iter().any(|w| w.uid == e.uid) {
                wanted.push(e);
            }
        }
        wanted.sort_by_key(|e| e.stay.check_in());

        if cmd.complete {
            let gone: Vec<Block> = work
                .blocks
                .values()
                .filter(|b| match &b.source {
                    BlockSource::External { calendar: c, uid } => {
                        c == calendar
                            && b.stay.check_out() > today
                            && !cmd.events.iter().any(|e| &e.uid == uid)
                    }
                    BlockSource::Admin => false,
                })
                .cloned()
                .collect();
            for b in gone {
                emit(
                    &mut work,
                    E::DatesUnblocked(DatesUnblocked {
                        block_id: b.id,
                        stay: b.stay,
                        source: b.source.clone(),
                        unblocked_at: now,
                    }),
                );
            }
            let stale: Vec<String> = work
                .conflicts
                .keys()
                .filter(|(c, uid)| c == calendar && !wanted.iter().any(|e| &e.uid == uid))
                .map(|(_, uid)| uid.clone())
                .collect();
            for uid in stale {
                emit(
                    &mut work,
                    E::ExternalConflictResolved(ExternalConflictResolved {
                        calendar: calendar.to_owned(),
                        uid,
                        resolved_at: now,
                    }),
                );
            }
        }

        for e in wanted {
            let existing = mine(&work, &e.uid);
            let others: Vec<(StayDates, Occupant)> = work
                .active_stays()
                .filter(|(stay, occupant)| {
                    stay.overlaps(&e.stay)
                        && !matches!(occupant, Occupant::Block(id) if existing.iter().any(|b| b.id == *id))
                })
                .collect();
            let key = (calendar.to_owned(), e.uid.clone());
            let desired: Vec<StayDates> = if others.is_empty() {
                vec![e.stay]
            } else if e.kind == ExternalKind::Reservation {
                Vec::new()
            } else {
                // Closed nights that are partly ours already (often the channel echoing our own
                // export back): block only what is still free.
                free_segments(&e.stay, others.iter().map(|(s, _)| *s))
            };
            let conflict = e.kind == ExternalKind::Reservation && !others.is_empty();
            match (conflict, work.conflicts.get(&key)) {
                (true, Some(stay)) if *stay == e.stay => {}
                (true, _) => {
                    let (_, occupant) = others[0];
                    let (occupant, code) = match occupant {
                        Occupant::Reservation(id) => (
                            OccupantRef::Reservation(id),
                            work.reservations.get(&id).map(|r| r.code.clone()),
                        ),
                        Occupant::Block(id) => (OccupantRef::Block(id), None),
                    };
                    emit(
                        &mut work,
                        E::ExternalConflictDetected(ExternalConflictDetected {
                            calendar: calendar.to_owned(),
                            uid: e.uid.clone(),
                            kind: e.kind,
                            stay: e.stay,
                            occupant,
                            occupant_code: code,
                            detected_at: now,
                        }),
                    );
                }
                (false, Some(_)) => emit(
                    &mut work,
                    E::ExternalConflictResolved(ExternalConflictResolved {
                        calendar: calendar.to_owned(),
                        uid: e.uid.clone(),
                        resolved_at: now,
                    }),
                ),
                (false, None) => {}
            }
            let source = BlockSource::External {
                calendar: calendar.to_owned(),
                uid: e.uid.clone(),
            };
            if existing.len() == 1 && desired.len() == 1 {
                // One block that follows its event wherever it moves.
                let b = &existing[0];
                if b.stay != desired[0] {
                    emit(
                        &mut work,
                        E::BlockMoved(BlockMoved {
                            block_id: b.id,
                            source,
                            previous: b.stay,
                            stay: desired[0],
                            moved_at: now,
                        }),
                    );
                }
                continue;
            }
            for b in existing.iter().filter(|b| !desired.contains(&b.stay)) {
                emit(
                    &mut work,
                    E::DatesUnblocked(DatesUnblocked {
                        block_id: b.id,
                        stay: b.stay,
                        source: b.source.clone(),
                        unblocked_at: now,
                    }),
                );
            }
            for stay in desired
                .iter()
                .filter(|d| !existing.iter().any(|b| b.stay == **d))
            {
                emit(
                    &mut work,
                    E::DatesBlocked(DatesBlocked {
                        block_id: external_block_id(accommodation, calendar, &e.uid, stay),
                        stay: *stay,
                        source: source.clone(),
                        note: None,
                        external_kind: Some(e.kind),
                        blocked_at: now,
                    }),
                );
            }
        }
        Ok(out)
    }
}

/// The parts of `stay` no range in `taken` covers.
fn free_segments(stay: &StayDates, taken: impl Iterator<Item = StayDates>) -> Vec<StayDates> {
    let mut taken: Vec<StayDates> = taken.collect();
    taken.sort_by_key(|t| t.check_in());
    let mut out = Vec::new();
    let mut from = stay.check_in();
    for t in taken {
        if t.check_in() > from
            && let Ok(free) = StayDates::new(from, t.check_in().min(stay.check_out()))
        {
            out.push(free);
        }
        from = from.max(t.check_out());
    }
    if let Ok(free) = StayDates::new(from, stay.check_out()) {
        out.push(free);
    }
    out
}

/// A stable block id for an imported event's nights, unique across accommodations (the
/// availability read model keys stays by it).
fn external_block_id(
    accommodation: AccommodationId,
    calendar: &str,
    uid: &str,
    stay: &StayDates,
) -> BlockId {
    use sha2::{Digest, Sha256};
    let digest =
        Sha256::digest(format!("{accommodation}|{calendar}|{uid}|{}", stay.check_in()).as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    BlockId::from_uuid(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

/// A hold's time ran out: it frees its nights, and whatever was paid towards it (less than the
/// deposit, or it would be confirmed) goes back.
fn lapse(r: &Reservation, now: DateTime<Utc>) -> Vec<AccommodationEvent> {
    let mut events = vec![AccommodationEvent::HoldExpired(HoldExpired {
        reservation_id: r.id,
        stay: r.stay,
        expired_at: now,
    })];
    events.extend(r.refunds(r.net_paid(), RefundReason::HoldExpired, now));
    events
}

/// The rules a stay request must meet before any night is looked at: not in the past, within
/// the minimum and maximum nights, and a guest count the accommodation takes. Quotes use it too,
/// so a quote never promises what a hold would refuse.
/// What an imported calendar may be called (it names blocks and the export's `X-SOURCE`).
pub fn valid_calendar_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

pub fn validate_stay(
    capacity: u32,
    min_nights: u32,
    utc_offset_minutes: i32,
    stay: &StayDates,
    guests: u32,
    now: DateTime<Utc>,
) -> Result<(), BookingError> {
    let today = local_today(now, utc_offset_minutes);
    if stay.check_in() < today {
        return Err(BookingError::CheckInInPast {
            check_in: stay.check_in(),
            today,
        });
    }
    validate_nights_and_party(capacity, min_nights, stay, guests)
}

/// `validate_stay` without the check-in date: how long, and how many.
fn validate_nights_and_party(
    capacity: u32,
    min_nights: u32,
    stay: &StayDates,
    guests: u32,
) -> Result<(), BookingError> {
    let nights = stay.nights();
    if nights < min_nights {
        return Err(BookingError::StayTooShort {
            nights,
            minimum: min_nights,
        });
    }
    if nights > MAX_NIGHTS {
        return Err(BookingError::StayTooLong {
            nights,
            maximum: MAX_NIGHTS,
        });
    }
    if guests == 0 || guests > capacity {
        return Err(BookingError::InvalidGuestCount { guests, capacity });
    }
    Ok(())
}

/// The owner's calendar day at `now`.
pub fn local_today(now: DateTime<Utc>, utc_offset_minutes: i32) -> NaiveDate {
    // An offset outside ±24 h cannot come from our own events; fall back to UTC rather than panic.
    let offset = FixedOffset::east_opt(utc_offset_minutes * 60).unwrap_or(Utc.fix());
    now.with_timezone(&offset).date_naive()
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
        use AccommodationEvent as E;
        match command {
            C::Register(cmd) => {
                if self.info.is_some() {
                    return Err(BookingError::AlreadyRegistered);
                }
                let name = cmd.name.trim();
                if name.is_empty() || name.chars().count() > 100 {
                    return Err(BookingError::InvalidAccommodation(
                        "the name must have 1 to 100 characters".into(),
                    ));
                }
                if cmd.capacity == 0 || cmd.capacity > MAX_CAPACITY {
                    return Err(BookingError::InvalidAccommodation(format!(
                        "capacity must be between 1 and {MAX_CAPACITY}"
                    )));
                }
                if cmd.min_nights == 0 || cmd.min_nights > MAX_NIGHTS {
                    return Err(BookingError::InvalidAccommodation(format!(
                        "minimum nights must be between 1 and {MAX_NIGHTS}"
                    )));
                }
                cmd.pricing.validate()?;
                let directions = directions(cmd.directions.as_deref())?;
                Ok(vec![E::Registered(AccommodationRegistered {
                    accommodation_id: cmd.accommodation_id,
                    name: name.to_owned(),
                    capacity: cmd.capacity,
                    pricing: cmd.pricing.clone(),
                    min_nights: cmd.min_nights,
                    check_in_time: cmd.check_in_time,
                    check_out_time: cmd.check_out_time,
                    utc_offset_minutes: ARGENTINA_UTC_OFFSET_MINUTES,
                    registered_at: now,
                    directions,
                })])
            }
            C::ChangePricing(cmd) => {
                let info = self.registered()?;
                cmd.pricing.validate()?;
                let min_nights = cmd.min_nights.unwrap_or(info.min_nights);
                if min_nights == 0 || min_nights > MAX_NIGHTS {
                    return Err(BookingError::InvalidAccommodation(format!(
                        "minimum nights must be between 1 and {MAX_NIGHTS}"
                    )));
                }
                Ok(vec![E::PricingChanged(PricingChanged {
                    pricing: cmd.pricing.clone(),
                    min_nights,
                    changed_at: now,
                })])
            }
            C::ChangeDetails(cmd) => {
                let info = self.registered()?;
                let name = cmd.name.as_deref().unwrap_or(&info.name).trim();
                if name.is_empty() || name.chars().count() > 100 {
                    return Err(BookingError::InvalidAccommodation(
                        "the name must have 1 to 100 characters".into(),
                    ));
                }
                let capacity = cmd.capacity.unwrap_or(info.capacity);
                if capacity == 0 || capacity > MAX_CAPACITY {
                    return Err(BookingError::InvalidAccommodation(format!(
                        "capacity must be between 1 and {MAX_CAPACITY}"
                    )));
                }
                let directions = match cmd.directions.as_deref() {
                    Some(given) => directions(Some(given))?,
                    None => info.directions.clone(),
                };
                let answers = match &cmd.answers {
                    Some(changes) => crate::house::merged(&info.answers, changes)?,
                    None => info.answers.clone(),
                };
                // Guests already holding nights keep them: a smaller capacity applies to new
                // requests only.
                Ok(vec![E::DetailsChanged(AccommodationDetailsChanged {
                    name: name.to_owned(),
                    capacity,
                    check_in_time: cmd.check_in_time.unwrap_or(info.check_in_time),
                    check_out_time: cmd.check_out_time.unwrap_or(info.check_out_time),
                    changed_at: now,
                    directions,
                    answers,
                })])
            }
            C::PlaceHold(cmd) => self.decide_place_hold(cmd, now),
            C::ExtendHold(cmd) => {
                self.registered()?;
                let r = self.reservation_mut_checked(cmd.reservation_id)?;
                if cmd.by <= Duration::zero() {
                    return Err(BookingError::InvalidHoldDuration);
                }
                match r.status {
                    ReservationStatus::Held if now >= r.expires_at => {
                        Err(BookingError::HoldExpired {
                            expired_at: r.expires_at,
                        })
                    }
                    ReservationStatus::Held if r.extended => Err(BookingError::HoldAlreadyExtended),
                    ReservationStatus::Held => Ok(vec![E::HoldExtended(HoldExtended {
                        reservation_id: r.id,
                        expires_at: r.expires_at + cmd.by,
                        extended_at: now,
                    })]),
                    ReservationStatus::Cancelled | ReservationStatus::Expired => Err(r.over()),
                    ReservationStatus::Confirmed => Err(BookingError::AlreadyConfirmed),
                }
            }
            C::Confirm(cmd) => self.decide_confirm(cmd, now),
            C::ConfirmLate(cmd) => self.decide_confirm_late(cmd, now),
            C::ChangeStay(cmd) => self.decide_change_stay(cmd, now),
            C::ReplaceHold(cmd) => self.decide_replace_hold(cmd, now),
            C::Cancel(cmd) => self.decide_cancel(cmd, now),
            C::ExpireHold(cmd) => {
                self.registered()?;
                let r = self.reservation_mut_checked(cmd.reservation_id)?;
                match r.status {
                    ReservationStatus::Held if now >= r.expires_at => Ok(lapse(r, now)),
                    ReservationStatus::Held => Err(BookingError::HoldNotDue {
                        expires_at: r.expires_at,
                    }),
                    _ => Err(BookingError::NotHeld),
                }
            }
            C::BlockDates(cmd) => self.decide_block(cmd, now),
            C::RecordPaymentLink(cmd) => self.decide_link(cmd, now),
            C::ApplyPayment(cmd) => self.decide_payment(cmd, now),
            C::RecordManualPayment(cmd) => self.decide_manual_payment(cmd, now),
            C::RecordRefund(cmd) => self.decide_refund(cmd, now),
            C::SyncCalendar(cmd) => self.decide_sync(cmd, now),
            C::UnblockDates(cmd) => {
                self.registered()?;
                let block = self
                    .blocks
                    .get(&cmd.block_id)
                    .ok_or(BookingError::BlockNotFound(cmd.block_id))?;
                Ok(vec![E::DatesUnblocked(DatesUnblocked {
                    block_id: block.id,
                    stay: block.stay,
                    source: block.source.clone(),
                    unblocked_at: now,
                })])
            }
        }
    }

    fn evolve(&mut self, event: &AccommodationEvent) {
        use AccommodationEvent as E;
        match event {
            E::Registered(e) => {
                self.info = Some(AccommodationInfo {
                    id: e.accommodation_id,
                    name: e.name.clone(),
                    capacity: e.capacity,
                    pricing: e.pricing.clone(),
                    min_nights: e.min_nights,
                    check_in_time: e.check_in_time,
                    check_out_time: e.check_out_time,
                    utc_offset_minutes: e.utc_offset_minutes,
                    directions: e.directions.clone(),
                    answers: Answers::new(),
                });
            }
            E::PricingChanged(e) => {
                if let Some(info) = self.info.as_mut() {
                    info.pricing = e.pricing.clone();
                    info.min_nights = e.min_nights;
                }
            }
            E::DetailsChanged(e) => {
                if let Some(info) = self.info.as_mut() {
                    info.name = e.name.clone();
                    info.capacity = e.capacity;
                    info.check_in_time = e.check_in_time;
                    info.check_out_time = e.check_out_time;
                    info.directions = e.directions.clone();
                    info.answers = e.answers.clone();
                }
            }
            E::HoldPlaced(e) => {
                self.index(e.reservation_id, &e.stay);
                self.reservations.insert(
                    e.reservation_id,
                    Reservation {
                        id: e.reservation_id,
                        code: e.code.clone(),
                        guest_ref: e.guest_ref.clone(),
                        stay: e.stay,
                        guests: e.guests,
                        channel: e.channel,
                        quote: e.quote.clone(),
                        status: ReservationStatus::Held,
                        expires_at: e.expires_at,
                        extended: false,
                        payment_reference: None,
                        amount_paid: Money::ZERO,
                        payments: Vec::new(),
                        seen: BTreeSet::new(),
                        payment_url: None,
                        payment_link_amount: None,
                        refunds: BTreeMap::new(),
                    },
                );
            }
            E::HoldExtended(e) => {
                if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
                    r.expires_at = e.expires_at;
                    r.extended = true;
                }
            }
            E::Confirmed(e) => {
                if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
                    r.status = ReservationStatus::Confirmed;
                    r.payment_reference = Some(e.payment_reference.clone());
                    r.add_payment(&e.payment_reference, e.amount_paid, e.provider.is_some());
                    if e.provider.is_some() {
                        r.seen
                            .insert((e.payment_reference.clone(), PaymentStatus::Approved));
                    }
                }
            }
            E::PaymentLinkCreated(e) => {
                if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
                    r.payment_url = Some(e.init_point.clone());
                    r.payment_link_amount = Some(e.amount);
                }
            }
            E::PaymentRecorded(e) => {
                if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
                    r.seen
                        .insert((e.payment.payment_id.clone(), e.payment.status));
                    if e.payment.status == PaymentStatus::Approved {
                        r.add_payment(&e.payment.payment_id, e.payment.amount, true);
                    }
                }
            }
            E::ManualPaymentRecorded(e) => {
                if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
                    r.add_payment(&e.reference, e.amount, false);
                }
            }
            E::UnderpaymentReceived(e) => {
                if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
                    r.seen
                        .insert((e.payment.payment_id.clone(), e.payment.status));
                    r.add_payment(&e.payment.payment_id, e.payment.amount, true);
                }
            }
            E::LatePaymentAccepted(e) => {
                if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
                    r.status = ReservationStatus::Confirmed;
                    r.payment_reference = Some(e.payment.payment_id.clone());
                    r.seen
                        .insert((e.payment.payment_id.clone(), e.payment.status));
                    r.add_payment(&e.payment.payment_id, e.payment.amount, !e.by_hand);
                }
            }
            E::LatePaymentRejected(e) => {
                if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
                    r.seen
                        .insert((e.payment.payment_id.clone(), e.payment.status));
                    r.add_payment(&e.payment.payment_id, e.payment.amount, true);
                }
            }
            E::RefundDue(e) => {
                if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
                    if let Some(p) = r.payment_mut(&e.payment_id) {
                        p.refunded = p.refunded + e.amount;
                    }
                    r.refunds.insert(
                        e.refund_key.clone(),
                        RefundState {
                            payment_id: e.payment_id.clone(),
                            amount: e.amount,
                            refund_id: None,
                        },
                    );
                }
            }
            E::RefundIssued(e) => {
                if let Some(refund) = self
                    .reservations
                    .get_mut(&e.reservation_id)
                    .and_then(|r| r.refunds.get_mut(&e.refund_key))
                {
                    refund.refund_id = Some(e.refund_id.clone());
                }
            }
            E::PaymentReversed(e) => {
                if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
                    r.seen
                        .insert((e.payment.payment_id.clone(), e.payment.status));
                    if let Some(p) = r.payment_mut(&e.payment.payment_id) {
                        p.refunded = p.amount;
                    }
                }
            }
            E::Cancelled(e) => {
                if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
                    r.status = ReservationStatus::Cancelled;
                }
            }
            E::HoldExpired(e) => {
                if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
                    r.status = ReservationStatus::Expired;
                }
            }
            E::DatesBlocked(e) => {
                self.blocks.insert(
                    e.block_id,
                    Block {
                        id: e.block_id,
                        stay: e.stay,
                        source: e.source.clone(),
                    },
                );
            }
            E::DatesUnblocked(e) => {
                self.blocks.remove(&e.block_id);
            }
            E::BlockMoved(e) => {
                if let Some(b) = self.blocks.get_mut(&e.block_id) {
                    b.stay = e.stay;
                }
            }
            E::ExternalConflictDetected(e) => {
                self.conflicts
                    .insert((e.calendar.clone(), e.uid.clone()), e.stay);
            }
            E::ExternalConflictResolved(e) => {
                self.conflicts.remove(&(e.calendar.clone(), e.uid.clone()));
            }
            E::StayChanged(e) => {
                if let Some(ids) = self.by_check_in.get_mut(&e.previous.check_in()) {
                    ids.retain(|id| *id != e.reservation_id);
                    if ids.is_empty() {
                        self.by_check_in.remove(&e.previous.check_in());
                    }
                }
                self.index(e.reservation_id, &e.stay);
                if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
                    r.stay = e.stay;
                    r.guests = e.guests;
                    r.quote = e.quote.clone();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
