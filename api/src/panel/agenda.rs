//! `GET /panel/agenda` (both roles): who arrives and who leaves today and tomorrow, on the
//! cabins' clock, as the owner's WhatsApp "agenda" answers it and from the same queries
//! (`app::arrivals`). Each reservation code links to its page; the guests' names are shown to
//! an admin only.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use app::arrivals::Arrival;
use chrono::{Days, NaiveDate};
use projections::queries::{self, DepartureView};

use super::calendar::day_label;
use super::html::{Html, html, signed_in_page};
use super::reservations::{failure, pesos};
use super::{State, internal, signed_in};
use crate::auth::Role;

/// How many of each a day lists at most (the WhatsApp agenda's bound).
const LIMIT: i64 = 200;

pub async fn page(state: State, req: HttpRequest) -> HttpResponse {
    let who = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let now = match app::arrivals::owner_time(&state, state.now()).await {
        Ok(n) => n,
        Err(e) => return failure(e),
    };
    let Some(now) = now else {
        let body = html!("<p>Todavía no hay cabañas registradas.</p>");
        return signed_in_page(StatusCode::OK, "Agenda", &who.csrf, body);
    };
    let admin = who.role == Role::Admin;
    let today = now.date();
    let mut body = Html::default();
    for (heading, day) in [("Hoy", today), ("Mañana", today + Days::new(1))] {
        let arriving = match app::arrivals::arrivals(&state, day, day, LIMIT).await {
            Ok(a) => a,
            Err(e) => return failure(e),
        };
        let leaving = match queries::confirmed_departures(&state.db, day, LIMIT).await {
            Ok(d) => d,
            Err(err) => return internal(&err.into()),
        };
        body.push(day_section(heading, day, &arriving, &leaving, admin));
    }
    signed_in_page(StatusCode::OK, "Agenda", &who.csrf, body)
}

fn day_section(
    heading: &str,
    day: NaiveDate,
    arriving: &[Arrival],
    leaving: &[DepartureView],
    admin: bool,
) -> Html {
    let guest = |name: &Option<String>| match (name, admin) {
        (Some(name), true) => html!(" · {}", name),
        _ => Html::default(),
    };
    let arrivals: Html = arriving
        .iter()
        .map(|a| {
            let people = if a.guests == 1 {
                "1 persona".to_owned()
            } else {
                format!("{} personas", a.guests)
            };
            html!(
                "<li><a href=\"/panel/reservas/{}\">{}</a> · {} · {}{} · a cobrar {}</li>",
                a.code,
                a.code,
                a.cabin,
                people,
                guest(&a.guest),
                pesos(a.due)
            )
        })
        .collect();
    let departures: Html = leaving
        .iter()
        .map(|d| {
            html!(
                "<li><a href=\"/panel/reservas/{}\">{}</a> · {}{}</li>",
                d.code,
                d.code,
                d.cabin,
                guest(&d.guest)
            )
        })
        .collect();
    let list = |items: Html, none: &str| {
        if items.as_str().is_empty() {
            html!("<p>{}</p>", none)
        } else {
            html!("<ul>{}</ul>", items)
        }
    };
    html!(
        "<section><h2>{}, {}</h2><h3>Llegan</h3>{}<h3>Se van</h3>{}</section>",
        heading,
        day_label(day),
        list(arrivals, "No llega nadie."),
        list(departures, "No se va nadie.")
    )
}
