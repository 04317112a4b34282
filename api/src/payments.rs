//! Payments through Mercado Pago (or its local sandbox):
//!
//! - `POST /webhooks/mercadopago`: signature checked, the notification stored once in
//!   `mp_inbox`, 200 at once. A worker fetches the payment it names (never trusting the body) and
//!   applies it to the reservation through the domain (`ApplyPayment`).
//! - The reactor worker carries out `reactor_tasks`: creates the payment link for a new hold
//!   (extending a hold an outage ate most of), issues refunds, and tells WhatsApp guests what
//!   happened through the reply outbox.
//! - `GET /pagos/retorno`: the page Checkout Pro sends the guest back to; it shows the
//!   reservation's real status and acts on nothing in its query string.
//! - The sandbox: without credentials, payments live in local tables; `cabanas pay` (or
//!   `POST /v1/admin/sandbox/payments`) makes one and queues its notification, so the same code
//!   path confirms the booking.
//!
//! Nothing here logs a guest's number, name or a token.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use conversation::dialogue::day_label;
use conversation::reply::Reply;
use domain::accommodation::{
    AccommodationCommand, AccommodationInfo, ApplyPayment, CancelledBy, Channel, ExtendHold,
    LatePaymentAccepted, RecordPaymentLink, RecordRefund, RefundDue, Reservation,
    ReservationConfirmed, ReservationStatus,
};
use domain::payment::{PaymentFacts, PaymentStatus};
use domain::{
    Accommodation, AccommodationEvent, AccommodationId, DomainEvent, Money, ReservationId,
};
use eventstore::{Db, Metadata};
use integrations::mercadopago::client::PreferenceRequest;
use integrations::mercadopago::webhook::{self, Topic};
use integrations::mercadopago::{MpError, Payment, PaymentProvider, Preference, Refund};
use projections::payments::task;
use projections::{db_exec, db_fetch, queries};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::problem::Problem;
use crate::queue::{Claimed, Queue};

const BATCH: i64 = 20;

// ---------------------------------------------------------------------------------------------
// Webhook
// ---------------------------------------------------------------------------------------------

/// `POST /webhooks/mercadopago`: signature first, then the notification is stored once.
pub async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    // With a secret every shape is verified (webhook and IPN alike) and only the signed id is
    // acted on; without one (sandbox, or an account not yet configured) nothing is signed.
    let notification = match &state.settings.mp_webhook_secret {
        Some(secret) => {
            let signed = webhook::Signed {
                secret,
                x_signature: header("x-signature"),
                x_request_id: header("x-request-id"),
                now_secs: state.now().timestamp(),
                max_age_secs: state.settings.mp_signature_max_age.as_secs() as i64,
            };
            match webhook::authenticate(signed, &query, &body) {
                Ok(n) => n,
                Err(err) => {
                    metrics::counter!("cabanas_webhook_rejected_total", "channel" => "mercadopago")
                        .increment(1);
                    return Err(Problem::unauthorized(format!(
                        "x-signature rejected: {err}"
                    )));
                }
            }
        }
        None => webhook::parse(&query, &body),
    };
    let Some(notification) = notification else {
        return Err(Problem::bad_request(
            "not a Mercado Pago notification: expected ?data.id=…&type=… or ?topic=…&id=…",
        ));
    };
    let Topic::Payment(payment_id) = &notification.topic else {
        // Merchant orders and other topics: acknowledged so Mercado Pago stops retrying; the
        // payments inside an order arrive as payment notifications of their own.
        return Ok(HttpResponse::Ok().json(json!({"status": "ignored"})));
    };
    let new = queue_notification(
        &state.db,
        &notification.key,
        payment_id,
        header("x-request-id"),
        state.now().timestamp_millis(),
    )
    .await?;
    if new {
        state.payments_wake.notify_one();
    }
    metrics::counter!("cabanas_mp_notifications_total", "outcome" => if new { "new" } else { "duplicate" })
        .increment(1);
    Ok(HttpResponse::Ok().json(json!({"status": if new { "queued" } else { "duplicate" }})))
}

