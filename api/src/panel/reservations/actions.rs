//! The owner's one-step actions on a reservation, as forms: confirm a deposit taken by hand,
//! record a payment, extend a hold. Each calls what the admin API's route calls, with the same
//! rules; done, it answers 303 to the reservation's page with a flash key, refused, it draws
//! that page again with the refusal in Spanish (409 or 422).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use app::AppError;
use app::reservations::{Changed, NotConfirmed};
use domain::accommodation::{AccommodationCommand, ExtendHold, RecordManualPayment};

use super::page::{Notice, render};
use super::{ActionForm, failure, field, origin, refused, typed_amount};
use crate::panel::redirect;
use crate::panel::session::Session;
use crate::state::AppState;

/// Done: once the read models have the change (so the page shows it), back to the page.
pub async fn done(state: &AppState, changed: &Changed, key: &str) -> HttpResponse {
    // Bounded wait; if it runs out the page is merely a moment behind, the change is recorded.
    let _ = app::reservations::caught_up(state).await;
    redirect(&format!("/panel/reservas/{}?hecho={key}", changed.code))
}

/// Refused: the page again with why on top; a failure of ours: the opaque error page.
pub async fn not_done(state: &AppState, who: &Session, code: &str, err: AppError) -> HttpResponse {
    match refused(&err) {
        Some((status, words)) => render(state, who, code, Notice::Refused(status, words)).await,
        None => failure(err),
    }
}

/// What the owner typed wrong, said on the page with 422.
pub async fn mistyped(state: &AppState, who: &Session, code: &str, words: &str) -> HttpResponse {
    let notice = Notice::Refused(StatusCode::UNPROCESSABLE_ENTITY, words.to_owned());
    render(state, who, code, notice).await
}

/// A reference as typed: 1 to 100 characters (the domain's rule, said before asking it).
fn reference(form: &ActionForm) -> Result<Option<String>, &'static str> {
    match field(&form.referencia) {
        Some(r) if r.chars().count() > 100 => {
            Err("La referencia tiene que tener hasta 100 caracteres.")
        }
        r => Ok(r.map(str::to_owned)),
    }
}

const BAD_AMOUNT: &str = "Escribí el monto en pesos, por ejemplo 13.500.";

/// `POST /panel/reservas/{code}/confirmar`: a hold's deposit taken by hand (a transfer). As the
/// API's `…/confirm`: a lapsed hold is confirmed late while its nights are free.
pub async fn confirm(
    state: &AppState,
    who: &Session,
    code: &str,
    form: &ActionForm,
) -> HttpResponse {
    let (Some(amount), Ok(reference)) = (typed_amount(field(&form.monto)), reference(form)) else {
        return mistyped(state, who, code, BAD_AMOUNT).await;
    };
    let reference = reference.unwrap_or_else(|| "transferencia".into());
    let confirmed =
        app::reservations::confirm_deposit(state, &origin(who), code, &reference, amount).await;
    match confirmed {
        Ok(changed) => done(state, &changed, "confirmada").await,
        Err(NotConfirmed::LapsedAndTaken(_)) => {
            let words = "La reserva había vencido y sus noches ya se ocuparon: no se registró \
                         nada, y la transferencia es para devolver.";
            render(
                state,
                who,
                code,
                Notice::Refused(StatusCode::CONFLICT, words.into()),
            )
            .await
        }
        Err(NotConfirmed::Other(e)) => not_done(state, who, code, e).await,
    }
}

/// `POST /panel/reservas/{code}/pago`: a payment taken by hand on a confirmed stay.
pub async fn payment(
    state: &AppState,
    who: &Session,
    code: &str,
    form: &ActionForm,
) -> HttpResponse {
    let (Some(amount), Ok(reference)) = (typed_amount(field(&form.monto)), reference(form)) else {
        return mistyped(state, who, code, BAD_AMOUNT).await;
    };
    // Without a reference, the form's own key: the same form sent twice is one payment.
    let reference = reference.unwrap_or_else(|| match field(&form.clave) {
        Some(key) => format!("panel-{}", key.chars().take(64).collect::<String>()),
        None => format!("panel-{}", uuid::Uuid::now_v7()),
    });
    let changed = app::reservations::on_reservation(state, &origin(who), code, |reservation_id| {
        Ok(AccommodationCommand::RecordManualPayment(
            RecordManualPayment {
                reservation_id,
                reference,
                amount,
                method: None,
            },
        ))
    })
    .await;
    match changed {
        Ok(changed) => done(state, &changed, "pago").await,
        Err(e) => not_done(state, who, code, e).await,
    }
}

/// `POST /panel/reservas/{code}/extender`: more time to pay a hold's deposit (once), 1 to 1440
/// minutes as the API allows; the configured hold's length when left blank.
pub async fn extend(
    state: &AppState,
    who: &Session,
    code: &str,
    form: &ActionForm,
) -> HttpResponse {
    let minutes = match field(&form.minutos) {
        None => Some(state.settings.hold_minutes),
        Some(text) => text.parse::<i64>().ok(),
    };
    let Some(minutes) = minutes.filter(|m| (1..=24 * 60).contains(m)) else {
        let words = "Los minutos tienen que ser un número del 1 al 1440.";
        return mistyped(state, who, code, words).await;
    };
    let changed = app::reservations::on_reservation(state, &origin(who), code, |reservation_id| {
        Ok(AccommodationCommand::ExtendHold(ExtendHold {
            reservation_id,
            by: chrono::Duration::minutes(minutes),
        }))
    })
    .await;
    match changed {
        Ok(changed) => done(state, &changed, "extendida").await,
        Err(e) => not_done(state, who, code, e).await,
    }
}
