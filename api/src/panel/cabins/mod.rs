//! `GET /panel/cabanas` and `GET /panel/cabanas/{id}` (issue 28, item 3): each cabin's details,
//! prices and policies, its answers to guests, the calendar links to give Airbnb and Booking,
//! and the calendars it imports with their health. Read-only: changes still go through the
//! admin API. Both roles may look; what is secret (the export links' token, the imported
//! calendars' URLs and their errors, which can quote those URLs, the directions to the cabin)
//! is shown to an admin only. `detail.rs` draws one cabin.

pub mod detail;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use projections::queries::{self, AccommodationView};

use super::html::{Html, html, signed_in_page};
use super::{State, internal, signed_in};

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

/// `GET /panel/cabanas/{id}`
pub async fn show(state: State, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let who = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    detail::render(&state, &who, &id).await
}
