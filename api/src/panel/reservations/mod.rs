//! The reservations in the panel (issue 28, item 3): the list (`list.rs`), one reservation's
//! page with its history (`page.rs`), and the owner's actions as forms (`actions.rs`: confirm,
//! payment, extension; `changes.rs`: move and cancel, each shown before it is done). Actions
//! call the application use cases the admin API calls, with the panel user's email as actor.
//! Shared here: the one route every action is posted to, the actions' form, Spanish words for
//! statuses, events and refusals.

pub mod actions;
pub mod changes;
pub mod list;
pub mod page;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use app::AppError;
use chrono::{DateTime, Utc};
use domain::{BookingError, Money};
use projections::ReservationStatus;
use serde::Deserialize;

use super::html::refusal;
use super::post::AdminPost;
use super::session::Session;
use super::{State, internal};

/// Every field any action form sends; each action reads the ones it needs (an empty field is
/// as good as absent: that is what a browser sends for a field left blank).
#[derive(Deserialize, Default)]
pub struct ActionForm {
    pub csrf: Option<String>,
    pub monto: Option<String>,
    pub referencia: Option<String>,
    /// A random key put in the payment form when it is drawn: a payment without a reference
    /// sent twice (a double tap, a reload) is the same payment.
    pub clave: Option<String>,
    pub minutos: Option<String>,
    pub entrada: Option<String>,
    pub salida: Option<String>,
    pub personas: Option<String>,
    pub devolver_todo: Option<String>,
    pub confirmar: Option<String>,
}

crate::panel::post::csrf_field!(ActionForm);

/// A field's trimmed text, `None` when blank.
pub fn field(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// `POST /panel/reservas/{code}/{action}`: one of the owner's actions on the reservation
/// (`confirmar`, `pago`, `extender`: `actions.rs`; `mover`, `cancelar`: `changes.rs`).
pub async fn act(
    state: State,
    path: web::Path<(String, String)>,
    post: AdminPost<ActionForm>,
) -> HttpResponse {
    let (code, action) = path.into_inner();
    let AdminPost { who, form } = post;
    let (state, who, form) = (&**state, &who, &form);
    match action.as_str() {
        "confirmar" => actions::confirm(state, who, &code, form).await,
        "pago" => actions::payment(state, who, &code, form).await,
        "extender" => actions::extend(state, who, &code, form).await,
        "mover" => changes::move_stay(state, who, &code, form).await,
        "cancelar" => changes::cancel(state, who, &code, form).await,
        _ => refusal(
            StatusCode::NOT_FOUND,
            "No encontrado",
            "Esa acción no existe.",
        ),
    }
}

/// Who did it, as recorded with the events: the panel user's email (a member of staff, not a
/// guest), through the API's source like the admin token's subject.
pub fn origin(who: &Session) -> app::Origin {
    app::Origin::admin(&who.email)
}

pub fn status_word(status: ReservationStatus) -> &'static str {
    match status {
        ReservationStatus::Held => "pendiente de seña",
        ReservationStatus::Confirmed => "confirmada",
        ReservationStatus::Cancelled => "cancelada",
        ReservationStatus::Expired => "vencida sin seña",
    }
}

/// "vie 15/01 14:32" on the owner's clock (Argentina).
pub fn local_moment(at: DateTime<Utc>) -> String {
    let offset = domain::accommodation::ARGENTINA_UTC_OFFSET_MINUTES;
    let local = at + chrono::Duration::minutes(i64::from(offset));
    format!(
        "{} {}",
        super::calendar::day_label(local.date_naive()),
        local.format("%H:%M")
    )
}

/// An amount to read: `$ 26.400` with a non-breaking space, so a line never ends at the `$`.
pub fn pesos(m: Money) -> String {
    m.to_string().replacen("$ ", "$\u{a0}", 1)
}

/// An amount as the owner types it back (`13.500`, `1.234,50`): the form's default.
pub fn plain(m: Money) -> String {
    m.to_string().trim_start_matches("$ ").to_owned()
}

