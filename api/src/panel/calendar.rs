//! `GET /panel/calendario?desde=YYYY-MM-DD&semanas=N`: one row per cabin, one column per night,
//! from the availability read model. Each state has a word and a pattern besides its colour.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Datelike, Days, NaiveDate, Weekday};
use projections::queries::{self, NightView};
use serde::Deserialize;

use super::html::{Html, html, refusal, signed_in_page};
use super::session;
use super::{State, internal, see_other};

const DEFAULT_WEEKS: u32 = 5;
const MAX_WEEKS: u32 = 8;

#[derive(Deserialize)]
pub struct Query {
    desde: Option<String>,
    semanas: Option<String>,
}

/// The window asked for: `(first night, weeks)`, or what is wrong with it, in Spanish.
fn window(query: &Query, today: NaiveDate) -> Result<(NaiveDate, u32), &'static str> {
    let from = match query.desde.as_deref().filter(|d| !d.is_empty()) {
        None => today,
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| "La fecha «desde» tiene que ser AAAA-MM-DD.")?,
    };
    let weeks = match query.semanas.as_deref().filter(|w| !w.is_empty()) {
        None => DEFAULT_WEEKS,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|w| (1..=MAX_WEEKS).contains(w))
            .ok_or("«semanas» tiene que ser un número del 1 al 8.")?,
    };
    Ok((from, weeks))
}

pub async fn page_for(state: State, req: HttpRequest, query: web::Query<Query>) -> HttpResponse {
    let now = state.now();
    let signed_in = match session::current(&state.db, &req, now.timestamp_millis()).await {
        Ok(Some(s)) => s,
        Ok(None) => return see_other("/panel/"),
        Err(err) => return internal(&err),
    };
    let (from, weeks) = match window(&query, state.today()) {
        Ok(w) => w,
        Err(why) => return refusal(StatusCode::BAD_REQUEST, "Fecha no válida", why),
    };
    let to = from + Days::new(u64::from(weeks) * 7);
    let cabins = match queries::accommodations(&state.db).await {
        Ok(c) => c,
        Err(err) => return internal(&err.into()),
    };
    let mut rows = Html::default();
    for cabin in &cabins {
        match queries::calendar(&state.db, &cabin.id, from, to, now).await {
            Ok(nights) => rows.push(row(&cabin.name, &nights)),
            Err(err) => return internal(&err.into()),
        }
    }
    let body = html!(
        "{}{}{}",
        navigation(from, weeks),
        legend(),
        table(from, to, weeks, rows, cabins.is_empty())
    );
    signed_in_page(StatusCode::OK, "Calendario", &signed_in.csrf, body)
}

/// Earlier and later windows.
fn navigation(from: NaiveDate, weeks: u32) -> Html {
    let step = Days::new(u64::from(weeks) * 7);
    let link = |date: NaiveDate| format!("/panel/calendario?desde={date}&semanas={weeks}");
    html!(
        "<nav><a href=\"{}\">← Anterior</a><a href=\"/panel/calendario\">Hoy</a>\
         <a href=\"{}\">Siguiente →</a></nav>",
        link(from - step),
        link(from + step)
    )
}

fn legend() -> Html {
    html!(
        "<dl class=\"legend\" aria-label=\"Referencias\">\
         <dt class=\"held\">pendiente</dt><dd>reserva esperando la seña</dd>\
         <dt class=\"confirmed\">confirmada</dt><dd>reserva con seña pagada</dd>\
         <dt class=\"blocked\">bloqueada</dt><dd>bloqueo del dueño</dd>\
         <dt class=\"imported\">Airbnb, Booking…</dt><dd>importada de ese calendario</dd></dl>"
    )
}

