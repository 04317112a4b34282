//! `GET /panel/reservas?estado=&cabana=&desde=&hasta=&texto=&pagina=`: the reservations,
//! newest placed first, 100 a page, filtered by status, cabin, dates (stays overlapping them)
//! and a code or a guest's name. Each row links to the reservation's page; the pages link to
//! each other with the same filters.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use projections::ReservationStatus;
use projections::queries::{self, AccommodationView, ReservationFilter, ReservationView};
use serde::Deserialize;

use super::{field, pesos, status_word};
use crate::auth::Role;
use crate::panel::calendar::day_label;
use crate::panel::html::{Html, html, refusal, signed_in_page};
use crate::panel::{State, internal, signed_in};

/// The rows one page shows.
const MAX_ROWS: i64 = 100;

/// The last page anyone reaches by hand (the filters find the rest sooner).
const MAX_PAGE: i64 = 10_000;

#[derive(Deserialize, Default)]
pub struct Query {
    estado: Option<String>,
    cabana: Option<String>,
    desde: Option<String>,
    hasta: Option<String>,
    texto: Option<String>,
    /// From 1.
    pagina: Option<String>,
}

impl Query {
    /// The page asked for, from 1.
    fn page(&self) -> Result<i64, &'static str> {
        match field(&self.pagina) {
            None => Ok(1),
            Some(n) => n
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or("Esa página no existe."),
        }
    }

    /// This list's address on page `page`, with the same filters.
    fn link(&self, page: i64) -> String {
        let filters = [
            ("estado", &self.estado),
            ("cabana", &self.cabana),
            ("desde", &self.desde),
            ("hasta", &self.hasta),
            ("texto", &self.texto),
        ];
        let mut link = format!("/panel/reservas?pagina={page}");
        for (key, value) in filters {
            if let Some(v) = field(value) {
                link.push_str(&format!("&{key}={}", encode(v)));
            }
        }
        link
    }
}

/// `value` fit for a query string: letters, digits and `-_.~` as they are, every other byte
/// of its UTF-8 as `%XX`.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The filter the query asks for, or what is wrong with it, in Spanish.
fn filter(q: &Query) -> Result<ReservationFilter, &'static str> {
    let date = |v: &Option<String>| {
        field(v)
            .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d"))
            .transpose()
            .map_err(|_| "Las fechas tienen que ser AAAA-MM-DD.")
    };
    let status = match field(&q.estado) {
        None => None,
        Some(word) => Some(ReservationStatus::parse(word).ok_or("Ese estado no existe.")?),
    };
    Ok(ReservationFilter {
        status,
        from: date(&q.desde)?,
        to: date(&q.hasta)?,
        accommodation_id: field(&q.cabana).map(str::to_owned),
        q: field(&q.texto).map(str::to_owned),
        newest_first: true,
        // One more than a page: whether there is a next one.
        limit: MAX_ROWS + 1,
        offset: (q.page()? - 1) * MAX_ROWS,
        ..ReservationFilter::default()
    })
}

pub async fn list(state: State, req: HttpRequest, query: web::Query<Query>) -> HttpResponse {
    let who = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let wanted = match filter(&query) {
        Ok(f) => f,
        Err(why) => return refusal(StatusCode::BAD_REQUEST, "Filtro no válido", why),
    };
    let cabins = match queries::accommodations(&state.db).await {
        Ok(c) => c,
        Err(err) => return internal(&err.into()),
    };
    let mut found = match queries::search_reservations(&state.db, &wanted).await {
        Ok(r) => r,
        Err(err) => return internal(&err.into()),
    };
    let next = found.len() as i64 > MAX_ROWS;
    found.truncate(MAX_ROWS as usize);
    let show_guest = who.role == Role::Admin;
    let body = html!(
        "{}{}{}",
        form(&query, &cabins),
        rows(&found, show_guest),
        pages(&query, next)
    );
    signed_in_page(StatusCode::OK, "Reservas", &who.csrf, body)
}