async fn queue_notification(
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

// ---------------------------------------------------------------------------------------------
// Workers
// ---------------------------------------------------------------------------------------------

/// Notifications and reactor tasks for the life of the service: at once when woken, otherwise
/// every half second (retries coming due, tasks the projection runner queued).
pub async fn run(state: web::Data<AppState>, mut stop: crate::app::Stop) {
    loop {
        if stop.requested() {
            return;
        }
        let mut busy = false;
        match process_notifications(&state).await {
            Ok(n) => busy |= n > 0,
            Err(err) => tracing::warn!(error = %err, "payment notifications pass failed"),
        }
        match process_tasks(&state).await {
            Ok(n) => busy |= n > 0,
            Err(err) => tracing::warn!(error = %err, "reactor pass failed"),
        }
        if busy {
            state.outbox_wake.notify_one();
            continue;
        }
        if !stop
            .idle(Duration::from_millis(500), &state.payments_wake)
            .await
        {
            return;
        }
    }
}

/// Fetches and applies every notification due; returns how many were handled.
pub async fn process_notifications(state: &AppState) -> Result<usize, Problem> {
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
                Err(p) if p.status >= 500 || p.status == 409 => {
                    queue.retry(&c, &p.detail, now).await?
                }
                Err(p) => {
                    queue
                        .done(&c.id, &format!("refused: {}", p.detail), now)
                        .await?
                }
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
    state: &AppState,
    reservation: ReservationId,
) -> Result<Option<AccommodationId>, Problem> {
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
async fn apply(state: &AppState, claimed: &Claimed, p: &Payment) -> Result<String, Problem> {
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
            return Err(Problem::new(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "not-yet-visible",
                "Reservation not visible yet",
                "the reservation is not in the read model yet",
            ));
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
    let metadata = Metadata {
        correlation_id: Some(reservation.as_uuid()),
        actor: Some("mercadopago".into()),
        source: Some("mercadopago".into()),
        provider_message_id: Some(notification.to_owned()),
        ..Metadata::default()
    };
    let (done, _) = crate::routes::command(state, accommodation, command, metadata).await?;
    if done.events.is_empty() {
        return Ok(format!("{} already applied", p.status));
    }
    let names: Vec<&str> = done.events.iter().map(|e| e.event_type()).collect();
    for e in &done.events {
        if let Some(kind) = alert_kind(e) {
            tracing::warn!(kind, "payment needs the admin's attention");
            metrics::counter!("cabanas_payment_alerts_total", "kind" => kind).increment(1);
            let what = match kind {
                "underpayment" => "un pago menor a la seña",
                "late_payment_refunded" => {
                    "un pago tardío que se devuelve (las noches ya estaban ocupadas)"
                }
                _ => "un contracargo o devolución hecha desde Mercado Pago",
            };
            let code = queries::reservation_by_id(&state.db, &reservation.to_string())
                .await?
                .map(|r| r.code)
                .unwrap_or_else(|| reservation.to_string());
            crate::outbox::alert_owner(
                state,
                &format!("payment:{}:{}", p.id, p.status),
                format!("⚠️ Reserva {code}: {what}. Revisalo en /v1/admin/alerts."),
            )
            .await?;
        }
    }
    Ok(names.join(", "))
}

fn alert_kind(e: &AccommodationEvent) -> Option<&'static str> {
    match e {
        AccommodationEvent::UnderpaymentReceived(_) => Some("underpayment"),
        AccommodationEvent::LatePaymentRejected(_) => Some("late_payment_refunded"),
        AccommodationEvent::PaymentReversed(_) => Some("payment_reversed"),
        _ => None,
    }
}

/// Carries out every reactor task due; returns how many were handled.
pub async fn process_tasks(state: &AppState) -> Result<usize, Problem> {
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
            task::PAYMENT_LINK => payment_link(state, accommodation, reservation).await,
            task::REFUND => refund(state, accommodation, reservation, &event).await,
            task::NOTIFY => notify(state, &c, accommodation, reservation, &event).await,
            task::BALANCE_LINK => balance_link(state, accommodation, reservation).await,
            other => Err(TaskError::Refused(format!("unknown task kind {other}"))),
        };
        let now = state.now().timestamp_millis();
        match result {
            Ok(outcome) => queue.done(&c.id, &outcome, now).await?,
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

impl From<Problem> for TaskError {
    fn from(p: Problem) -> TaskError {
        if p.status >= 500 || p.status == 409 {
            TaskError::Transient(p.detail.clone())
        } else {
            TaskError::Refused(p.detail.clone())
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

async fn load(
    state: &AppState,
    accommodation: AccommodationId,
) -> Result<Accommodation, TaskError> {
    Ok(state.accommodation(accommodation).await?)
}

fn task_meta(reservation: ReservationId) -> Metadata {
    Metadata {
        correlation_id: Some(reservation.as_uuid()),
        actor: Some("reactor".into()),
        source: Some("mercadopago".into()),
        ..Metadata::default()
    }
}

/// Creates the Checkout Pro preference for a held reservation and records it.
async fn payment_link(
    state: &AppState,
    accommodation: AccommodationId,
    reservation: ReservationId,
) -> Result<String, TaskError> {
    let mut acc = load(state, accommodation).await?;
    let Some(r) = acc.reservation(reservation) else {
        return Ok("reservation not found".into());
    };
    if r.status != ReservationStatus::Held {
        return Ok("no longer held".into());
    }
    if r.payment_url.is_some() {
        return Ok("link already created".into());
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
        match crate::routes::command(state, accommodation, cmd, task_meta(reservation)).await {
            Ok(_) => acc = load(state, accommodation).await?,
            Err(p) if p.kind == "/problems/hold-expired" => {
                return Ok("hold lapsed before a link could be made".into());
            }
            Err(p) if p.status < 500 && p.kind != "/problems/conflict" => {}
            Err(p) => return Err(p.into()),
        }
    }
    let Some(r) = acc
        .reservation(reservation)
        .filter(|r| r.status == ReservationStatus::Held)
    else {
        return Ok("no longer held".into());
    };
    if r.expires_at <= now {
        return Ok("hold lapsed before a link could be made".into());
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
    match crate::routes::command(state, accommodation, cmd, task_meta(reservation)).await {
        Ok(_) => Ok("link created".into()),
        // Expired or cancelled while the provider answered: the link simply goes unused.
        Err(p) if p.status < 500 && p.kind != "/problems/conflict" => {
            Ok(format!("not recorded: {}", p.detail))
        }
        Err(p) if p.kind == "/problems/conflict" && p.detail.contains("not on hold") => {
            Ok("no longer held".into())
        }
        Err(p) => Err(p.into()),
    }
}

/// Asks the reactor for a link to pay a confirmed stay's balance of `due` (a guest asked to
/// pay it); asking again for the same amount adds nothing.
pub async fn request_balance_link(
    state: &AppState,
    accommodation: AccommodationId,
    reservation: ReservationId,
    due: Money,
) -> Result<(), Problem> {
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
    state: &AppState,
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
    match crate::routes::command(state, accommodation, cmd, task_meta(reservation)).await {
        Ok(_) => Ok("balance link created".into()),
        // Paid or cancelled while the provider answered: the link goes unused.
        Err(p) if p.status < 500 && p.kind != "/problems/conflict" => {
            Ok(format!("not recorded: {}", p.detail))
        }
        Err(p) => Err(p.into()),
    }
}

/// Gives money back through the provider and records it.
async fn refund(
    state: &AppState,
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
    crate::routes::command(state, accommodation, cmd, task_meta(reservation)).await?;
    Ok(format!("refunded {}", due.amount))
}

/// Where on WhatsApp the guest of `r` hears of it (see `guests::whatsapp_number`).
async fn guest_whatsapp(state: &AppState, r: &Reservation) -> Result<Option<String>, TaskError> {
    crate::guests::whatsapp_number(state, &r.guest_ref, r.channel)
        .await
        .map_err(|e| TaskError::Transient(e.detail.clone()))
}

/// Tells a guest on WhatsApp (one who booked there, or asked to hear there) what a payment
/// event means for them.
async fn notify(
    state: &AppState,
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
    let Some(reply) = message(&decoded, r, info) else {
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
    state: &AppState,
    claimed: &Claimed,
    e: &AccommodationEvent,
    r: &Reservation,
    house: &AccommodationInfo,
) -> Result<(), TaskError> {
    use AccommodationEvent as E;
    let code = &r.code;
    let stay = stay_label(r, house);
    let text = match e {
        E::Confirmed(ReservationConfirmed {
            provider: Some(_), ..
        })
        | E::LatePaymentAccepted(LatePaymentAccepted { by_hand: false, .. }) => {
            let guest = queries::reservation_by_id(&state.db, &r.id.to_string())
                .await
                .map_err(|e| TaskError::Transient(e.to_string()))?
                .and_then(|v| v.guest.name.map(|name| (name, v.guest.phone)));
            let who = match guest {
                Some((name, Some(phone))) => format!("{name} ({phone})"),
                Some((name, None)) => name,
                None => "un huésped".to_owned(),
            };
            format!(
                "🎉 Nueva reserva {code}, confirmada: {stay}, {} personas, de {who} por {}. \
                 Pagó {}; saldo a cobrar al llegar: {}.",
                r.guests,
                channel_label(r.channel),
                r.net_paid(),
                r.balance_due()
            )
        }
        E::PaymentRecorded(p)
            if p.payment.status == PaymentStatus::Approved
                && r.status == ReservationStatus::Confirmed =>
        {
            format!(
                "💰 Reserva {code} ({stay}): entró un pago de {} por Mercado Pago; saldo a cobrar \
                 al llegar: {}.",
                p.payment.amount,
                r.balance_due()
            )
        }
        E::Cancelled(c) if c.by == CancelledBy::Guest && c.was_confirmed => {
            let refunded: Money = r.payments.iter().map(|p| p.refunded).sum();
            let by_hand: Money = r.owed_by_hand().iter().map(|(_, amount)| *amount).sum();
            let refund = if refunded == Money::ZERO {
                " Según tu política de cancelación no le corresponde devolución.".to_owned()
            } else if by_hand == Money::ZERO {
                format!(" Tu política le devuelve {refunded}: Mercado Pago se lo devuelve solo.")
            } else {
                // Money taken by hand (a transfer, cash) goes back the same way.
                format!(
                    " Tu política le devuelve {refunded}; de eso, {by_hand} lo pagó a mano y te \
                     toca devolvérselo vos: cuando lo hagas, escribime «devuelto {code}»."
                )
            };
            format!(
                "El huésped canceló la reserva {code} ({stay}): esas noches quedaron libres.{refund}"
            )
        }
        _ => return Ok(()),
    };
    crate::outbox::alert_owner(state, &format!("task:{}", claimed.id), text)
        .await
        .map_err(|e| TaskError::Transient(e.to_string()))
}

/// How the owner calls each channel a booking came through.
fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::Whatsapp => "WhatsApp",
        Channel::Direct => "la web",
        Channel::Admin => "el panel",
        Channel::Airbnb => "Airbnb",
        Channel::Booking => "Booking.com",
    }
}

/// "Cabaña del Lago del vie 11/12 al dom 13/12".
fn stay_label(r: &Reservation, house: &AccommodationInfo) -> String {
    format!(
        "{} del {} al {}",
        house.name,
        day_label(r.stay.check_in()),
        day_label(r.stay.check_out())
    )
}

/// What the guest reads, in Spanish (Argentina); `None` when the event needs no message now.
/// A payment link comes as a button that opens it (plain text if it cannot be one).
fn message(e: &AccommodationEvent, r: &Reservation, house: &AccommodationInfo) -> Option<Reply> {
    use AccommodationEvent as E;
    let code = &r.code;
    let stay = stay_label(r, house);
    let text = match e {
        E::PaymentLinkCreated(l) if r.status == ReservationStatus::Confirmed => {
            return Some(pay_button(
                format!(
                    "Reserva {code} ({stay}): el saldo es de {}. Podés pagarlo con Mercado Pago \
                     (el link vale {BALANCE_LINK_DAYS} días) o al llegar.",
                    l.amount
                ),
                "Pagar el saldo",
                &l.init_point,
            ));
        }
        E::PaymentRecorded(p)
            if p.payment.status == PaymentStatus::Approved
                && r.status == ReservationStatus::Confirmed =>
        {
            let due = r.balance_due();
            let left = if due > Money::ZERO {
                format!("Te queda un saldo de {due}.")
            } else {
                "La estadía quedó paga. ¡Te esperamos!".to_owned()
            };
            format!(
                "Recibimos tu pago de {} para la reserva {code}. {left}",
                p.payment.amount
            )
        }
        E::PaymentLinkCreated(l) if r.status == ReservationStatus::Held => {
            return Some(pay_button(
                format!(
                    "Para confirmar la reserva {code} pagá la seña de {} con Mercado Pago. El \
                     link vence a las {} (hora de Argentina).",
                    l.amount,
                    local_time(l.expires_at)
                ),
                "Pagar la seña",
                &l.init_point,
            ));
        }
        E::Confirmed(c) => format!(
            "¡Listo! Recibimos tu pago de {} y la reserva {code} está confirmada: {stay}. ¡Te \
             esperamos!\n{}",
            c.amount_paid,
            arrival(house, r.balance_due())
        ),
        E::LatePaymentAccepted(l) => format!(
            "¡Listo! Tu pago de {} llegó después del vencimiento, pero las noches seguían libres: \
             la reserva {code} está confirmada ({stay}).\n{}",
            l.payment.amount,
            arrival(house, r.balance_due())
        ),
        E::LatePaymentRejected(l) => format!(
            "Recibimos tu pago de {} para la reserva {code}, pero la reserva ya había vencido y \
             esas noches se ocuparon. Te devolvemos el total a tu medio de pago (puede tardar \
             unos días). Perdón por las molestias 🙏",
            l.payment.amount
        ),
        E::UnderpaymentReceived(u) => format!(
            "Recibimos {} para la reserva {code}, pero la seña es de {}. Te falta pagar {} para \
             confirmarla.",
            u.payment.amount,
            u.deposit,
            u.deposit - u.paid_total
        ),
        E::PaymentRecorded(p) if r.status == ReservationStatus::Held => {
            let why = match p.payment.status {
                PaymentStatus::Cancelled => "se canceló",
                _ => "fue rechazado",
            };
            let body = format!("Tu pago para la reserva {code} no se aprobó ({why}).");
            return Some(match &r.payment_url {
                Some(link) => pay_button(
                    format!("{body} Podés intentar de nuevo."),
                    "Pagar la seña",
                    link,
                ),
                None => Reply::Text(body),
            });
        }
        E::RefundIssued(i) => format!(
            "Te devolvimos {} de la reserva {code}. Puede tardar unos días en verse en tu medio \
             de pago.",
            i.amount
        ),
        // A transfer made in time is often seen late: it can still be confirmed (`ConfirmLate`).
        E::HoldExpired(_) => format!(
            "Tu reserva {code} ({stay}) venció porque no nos llegó la seña a tiempo, y esas \
             noches quedaron libres. Si ya la pagaste por transferencia, mandame el comprobante \
             por acá: si las noches siguen libres, la confirmamos igual. Si todavía querés venir, \
             escribime las fechas y vemos qué hay."
        ),
        E::StayChanged(c) => {
            let party = if c.guests == c.previous_guests {
                String::new()
            } else {
                format!(", para {} personas", c.guests)
            };
            format!(
                "Cambiamos tu reserva {code}: ahora es en {} del {} al {} ({} noches{party}). El \
                 total queda en {}; pagaste {}.\n{}",
                house.name,
                day_label(c.stay.check_in()),
                day_label(c.stay.check_out()),
                c.stay.nights(),
                c.quote.total,
                r.net_paid(),
                // The balance of this change's total: `r` is the reservation as it is when the
                // message goes, which a second move made since may have priced again.
                arrival(house, r.balance_due_on(c.quote.total))
            )
        }
        E::Cancelled(_) => format!(
            "Tu reserva {code} ({stay}) fue cancelada. Si corresponde una devolución, te avisamos \
             por acá cuando la hagamos."
        ),
        _ => return None,
    };
    Some(Reply::Text(text))
}

/// What a confirmed guest needs to arrive: the house times, the balance left to pay (the rest
/// of the total after the deposit) and, when the owner wrote them, the directions (which are
/// told to nobody before a stay is confirmed).
pub(crate) fn arrival(house: &AccommodationInfo, due: Money) -> String {
    let mut text = format!(
        "Entrada desde las {}, salida hasta las {}.",
        house.check_in_time.format("%H:%M"),
        house.check_out_time.format("%H:%M")
    );
    if due > Money::ZERO {
        text.push_str(&format!("\nSaldo a pagar al llegar: {due}."));
    }
    if let Some(directions) = &house.directions {
        text.push_str(&format!("\n📍 Cómo llegar: {directions}"));
    }
    text
}

/// A message with a button that opens the payment link (plain text if it cannot be one).
fn pay_button(body: String, button: &str, link: &str) -> Reply {
    Reply::link(body.clone(), button, link)
        .unwrap_or_else(|_| Reply::Text(format!("{body}\n{link}")))
}

/// How long before a hold lapses its unpaid WhatsApp guest is reminded: in the last third of the
/// hold (10 minutes of the default 30), and never earlier than half an hour before.
fn reminder_lead(held_for: chrono::Duration) -> chrono::Duration {
    (held_for / 3).min(chrono::Duration::minutes(30))
}

/// Reminds each guest on WhatsApp (see `guests::whatsapp_number`) whose hold is near its end with nothing paid and no payment in
/// the works, once per expiry (an extended hold is reminded again); returns how many reminders
/// were queued. Run by the hold scheduler on every instance: the reply id names the hold and its
/// expiry, and the outbox keeps one row per id.
pub async fn remind_unpaid(state: &AppState, now: DateTime<Utc>) -> Result<usize, Problem> {
    type Row = (
        String,
        String,
        String,
        Option<String>,
        chrono::NaiveDate,
        chrono::NaiveDate,
        i64,
        i64,
        i64,
        String,
        String,
    );
    let now_ms = now.timestamp_millis();
    let rows: Vec<Row> = db_fetch!(
        &state.db,
        Row,
        fetch_all,
        "SELECT r.id, r.code, r.guest_ref, a.name, r.check_in, r.check_out, r.created_at_ms, \
         r.expires_at_ms, r.deposit_cents, r.payment_link, r.channel FROM rm_reservations r \
         LEFT JOIN rm_accommodations a ON a.id = r.accommodation_id \
         WHERE r.status = 'held' AND r.paid_cents = 0 \
         AND r.payment_link IS NOT NULL AND r.expires_at_ms > $1 \
         AND NOT EXISTS (SELECT 1 FROM rm_payments p WHERE p.reservation_id = r.id \
           AND p.status IN ('pending', 'in_process', 'authorized')) \
         ORDER BY r.expires_at_ms LIMIT 500"
            .to_owned(),
        now_ms
    )?;
    let mut queued = 0;
    for (
        id,
        code,
        guest_ref,
        name,
        check_in,
        check_out,
        created_ms,
        expires_ms,
        deposit,
        link,
        channel,
    ) in rows
    {
        let lead = reminder_lead(chrono::Duration::milliseconds(expires_ms - created_ms));
        if now_ms < expires_ms - lead.num_milliseconds() {
            continue;
        }
        let reply_id = format!("reminder:{id}:{expires_ms}");
        if crate::outbox::queued(&state.db, &reply_id).await? {
            continue;
        }
        // A guest who booked elsewhere is reminded if they asked to hear on WhatsApp.
        let channel = if channel == "whatsapp" {
            Channel::Whatsapp
        } else {
            Channel::Direct
        };
        let Some(phone) = crate::guests::whatsapp_number(state, &guest_ref, channel).await? else {
            continue;
        };
        let expires_at = DateTime::from_timestamp_millis(expires_ms).unwrap_or(now);
        let body = format!(
            "⏰ Tu reserva {code} ({} del {} al {}) vence a las {} (hora de Argentina). Si \
             todavía querés confirmarla, pagá la seña de {}.",
            name.unwrap_or_default(),
            day_label(check_in),
            day_label(check_out),
            local_time(expires_at),
            projections::sql::money_from_cents(deposit),
        );
        if crate::outbox::enqueue(
            &state.db,
            &reply_id,
            &phone,
            &pay_button(body, "Pagar la seña", &link),
            now_ms,
        )
        .await?
        {
            queued += 1;
        }
    }
    Ok(queued)
}

fn local_time(t: DateTime<Utc>) -> String {
    (t - chrono::Duration::hours(3)).format("%H:%M").to_string()
}

// ---------------------------------------------------------------------------------------------
// Return page
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct ReturnQuery {
    external_reference: Option<String>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /pagos/retorno`: the reservation's status as we know it. Mercado Pago's `status` and
/// `external_reference` in the query are hints: nothing is decided from them.
pub async fn return_page(
    state: web::Data<AppState>,
    q: web::Query<ReturnQuery>,
) -> Result<HttpResponse, Problem> {
    let found = match q
        .external_reference
        .as_deref()
        .and_then(|r| r.parse::<ReservationId>().ok())
    {
        Some(id) => queries::reservation_by_id(&state.db, &id.to_string()).await?,
        None => None,
    };
    let (title, body) = match found {
        Some(r) => {
            let status = match r.status.as_str() {
                "confirmed" => "está confirmada ✅",
                "held" => "está reservada, esperando la acreditación del pago ⏳",
                "cancelled" => "fue cancelada",
                "expired" => "venció",
                _ => "está en proceso",
            };
            // Only a guest who booked by WhatsApp, or asked to hear there, is written to there.
            let channel = if r.channel == "whatsapp" {
                Channel::Whatsapp
            } else {
                Channel::Direct
            };
            let news = if crate::guests::whatsapp_number(&state, &r.guest.reference, channel)
                .await
                .ok()
                .flatten()
                .is_some()
            {
                "Te avisamos por WhatsApp de cualquier novedad."
            } else {
                "Podés volver a ver cómo está tu reserva con su código en cualquier momento."
            };
            let balance = if r.status == "confirmed" && r.balance_due > Money::ZERO {
                format!(" · Saldo a pagar al llegar: {}", r.balance_due)
            } else {
                String::new()
            };
            (
                format!("Reserva {}", escape(&r.code)),
                format!(
                    "<p>Tu reserva <strong>{}</strong> {status}.</p><p>{} · del {} al {}</p>\
                     <p>Pagado: {}{balance}</p><p>{news}</p>",
                    escape(&r.code),
                    escape(r.accommodation_name.as_deref().unwrap_or_default()),
                    day_label(r.check_in),
                    day_label(r.check_out),
                    r.amount_paid
                ),
            )
        }
        None => (
            "Pago en proceso".to_owned(),
            "<p>Estamos procesando tu pago. Apenas se acredite, tu reserva queda confirmada.</p>"
                .to_owned(),
        ),
    };
    let html = format!(
        "<!doctype html><html lang=\"es\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head><body style=\"font-family: sans-serif; max-width: 32em; \
         margin: 2em auto; padding: 0 1em\"><h1>{title}</h1>{body}</body></html>"
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

// ---------------------------------------------------------------------------------------------
// Sandbox
// ---------------------------------------------------------------------------------------------

/// Mercado Pago's stand-in when no access token is configured: preferences point at the local
/// return page, payments and refunds are rows in the database.
pub struct Sandbox {
    pub db: Db,
    pub public_url: String,
}

fn decimal(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

#[async_trait]
impl PaymentProvider for Sandbox {
    async fn create_preference(
        &self,
        request: &PreferenceRequest,
        _idempotency_key: &str,
    ) -> Result<Preference, MpError> {
        Ok(Preference {
            id: format!("sandbox-{}", request.external_reference),
            init_point: format!(
                "{}/pagos/retorno?external_reference={}",
                self.public_url, request.external_reference
            ),
        })
    }

    async fn payment(&self, id: &str) -> Result<Payment, MpError> {
        let row: Option<(String, String, String, Option<String>)> = db_fetch!(
            &self.db,
            (String, String, String, Option<String>),
            fetch_optional,
            "SELECT external_reference, status, amount, method FROM mp_sandbox_payments WHERE id = $1"
                .to_owned(),
            id.to_owned()
        )
        .map_err(|e| MpError::Unavailable(e.to_string()))?;
        let (external_reference, status, amount, method) = row.ok_or(MpError::NotFound)?;
        Ok(Payment {
            id: id.to_owned(),
            status,
            status_detail: None,
            external_reference: Some(external_reference),
            amount: decimal(&amount),
            currency_id: Some("ARS".into()),
            method,
        })
    }

    async fn refund(
        &self,
        payment_id: &str,
        amount: Option<Decimal>,
        idempotency_key: &str,
    ) -> Result<Refund, MpError> {
        let unavailable = |e: sqlx::Error| MpError::Unavailable(e.to_string());
        let paid = self.payment(payment_id).await?.amount;
        let amount = amount.unwrap_or(paid);
        db_exec!(
            &self.db,
            "INSERT INTO mp_sandbox_refunds (idempotency_key, refund_id, payment_id, amount, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING"
                .to_owned(),
            idempotency_key.to_owned(),
            format!("sandbox-refund-{}", uuid::Uuid::new_v4().simple()),
            payment_id.to_owned(),
            amount.to_string(),
            Utc::now().timestamp_millis()
        )
        .map_err(unavailable)?;
        let (id, amount): (String, String) = db_fetch!(
            &self.db,
            (String, String),
            fetch_one,
            "SELECT refund_id, amount FROM mp_sandbox_refunds WHERE idempotency_key = $1"
                .to_owned(),
            idempotency_key.to_owned()
        )
        .map_err(unavailable)?;
        Ok(Refund {
            id,
            amount: decimal(&amount),
        })
    }
}

/// A sandbox payment for the reservation `code`: the deposit unless `amount` says otherwise,
/// in `status` (approved, rejected, …). With `payment`, that earlier sandbox payment changes
/// status instead (e.g. to `charged_back`). Its notification is queued like a real one.
pub async fn sandbox_pay(
    state: &AppState,
    code: &str,
    status: &str,
    amount: Option<Decimal>,
    payment: Option<&str>,
) -> Result<(String, String), Problem> {
    if state.settings.mp_access_token.is_some() {
        return Err(Problem::conflict(
            "Mercado Pago credentials are configured: sandbox payments are off",
        ));
    }
    if PaymentStatus::from_provider(status).is_none() {
        return Err(Problem::validation(format!(
            "status must be one of approved, pending, in_process, authorized, in_mediation, \
             rejected, cancelled, refunded, charged_back; got {status:?}"
        )));
    }
    let code = code.trim().to_uppercase();
    let r = queries::reservation_by_code(&state.db, &code)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no reservation {code}")))?;
    let now = state.now().timestamp_millis();
    let id = match payment {
        Some(id) => {
            let n = db_exec!(
                &state.db,
                "UPDATE mp_sandbox_payments SET status = $2 WHERE id = $1 AND external_reference = $3"
                    .to_owned(),
                id.to_owned(),
                status.to_owned(),
                r.id.clone()
            )?;
            if n == 0 {
                return Err(Problem::not_found(format!(
                    "no sandbox payment {id} for {code}"
                )));
            }
            id.to_owned()
        }
        None => {
            let amount = amount.unwrap_or(r.deposit.amount());
            if amount <= Decimal::ZERO {
                return Err(Problem::validation("amount must be positive"));
            }
            // Numeric, like Mercado Pago's payment ids.
            let id = format!("{}{:03}", now, rand::random::<u16>() % 1000);
            db_exec!(
                &state.db,
                "INSERT INTO mp_sandbox_payments (id, external_reference, status, amount, method, created_at_ms) \
                 VALUES ($1, $2, $3, $4, 'account_money', $5)"
                    .to_owned(),
                id.clone(),
                r.id.clone(),
                status.to_owned(),
                amount.to_string(),
                now
            )?;
            id
        }
    };
    queue_notification(&state.db, &format!("sandbox:{id}:{status}"), &id, None, now).await?;
    state.payments_wake.notify_one();
    Ok((id, r.id))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SandboxPayment {
    /// Reservation code.
    code: String,
    /// Default `approved`.
    status: Option<String>,
    /// Default: the deposit.
    #[schema(value_type = Option<String>)]
    amount: Option<Decimal>,
    /// Change an earlier sandbox payment's status instead of making a new one.
    payment_id: Option<String>,
}

/// `POST /v1/admin/sandbox/payments`: a fake payment through the real notification path.
#[utoipa::path(post, path = "/v1/admin/sandbox/payments", tag = "admin",
    request_body = SandboxPayment, security(("bearer" = [])),
    responses((status = 202, description = "Queued: the payment id and the reservation", body = Object),
              (status = 404, body = crate::problem::ProblemDetails),
              (status = 409, description = "Real credentials configured", body = crate::problem::ProblemDetails)))]
pub async fn sandbox_payment(
    state: web::Data<AppState>,
    _admin: crate::auth::Admin,
    body: web::Json<SandboxPayment>,
) -> Result<HttpResponse, Problem> {
    let (payment_id, reservation) = sandbox_pay(
        &state,
        &body.code,
        body.status.as_deref().unwrap_or("approved"),
        body.amount,
        body.payment_id.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Accepted().json(json!({
        "payment_id": payment_id,
        "reservation_id": reservation,
        "status": "queued",
    })))
}

// ---------------------------------------------------------------------------------------------
// Admin views
// ---------------------------------------------------------------------------------------------

/// `GET /v1/admin/alerts`: what needs a person — underpayments, late payments refunded,
/// reversals, refunds to make by hand, and side effects the provider refused.
#[utoipa::path(get, path = "/v1/admin/alerts", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Object)))]
pub async fn alerts(
    state: web::Data<AppState>,
    _admin: crate::auth::Admin,
) -> Result<HttpResponse, Problem> {
    type AlertRow = (
        i64,
        String,
        String,
        String,
        i64,
        Option<String>,
        Option<String>,
        Option<i64>,
    );
    let rows: Vec<AlertRow> = db_fetch!(
        &state.db,
        AlertRow,
        fetch_all,
        "SELECT a.position, a.reservation_id, a.kind, a.detail, a.at_ms, r.code, a.refund_key, \
         a.resolved_at_ms FROM rm_alerts a \
         LEFT JOIN rm_reservations r ON r.id = a.reservation_id ORDER BY a.position DESC LIMIT 200"
            .to_owned()
    )?;
    let failed: Vec<(String, String, String, Option<String>, i64)> = db_fetch!(
        &state.db,
        (String, String, String, Option<String>, i64),
        fetch_all,
        "SELECT id, kind, reservation_id, last_error, created_at_ms FROM reactor_tasks \
         WHERE status = 'failed' ORDER BY created_at_ms DESC LIMIT 200"
            .to_owned()
    )?;
    let alerts: Vec<Value> = rows
        .into_iter()
        .map(
            |(position, reservation_id, kind, detail, at, code, refund_key, resolved)| {
                json!({
                    "position": position,
                    "reservation_id": reservation_id,
                    "code": code,
                    "kind": kind,
                    "detail": detail,
                    "at": projections::sql::from_millis(at),
                    // A refund to make by hand: mark it made with
                    // POST /v1/admin/reservations/{code}/refunds/{refund_key}.
                    "refund_key": refund_key,
                    "resolved_at": resolved.map(projections::sql::from_millis),
                })
            },
        )
        .collect();
    let failed: Vec<Value> = failed
        .into_iter()
        .map(|(id, kind, reservation_id, error, at)| {
            json!({"task": id, "kind": kind, "reservation_id": reservation_id, "error": error,
                   "at": projections::sql::from_millis(at)})
        })
        .collect();
    let conflicts = crate::ical::open_conflicts(&state.db).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"alerts": alerts, "failed_effects": failed, "calendar_conflicts": conflicts})))
}

/// payment id, status, status detail, amount in cents, method, updated at.
type PaymentRow = (String, String, Option<String>, i64, Option<String>, i64);
/// refund key, payment id, amount in cents, reason, via, provider refund id, due at.
type RefundRow = (String, String, i64, String, String, Option<String>, i64);

/// `GET /v1/admin/reservations/{code}/payments`: the link, every payment and every refund.
#[utoipa::path(get, path = "/v1/admin/reservations/{code}/payments", tag = "admin",
    security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::problem::ProblemDetails)))]
pub async fn reservation_payments(
    state: web::Data<AppState>,
    _admin: crate::auth::Admin,
    code: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let code = code.trim().to_uppercase();
    let r = queries::reservation_by_code(&state.db, &code)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no reservation {code}")))?;
    let payments: Vec<PaymentRow> = db_fetch!(
        &state.db,
        PaymentRow,
        fetch_all,
        "SELECT payment_id, status, status_detail, amount_cents, method, updated_at_ms \
         FROM rm_payments WHERE reservation_id = $1 ORDER BY updated_at_ms"
            .to_owned(),
        r.id.clone()
    )?;
    let refunds: Vec<RefundRow> = db_fetch!(
        &state.db,
        RefundRow,
        fetch_all,
        "SELECT refund_key, payment_id, amount_cents, reason, via, refund_id, due_at_ms \
         FROM rm_refunds WHERE reservation_id = $1 ORDER BY due_at_ms, refund_key"
            .to_owned(),
        r.id.clone()
    )?;
    let money = projections::sql::money_from_cents;
    Ok(HttpResponse::Ok().json(json!({
        "code": r.code,
        "status": r.status,
        "deposit": r.deposit,
        "amount_paid": r.amount_paid,
        "refunded": r.refunded,
        "payment_link": r.payment_link,
        "payments": payments.into_iter().map(|(id, status, detail, cents, method, at)| json!({
            "payment_id": id, "status": status, "status_detail": detail,
            "amount": money(cents), "method": method,
            "updated_at": projections::sql::from_millis(at),
        })).collect::<Vec<_>>(),
        "refunds": refunds.into_iter().map(|(key, payment, cents, reason, via, refund_id, at)| json!({
            "refund_key": key, "payment_id": payment, "amount": money(cents), "reason": reason,
            "via": via, "refund_id": refund_id, "issued": refund_id.is_some(),
            "due_at": projections::sql::from_millis(at),
        })).collect::<Vec<_>>(),
    })))
}

/// The provider the service uses: Mercado Pago with credentials, the sandbox without.
pub fn provider(
    settings: &crate::config::Settings,
    db: &Db,
) -> anyhow::Result<Arc<dyn PaymentProvider>> {
    Ok(match &settings.mp_access_token {
        Some(token) => {
            let mut config =
                integrations::mercadopago::client::Config::new(&settings.mp_api_base, token);
            config.timeout = settings.mp_timeout;
            Arc::new(integrations::mercadopago::MercadoPago::new(config)?)
        }
        None => Arc::new(Sandbox {
            db: db.clone(),
            public_url: settings.public_url.clone(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveTime};
    use domain::accommodation::{ChangeStay, ConfirmReservation, PlaceHold, RegisterAccommodation};
    use domain::pricing::Pricing;
    use domain::{Aggregate, ReservationCode, StayDates};

    fn nights(from: u32, to: u32) -> StayDates {
        let day = |d| NaiveDate::from_ymd_opt(2027, 1, d).unwrap();
        StayDates::new(day(from), day(to)).unwrap()
    }

    /// Applies `command` to `cabin` and returns its events.
    fn step(cabin: &mut Accommodation, command: AccommodationCommand) -> Vec<AccommodationEvent> {
        let now = "2026-12-07T13:00:00Z".parse().unwrap();
        let events = cabin.decide(&command, now).unwrap();
        for e in &events {
            cabin.evolve(e);
        }
        events
    }

    /// Two moves in quick succession: the first move's message is sent after the second has
    /// been stored, and still tells the balance of the first move's total.
    #[test]
    fn a_moved_stays_message_tells_the_balance_of_its_own_total() {
        let mut cabin = Accommodation::default();
        let reservation_id = ReservationId::new();
        step(
            &mut cabin,
            AccommodationCommand::Register(RegisterAccommodation {
                accommodation_id: AccommodationId::new(),
                name: "Cabaña del Lago".into(),
                capacity: 4,
                pricing: Pricing::simple(Money::pesos(40_000), Money::pesos(10_000)),
                min_nights: 2,
                check_in_time: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
                check_out_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
                directions: None,
            }),
        );
        step(
            &mut cabin,
            AccommodationCommand::PlaceHold(PlaceHold {
                reservation_id,
                code: ReservationCode::from_entropy(7),
                guest_ref: "guest".into(),
                stay: nights(11, 13),
                guests: 2,
                channel: Channel::Whatsapp,
                hold_duration: chrono::Duration::minutes(30),
            }),
        );
        step(
            &mut cabin,
            AccommodationCommand::Confirm(ConfirmReservation {
                reservation_id,
                payment_reference: "transfer 1".into(),
                amount_paid: Money::pesos(27_000),
            }),
        );
        let move_to = |stay| {
            AccommodationCommand::ChangeStay(ChangeStay {
                reservation_id,
                stay,
                guests: None,
            })
        };
        let first = step(&mut cabin, move_to(nights(14, 17))).remove(0);
        step(&mut cabin, move_to(nights(20, 25)));

        let r = cabin.reservation(reservation_id).unwrap();
        let Some(Reply::Text(text)) = message(&first, r, cabin.info().unwrap()) else {
            panic!("no message for the move");
        };
        // 3 nights at 40 000 and the cleaning fee, less the 27 000 paid.
        assert!(text.contains("(3 noches)"), "{text}");
        assert!(text.contains("total queda en $ 130.000"), "{text}");
        assert!(
            text.contains("Saldo a pagar al llegar: $ 103.000."),
            "{text}"
        );
    }
}