fn table(from: NaiveDate, to: NaiveDate, weeks: u32, rows: Html, empty: bool) -> Html {
    if empty {
        return html!("<p>Todavía no hay cabañas registradas.</p>");
    }
    let last = to.pred_opt().unwrap_or(to);
    let header: Html = from
        .iter_days()
        .take_while(|d| *d < to)
        .map(|d| html!("<th scope=\"col\">{}</th>", day_label(d)))
        .collect();
    html!(
        "<div id=\"calendario\" class=\"scroll\" data-eventos=\"/panel/eventos\">\
         <table><caption>Noches del {} al {} ({} semanas)</caption>\
         <thead><tr><th scope=\"col\">Cabaña</th>{}</tr></thead><tbody>{}</tbody></table></div>",
        from.format("%d/%m/%Y").to_string(),
        last.format("%d/%m/%Y").to_string(),
        weeks,
        header,
        rows
    )
}

/// "vie 15/01".
pub fn day_label(date: NaiveDate) -> String {
    let weekday = match date.weekday() {
        Weekday::Mon => "lun",
        Weekday::Tue => "mar",
        Weekday::Wed => "mié",
        Weekday::Thu => "jue",
        Weekday::Fri => "vie",
        Weekday::Sat => "sáb",
        Weekday::Sun => "dom",
    };
    format!("{weekday} {}", date.format("%d/%m"))
}

fn row(name: &str, nights: &[NightView]) -> Html {
    let mut cells = Html::default();
    for (i, night) in nights.iter().enumerate() {
        // The code goes where a stay begins (or where the window cuts into it).
        let starts = i == 0 || !same_stay(&nights[i - 1], night);
        cells.push(cell(night, starts));
    }
    html!("<tr><th scope=\"row\">{}</th>{}</tr>", name, cells)
}

fn same_stay(a: &NightView, b: &NightView) -> bool {
    a.status == b.status
        && a.code == b.code
        && a.source == b.source
        && a.external_uid == b.external_uid
}

/// The class and the word of a night: a block is the owner's when its source is `admin`,
/// otherwise it was imported from the calendar it names.
fn kind(night: &NightView) -> (&'static str, String) {
    let source = night.source.as_deref().unwrap_or("");
    match night.status.as_str() {
        "held" => ("held", "pendiente".into()),
        "confirmed" => ("confirmed", "confirmada".into()),
        "blocked" if source == "admin" => ("blocked", "bloqueada".into()),
        "blocked" => ("imported", source_label(source)),
        "free" => ("free", "libre".into()),
        other => ("other", other.to_owned()),
    }
}

fn source_label(source: &str) -> String {
    match source {
        "airbnb" => "Airbnb".into(),
        "booking" => "Booking".into(),
        "" => "importada".into(),
        other => other.to_owned(),
    }
}

fn cell(night: &NightView, starts: bool) -> Html {
    let (class, word) = kind(night);
    let code = match (&night.code, starts) {
        (Some(code), true) => html!("<span class=\"code\">{}</span>", code),
        _ => Html::default(),
    };
    html!("<td class=\"{}\">{}{}</td>", class, code, word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_headers_read_as_spanish_weekday_and_day_month() {
        let friday = NaiveDate::from_ymd_opt(2027, 1, 15).unwrap();
        assert_eq!(day_label(friday), "vie 15/01");
        assert_eq!(day_label(friday + Days::new(1)), "sáb 16/01");
        assert_eq!(day_label(friday + Days::new(5)), "mié 20/01");
    }

    #[test]
    fn the_window_defaults_to_five_weeks_from_today_and_refuses_nonsense() {
        let today = NaiveDate::from_ymd_opt(2027, 1, 15).unwrap();
        let ask = |desde: Option<&str>, semanas: Option<&str>| Query {
            desde: desde.map(str::to_owned),
            semanas: semanas.map(str::to_owned),
        };
        assert_eq!(window(&ask(None, None), today), Ok((today, 5)));
        assert!(window(&ask(Some("15/01/2027"), None), today).is_err());
        assert!(window(&ask(None, Some("9")), today).is_err());
        assert!(window(&ask(None, Some("0")), today).is_err());
    }
}
