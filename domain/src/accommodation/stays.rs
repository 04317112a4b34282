//! A stay from hold to the end: placing a hold, extending it, confirming it (in time or late),
//! moving or correcting it, cancelling it, letting it lapse; and how a stay claims its nights.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};

use crate::event::Aggregate;
use crate::ids::ReservationId;
use crate::payment::{PaymentFacts, PaymentStatus, RefundReason};
use crate::{BookingError, Money, StayDates};

use super::validate::{local_today, taken_by_hand, validate_nights_and_party, validate_stay};
use super::{
    Accommodation, AccommodationEvent, CancelReservation, CancelledBy, ChangeStay, ConfirmLate,
    ConfirmReservation, ExpireHold, ExtendHold, HoldExpired, HoldExtended, HoldPlaced,
    LatePaymentAccepted, Occupant, PlaceHold, ReplaceHold, Reservation, ReservationCancelled,
    ReservationConfirmed, ReservationStatus, StayChanged,
};

impl Accommodation {
    /// Frees past-due holds that stand in the way of `stay`, then checks that nothing else does.
    /// A hold whose time is up must not keep a paying guest out just because the scheduler has
    /// not run yet; expiring it here keeps the event history free of overlapping active stays.
    pub(super) fn claim(
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

    pub(super) fn decide_place_hold(
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

    pub(super) fn decide_extend_hold(
        &self,
        cmd: &ExtendHold,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        self.registered()?;
        let r = self.reservation_mut_checked(cmd.reservation_id)?;
        if cmd.by <= Duration::zero() {
            return Err(BookingError::InvalidHoldDuration);
        }
        match r.status {
            ReservationStatus::Held if now >= r.expires_at => Err(BookingError::HoldExpired {
                expired_at: r.expires_at,
            }),
            ReservationStatus::Held if r.extended => Err(BookingError::HoldAlreadyExtended),
            ReservationStatus::Held => Ok(vec![AccommodationEvent::HoldExtended(HoldExtended {
                reservation_id: r.id,
                expires_at: r.expires_at + cmd.by,
                extended_at: now,
            })]),
            ReservationStatus::Cancelled | ReservationStatus::Expired => Err(r.over()),
            ReservationStatus::Confirmed => Err(BookingError::AlreadyConfirmed),
        }
    }

    pub(super) fn decide_confirm_late(
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

    pub(super) fn decide_confirm(
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

    pub(super) fn decide_change_stay(
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

    pub(super) fn decide_replace_hold(
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

    pub(super) fn decide_cancel(
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

    pub(super) fn decide_expire_hold(
        &self,
        cmd: &ExpireHold,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
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

    pub(super) fn evolve_hold_placed(&mut self, e: &HoldPlaced) {
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

    pub(super) fn evolve_hold_extended(&mut self, e: &HoldExtended) {
        if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
            r.expires_at = e.expires_at;
            r.extended = true;
        }
    }

    pub(super) fn evolve_confirmed(&mut self, e: &ReservationConfirmed) {
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

    pub(super) fn evolve_stay_changed(&mut self, e: &StayChanged) {
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

    pub(super) fn evolve_cancelled(&mut self, e: &ReservationCancelled) {
        if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
            r.status = ReservationStatus::Cancelled;
        }
    }

    pub(super) fn evolve_hold_expired(&mut self, e: &HoldExpired) {
        if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
            r.status = ReservationStatus::Expired;
        }
    }
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
