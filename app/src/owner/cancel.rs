//! "cancelar CÓDIGO": asks first, with what the cancellation policy gives back; the question's
//! buttons (or "cancelar CÓDIGO sí" / "… todo") cancel.

use conversation::owner::{cancel_question, cancelled, spoken};
use conversation::reply::Reply;
use domain::Aggregate;
use domain::accommodation::{
    AccommodationCommand, CancelReservation, CancelledBy, Reservation, ReservationStatus,
};

use super::found;
use crate::context::Context;
use crate::error::AppError;
use crate::execute::Origin;
use crate::reservations::{self, given_back};

/// Cancels the reservation `code` as its owner, by the cancellation policy: first (`sure`
/// false) only says what the cancellation would give back, with the button that does it.
pub(super) async fn cancel(
    state: &Context,
    origin: &Origin,
    code: &str,
    sure: bool,
    all: bool,
) -> Result<Reply, AppError> {
    let text = |s: String| Ok(Reply::Text(s));
    let Some((view, id, reservation_id)) = found(state, code).await? else {
        return text(format!("No encontré la reserva {code}."));
    };
    let cmd = AccommodationCommand::Cancel(CancelReservation {
        reservation_id,
        by: CancelledBy::Admin,
        reason: "cancelada por el dueño desde WhatsApp".into(),
        refund_all: all,
    });
    let cabin = state.accommodation(id).await?;
    // Decided on the current state and not recorded: what the owner is asked to agree to.
    let events = match cabin.decide(&cmd, state.now()) {
        Ok(events) => events,
        Err(e) => {
            let why = match cabin.reservation(reservation_id).map(|r| r.status) {
                Some(ReservationStatus::Cancelled) => "ya está cancelada".to_owned(),
                Some(ReservationStatus::Expired) => {
                    "venció sin seña: no hay nada que cancelar".into()
                }
                _ => format!("no se puede cancelar: {e}"),
            };
            return text(format!("La reserva {code} {why}."));
        }
    };
    let back = given_back(&events);
    if !sure {
        let paid = cabin
            .reservation(reservation_id)
            .map(Reservation::net_paid)
            .unwrap_or_default();
        return Ok(cancel_question(
            code,
            view.guest.name.as_deref().unwrap_or("huésped"),
            view.accommodation_name.as_deref().unwrap_or("la cabaña"),
            view.check_in,
            view.check_out,
            paid,
            back,
        ));
    }
    match reservations::on_reservation(state, origin, code, |_| Ok(cmd)).await {
        Ok(_) => text(cancelled(code, back)),
        // Cancelled between the question and the tap (a second tap, the guest themselves).
        Err(AppError::Domain(e)) => text(format!("No cancelé la reserva {code}: {}.", spoken(&e))),
        Err(e) => Err(e),
    }
}