/// The filters, as a GET form (a filtered list can be bookmarked and reloaded).
fn form(q: &Query, cabins: &[AccommodationView]) -> Html {
    let chosen = |v: &Option<String>, option: &str| {
        if field(v) == Some(option) {
            html!(" selected")
        } else {
            Html::default()
        }
    };
    let statuses: Html = ReservationStatus::ALL
        .iter()
        .map(|s| {
            let word = s.as_str();
            html!(
                "<option value=\"{}\"{}>{}</option>",
                word,
                chosen(&q.estado, word),
                status_word(*s)
            )
        })
        .collect();
    let cabin_options: Html = cabins
        .iter()
        .map(|c| {
            html!(
                "<option value=\"{}\"{}>{}</option>",
                c.id,
                chosen(&q.cabana, &c.id),
                c.name
            )
        })
        .collect();
    let value = |v: &Option<String>| field(v).unwrap_or("").to_owned();
    html!(
        "<form class=\"filter\" method=\"get\" action=\"/panel/reservas\">\
         <label for=\"estado\">Estado</label><select id=\"estado\" name=\"estado\">\
         <option value=\"\">Todos</option>{}</select>\
         <label for=\"cabana\">Cabaña</label><select id=\"cabana\" name=\"cabana\">\
         <option value=\"\">Todas</option>{}</select>\
         <label for=\"desde\">Desde</label>\
         <input id=\"desde\" name=\"desde\" type=\"date\" value=\"{}\">\
         <label for=\"hasta\">Hasta</label>\
         <input id=\"hasta\" name=\"hasta\" type=\"date\" value=\"{}\">\
         <label for=\"texto\">Código o nombre</label>\
         <input id=\"texto\" name=\"texto\" type=\"search\" value=\"{}\">\
         <button type=\"submit\">Filtrar</button></form>",
        statuses,
        cabin_options,
        value(&q.desde),
        value(&q.hasta),
        value(&q.texto)
    )
}

fn rows(found: &[ReservationView], show_guest: bool) -> Html {
    if found.is_empty() {
        return html!("<p>No hay reservas con esos filtros.</p>");
    }
    let items: Html = found.iter().map(|r| row(r, show_guest)).collect();
    html!("<ol class=\"list\">{}</ol>", items)
}

/// Links to the newer and older pages, when there are.
fn pages(q: &Query, next: bool) -> Html {
    let page = q.page().unwrap_or(1);
    let newer = if page > 1 {
        html!(
            "<a href=\"{}\" rel=\"prev\">← Más nuevas</a>",
            q.link(page - 1)
        )
    } else {
        Html::default()
    };
    let older = if next {
        html!(
            "<a href=\"{}\" rel=\"next\">Más viejas →</a>",
            q.link(page + 1)
        )
    } else {
        Html::default()
    };
    if page == 1 && !next {
        return Html::default();
    }
    html!(
        "<nav aria-label=\"Páginas\">{}<span>Página {}</span>{}</nav>",
        newer,
        page,
        older
    )
}

/// One reservation in a line: code (the link), cabin, nights, status, total, and the guest's
/// name for an admin (an auditor sees no guest details).
fn row(r: &ReservationView, show_guest: bool) -> Html {
    let guest = match (&r.guest.name, show_guest) {
        (Some(name), true) => html!(" · {}", name),
        _ => Html::default(),
    };
    html!(
        "<li><a href=\"/panel/reservas/{}\"><strong>{}</strong></a> · {} · {} → {} · {} · {}{}</li>",
        r.code,
        r.code,
        r.accommodation_name.as_deref().unwrap_or("cabaña"),
        day_label(r.check_in),
        day_label(r.check_out),
        status_word(r.status),
        pesos(r.total),
        guest
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_reads_the_form_and_refuses_nonsense() {
        let q = Query {
            estado: Some("held".into()),
            desde: Some("2027-01-15".into()),
            texto: Some("  ".into()),
            ..Query::default()
        };
        let f = filter(&q).unwrap();
        assert_eq!(f.status, Some(ReservationStatus::Held));
        assert_eq!(f.from, NaiveDate::from_ymd_opt(2027, 1, 15));
        assert_eq!(f.q, None);
        assert!(f.newest_first);
        let bad = Query {
            estado: Some("rara".into()),
            ..Query::default()
        };
        assert!(filter(&bad).is_err());
        let bad = Query {
            hasta: Some("15/01/2027".into()),
            ..Query::default()
        };
        assert!(filter(&bad).is_err());
        for page in ["0", "-1", "x", "10001"] {
            let bad = Query {
                pagina: Some(page.into()),
                ..Query::default()
            };
            assert!(filter(&bad).is_err(), "{page}");
        }
    }

    #[test]
    fn a_page_links_to_the_next_with_the_same_filters_encoded() {
        let q = Query {
            estado: Some("held".into()),
            texto: Some("Pérez & hijos".into()),
            pagina: Some("2".into()),
            ..Query::default()
        };
        assert_eq!(filter(&q).unwrap().offset, 100);
        assert_eq!(
            q.link(3),
            "/panel/reservas?pagina=3&estado=held&texto=P%C3%A9rez%20%26%20hijos"
        );
    }
}