/// A typed amount, as an Argentine owner writes it (`13500`, `$ 13.500`, `13.500,50`).
pub fn typed_amount(text: Option<&str>) -> Option<Money> {
    conversation::owner::amount(&text?.replace(' ', ""))
}

/// A refusal said in Spanish with its status: 422 for what the owner typed, 409 for what the
/// reservation's state refuses, 404 for a code that names nothing. `None`: not a refusal but a
/// failure of ours (the caller shows the opaque error page and logs it).
pub fn refused(err: &AppError) -> Option<(StatusCode, String)> {
    match err {
        AppError::Domain(e) => Some(domain_refusal(e)),
        AppError::NotFound(_) => Some((
            StatusCode::NOT_FOUND,
            "No hay ninguna reserva con ese código.".into(),
        )),
        // The use case's own checks speak English for the API: said generically here.
        AppError::Invalid(_) => Some((
            StatusCode::UNPROCESSABLE_ENTITY,
            "Revisá los datos del formulario.".into(),
        )),
        AppError::Conflict(_) | AppError::Forbidden(_) => Some((
            StatusCode::CONFLICT,
            "La reserva no admite ese cambio ahora.".into(),
        )),
        AppError::Contention(_) | AppError::Unavailable(_) => Some((
            StatusCode::SERVICE_UNAVAILABLE,
            "El sistema está ocupado. Probá de nuevo en un momento.".into(),
        )),
        AppError::Unexpected(_) => None,
    }
}

/// A booking rule's refusal in the owner's words. The WhatsApp owner's phrases are reused where
/// they exist; every other rule is worded here, so no English detail reaches the page.
fn domain_refusal(e: &BookingError) -> (StatusCode, String) {
    use BookingError as E;
    let typed = StatusCode::UNPROCESSABLE_ENTITY;
    let state = StatusCode::CONFLICT;
    let (status, words) = match e {
        E::CheckOutNotAfterCheckIn { .. }
        | E::CheckInInPast { .. }
        | E::StayTooShort { .. }
        | E::StayTooLong { .. }
        | E::TooFarAhead { .. }
        | E::InvalidGuestCount { .. }
        | E::StayOver { .. } => (typed, conversation::owner::spoken(e)),
        E::DatesUnavailable { .. }
        | E::ReservationCancelled
        | E::HoldExpired { .. }
        | E::HoldNightsFixed
        | E::NotConfirmed
        | E::PaidAboveTotal { .. } => (state, conversation::owner::spoken(e)),
        E::AlreadyConfirmed => (state, "la reserva ya está confirmada".into()),
        E::HoldAlreadyExtended => (
            state,
            "el plazo de esta reserva ya se extendió una vez".into(),
        ),
        E::NotHeld => (state, "la reserva no está esperando su seña".into()),
        E::NothingToPay => (state, "no queda nada por pagar en esta reserva".into()),
        E::InvalidAmount => (typed, "el monto tiene que ser mayor que cero".into()),
        E::InvalidPaymentReference => (
            typed,
            "la referencia tiene que tener de 1 a 100 caracteres".into(),
        ),
        E::PaymentReferenceTaken(_) => (
            state,
            "esa referencia ya está registrada con otro monto".into(),
        ),
        E::InvalidHoldDuration => (typed, "el plazo tiene que ser positivo".into()),
        _ => (state, "la reserva no admite ese cambio".into()),
    };
    (status, sentence(&words))
}

/// "la reserva …" → "La reserva ….".
fn sentence(words: &str) -> String {
    let mut chars = words.chars();
    let first: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    format!("{first}{}.", chars.as_str().trim_end_matches('.'))
}

/// The failure's answer when it is not a refusal: logged (no personal data: the error only)
/// and opaque.
pub fn failure(err: AppError) -> HttpResponse {
    internal(&anyhow::Error::new(err))
}
