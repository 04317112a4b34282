//! The reactor's tasks, queued by the projection runner in `reactor_tasks` (and by a guest
//! asking to pay a balance): payment links for holds and balances, refunds, and telling the
//! guest (on WhatsApp) and the owner what a payment event means for them.

use conversation::notices::payments as notices;
use domain::accommodation::{
    AccommodationCommand, AccommodationInfo, CancelledBy, ExtendHold, LatePaymentAccepted,
    RecordPaymentLink, RecordRefund, RefundDue, Reservation, ReservationConfirmed,
    ReservationStatus,
};
use domain::payment::PaymentStatus;
use domain::{
    Accommodation, AccommodationEvent, AccommodationId, BookingError, DomainEvent, Money,
    ReservationId,
};
use eventstore::{db_exec, db_fetch};
use integrations::mercadopago::client::PreferenceRequest;
use integrations::mercadopago::{MpError, Preference, Refund};
use projections::payments::task;
use projections::queries;
use serde_json::Value;

use super::BATCH;
use crate::context::Context;
use crate::error::AppError;
use crate::execute::{Origin, Source, execute, execute_with};
use crate::queue::{Claimed, Queue};

/// Carries out every reactor task due; returns how many were handled.
pub async fn process_tasks(state: &Context) -> Result<usize, AppError> {
    let queue = Queue::new(state.db.clone(), "reactor_tasks");
    let claimed = queue.claim(state.now().timestamp_millis(), BATCH).await?;
    let n = claimed.len();
    for c in claimed {
        let row: Option<(String, String, String, String)> = db_fetch!(
            &state.db,
            (String, String, String, String),
            fetch_optional,
            "SELECT kind, accommodation_id, reservation_id, event FROM reactor_tasks WHERE id = $1"
                .to_owned(),
            c.id.clone()
        )?;
        let Some((kind, accommodation, reservation, event)) = row else {
            continue;
        };
        let (Ok(accommodation), Ok(reservation)) = (
            accommodation.parse::<AccommodationId>(),
            reservation.parse::<ReservationId>(),
        ) else {
            queue
                .failed(&c.id, "unreadable ids", state.now().timestamp_millis())
                .await?;
            continue;
        };
        let event: Value = serde_json::from_str(&event).unwrap_or_default();
        let result = match kind.as_str() {
            task::PAYMENT_LINK => {
                payment_link(state, (&queue, &c), accommodation, reservation).await
            }
            task::REFUND => refund(state, accommodation, reservation, &event)
                .await
                .map(Some),
            task::NOTIFY => notify(state, &c, accommodation, reservation, &event)
                .await
                .map(Some),
            task::BALANCE_LINK => balance_link(state, accommodation, reservation)
                .await
                .map(Some),
            other => Err(TaskError::Refused(format!("unknown task kind {other}"))),
        };
        let now = state.now().timestamp_millis();
        match result {
            Ok(Some(outcome)) => queue.done(&c.id, &outcome, now).await?,
            // Closed with the event that records its work.
            Ok(None) => {}
            Err(TaskError::Transient(why)) => queue.retry(&c, &why, now).await?,
            Err(TaskError::Refused(why)) => {
                tracing::error!(kind = %kind, error = %why, "a payment side effect was refused; see the admin alerts");
                metrics::counter!("cabanas_reactor_failures_total", "kind" => kind.clone())
                    .increment(1);
                queue.failed(&c.id, &why, now).await?
            }
        }
    }
    Ok(n)
}

enum TaskError {
    /// Try again later.
    Transient(String),
    /// Will not work by retrying: kept as failed, shown to the admin.
    Refused(String),
}

impl From<AppError> for TaskError {
    fn from(e: AppError) -> TaskError {
        if e.is_transient() {
            TaskError::Transient(e.to_string())
        } else {
            TaskError::Refused(e.to_string())
        }
    }
}

