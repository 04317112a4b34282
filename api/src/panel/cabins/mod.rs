//! `GET /panel/cabanas` and `GET /panel/cabanas/{id}` (issue 28, item 3): each cabin's details,
//! prices and policies, its answers to guests, the calendar links to give Airbnb and Booking,
//! and the calendars it imports with their health. Read-only but for the answers to guests,
//! which an admin changes here (`POST /panel/cabanas/{id}/respuestas`, the use case of the admin
//! API's `PATCH /v1/admin/accommodations/{id}`); other changes go through the admin API. Both roles may look; what is secret (the export links' token, the imported
//! calendars' URLs and their errors, which can quote those URLs, the directions to the cabin)
//! is shown to an admin only. `detail.rs` draws one cabin.

pub mod detail;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use app::AppError;
use domain::accommodation::{AccommodationCommand, ChangeDetails};
use domain::house::{Answers, Topic};
use domain::{AccommodationId, BookingError};
use projections::queries::{self, AccommodationView};
use serde::Deserialize;

use super::html::{Html, html, refusal, signed_in_page};
use super::reservations::page::Notice;
use super::reservations::{failure, origin, refused};
use super::{State, forbidden, internal, redirect, signed_in};
use crate::auth::Role;

/// `GET /panel/cabanas`
pub async fn list(state: State, req: HttpRequest) -> HttpResponse {
    let who = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let cabins = match queries::accommodations(&state.db).await {
        Ok(c) => c,
        Err(err) => return internal(&err.into()),
    };
    let body = if cabins.is_empty() {
        html!("<p>Todavía no hay cabañas registradas.</p>")
    } else {
        let rows: Html = cabins.iter().map(row).collect();
        html!(
            "<div class=\"scroll\"><table><caption>Tus cabañas (para cambiarlas, la API de \
             administración)</caption><thead><tr><th scope=\"col\">Cabaña</th>\
             <th scope=\"col\">Personas</th><th scope=\"col\">Noche base</th>\
             <th scope=\"col\">Mínimo</th></tr></thead><tbody>{}</tbody></table></div>",
            rows
        )
    };
    signed_in_page(StatusCode::OK, "Cabañas", &who.csrf, body)
}

fn row(cabin: &AccommodationView) -> Html {
    html!(
        "<tr><th scope=\"row\"><a href=\"/panel/cabanas/{}\">{}</a></th><td>{}</td><td>{}</td>\
         <td>{}</td></tr>",
        cabin.id,
        cabin.name,
        cabin.capacity,
        cabin.pricing.nightly_base.to_string(),
        nights(cabin.min_nights)
    )
}

/// "1 noche", "3 noches".
pub fn nights(n: u32) -> String {
    if n == 1 {
        "1 noche".into()
    } else {
        format!("{n} noches")
    }
}

#[derive(Deserialize)]
pub struct Flash {
    /// Set by the redirect after a change: fixed words, the link carries none of its own.
    hecho: Option<String>,
}

/// `GET /panel/cabanas/{id}`
pub async fn show(
    state: State,
    req: HttpRequest,
    id: web::Path<String>,
    flash: web::Query<Flash>,
) -> HttpResponse {
    let who = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let notice = match flash.hecho.as_deref() {
        Some("respuesta") => Notice::Done("Listo: la respuesta quedó guardada."),
        _ => Notice::None,
    };
    detail::render(&state, &who, &id, notice).await
}

#[derive(Deserialize)]
pub struct AnswerForm {
    csrf: Option<String>,
    tema: Option<String>,
    respuesta: Option<String>,
}

/// `POST /panel/cabanas/{id}/respuestas` (admins): sets (or, blank, removes) one topic's answer
/// through the use case of the admin API's `PATCH /v1/admin/accommodations/{id}` with only
/// `answers`, the panel user's email as actor. Done: 303 back to the cabin; refused: the cabin's
/// page again with why, in Spanish.
pub async fn answer(
    state: State,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<AnswerForm>,
) -> HttpResponse {
    let who = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if !who.csrf_ok(form.csrf.as_deref()) {
        return forbidden();
    }
    if who.role != Role::Admin {
        return refusal(
            StatusCode::FORBIDDEN,
            "Acceso denegado",
            "Tu usuario es de consulta: puede ver las cabañas pero no cambiarlas.",
        );
    }
    let Ok(cabin) = id.parse::<AccommodationId>() else {
        return detail::render(&state, &who, &id, Notice::None).await;
    };
    let chosen = form.tema.as_deref().map(str::trim);
    let Some(topic) = Topic::ALL.into_iter().find(|t| Some(t.key()) == chosen) else {
        let notice = Notice::Refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Elegí uno de los temas.".into(),
        );
        return detail::render(&state, &who, &id, notice).await;
    };
    let text = form.respuesta.clone().unwrap_or_default();
    let cmd = AccommodationCommand::ChangeDetails(ChangeDetails {
        name: None,
        capacity: None,
        check_in_time: None,
        check_out_time: None,
        directions: None,
        answers: Some(Answers::from([(topic, text)])),
    });
    let origin = origin(&who).correlated(cabin.as_uuid());
    match app::execute(&state, cabin, cmd, &origin).await {
        Ok(_) => redirect(&format!("/panel/cabanas/{cabin}?hecho=respuesta")),
        // Not a cabin: its page says so.
        Err(AppError::NotFound(_)) => detail::render(&state, &who, &id, Notice::None).await,
        Err(AppError::Domain(BookingError::InvalidAccommodation(_))) => {
            let words = format!(
                "La respuesta puede tener hasta {} caracteres.",
                domain::house::MAX_ANSWER
            );
            let notice = Notice::Refused(StatusCode::UNPROCESSABLE_ENTITY, words);
            detail::render(&state, &who, &id, notice).await
        }
        Err(err) => match refused(&err) {
            Some((status, words)) => {
                let notice = Notice::Refused(status, words);
                detail::render(&state, &who, &id, notice).await
            }
            None => failure(err),
        },
    }
}
