//! "confirmar CÓDIGO" (or the alert's "Confirmar seña" button): the deposit of a hold arrived
//! by bank transfer.

use domain::Money;
use projections::ReservationStatus;

use crate::context::Context;
use crate::error::AppError;
use crate::execute::Origin;
use crate::reservations::{self, NotConfirmed};
use conversation::owner::spoken;

/// The reference a deposit confirmed from WhatsApp is recorded under: the same every time, so
/// a second tap on the same alert is the same payment told twice, not a second one.
const REFERENCE: &str = "transferencia (confirmada por WhatsApp)";

/// Confirms the deposit of `code` as taken by hand; what to tell the owner. A failure of the
/// service itself is an error (the message is taken up again), not an answer.
pub(super) async fn confirm(
    state: &Context,
    origin: &Origin,
    code: &str,
    amount: Option<Money>,
) -> Result<String, AppError> {
    let Some(view) = projections::queries::reservation_by_code(&state.db, code).await? else {
        return Ok(format!("No encontré la reserva {code}."));
    };
    match view.status {
        ReservationStatus::Cancelled => {
            return Ok(format!(
                "La reserva {code} está cancelada: no hay seña que confirmar."
            ));
        }
        ReservationStatus::Confirmed => {
            return Ok(format!("La reserva {code} ya está confirmada."));
        }
        ReservationStatus::Held | ReservationStatus::Expired => {}
    }
    // What the hold asks for, unless the owner says another amount arrived.
    let amount = amount.unwrap_or(view.deposit);
    let done = reservations::confirm_deposit(state, origin, code, REFERENCE, amount).await;
    let changed = match done {
        Ok(changed) => changed,
        Err(NotConfirmed::LapsedAndTaken(_)) => {
            return Ok(format!(
                "No pude confirmar la reserva {code}: venció y esas noches ya las tomó otra \
                 reserva. No registré nada; la transferencia es para devolver."
            ));
        }
        Err(NotConfirmed::Other(AppError::Domain(e))) => {
            return Ok(format!(
                "No pude confirmar la reserva {code}: {}.",
                spoken(&e)
            ));
        }
        Err(NotConfirmed::Other(e)) => return Err(e),
    };
    let balance = changed.balance_due.unwrap_or_default();
    Ok(if changed.events.is_empty() {
        format!("La reserva {code} ya está confirmada.")
    } else if changed.events.contains(&"LatePaymentAccepted") {
        format!(
            "✅ Listo: la reserva {code} había vencido, pero las noches seguían libres y quedó \
             confirmada con la seña de {amount}. Saldo a cobrar al llegar: {balance}."
        )
    } else {
        format!(
            "✅ Listo: la reserva {code} quedó confirmada con la seña de {amount}. Saldo a \
             cobrar al llegar: {balance}."
        )
    })
}
