//! Payments: every payment per reservation, through the provider or recorded by hand, with its
//! last status; the refunds decided and carried out; and the alerts an admin must look at
//! (underpayments, late payments refunded, chargebacks, refunds to make by hand).
//!
//! Also [`Reactions`]: not a read model but the reactor's intake. It turns events into rows of
//! `reactor_tasks` (create a payment link, refund, tell the guest) in the same transaction as
//! its checkpoint, so every effect is queued exactly once; workers in `api` carry them out.

use async_trait::async_trait;
use domain::AccommodationEvent;
use domain::accommodation::CancelledBy;
use domain::payment::{PaymentFacts, PaymentStatus, RefundReason, RefundVia};

use crate::sql::{Names, Param, Tx, cents, insert_rows, millis};
use crate::{Batch, Projection, ProjectionError, Schema, accommodation_events, exec};

pub struct Payments;

fn reason_name(r: RefundReason) -> &'static str {
    match r {
        RefundReason::LatePayment => "late_payment",
        RefundReason::Cancellation => "cancellation",
        RefundReason::HoldExpired => "hold_expired",
    }
}

const PAYMENTS_SCHEMA: Schema = Schema {
    name: "payments",
    // 2: deposits confirmed by hand are listed with the provider's payments.
    // 3: an alert to refund by hand names its refund, and is resolved once it is made.
    version: 3,
    tables: &["rm_payments{s}", "rm_refunds{s}", "rm_alerts{s}"],
    ddl: &[
        "CREATE TABLE rm_payments{s} (
            reservation_id TEXT NOT NULL,
            payment_id     TEXT NOT NULL,
            status         TEXT NOT NULL,
            status_detail  TEXT,
            amount_cents   BIGINT NOT NULL,
            method         TEXT,
            updated_at_ms  BIGINT NOT NULL,
            PRIMARY KEY (reservation_id, payment_id)
        )",
        "CREATE TABLE rm_refunds{s} (
            refund_key     TEXT PRIMARY KEY,
            reservation_id TEXT NOT NULL,
            payment_id     TEXT NOT NULL,
            amount_cents   BIGINT NOT NULL,
            reason         TEXT NOT NULL,
            via            TEXT NOT NULL,
            refund_id      TEXT,
            due_at_ms      BIGINT NOT NULL,
            issued_at_ms   BIGINT
        )",
        "CREATE INDEX rm_refunds_res_{g} ON rm_refunds{s} (reservation_id)",
        "CREATE TABLE rm_alerts{s} (
            position         BIGINT PRIMARY KEY,
            reservation_id   TEXT NOT NULL,
            accommodation_id TEXT NOT NULL,
            kind             TEXT NOT NULL,
            detail           TEXT NOT NULL,
            at_ms            BIGINT NOT NULL,
            refund_key       TEXT,
            resolved_at_ms   BIGINT
        )",
    ],
    pg_ddl: &[],
};

#[async_trait]
impl Projection for Payments {
    async fn apply(&self, batch: Batch<'_>) -> Result<(), ProjectionError> {
        use AccommodationEvent as E;
        let mut rows = Rows::default();
        for (a, acc, event) in accommodation_events(batch.events) {
            let Some(rid) = event.reservation_id().map(|r| r.to_string()) else {
                continue;
            };
            let at = millis(a.event.recorded_at);
            if let Some(p) = payment_of(event) {
                rows.payment(&rid, p, at);
            }
            if let Some((kind, detail)) = alert_of(event) {
                let refund_key = match event {
                    E::RefundDue(d) => Some(d.refund_key.clone()),
                    _ => None,
                };
                rows.alerts.push(vec![
                    a.event.position.unwrap_or_default().into(),
                    rid.clone().into(),
                    acc.to_string().into(),
                    kind.into(),
                    detail.into(),
                    at.into(),
                    refund_key.into(),
                ]);
            }
            match event {
                E::RefundDue(d) => rows.refunds.push(vec![
                    d.refund_key.clone().into(),
                    rid.into(),
                    d.payment_id.clone().into(),
                    cents(d.amount).into(),
                    reason_name(d.reason).into(),
                    match d.via {
                        RefundVia::Provider => "provider",
                        RefundVia::Manual => "manual",
                    }
                    .into(),
                    at.into(),
                ]),
                E::RefundIssued(i) => {
                    rows.issued
                        .push((i.refund_key.clone(), i.refund_id.clone(), at))
                }
                _ => {}
            }
        }
        rows.write(batch.tx, batch.names).await
    }

    fn schema(&self) -> &'static Schema {
        &PAYMENTS_SCHEMA
    }
}

