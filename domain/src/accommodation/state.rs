//! What the events leave behind, and how it is read: the cabin's details, its reservations
//! (with the payments and refunds of each), its blocks, and what occupies which nights.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::house::Answers;
use crate::ids::{AccommodationId, BlockId, ReservationCode, ReservationId};
use crate::payment::{PaymentStatus, RefundReason, RefundVia};
use crate::pricing::{Pricing, Quote};
use crate::{BookingError, Money, StayDates};

use super::{Accommodation, AccommodationEvent, BlockSource, Channel, RefundDue};

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
    pub(super) fn over(&self) -> BookingError {
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

    pub(super) fn payment(&self, payment_id: &str) -> Option<&PaymentEntry> {
        self.payments.iter().find(|p| p.payment_id == payment_id)
    }

    pub(super) fn payment_mut(&mut self, payment_id: &str) -> Option<&mut PaymentEntry> {
        self.payments
            .iter_mut()
            .find(|p| p.payment_id == payment_id)
    }

    pub(super) fn add_payment(&mut self, payment_id: &str, amount: Money, via_provider: bool) {
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
    pub(super) fn refunds(
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
    pub(super) fn active_stays_overlapping(&self, stay: &StayDates) -> Vec<(StayDates, Occupant)> {
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
    pub(super) fn index(&mut self, id: ReservationId, stay: &StayDates) {
        let ids = self.by_check_in.entry(stay.check_in()).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
        self.longest_nights = self.longest_nights.max(stay.nights());
    }

    pub(super) fn registered(&self) -> Result<&AccommodationInfo, BookingError> {
        self.info.as_ref().ok_or(BookingError::NotRegistered)
    }

    pub(super) fn reservation_mut_checked(
        &self,
        id: ReservationId,
    ) -> Result<&Reservation, BookingError> {
        self.reservations
            .get(&id)
            .ok_or(BookingError::ReservationNotFound(id))
    }
}
