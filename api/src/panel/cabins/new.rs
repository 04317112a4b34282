//! An admin adding a cabin: `GET /panel/cabanas/nueva` draws the form (name, people, prices
//! and policies; house times and the rest can be changed on its page after), `POST` registers
//! it through the command the admin API's `POST /v1/admin/accommodations` gives.
//!
//! The form carries the new cabin's id, drawn with it: a form sent twice (a double tap, a
//! reload) registers one cabin, and the second answer leads to it as the first did.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use app::AppError;
use chrono::NaiveTime;
use domain::accommodation::{
    AccommodationCommand, MAX_CAPACITY, MAX_NIGHTS, RegisterAccommodation,
};
use domain::{AccommodationId, BookingError};

use super::edit::{Fields, asked_pricing, get, whole};
use super::forms::{POLICIES, input};
use crate::panel::html::{Html, html, within};
use crate::panel::post::AdminPost;
use crate::panel::reservations::{failure, origin, refused};
use crate::panel::session::Session;
use crate::panel::{State, redirect, signed_in};

/// `GET /panel/cabanas/nueva`
pub async fn form(state: State, req: HttpRequest) -> HttpResponse {
    let who = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    draw(&who, StatusCode::OK, Html::default())
}

fn draw(who: &Session, status: StatusCode, top: Html) -> HttpResponse {
    if who.role != crate::auth::Role::Admin {
        let body = html!("<p>Tu usuario es de consulta: puede mirar pero no agregar cabañas.</p>");
        return within(
            StatusCode::FORBIDDEN,
            "Cabañas",
            "Nueva cabaña",
            &who.csrf,
            body,
        );
    }
    let policies: Html = POLICIES
        .iter()
        .map(|(kind, key)| {
            html!(
                "<option value=\"{}\">{}</option>",
                *key,
                super::detail::policy(*kind)
            )
        })
        .collect();
    let amount = html!(" required inputmode=\"decimal\"");
    let body = html!(
        "{}<p><a href=\"/panel/cabanas\">← Todas las cabañas</a></p>\
         <form class=\"act\" method=\"post\" action=\"/panel/cabanas/nueva\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"clave\" value=\"{}\">{}{}{}{}\
         <input type=\"hidden\" name=\"finde\" value=\"vie\">\
         <input type=\"hidden\" name=\"finde\" value=\"sab\">{}{}\
         <label for=\"politica\">Cancelación</label><select id=\"politica\" name=\"politica\">{}\
         </select><p>Entrada desde las 14:00 y salida hasta las 10:00, fin de semana viernes y \
         sábado: se cambian en su página, con las temporadas y las respuestas.</p>\
         <button type=\"submit\">Agregar cabaña</button></form>",
        top,
        &who.csrf,
        AccommodationId::new().to_string(),
        input(
            "nombre",
            "Nombre",
            "text",
            "",
            html!(" required maxlength=\"100\"")
        ),
        input(
            "personas",
            "Personas (como máximo)",
            "number",
            "",
            html!(" required min=\"1\" max=\"{}\"", MAX_CAPACITY)
        ),
        input("noche", "Noche base ($)", "text", "", amount.clone()),
        input("limpieza", "Limpieza ($)", "text", "0", amount.clone()),
        input("sena", "Seña (% del total)", "text", "30", amount),
        input(
            "minimo",
            "Estadía mínima (noches)",
            "number",
            "1",
            html!(" required min=\"1\" max=\"{}\"", MAX_NIGHTS)
        ),
        policies
    );
    within(status, "Cabañas", "Nueva cabaña", &who.csrf, body)
}

/// `POST /panel/cabanas/nueva`: 303 to the new cabin's page; what was typed wrong, 422 with the
/// form again and why.
pub async fn register(state: State, post: AdminPost<Fields>) -> HttpResponse {
    let AdminPost { who, form: fields } = post;
    let wrong = |words: &str| {
        let top = html!("<p class=\"err\" role=\"alert\">{}</p>", words);
        draw(&who, StatusCode::UNPROCESSABLE_ENTITY, top)
    };
    let Some(id) = get(&fields, "clave").and_then(|k| k.parse::<AccommodationId>().ok()) else {
        return wrong("El formulario venció: volvé a cargar la página.");
    };
    let asked = asked(&fields, id);
    let cmd = match asked {
        Ok(cmd) => cmd,
        Err(words) => return wrong(&words),
    };
    let origin = origin(&who).correlated(id.as_uuid());
    match app::execute(&state, id, cmd, &origin).await {
        // Sent twice: the first one registered it.
        Ok(_) | Err(AppError::Domain(BookingError::AlreadyRegistered)) => {
            let _ = app::reservations::caught_up(&state).await;
            redirect(&format!("/panel/cabanas/{id}?hecho=nueva"))
        }
        Err(AppError::Domain(
            BookingError::InvalidPricing(_) | BookingError::InvalidAccommodation(_),
        )) => wrong("Revisá los datos del formulario."),
        Err(err) => match refused(&err) {
            Some((_, words)) => wrong(&words),
            None => failure(err),
        },
    }
}

fn asked(fields: &Fields, id: AccommodationId) -> Result<AccommodationCommand, String> {
    let name = get(fields, "nombre").unwrap_or("");
    if name.is_empty() || name.chars().count() > 100 {
        return Err("El nombre tiene que tener de 1 a 100 caracteres.".into());
    }
    let capacity = whole(fields, "personas", "Personas", MAX_CAPACITY)?;
    let min_nights = whole(fields, "minimo", "La estadía mínima", MAX_NIGHTS)?;
    let hour = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default();
    Ok(AccommodationCommand::Register(RegisterAccommodation {
        accommodation_id: id,
        name: name.to_owned(),
        capacity,
        pricing: asked_pricing(fields, Vec::new())?,
        min_nights,
        check_in_time: hour(14),
        check_out_time: hour(10),
        directions: None,
    }))
}
