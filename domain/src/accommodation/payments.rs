//! Money for a stay: the provider's payment link, payments the provider reports (on time, short,
//! late or taken back), payments the owner took by hand, and the refunds this stream decides.
//! (`crate::payment` is something else: what a provider reported, and cancellation policies.)

use chrono::{DateTime, Utc};

use crate::payment::{PaymentFacts, PaymentStatus, RefundReason};
use crate::{BookingError, Money};

use super::validate::{local_today, taken_by_hand};
use super::{
    Accommodation, AccommodationEvent, AccommodationInfo, ApplyPayment, LatePaymentAccepted,
    LatePaymentRejected, ManualPaymentRecorded, PROVIDER, PaymentLinkCreated, PaymentRecorded,
    PaymentReversed, RecordManualPayment, RecordPaymentLink, RecordRefund, RefundDue, RefundIssued,
    RefundState, Reservation, ReservationConfirmed, ReservationStatus, UnderpaymentReceived,
};

impl Accommodation {
    pub(super) fn decide_link(
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
    pub(super) fn decide_payment(
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

    pub(super) fn decide_manual_payment(
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

    pub(super) fn decide_refund(
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

    pub(super) fn evolve_payment_link_created(&mut self, e: &PaymentLinkCreated) {
        if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
            r.payment_url = Some(e.init_point.clone());
            r.payment_link_amount = Some(e.amount);
        }
    }

    pub(super) fn evolve_payment_recorded(&mut self, e: &PaymentRecorded) {
        if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
            r.seen
                .insert((e.payment.payment_id.clone(), e.payment.status));
            if e.payment.status == PaymentStatus::Approved {
                r.add_payment(&e.payment.payment_id, e.payment.amount, true);
            }
        }
    }

    pub(super) fn evolve_manual_payment_recorded(&mut self, e: &ManualPaymentRecorded) {
        if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
            r.add_payment(&e.reference, e.amount, false);
        }
    }

    pub(super) fn evolve_underpayment_received(&mut self, e: &UnderpaymentReceived) {
        if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
            r.seen
                .insert((e.payment.payment_id.clone(), e.payment.status));
            r.add_payment(&e.payment.payment_id, e.payment.amount, true);
        }
    }

    pub(super) fn evolve_late_payment_accepted(&mut self, e: &LatePaymentAccepted) {
        if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
            r.status = ReservationStatus::Confirmed;
            r.payment_reference = Some(e.payment.payment_id.clone());
            r.seen
                .insert((e.payment.payment_id.clone(), e.payment.status));
            r.add_payment(&e.payment.payment_id, e.payment.amount, !e.by_hand);
        }
    }

    pub(super) fn evolve_late_payment_rejected(&mut self, e: &LatePaymentRejected) {
        if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
            r.seen
                .insert((e.payment.payment_id.clone(), e.payment.status));
            r.add_payment(&e.payment.payment_id, e.payment.amount, true);
        }
    }

    pub(super) fn evolve_refund_due(&mut self, e: &RefundDue) {
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

    pub(super) fn evolve_refund_issued(&mut self, e: &RefundIssued) {
        if let Some(refund) = self
            .reservations
            .get_mut(&e.reservation_id)
            .and_then(|r| r.refunds.get_mut(&e.refund_key))
        {
            refund.refund_id = Some(e.refund_id.clone());
        }
    }

    pub(super) fn evolve_payment_reversed(&mut self, e: &PaymentReversed) {
        if let Some(r) = self.reservations.get_mut(&e.reservation_id) {
            r.seen
                .insert((e.payment.payment_id.clone(), e.payment.status));
            if let Some(p) = r.payment_mut(&e.payment.payment_id) {
                p.refunded = p.amount;
            }
        }
    }
}
