//! What this stream stores: the events, the value types they carry, the one table of their
//! stored names and versions, and the upcasters that read older versions.
//!
//! Everything here is a stored shape: a field renamed or retyped changes what is on disk, so
//! a change of shape is a new version with an upcaster, never an edit in place.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::{DomainEvent, EventDecodeError};
use crate::house::Answers;
use crate::ids::{AccommodationId, BlockId, ReservationCode, ReservationId};
use crate::payment::{PaymentFacts, RefundReason, RefundVia};
use crate::pricing::{Pricing, Quote};
use crate::{Money, StayDates};

use super::ARGENTINA_UTC_OFFSET_MINUTES;

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

/// What occupies nights an imported event wants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum OccupantRef {
    Reservation(ReservationId),
    Block(BlockId),
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

// ---------------------------------------------------------------------------------------------
// Stored names and versions
// ---------------------------------------------------------------------------------------------

/// The one table of stored names. Each row is a variant, the name it is stored under, its
/// current version, and (if older versions exist) which upcaster reads each of them; a name is
/// written here and nowhere else. `EVENT_TYPES` and the whole of `DomainEvent` (`event_type`,
/// `event_version`, `to_payload`, `from_stored`) are generated from it, so a variant without a
/// row does not compile and two rows with the same name are an unreachable-pattern warning.
macro_rules! stored_events {
    ($(
        $variant:ident => ($name:literal, $version:expr $(, $old:literal => $upcast:ident)*)
    ),+ $(,)?) => {
        /// Every stored name of this stream's events; the catalogue in docs/events.md lists the
        /// same.
        pub const EVENT_TYPES: &[&str] = &[$($name),+];

        impl DomainEvent for AccommodationEvent {
            fn event_type(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => $name,)+
                }
            }

            fn event_version(&self) -> u32 {
                match self {
                    $(Self::$variant(_) => $version,)+
                }
            }

            fn to_payload(&self) -> Value {
                let result = match self {
                    $(Self::$variant(e) => serde_json::to_value(e),)+
                };
                // These types contain only strings, integers, dates and maps with string keys,
                // which serde_json always serializes; Null would only appear if that ever changed.
                result.unwrap_or(Value::Null)
            }

            fn from_stored(
                event_type: &str,
                version: u32,
                payload: Value,
            ) -> Result<Self, EventDecodeError> {
                match event_type {
                    $($name => {
                        // The current version as it is; an older one through its upcaster.
                        let payload = if version == $version {
                            payload
                        } $(else if version == $old {
                            $upcast(payload)
                        })* else {
                            return Err(EventDecodeError::UnknownVersion {
                                event_type: event_type.to_owned(),
                                version,
                            });
                        };
                        Ok(Self::$variant(decode(event_type, version, payload)?))
                    })+
                    _ => Err(EventDecodeError::UnknownType {
                        event_type: event_type.to_owned(),
                        version,
                    }),
                }
            }
        }
    };
}

stored_events! {
    Registered => ("AccommodationRegistered", 1),
    PricingChanged => ("PricingChanged", 1),
    DetailsChanged => ("AccommodationDetailsChanged", 1),
    HoldPlaced => ("HoldPlaced", HOLD_PLACED_VERSION, 1 => upcast_hold_placed_v1),
    HoldExtended => ("HoldExtended", 1),
    Confirmed => ("ReservationConfirmed", 1),
    Cancelled => ("ReservationCancelled", 1),
    HoldExpired => ("HoldExpired", 1),
    DatesBlocked => ("DatesBlocked", 1),
    DatesUnblocked => ("DatesUnblocked", 1),
    PaymentLinkCreated => ("PaymentLinkCreated", 1),
    PaymentRecorded => ("PaymentRecorded", 1),
    ManualPaymentRecorded => ("ManualPaymentRecorded", 1),
    UnderpaymentReceived => ("UnderpaymentReceived", 1),
    LatePaymentAccepted => ("LatePaymentAccepted", 1),
    LatePaymentRejected => ("LatePaymentRejected", 1),
    RefundDue => ("RefundDue", 1),
    RefundIssued => ("RefundIssued", 1),
    PaymentReversed => ("PaymentReversed", 1),
    BlockMoved => ("BlockMoved", 1),
    ExternalConflictDetected => ("ExternalConflictDetected", 1),
    ExternalConflictResolved => ("ExternalConflictResolved", 1),
    StayChanged => ("StayChanged", 1),
}

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
