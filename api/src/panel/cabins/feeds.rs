//! An admin managing the calendars a cabin imports, from its page: add Airbnb's or Booking's
//! export link (`POST /panel/cabanas/{id}/calendarios`), fetch one now (`…/{feed}/sincronizar`)
//! or stop importing it, which frees the nights it blocked (`…/{feed}/quitar`). The use cases
//! are those of the admin API's `/v1/admin/accommodations/{id}/feeds`.

use super::edit::{Fields, get};
use super::{admin_on, detail};
use crate::panel::reservations::failure;
use crate::panel::reservations::page::Notice;
use crate::panel::{State, redirect};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use app::AppError;

/// `POST /panel/cabanas/{id}/calendarios`: `canal` (airbnb, booking, otro) and `enlace`.
pub async fn add(
    state: State,
    req: HttpRequest,
    id: web::Path<String>,
    fields: Fields,
) -> HttpResponse {
    let (who, cabin) = match admin_on(&state, &req, &fields, &id).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    let refused = |status, words: &str| Notice::Refused(status, words.to_owned());
    let channel = get(&fields, "canal").unwrap_or("");
    if !matches!(channel, "airbnb" | "booking" | "otro") {
        let notice = refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Elegí uno de los canales.",
        );
        return detail::render(&state, &who, &id, notice).await;
    }
    let url = get(&fields, "enlace").unwrap_or("");
    let notice = match app::calendar::add_feed(&state, cabin, channel, url).await {
        Ok(_) => return redirect(&format!("/panel/cabanas/{cabin}?hecho=calendario")),
        Err(AppError::NotFound(_)) => Notice::None,
        Err(AppError::Invalid(_)) => refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "El enlace tiene que empezar con https:// (copialo entero de la exportación del canal).",
        ),
        Err(AppError::Conflict(_)) => refused(
            StatusCode::CONFLICT,
            "Esta cabaña ya importa un calendario de ese canal: dejá de importarlo primero \
             (o, si lo acabás de quitar, probá en un minuto).",
        ),
        Err(err) => return failure(err),
    };
    detail::render(&state, &who, &id, notice).await
}

/// `POST /panel/cabanas/{id}/calendarios/{feed}/sincronizar`: fetches it now. Its health in
/// the table says how it went; a feed that suddenly lists nothing is not applied (the API's
/// `force` is for that, after checking the channel).
pub async fn sync(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    fields: Fields,
) -> HttpResponse {
    let (id, feed) = path.into_inner();
    let (who, cabin) = match admin_on(&state, &req, &fields, &id).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    match app::calendar::sync_now(&state, cabin, &feed, false).await {
        Ok(outcome) if outcome.healthy => {
            redirect(&format!("/panel/cabanas/{cabin}?hecho=sincronizado"))
        }
        Ok(_) => redirect(&format!("/panel/cabanas/{cabin}?hecho=sin-sincronizar")),
        Err(AppError::NotFound(_)) => gone(&state, &who, &id).await,
        Err(err) => failure(err),
    }
}

/// `POST /panel/cabanas/{id}/calendarios/{feed}/quitar`
pub async fn remove(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    fields: Fields,
) -> HttpResponse {
    let (id, feed) = path.into_inner();
    let (who, cabin) = match admin_on(&state, &req, &fields, &id).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    match app::calendar::remove_feed(&state, cabin, &feed).await {
        Ok(()) => {
            // Bounded wait, so the calendar drawn next no longer shows its nights.
            let _ = app::reservations::caught_up(&state).await;
            redirect(&format!("/panel/cabanas/{cabin}?hecho=calendario-quitado"))
        }
        Err(AppError::NotFound(_)) => gone(&state, &who, &id).await,
        Err(err) => failure(err),
    }
}

async fn gone(state: &State, who: &crate::panel::session::Session, id: &str) -> HttpResponse {
    let words = "Ese calendario ya no se importa.".to_owned();
    detail::render(
        state,
        who,
        id,
        Notice::Refused(StatusCode::NOT_FOUND, words),
    )
    .await
}
