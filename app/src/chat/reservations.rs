//! The guest's own reservations: listing the stays to come, showing one, what cancelling one
//! would give back, and cancelling it. Only the guest who made a reservation sees or cancels it
//! from their phone.

use conversation::dialogue::{Outcome, ReservationSummary};
use domain::accommodation::{AccommodationCommand, CancelReservation, CancelledBy};
use domain::{
    AccommodationEvent, AccommodationId, Aggregate, BookingError, GuestId, Money, ReservationId,
};
use integrations::whatsapp::webhook::InboundMessage;
use projections::ReservationStatus;
use projections::queries;

use super::guest_reservations;
use crate::context::Context;
use crate::error::AppError;
use crate::execute::{Origin, execute};

/// The guest's held and confirmed stays that have not ended.
pub(super) async fn list(state: &Context, guest: &GuestId) -> Result<Outcome, AppError> {
    let mine = guest_reservations(state, guest).await?;
    let today = state.today();
    Ok(Outcome::Reservations(
        mine.into_iter()
            .filter(|r| {
                matches!(
                    r.status,
                    ReservationStatus::Held | ReservationStatus::Confirmed
                ) && r.check_out >= today
            })
            .map(summary)
            .collect(),
    ))
}

/// The reservation `code`, when it is the guest's.
pub(super) async fn show(
    state: &Context,
    guest: &GuestId,
    code: &str,
) -> Result<Outcome, AppError> {
    Ok(Outcome::Reservation(
        queries::reservation_by_code(&state.db, code)
            .await?
            .filter(|r| r.guest.reference == guest.stream_id())
            .map(summary),
    ))
}

/// What the guest paid for reservation `code` and what cancelling it now would give back:
/// the cancellation decided but not made.
pub(super) async fn preview_cancellation(
    state: &Context,
    guest: &GuestId,
    code: String,
) -> Result<Outcome, AppError> {
    let now = state.now();
    let (id, reservation_id) = match guests_own(state, guest, &code).await? {
        Ok(ids) => ids,
        Err(refused) => return Ok(refused),
    };
    // The cancellation decided but not made: its refunds are what the policy gives back.
    let cabin = state.accommodation(id).await?;
    let paid = cabin
        .reservation(reservation_id)
        .map(|r| r.net_paid())
        .unwrap_or(Money::ZERO);
    match cabin.decide(&guest_cancels(reservation_id), now) {
        Ok(events) => Ok(Outcome::CancellationTerms {
            code,
            paid,
            refund: events
                .iter()
                .map(|e| match e {
                    AccommodationEvent::RefundDue(d) => d.amount,
                    _ => Money::ZERO,
                })
                .fold(Money::ZERO, |total, amount| total + amount),
        }),
        Err(_) => Ok(Outcome::NotCancellable {
            code,
            why: "ya estaba cancelada o vencida".into(),
        }),
    }
}

/// Cancels the guest's reservation `code` on their word, under the cancellation policy.
pub(super) async fn cancel(
    state: &Context,
    m: &InboundMessage,
    guest: &GuestId,
    code: String,
) -> Result<Outcome, AppError> {
    let (id, reservation_id) = match guests_own(state, guest, &code).await? {
        Ok(ids) => ids,
        Err(refused) => return Ok(refused),
    };
    let cmd = guest_cancels(reservation_id);
    let origin = Origin::guest_whatsapp(&m.wamid).correlated(reservation_id.as_uuid());
    match execute(state, id, cmd, &origin).await {
        Ok(_) => Ok(Outcome::Cancelled { code }),
        Err(AppError::Domain(e)) => Ok(Outcome::NotCancellable {
            code,
            why: match e {
                BookingError::ReservationCancelled | BookingError::HoldExpired { .. } => {
                    "ya estaba cancelada o vencida".into()
                }
                _ => "no se puede en este momento".into(),
            },
        }),
        Err(e) => Err(e),
    }
}

/// The reservation `code`, when it is this guest's: only the guest who made a reservation may
/// cancel it from their phone. Otherwise the answer to give them.
async fn guests_own(
    state: &Context,
    guest: &GuestId,
    code: &str,
) -> Result<Result<(AccommodationId, ReservationId), Outcome>, AppError> {
    let refused = |why: &str| {
        Ok(Err(Outcome::NotCancellable {
            code: code.to_owned(),
            why: why.into(),
        }))
    };
    let found = queries::reservation_by_code(&state.db, code).await?;
    let Some(r) = found.filter(|r| r.guest.reference == guest.stream_id()) else {
        return refused("no es una reserva tuya");
    };
    match (
        r.accommodation_id.parse::<AccommodationId>(),
        r.id.parse::<ReservationId>(),
    ) {
        (Ok(id), Ok(reservation_id)) => Ok(Ok((id, reservation_id))),
        _ => refused("no la encuentro"),
    }
}

fn guest_cancels(reservation_id: ReservationId) -> AccommodationCommand {
    AccommodationCommand::Cancel(CancelReservation {
        reservation_id,
        by: CancelledBy::Guest,
        reason: "pedido por WhatsApp".into(),
        refund_all: false,
    })
}

/// A reservation as the chat shows it to its guest.
fn summary(r: queries::ReservationView) -> ReservationSummary {
    ReservationSummary {
        paid: r.amount_paid - r.refunded,
        guests: u32::try_from(r.guests).unwrap_or_default(),
        code: r.code,
        accommodation: r.accommodation_name.unwrap_or_default(),
        check_in: r.check_in,
        check_out: r.check_out,
        status: r.status.as_str().to_owned(),
        balance_due: r.balance_due,
    }
}