/// The payment an event records: through the provider, or (a deposit the owner took by hand
/// with `…/confirm`, a balance collected) by hand, which is a payment as much: the owner
/// reconciles this list against their account.
fn payment_of(event: &AccommodationEvent) -> Option<PaymentFacts> {
    use AccommodationEvent as E;
    match event {
        E::PaymentRecorded(p) => Some(p.payment.clone()),
        E::UnderpaymentReceived(p) => Some(p.payment.clone()),
        E::LatePaymentAccepted(p) => Some(p.payment.clone()),
        E::LatePaymentRejected(p) => Some(p.payment.clone()),
        E::PaymentReversed(p) => Some(p.payment.clone()),
        E::Confirmed(c) => Some(PaymentFacts {
            payment_id: c.payment_reference.clone(),
            status: PaymentStatus::Approved,
            status_detail: c.provider.is_none().then(|| "recorded by hand".into()),
            amount: c.amount_paid,
            method: c.method.clone(),
        }),
        E::ManualPaymentRecorded(m) => Some(PaymentFacts {
            payment_id: m.reference.clone(),
            status: PaymentStatus::Approved,
            status_detail: Some("recorded by hand".into()),
            amount: m.amount,
            method: m.method.clone(),
        }),
        _ => None,
    }
}

/// The alert an event raises for the admin: its kind and what to tell them.
fn alert_of(event: &AccommodationEvent) -> Option<(&'static str, String)> {
    use AccommodationEvent as E;
    match event {
        E::UnderpaymentReceived(u) => Some((
            "underpayment",
            format!(
                "payment {} of {} is below the deposit of {} (received so far: {})",
                u.payment.payment_id, u.payment.amount, u.deposit, u.paid_total
            ),
        )),
        E::LatePaymentRejected(r) => Some((
            "late_payment_refunded",
            format!(
                "payment {} of {} arrived late and is being refunded: {}",
                r.payment.payment_id, r.payment.amount, r.reason
            ),
        )),
        E::PaymentReversed(r) => Some((
            "payment_reversed",
            format!(
                "payment {} was {} at the provider ({} taken back); the reservation is still \
                 confirmed until you decide",
                r.payment.payment_id,
                r.payment.status.as_str(),
                r.amount
            ),
        )),
        E::RefundDue(d) if d.via == RefundVia::Manual => Some((
            "manual_refund",
            format!(
                "give back {} by hand for payment {} (it was not made through Mercado Pago)",
                d.amount, d.payment_id
            ),
        )),
        _ => None,
    }
}

/// A batch's rows, written in a few statements rather than one per event (a catch-up applies
/// thousands of events per batch; one round trip each was most of this read model's time).
#[derive(Default)]
struct Rows {
    /// One row per payment, its last state in the batch (see `payment`), in first-seen order.
    payments: Vec<(String, PaymentFacts, i64)>,
    alerts: Vec<Vec<Param>>,
    refunds: Vec<Vec<Param>>,
    /// Refunds carried out: (refund key, the provider's id, when).
    issued: Vec<(String, String, i64)>,
}

impl Rows {
    /// A payment's state at `at`. A payment seen twice in the batch (pending, then approved)
    /// is one row with its last state, and the method known from either: what updating it
    /// twice would leave, and PostgreSQL refuses a statement that changes one row twice.
    fn payment(&mut self, rid: &str, p: PaymentFacts, at: i64) {
        let seen = self
            .payments
            .iter_mut()
            .find(|(r, q, _)| r == rid && q.payment_id == p.payment_id);
        match seen {
            Some((_, before, when)) => {
                let method = p.method.clone().or(before.method.take());
                *before = PaymentFacts { method, ..p };
                *when = at;
            }
            None => self.payments.push((rid.to_owned(), p, at)),
        }
    }

    async fn write(self, tx: &mut Tx, names: Names) -> Result<(), ProjectionError> {
        let payments: Vec<Vec<Param>> = self
            .payments
            .into_iter()
            .map(|(rid, p, at)| {
                vec![
                    rid.into(),
                    p.payment_id.into(),
                    p.status.as_str().into(),
                    p.status_detail.into(),
                    cents(p.amount).into(),
                    p.method.into(),
                    at.into(),
                ]
            })
            .collect();
        insert_rows(
            tx,
            &names.sql(
                "INSERT INTO rm_payments{s} (reservation_id, payment_id, status, status_detail, \
                 amount_cents, method, updated_at_ms)",
            ),
            &names.sql(
                "ON CONFLICT (reservation_id, payment_id) DO UPDATE SET status = excluded.status, \
                 status_detail = excluded.status_detail, \
                 method = COALESCE(excluded.method, rm_payments{s}.method), \
                 updated_at_ms = excluded.updated_at_ms",
            ),
            &payments,
        )
        .await?;
        let new_rows = [
            (
                "INSERT INTO rm_alerts{s} (position, reservation_id, accommodation_id, kind, \
                 detail, at_ms, refund_key)",
                "ON CONFLICT (position) DO NOTHING",
                &self.alerts,
            ),
            (
                "INSERT INTO rm_refunds{s} (refund_key, reservation_id, payment_id, amount_cents, \
                 reason, via, due_at_ms)",
                "ON CONFLICT (refund_key) DO NOTHING",
                &self.refunds,
            ),
        ];
        for (head, tail, rows) in new_rows {
            insert_rows(tx, &names.sql(head), tail, rows).await?;
        }
        // After the inserts: a refund decided and carried out in the same batch is updated.
        for (key, refund_id, at) in self.issued {
            exec!(
                &mut *tx,
                names.sql(
                    "UPDATE rm_refunds{s} SET refund_id = $2, issued_at_ms = $3 WHERE refund_key = $1"
                ),
                key.clone(),
                refund_id,
                at
            )?;
            // The owner gave it back by hand: nothing is left to do about that alert.
            exec!(
                &mut *tx,
                names.sql("UPDATE rm_alerts{s} SET resolved_at_ms = $2 WHERE refund_key = $1"),
                key,
                at
            )?;
        }
        Ok(())
    }
}

