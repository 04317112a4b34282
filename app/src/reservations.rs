//! Commands on one reservation, named by its code, from the owner's API calls and from their
//! WhatsApp alike: confirming a deposit taken by hand (on time or late), recording a payment or
//! a refund made by hand, moving a stay, cancelling, extending a hold. Each answers with the
//! events it recorded and where the reservation stands now, as typed figures.

use conversation::owner::GivenBack;
use domain::accommodation::{
    AccommodationCommand, AccommodationEvent, CancelReservation, CancelledBy, ChangeStay,
    ConfirmLate, ConfirmReservation,
};
use domain::payment::RefundVia;
use domain::{
    AccommodationId, Aggregate, BookingError, DomainEvent, Money, ReservationId, StayDates,
};
use projections::queries::{self, ReservationView};
use serde::Serialize;

use crate::context::Context;
use crate::error::AppError;
use crate::execute::{Origin, execute};

/// What a command on a reservation did, and where the reservation stands now.
#[derive(Clone, Debug, Serialize)]
pub struct Changed {
    pub code: String,
    /// The last event recorded (none when the command was a repeat).
    pub event: Option<&'static str>,
    pub events: Vec<&'static str>,
    pub position: Option<i64>,
    pub status: Option<domain::accommodation::ReservationStatus>,
    pub total: Option<Money>,
    pub paid: Option<Money>,
    pub refunded: Option<Money>,
    pub balance_due: Option<Money>,
}

/// How long a lookup that missed waits for the read models to reach the log's head.
const CATCH_UP: std::time::Duration = std::time::Duration::from_secs(3);

/// The reservation `code` names, as the read model has it. A code missing there may be one
/// placed a moment ago (the read model trails the log): before it is called unknown, the read
/// model is brought up to the log's head as of now, so "not found" is the truth, not a race.
pub async fn by_code(ctx: &Context, code: &str) -> Result<Option<ReservationView>, AppError> {
    let code = code.trim().to_uppercase();
    if let Some(r) = queries::reservation_by_code(&ctx.db, &code).await? {
        return Ok(Some(r));
    }
    caught_up(ctx).await?;
    Ok(queries::reservation_by_code(&ctx.db, &code).await?)
}

/// Brings the read models to the log's head as of now (at once when they are there already).
pub async fn caught_up(ctx: &Context) -> Result<(), AppError> {
    let head = ctx.store.head_position().await?;
    if !ctx.runner.wait_for(head, CATCH_UP).await? {
        return Err(AppError::Unavailable(anyhow::anyhow!(
            "the read models did not reach position {head}"
        )));
    }
    Ok(())
}

/// The reservation a code names, with its id and its cabin's.
pub async fn find(
    ctx: &Context,
    code: &str,
) -> Result<(ReservationView, ReservationId, AccommodationId), AppError> {
    let code = code.trim().to_uppercase();
    let r = by_code(ctx, &code)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no reservation {code}")))?;
    let unreadable = || AppError::not_found(format!("no reservation {code}"));
    let reservation_id: ReservationId = r.id.parse().map_err(|_| unreadable())?;
    let accommodation: AccommodationId = r.accommodation_id.parse().map_err(|_| unreadable())?;
    Ok((r, reservation_id, accommodation))
}

/// Runs the command `make` builds on the reservation `code`.
pub async fn on_reservation(
    ctx: &Context,
    origin: &Origin,
    code: &str,
    make: impl FnOnce(ReservationId) -> Result<AccommodationCommand, AppError>,
) -> Result<Changed, AppError> {
    let (r, reservation_id, id) = find(ctx, code).await?;
    let cmd = make(reservation_id)?;
    let origin = origin.clone().correlated(reservation_id.as_uuid());
    let done = execute(ctx, id, cmd, &origin).await?;
    let events: Vec<&'static str> = done.events.iter().map(|e| e.event_type()).collect();
    let mut changed = Changed {
        code: r.code,
        event: events.last().copied(),
        events,
        position: done.position,
        status: None,
        total: None,
        paid: None,
        refunded: None,
        balance_due: None,
    };
    // Where the reservation stands now, so that the owner sees what the command did (what a
    // cancellation gives back, what is left to collect) without asking again.
    if let Some(now) = ctx.accommodation(id).await?.reservation(reservation_id) {
        changed.status = Some(now.status);
        changed.total = Some(now.quote.total);
        changed.paid = Some(now.net_paid());
        changed.refunded = Some(now.payments.iter().map(|p| p.refunded).sum());
        changed.balance_due = Some(now.balance_due());
    }
    Ok(changed)
}

