//! "cobrado CÓDIGO" (with the amount, and how it was paid, when said): a payment collected on a
//! confirmed stay, usually its balance on arrival.

use conversation::owner::spoken;
use domain::Money;
use domain::accommodation::{AccommodationCommand, RecordManualPayment};
use projections::ReservationStatus;

use super::found;
use crate::context::Context;
use crate::error::AppError;
use crate::execute::Origin;
use crate::reservations;

/// Records a payment the owner collected on the stay `code`: `amount`, or the whole balance;
/// what to tell the owner. Recorded under the message's id, so that the same message taken up
/// twice is one payment.
pub(super) async fn collected(
    state: &Context,
    origin: &Origin,
    wamid: &str,
    code: &str,
    amount: Option<Money>,
    method: Option<&str>,
) -> Result<String, AppError> {
    let Some((view, id, reservation_id)) = found(state, code).await? else {
        return Ok(format!("No encontré la reserva {code}."));
    };
    match view.status {
        ReservationStatus::Confirmed => {}
        ReservationStatus::Held => {
            return Ok(format!(
                "La reserva {code} todavía espera su seña. Si te llegó, escribime «confirmar \
                 {code}»."
            ));
        }
        _ => {
            return Ok(format!(
                "La reserva {code} no está activa: no hay saldo que cobrar."
            ));
        }
    }
    let amount = match amount {
        Some(amount) => amount,
        None => {
            let cabin = state.accommodation(id).await?;
            let balance = cabin
                .reservation(reservation_id)
                .map(|r| r.balance_due())
                .unwrap_or_default();
            if balance <= Money::ZERO {
                return Ok(format!(
                    "La reserva {code} ya está pagada: no queda saldo que cobrar."
                ));
            }
            balance
        }
    };
    let done = reservations::on_reservation(state, origin, code, |reservation_id| {
        Ok(AccommodationCommand::RecordManualPayment(
            RecordManualPayment {
                reservation_id,
                reference: format!("whatsapp:{wamid}"),
                amount,
                method: method.map(str::to_owned),
            },
        ))
    })
    .await;
    let changed = match done {
        Ok(changed) => changed,
        Err(AppError::Domain(e)) => {
            return Ok(format!(
                "No pude anotar el pago de la reserva {code}: {}.",
                spoken(&e)
            ));
        }
        Err(e) => return Err(e),
    };
    let balance = changed.balance_due.unwrap_or_default();
    Ok(if balance > Money::ZERO {
        format!("✅ Anotado: cobraste {amount} de la reserva {code}. Falta cobrar {balance}.")
    } else {
        format!("✅ Anotado: cobraste {amount} de la reserva {code}. Queda saldada.")
    })
}
