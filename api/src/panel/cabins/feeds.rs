//! An admin managing the calendars a cabin imports, from its page: add Airbnb's or Booking's
//! export link (`POST /panel/cabanas/{id}/calendarios`), fetch one now (`…/{feed}/sincronizar`)
//! or stop importing it, which frees the nights it blocked (`…/{feed}/quitar`). The use cases
//! are those of the admin API's `/v1/admin/accommodations/{id}/feeds`.

use super::detail;
use super::edit::{Fields, get};
use crate::panel::post::AdminPost;
use crate::panel::reservations::failure;
use crate::panel::reservations::page::Notice;
use crate::panel::{State, redirect};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use app::AppError;
use domain::AccommodationId;

/// `POST /panel/cabanas/{id}/calendarios`: `canal` (airbnb, booking, otro) and `enlace`.
pub async fn add(state: State, id: web::Path<String>, post: AdminPost<Fields>) -> HttpResponse {
    let AdminPost { who, form } = post;
    let Ok(cabin) = id.parse::<AccommodationId>() else {
        return detail::render(&state, &who, &id, Notice::None).await;
    };
    let refused = |status, words: &str| Notice::Refused(status, words.to_owned());
    let channel = get(&form, "canal").unwrap_or("");
    if !matches!(channel, "airbnb" | "booking" | "otro") {
        let notice = refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Elegí uno de los canales.",
        );
        return detail::render(&state, &who, &id, notice).await;
    }
    let url = get(&form, "enlace").unwrap_or("");
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

/// `POST /panel/cabanas/{id}/calendarios/{feed}/{sincronizar|quitar}`: fetches it now (its
/// health in the table says how it went; a feed that suddenly lists nothing is not applied:
/// the API's `force` is for that, after checking the channel), or stops importing it.
pub async fn act(
    state: State,
    path: web::Path<(String, String, String)>,
    post: AdminPost<Fields>,
) -> HttpResponse {
    let (id, feed, action) = path.into_inner();
    let who = post.who;
    let Ok(cabin) = id.parse::<AccommodationId>() else {
        return detail::render(&state, &who, &id, Notice::None).await;
    };
    let done = match action.as_str() {
        "sincronizar" => match app::calendar::sync_now(&state, cabin, &feed, false).await {
            Ok(outcome) if outcome.healthy => Ok("sincronizado"),
            Ok(_) => Ok("sin-sincronizar"),
            Err(e) => Err(e),
        },
        "quitar" => app::calendar::remove_feed(&state, cabin, &feed)
            .await
            .map(|()| "calendario-quitado"),
        _ => Err(AppError::not_found("no such action")),
    };
    match done {
        Ok(done) => {
            // Bounded wait, so the calendar drawn next shows the nights as they are now.
            let _ = app::reservations::caught_up(&state).await;
            redirect(&format!("/panel/cabanas/{cabin}?hecho={done}"))
        }
        Err(AppError::NotFound(_)) => {
            let words = "Ese calendario ya no se importa.".to_owned();
            let notice = Notice::Refused(StatusCode::NOT_FOUND, words);
            detail::render(&state, &who, &id, notice).await
        }
        Err(err) => failure(err),
    }
}
