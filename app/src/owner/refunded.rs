//! "devuelto CÓDIGO": the refunds a cancelled reservation owes by hand were made.

use domain::Money;
use domain::accommodation::{AccommodationCommand, RecordRefund};

use super::found;
use crate::context::Context;
use crate::error::AppError;
use crate::execute::Origin;
use crate::reservations;

/// Records as made the refunds `code` owes by hand; what to tell the owner.
pub(super) async fn refunded(
    state: &Context,
    origin: &Origin,
    code: &str,
) -> Result<String, AppError> {
    let Some((_, id, reservation_id)) = found(state, code).await? else {
        return Ok(format!("No encontré la reserva {code}."));
    };
    let cabin = state.accommodation(id).await?;
    let owed: Vec<(String, Money)> = cabin
        .reservation(reservation_id)
        .map(|r| {
            r.owed_by_hand()
                .into_iter()
                .map(|(key, amount)| (key.to_owned(), amount))
                .collect()
        })
        .unwrap_or_default();
    if owed.is_empty() {
        return Ok(format!(
            "La reserva {code} no tiene devoluciones a mano pendientes."
        ));
    }
    let mut total = Money::ZERO;
    for (refund_key, amount) in owed {
        reservations::on_reservation(state, origin, code, |reservation_id| {
            Ok(AccommodationCommand::RecordRefund(RecordRefund {
                reservation_id,
                refund_key,
                refund_id: "a mano (WhatsApp)".into(),
            }))
        })
        .await?;
        total = total + amount;
    }
    Ok(format!(
        "✅ Anotado: le devolviste {total} de la reserva {code}."
    ))
}