/// Why a deposit taken by hand could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum NotConfirmed {
    /// The hold lapsed and its nights were taken since: nothing recorded; the money is the
    /// owner's to give back.
    #[error(
        "the hold lapsed and its nights were taken since; nothing was recorded, and the transfer \
         is for you to give back"
    )]
    LapsedAndTaken(#[source] AppError),
    #[error(transparent)]
    Other(#[from] AppError),
}

/// The owner took the deposit of the hold `code` by hand (the API's `…/confirm`, or from their
/// WhatsApp). A hold that lapsed meanwhile is confirmed all the same while its nights are free
/// (`ConfirmLate`), and refused, nothing recorded, if they are not.
pub async fn confirm_deposit(
    ctx: &Context,
    origin: &Origin,
    code: &str,
    reference: &str,
    amount: Money,
) -> Result<Changed, NotConfirmed> {
    let confirmed = on_reservation(ctx, origin, code, |reservation_id| {
        Ok(AccommodationCommand::Confirm(ConfirmReservation {
            reservation_id,
            payment_reference: reference.to_owned(),
            amount_paid: amount,
        }))
    })
    .await;
    match confirmed {
        Err(AppError::Domain(BookingError::HoldExpired { .. })) => {
            on_reservation(ctx, origin, code, |reservation_id| {
                Ok(AccommodationCommand::ConfirmLate(ConfirmLate {
                    reservation_id,
                    payment_reference: reference.to_owned(),
                    amount_paid: amount,
                }))
            })
            .await
            .map_err(|e| match e {
                AppError::Domain(BookingError::DatesUnavailable { .. }) => {
                    NotConfirmed::LapsedAndTaken(e)
                }
                other => NotConfirmed::Other(other),
            })
        }
        other => Ok(other?),
    }
}

/// What moving the reservation `code` would do: decided on the cabin's current state, nothing
/// recorded.
#[derive(Clone, Debug, Serialize)]
pub struct StayPreview {
    pub code: String,
    pub check_in: chrono::NaiveDate,
    pub check_out: chrono::NaiveDate,
    pub guests: u32,
    pub quote: domain::Quote,
    pub total: Money,
    pub amount_paid: Money,
    pub balance_due: Money,
}

pub async fn preview_stay(
    ctx: &Context,
    code: &str,
    stay: StayDates,
    guests: Option<u32>,
) -> Result<StayPreview, AppError> {
    let (r, reservation_id, id) = find(ctx, code).await?;
    let mut cabin = ctx.accommodation(id).await?;
    let cmd = AccommodationCommand::ChangeStay(ChangeStay {
        reservation_id,
        stay,
        guests,
    });
    // The figures are read off the cabin as the change would leave it, as after a real one.
    for event in cabin.decide(&cmd, ctx.now())? {
        cabin.evolve(&event);
    }
    let after = cabin
        .reservation(reservation_id)
        .ok_or_else(|| AppError::not_found(format!("no reservation {code}")))?;
    Ok(StayPreview {
        code: r.code,
        check_in: after.stay.check_in(),
        check_out: after.stay.check_out(),
        guests: after.guests,
        quote: after.quote.clone(),
        total: after.quote.total,
        amount_paid: after.net_paid(),
        balance_due: after.balance_due(),
    })
}

/// What cancelling the reservation `code` as the owner would give back: decided on the cabin's
/// current state by the same command a cancellation runs, nothing recorded (the owner agrees to
/// the figures before anything happens). `refund_all` as in `CancelReservation`.
#[derive(Clone, Debug)]
pub struct CancelPreview {
    pub code: String,
    /// What the guest paid, net of what was already given back.
    pub paid: Money,
    pub back: GivenBack,
}

pub async fn preview_cancel(
    ctx: &Context,
    code: &str,
    refund_all: bool,
) -> Result<CancelPreview, AppError> {
    let (r, reservation_id, id) = find(ctx, code).await?;
    let cabin = ctx.accommodation(id).await?;
    let cmd = AccommodationCommand::Cancel(CancelReservation {
        reservation_id,
        by: CancelledBy::Admin,
        reason: String::new(),
        refund_all,
    });
    let events = cabin.decide(&cmd, ctx.now())?;
    let paid = cabin
        .reservation(reservation_id)
        .map(|r| r.net_paid())
        .unwrap_or_default();
    Ok(CancelPreview {
        code: r.code,
        paid,
        back: given_back(&events),
    })
}

/// What the refunds a cancellation decided give back, through Mercado Pago and by hand.
pub fn given_back(events: &[AccommodationEvent]) -> GivenBack {
    events.iter().fold(GivenBack::default(), |back, e| match e {
        AccommodationEvent::RefundDue(due) if due.via == RefundVia::Provider => GivenBack {
            by_provider: back.by_provider + due.amount,
            ..back
        },
        AccommodationEvent::RefundDue(due) => GivenBack {
            by_hand: back.by_hand + due.amount,
            ..back
        },
        _ => back,
    })
}