/// What a reactor does about an event.
pub mod task {
    /// Create the provider's payment link for a new hold.
    pub const PAYMENT_LINK: &str = "payment_link";
    /// Carry out a refund through the provider.
    pub const REFUND: &str = "refund";
    /// Tell the guest (on the channel they booked through).
    pub const NOTIFY: &str = "notify";
    /// Create the provider's link for a confirmed stay's balance (the guest asked for it).
    pub const BALANCE_LINK: &str = "balance_link";
}

/// The reactor's intake (see the module docs). It starts at the head of the log the first time
/// it runs: a reactor acts on what happens from now on, never on a history it was not there for.
pub struct Reactions;

const REACTIONS_SCHEMA: Schema = Schema {
    name: "reactions",
    version: 1,
    tables: &[],
    ddl: &[],
    pg_ddl: &[],
};

#[async_trait]
impl Projection for Reactions {
    async fn apply(&self, batch: Batch<'_>) -> Result<(), ProjectionError> {
        use AccommodationEvent as E;
        for (a, acc, event) in accommodation_events(batch.events) {
            let Some(rid) = event.reservation_id() else {
                continue;
            };
            let kinds: &[&str] = match event {
                E::HoldPlaced(h) if h.quote.deposit > domain::Money::ZERO => &[task::PAYMENT_LINK],
                // Also a deposit the owner took by hand: a WhatsApp guest who sent the transfer
                // was promised a word once it is confirmed.
                E::Confirmed(_)
                | E::PaymentLinkCreated(_)
                | E::LatePaymentAccepted(_)
                | E::LatePaymentRejected(_)
                | E::UnderpaymentReceived(_)
                | E::RefundIssued(_) => &[task::NOTIFY],
                // A failed payment, or a confirmed stay's balance received.
                E::PaymentRecorded(p)
                    if matches!(
                        p.payment.status,
                        PaymentStatus::Rejected
                            | PaymentStatus::Cancelled
                            | PaymentStatus::Approved
                    ) =>
                {
                    &[task::NOTIFY]
                }
                E::RefundDue(d) if d.via == RefundVia::Provider => &[task::REFUND],
                // The guest waits for a payment link or a stay that is no longer theirs. (A guest
                // who cancelled from WhatsApp was answered there already.)
                E::HoldExpired(_) => &[task::NOTIFY],
                // The owner moved the stay: the guest hears the new nights and balance.
                E::StayChanged(_) => &[task::NOTIFY],
                // Told to the guest, or (a guest's own cancellation of a paid stay) to the owner.
                E::Cancelled(c) if c.by != CancelledBy::Guest || c.was_confirmed => &[task::NOTIFY],
                _ => &[],
            };
            for kind in kinds {
                let body = serde_json::json!({
                    "type": a.event.event_type,
                    "payload": a.event.payload,
                    "position": a.event.position,
                });
                exec!(
                    &mut *batch.tx,
                    "INSERT INTO reactor_tasks (id, kind, accommodation_id, reservation_id, event, \
                     next_attempt_at_ms, created_at_ms) VALUES ($1, $2, $3, $4, $5, 0, $6) \
                     ON CONFLICT (id) DO NOTHING"
                        .to_owned(),
                    format!("{kind}:{}", a.event.event_id),
                    kind.to_string(),
                    acc.to_string(),
                    rid.to_string(),
                    body.to_string(),
                    millis(a.event.recorded_at)
                )?;
            }
        }
        Ok(())
    }

    fn schema(&self) -> &'static Schema {
        &REACTIONS_SCHEMA
    }

    fn starts_at_head(&self) -> bool {
        true
    }
}
