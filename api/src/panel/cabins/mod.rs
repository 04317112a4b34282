//! `GET /panel/cabanas` and `GET /panel/cabanas/{id}` (issue 28, item 3): each cabin's details,
//! prices, seasons and policies, its answers to guests, the calendar links to give Airbnb and
//! Booking, and the calendars it imports with their health. Both roles may look; an admin also
//! changes all of it there, adds a cabin, and adds, fetches or removes an imported calendar.
//! What is secret (the export links' token, the imported calendars' URLs and their errors,
//! which can quote those URLs, the directions to the cabin) is shown to an admin only.
//!
//! `detail.rs` draws one cabin; `forms.rs` its forms; `edit.rs` takes the changes, `feeds.rs`
//! the imported calendars, `new.rs` a new cabin.

pub mod detail;
pub mod edit;
pub mod feeds;
pub mod forms;
pub mod new;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use projections::queries::{self, AccommodationView};
use serde::Deserialize;

use super::html::{Html, html, signed_in_page};
use super::reservations::page::Notice;
use super::{State, internal, signed_in};
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
    let add = if who.role == Role::Admin {
        html!("<p><a href=\"/panel/cabanas/nueva\">Agregar una cabaña</a></p>")
    } else {
        Html::default()
    };
    let table = if cabins.is_empty() {
        html!("<p>Todavía no hay cabañas registradas.</p>")
    } else {
        let rows: Html = cabins.iter().map(row).collect();
        html!(
            "<div class=\"scroll\"><table><caption>Tus cabañas (cada una se cambia en su \
             página)</caption><thead><tr><th scope=\"col\">Cabaña</th>\
             <th scope=\"col\">Personas</th><th scope=\"col\">Noche base</th>\
             <th scope=\"col\">Mínimo</th></tr></thead><tbody>{}</tbody></table></div>",
            rows
        )
    };
    signed_in_page(
        StatusCode::OK,
        "Cabañas",
        &who.csrf,
        html!("{}{}", add, table),
    )
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

/// What the redirect after a change says it did.
fn done_words(done: &str) -> Option<&'static str> {
    Some(match done {
        "nueva" => "Listo: la cabaña quedó registrada. Ya se puede reservar.",
        "datos" => "Listo: los datos quedaron guardados.",
        "precios" => "Listo: los precios quedaron guardados (valen para las reservas nuevas).",
        "temporada" => "Listo: la temporada quedó agregada.",
        "temporada-quitada" => "Listo: la temporada ya no se aplica.",
        "respuesta" => "Listo: la respuesta quedó guardada.",
        "calendario" => "Listo: el calendario se va a importar en los próximos minutos.",
        "calendario-quitado" => {
            "Listo: ya no se importa ese calendario y sus noches quedaron libres."
        }
        "sincronizado" => "Listo: el calendario se trajo recién.",
        "sin-sincronizar" => "El calendario no se pudo traer: su estado dice por qué.",
        _ => return None,
    })
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
    let notice = Notice::done(flash.hecho.as_deref(), done_words);
    detail::render(&state, &who, &id, notice).await
}