impl From<MpError> for TaskError {
    fn from(e: MpError) -> TaskError {
        if e.is_transient() {
            TaskError::Transient(e.to_string())
        } else {
            TaskError::Refused(e.to_string())
        }
    }
}

impl From<sqlx::Error> for TaskError {
    fn from(e: sqlx::Error) -> TaskError {
        TaskError::Transient(e.to_string())
    }
}

async fn load(state: &Context, accommodation: AccommodationId) -> Result<Accommodation, TaskError> {
    Ok(state.accommodation(accommodation).await?)
}

fn task_origin(reservation: ReservationId) -> Origin {
    Origin::new(Source::MercadoPago, "reactor").correlated(reservation.as_uuid())
}

/// Creates the Checkout Pro preference for a held reservation and records it, the task closed
/// in the same transaction (`None`); otherwise what came of it, for the task to be closed with.
async fn payment_link(
    state: &Context,
    (queue, task): (&Queue, &Claimed),
    accommodation: AccommodationId,
    reservation: ReservationId,
) -> Result<Option<String>, TaskError> {
    let mut acc = load(state, accommodation).await?;
    let Some(r) = acc.reservation(reservation) else {
        return Ok(Some("reservation not found".into()));
    };
    if r.status != ReservationStatus::Held {
        return Ok(Some("no longer held".into()));
    }
    if r.payment_url.is_some() {
        return Ok(Some("link already created".into()));
    }
    let now = state.now();
    let hold = chrono::Duration::minutes(state.settings.hold_minutes);
    let left = r.expires_at - now;
    // Mercado Pago was down for most of the hold: give the guest their time back, once.
    if left < hold / 2 && !r.extended {
        let cmd = AccommodationCommand::ExtendHold(ExtendHold {
            reservation_id: reservation,
            by: hold - left.max(chrono::Duration::zero()),
        });
        match execute(state, accommodation, cmd, &task_origin(reservation)).await {
            Ok(_) => acc = load(state, accommodation).await?,
            Err(AppError::Domain(BookingError::HoldExpired { .. })) => {
                return Ok(Some("hold lapsed before a link could be made".into()));
            }
            // Extended already, or no longer held: the link is made (or not) on what stands.
            Err(AppError::Domain(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let Some(r) = acc
        .reservation(reservation)
        .filter(|r| r.status == ReservationStatus::Held)
    else {
        return Ok(Some("no longer held".into()));
    };
    if r.expires_at <= now {
        return Ok(Some("hold lapsed before a link could be made".into()));
    }
    let name = acc.info().map(|i| i.name.clone()).unwrap_or_default();
    let public = &state.settings.public_url;
    let request = PreferenceRequest {
        external_reference: reservation.to_string(),
        title: format!("Seña reserva {} · {name}", r.code),
        amount: r.quote.deposit.amount(),
        expires_at: r.expires_at,
        now,
        notification_url: format!("{public}/webhooks/mercadopago?source_news=webhooks"),
        back_url: format!("{public}/pagos/retorno"),
    };
    // One key per reservation and expiry: a retry after a timeout gets the same preference.
    let key = format!("pref-{reservation}-{}", r.expires_at.timestamp());
    let Preference { id, init_point } = state.payments.create_preference(&request, &key).await?;
    let cmd = AccommodationCommand::RecordPaymentLink(RecordPaymentLink {
        reservation_id: reservation,
        preference_id: id,
        init_point,
        amount: r.quote.deposit,
        expires_at: r.expires_at,
    });
    // Nothing here reads the link back at once: no wait for its position.
    let closed = queue.done_with(&task.id, "link created", now.timestamp_millis());
    let origin = task_origin(reservation);
    match execute_with(state, accommodation, cmd, &origin, &closed).await {
        Ok(_) => Ok(None),
        Err(AppError::Domain(BookingError::NotHeld)) => Ok(Some("no longer held".into())),
        // Expired or cancelled while the provider answered: the link simply goes unused.
        Err(AppError::Domain(e)) => Ok(Some(format!("not recorded: {e}"))),
        Err(e) => Err(e.into()),
    }
}

/// Asks the reactor for a link to pay a confirmed stay's balance of `due` (a guest asked to
/// pay it); asking again for the same amount adds nothing.
pub async fn request_balance_link(
    state: &Context,
    accommodation: AccommodationId,
    reservation: ReservationId,
    due: Money,
) -> Result<(), AppError> {
    db_exec!(
        &state.db,
        "INSERT INTO reactor_tasks (id, kind, accommodation_id, reservation_id, event, \
         next_attempt_at_ms, created_at_ms) VALUES ($1, $2, $3, $4, '{}', 0, $5) \
         ON CONFLICT (id) DO NOTHING"
            .to_owned(),
        format!("{}:{reservation}:{}", task::BALANCE_LINK, due.amount()),
        task::BALANCE_LINK.to_owned(),
        accommodation.to_string(),
        reservation.to_string(),
        state.now().timestamp_millis()
    )?;
    state.payments_wake.notify_one();
    Ok(())
}

/// How long a balance link stays payable.
const BALANCE_LINK_DAYS: i64 = 7;

/// Creates the Checkout Pro preference for what a confirmed stay still owes, and records it:
/// the guest gets it as a button (`notify` on `PaymentLinkCreated`).
async fn balance_link(
    state: &Context,
    accommodation: AccommodationId,
    reservation: ReservationId,
) -> Result<String, TaskError> {
    let acc = load(state, accommodation).await?;
    let Some(r) = acc
        .reservation(reservation)
        .filter(|r| r.status == ReservationStatus::Confirmed)
    else {
        return Ok("not confirmed".into());
    };
    let due = r.balance_due();
    if due == Money::ZERO {
        return Ok("nothing left to pay".into());
    }
    let now = state.now();
    let name = acc.info().map(|i| i.name.clone()).unwrap_or_default();
    let public = &state.settings.public_url;
    let expires_at = now + chrono::Duration::days(BALANCE_LINK_DAYS);
    let request = PreferenceRequest {
        external_reference: reservation.to_string(),
        title: format!("Saldo reserva {} · {name}", r.code),
        amount: due.amount(),
        expires_at,
        now,
        notification_url: format!("{public}/webhooks/mercadopago?source_news=webhooks"),
        back_url: format!("{public}/pagos/retorno"),
    };
    // One key per reservation and amount owed: a retry gets the same preference.
    let key = format!("pref-balance-{reservation}-{}", due.amount());
    let Preference { id, init_point } = state.payments.create_preference(&request, &key).await?;
    let cmd = AccommodationCommand::RecordPaymentLink(RecordPaymentLink {
        reservation_id: reservation,
        preference_id: id,
        init_point,
        amount: due,
        expires_at,
    });
    match execute(state, accommodation, cmd, &task_origin(reservation)).await {
        Ok(_) => Ok("balance link created".into()),
        // Paid or cancelled while the provider answered: the link goes unused.
        Err(AppError::Domain(e)) => Ok(format!("not recorded: {e}")),
        Err(e) => Err(e.into()),
    }
}

/// Gives money back through the provider and records it.
async fn refund(
    state: &Context,
    accommodation: AccommodationId,
    reservation: ReservationId,
    event: &Value,
) -> Result<String, TaskError> {
    let due: RefundDue = serde_json::from_value(event["payload"].clone())
        .map_err(|e| TaskError::Refused(format!("unreadable RefundDue: {e}")))?;
    let acc = load(state, accommodation).await?;
    let issued = acc
        .reservation(reservation)
        .and_then(|r| r.refunds.get(&due.refund_key))
        .and_then(|r| r.refund_id.clone());
    if issued.is_some() {
        return Ok("already refunded".into());
    }
    let Refund { id, .. } = state
        .payments
        .refund(&due.payment_id, Some(due.amount.amount()), &due.refund_key)
        .await?;
    let cmd = AccommodationCommand::RecordRefund(RecordRefund {
        reservation_id: reservation,
        refund_key: due.refund_key.clone(),
        refund_id: id,
    });
    execute(state, accommodation, cmd, &task_origin(reservation)).await?;
    Ok(format!("refunded {}", due.amount))
}

/// Where on WhatsApp the guest of `r` hears of it (see `guests::whatsapp_number`).
async fn guest_whatsapp(state: &Context, r: &Reservation) -> Result<Option<String>, TaskError> {
    crate::guests::whatsapp_number(state, &r.guest_ref, r.channel)
        .await
        .map_err(|e| TaskError::Transient(e.to_string()))
}

/// Tells a guest on WhatsApp (one who booked there, or asked to hear there) what a payment
/// event means for them.
async fn notify(
    state: &Context,
    claimed: &Claimed,
    accommodation: AccommodationId,
    reservation: ReservationId,
    event: &Value,
) -> Result<String, TaskError> {
    let acc = load(state, accommodation).await?;
    let Some(r) = acc.reservation(reservation) else {
        return Ok("reservation not found".into());
    };
    let event_type = event["type"].as_str().unwrap_or_default();
    let decoded = AccommodationEvent::from_stored(event_type, 1, event["payload"].clone())
        .map_err(|e| TaskError::Refused(e.to_string()))?;
    let Some(info) = acc.info() else {
        return Ok("accommodation not registered".into());
    };
    tell_owner(state, claimed, &decoded, r, info).await?;
    if matches!(&decoded, AccommodationEvent::Cancelled(c) if c.by == CancelledBy::Guest) {
        // The guest cancelled it in the chat and was answered there.
        return Ok("owner told".into());
    }
    let Some(reply) = notices::to_guest(&decoded, r, info, BALANCE_LINK_DAYS) else {
        return Ok("nothing to tell".into());
    };
    let Some(phone) = guest_whatsapp(state, r).await? else {
        return Ok("guest not on WhatsApp".into());
    };
    crate::outbox::enqueue(
        &state.db,
        &format!("task:{}", claimed.id),
        &phone,
        &reply,
        state.now().timestamp_millis(),
    )
    .await?;
    Ok("guest told".into())
}

/// The owner hears on their WhatsApp of each booking once it is paid (from any channel: the
/// guest's name and number, the nights, what was paid and what is left to collect), of a balance
/// paid online, and of each paid stay a guest cancels themselves. What the owner does by hand
/// (a deposit confirmed with `…/confirm`, in time or late) needs no telling.
async fn tell_owner(
    state: &Context,
    claimed: &Claimed,
    e: &AccommodationEvent,
    r: &Reservation,
    house: &AccommodationInfo,
) -> Result<(), TaskError> {
    use AccommodationEvent as E;
    let text = match e {
        E::Confirmed(ReservationConfirmed {
            provider: Some(_), ..
        })
        | E::LatePaymentAccepted(LatePaymentAccepted { by_hand: false, .. }) => {
            let guest = queries::reservation_by_id(&state.db, &r.id.to_string())
                .await
                .map_err(|e| TaskError::Transient(e.to_string()))?
                .map(|v| v.guest);
            let name = guest.as_ref().and_then(|g| g.name.as_deref());
            let phone = guest.as_ref().and_then(|g| g.phone.as_deref());
            notices::new_booking(r, house, name, phone)
        }
        E::PaymentRecorded(p)
            if p.payment.status == PaymentStatus::Approved
                && r.status == ReservationStatus::Confirmed =>
        {
            notices::paid_online(r, house, p.payment.amount)
        }
        E::Cancelled(c) if c.by == CancelledBy::Guest && c.was_confirmed => {
            notices::guest_cancelled(r, house)
        }
        _ => return Ok(()),
    };
    crate::outbox::alert_owner(state, &format!("task:{}", claimed.id), text)
        .await
        .map_err(|e| TaskError::Transient(e.to_string()))
}
