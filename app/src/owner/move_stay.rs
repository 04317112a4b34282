//! "mover CÓDIGO del 12 al 14" (and "para 3" when the party changes): asks first, with the new
//! total; the question's button (or the same words with "sí" at the end) moves the stay.

use conversation::owner::{MoveTo, move_question, moved, moved_to, spoken, taken};
use conversation::reply::Reply;
use domain::accommodation::{AccommodationCommand, ChangeStay};
use domain::error::BookingError;
use domain::{Aggregate, StayDates};

use super::found;
use crate::context::Context;
use crate::error::AppError;
use crate::execute::Origin;
use crate::reservations;

/// Moves the confirmed stay `code` to other nights (or another party size), as the owner
/// would through `POST …/stay`: first (`sure` false) only says what would change (new total,
/// what is left to collect), with the button that does it. The guest is told once it is done.
pub(super) async fn move_stay(
    state: &Context,
    origin: &Origin,
    code: &str,
    to: MoveTo,
    sure: bool,
) -> Result<Reply, AppError> {
    let text = |s: String| Ok(Reply::Text(s));
    let Some((view, id, reservation_id)) = found(state, code).await? else {
        return text(format!("No encontré la reserva {code}."));
    };
    let cabin = state.accommodation(id).await?;
    let Some(before) = cabin.reservation(reservation_id).cloned() else {
        return text(format!("No encontré la reserva {code}."));
    };
    let (check_in, check_out, guests) = match to {
        MoveTo::Exactly {
            check_in,
            check_out,
            guests,
        } => (check_in, check_out, guests),
        MoveTo::Said(said) => {
            let today = match crate::arrivals::owner_time(state, state.now()).await? {
                Some(local) => local.date(),
                None => state.today(),
            };
            match moved_to(&said, today, &before.stay, code) {
                Ok(to) => to,
                Err(question) => return text(question),
            }
        }
    };
    let stay = match StayDates::new(check_in, check_out) {
        Ok(stay) => stay,
        Err(e) => return text(format!("No muevo la reserva {code}: {}.", spoken(&e))),
    };
    let cmd = AccommodationCommand::ChangeStay(ChangeStay {
        reservation_id,
        stay,
        guests,
    });
    // Decided on the state just read and not recorded: the figures the owner agrees to.
    let mut after = cabin.clone();
    match cabin.decide(&cmd, state.now()) {
        Ok(events) if events.is_empty() => {
            return text(format!("La reserva {code} ya es así: no cambié nada."));
        }
        Ok(events) => events.iter().for_each(|e| after.evolve(e)),
        Err(BookingError::DatesUnavailable { .. }) => {
            return text(format!(
                "No muevo la reserva {code}: {}.",
                taken(&cabin, &stay, Some(reservation_id))
            ));
        }
        Err(e) => return text(format!("No muevo la reserva {code}: {}.", spoken(&e))),
    }
    let Some(moving) = after.reservation(reservation_id) else {
        return text(format!("No encontré la reserva {code}."));
    };
    if !sure {
        let guest = view.guest.name.as_deref().unwrap_or("huésped");
        return Ok(move_question(code, guest, &before, moving, guests));
    }
    let done = moved(code, moving);
    match reservations::on_reservation(state, origin, code, |_| Ok(cmd)).await {
        Ok(_) => text(done),
        // Changed between the read and the write.
        Err(AppError::Domain(e)) => text(format!("No moví la reserva {code}: {}.", spoken(&e))),
        Err(e) => Err(e),
    }
}
