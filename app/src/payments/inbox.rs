//! Mercado Pago's notifications: stored once by the webhook, claimed by the worker, the payment
//! they name fetched from the provider (never trusting the body) and applied to its reservation
//! through the domain (`ApplyPayment`).

use std::time::Duration;

use conversation::notices::payments::{PaymentTrouble, payment_trouble};
use domain::accommodation::{AccommodationCommand, ApplyPayment};
use domain::payment::{PaymentFacts, PaymentStatus};
use domain::{AccommodationEvent, AccommodationId, DomainEvent, Money, ReservationId};
use eventstore::{Db, db_exec, db_fetch};
use integrations::mercadopago::{MpError, Payment};
use projections::queries;

use super::BATCH;
use crate::context::Context;
use crate::error::AppError;
use crate::execute::{Origin, Source, execute};
use crate::queue::{Claimed, Queue};

/// Stores a notification once (by its key); true when it is new.
pub async fn queue_notification(
    db: &Db,
    key: &str,
    payment_id: &str,
    request_id: Option<&str>,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let n = db_exec!(
        db,
        "INSERT INTO mp_inbox (id, topic, resource_id, request_id, next_attempt_at_ms, created_at_ms) \
         VALUES ($1, 'payment', $2, $3, $4, $4) ON CONFLICT (id) DO NOTHING"
            .to_owned(),
        key.to_owned(),
        payment_id.to_owned(),
        request_id.map(str::to_owned),
        now_ms
    )?;
    Ok(n == 1)
}

/// Fetches and applies every notification due; returns how many were handled.
pub async fn process_notifications(state: &Context) -> Result<usize, AppError> {
    let queue = Queue::new(state.db.clone(), "mp_inbox");
    let claimed = queue.claim(state.now().timestamp_millis(), BATCH).await?;
    let n = claimed.len();
    for c in claimed {
        let row: Option<(String,)> = db_fetch!(
            &state.db,
            (String,),
            fetch_optional,
            "SELECT resource_id FROM mp_inbox WHERE id = $1".to_owned(),
            c.id.clone()
        )?;
        let Some((payment_id,)) = row else { continue };
        let now = state.now().timestamp_millis();
        match state.payments.payment(&payment_id).await {
            Ok(payment) => match apply(state, &c, &payment).await {
                Ok(outcome) => queue.done(&c.id, &outcome, now).await?,
                Err(e) if e.is_transient() => queue.retry(&c, &e.to_string(), now).await?,
                // A refusal stays one: recorded with why, never retried.
                Err(e) => queue.done(&c.id, &format!("refused: {e}"), now).await?,
            },
            Err(err) if err.is_transient() => queue.retry(&c, &err.to_string(), now).await?,
            Err(MpError::NotFound) => queue.done(&c.id, "payment not found", now).await?,
            Err(err) => queue.failed(&c.id, &err.to_string(), now).await?,
        }
    }
    Ok(n)
}

/// The accommodation a reservation belongs to, from the read model; waits (briefly) for the
/// projections when a payment arrives for a hold placed a moment ago. On PostgreSQL such a hold
/// may not even be in the global log yet (positions are stamped a few milliseconds after the
/// commit), so waiting for today's head is not enough: it looks again after a short pause that
/// lets the stamping pass, instead of putting the payment off to its next retry.
async fn accommodation_of(
    state: &Context,
    reservation: ReservationId,
) -> Result<Option<AccommodationId>, AppError> {
    let id = reservation.to_string();
    for pause_ms in [0, 20, 100] {
        if let Some(r) = queries::reservation_by_id(&state.db, &id).await? {
            return Ok(r.accommodation_id.parse().ok());
        }
        tokio::time::sleep(Duration::from_millis(pause_ms)).await;
        let head = state.store.head_position().await?;
        state.runner.wait_for(head, Duration::from_secs(10)).await?;
    }
    Ok(queries::reservation_by_id(&state.db, &id)
        .await?
        .and_then(|r| r.accommodation_id.parse().ok()))
}

/// Applies a fetched payment to its reservation; returns what happened, for the inbox row.
async fn apply(state: &Context, claimed: &Claimed, p: &Payment) -> Result<String, AppError> {
    let notification = claimed.id.as_str();
    let Some(reservation) = p
        .external_reference
        .as_deref()
        .and_then(|r| r.parse::<ReservationId>().ok())
    else {
        return Ok("not one of our reservations".into());
    };
    let Some(status) = PaymentStatus::from_provider(&p.status) else {
        tracing::warn!(status = %p.status, "payment in a status this version does not know");
        return Ok(format!("unknown status {}", p.status));
    };
    if let Some(currency) = p.currency_id.as_deref().filter(|c| *c != "ARS") {
        tracing::warn!(
            currency,
            "payment in a currency other than ARS; left for the admin"
        );
        return Ok(format!("unexpected currency {currency}"));
    }
    let Some(accommodation) = accommodation_of(state, reservation).await? else {
        // Perhaps a hold so new the read models lag behind it: try again a few times before
        // concluding the reference is not ours.
        if claimed.attempts < 5 {
            return Err(AppError::Unavailable(anyhow::anyhow!(
                "the reservation is not in the read model yet"
            )));
        }
        return Ok("unknown reservation".into());
    };
    let command = AccommodationCommand::ApplyPayment(ApplyPayment {
        reservation_id: reservation,
        payment: PaymentFacts {
            payment_id: p.id.clone(),
            status,
            status_detail: p.status_detail.clone(),
            amount: Money::new(p.amount),
            method: p.method.clone(),
        },
    });
    let origin = Origin::new(Source::MercadoPago, "mercadopago")
        .caused_by(notification)
        .correlated(reservation.as_uuid());
    let done = execute(state, accommodation, command, &origin).await?;
    if done.events.is_empty() {
        return Ok(format!("{} already applied", p.status));
    }
    let names: Vec<&str> = done.events.iter().map(|e| e.event_type()).collect();
    for e in &done.events {
        if let Some((kind, trouble)) = alert_kind(e) {
            tracing::warn!(kind, "payment needs the admin's attention");
            metrics::counter!("cabanas_payment_alerts_total", "kind" => kind).increment(1);
            let code = queries::reservation_by_id(&state.db, &reservation.to_string())
                .await?
                .map(|r| r.code)
                .unwrap_or_else(|| reservation.to_string());
            crate::outbox::alert_owner(
                state,
                &format!("payment:{}:{}", p.id, p.status),
                payment_trouble(&code, trouble),
            )
            .await?;
        }
    }
    Ok(names.join(", "))
}

/// The payment events that need the admin's attention: the metric's `kind`, and what the owner
/// is told of it.
fn alert_kind(e: &AccommodationEvent) -> Option<(&'static str, PaymentTrouble)> {
    match e {
        AccommodationEvent::UnderpaymentReceived(_) => {
            Some(("underpayment", PaymentTrouble::Underpayment))
        }
        AccommodationEvent::LatePaymentRejected(_) => {
            Some(("late_payment_refunded", PaymentTrouble::LatePaymentRefunded))
        }
        AccommodationEvent::PaymentReversed(_) => {
            Some(("payment_reversed", PaymentTrouble::Reversed))
        }
        _ => None,
    }
}
