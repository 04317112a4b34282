//! `GET /panel/calendario?desde=YYYY-MM-DD&semanas=N`: one row per cabin, one column per night,
//! from the availability read model. Each state has a word and a pattern besides its colour.
//! Under the table, for an admin, the owner's blocks in the window, each with a button that frees
//! its nights (`POST /panel/calendario/desbloquear`), and the form that blocks free nights (`POST
//! /panel/calendario/bloquear`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use app::AppError;
use chrono::{Days, NaiveDate};
use domain::accommodation::{AccommodationCommand, BlockDates, BlockSource, UnblockDates};
use domain::{AccommodationId, BlockId, BookingError, StayDates};
use projections::queries::StayStatus;
use projections::queries::{self, AccommodationView, ExportedStay, NightView};
use serde::Deserialize;

use super::html::{Html, html, refusal, signed_in_page};
use super::reservations::page::Notice;
use super::reservations::{failure, field, origin, refused};
use super::session::{self, Session};
use super::{State, internal, redirect, see_other};
use crate::auth::Role;
use crate::panel::post::AdminPost;
use crate::state::AppState;

const DEFAULT_WEEKS: u32 = 5;
const MAX_WEEKS: u32 = 8;

#[derive(Deserialize)]
pub struct Query {
    desde: Option<String>,
    semanas: Option<String>,
    /// Set by the redirect after a block: fixed words, the link carries none of its own.
    hecho: Option<String>,
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
    let who = match session::current(&state.db, &req, state.now().timestamp_millis()).await {
        Ok(Some(s)) => s,
        Ok(None) => return see_other("/panel/"),
        Err(err) => return internal(&err),
    };
    let (from, weeks) = match window(&query, state.today()) {
        Ok(w) => w,
        Err(why) => return refusal(StatusCode::BAD_REQUEST, "Fecha no válida", why),
    };
    let notice = match query.hecho.as_deref() {
        Some("bloqueo") => Notice::Done("Listo: las noches quedaron bloqueadas."),
        Some("desbloqueo") => Notice::Done("Listo: las noches quedaron libres."),
        _ => Notice::None,
    };
    render(&state, &who, from, weeks, notice).await
}

/// The calendar from `from` for `weeks` weeks, with `notice` on top (its status is the
/// notice's, 200 otherwise) and, for an admin, the form that blocks nights under the table.
async fn render(
    state: &AppState,
    who: &Session,
    from: NaiveDate,
    weeks: u32,
    notice: Notice,
) -> HttpResponse {
    let now = state.now();
    let to = from + Days::new(u64::from(weeks) * 7);
    let cabins = match queries::accommodations(&state.db).await {
        Ok(c) => c,
        Err(err) => return internal(&err.into()),
    };
    let admin = who.role == Role::Admin;
    let mut rows = Html::default();
    let mut blocks = Html::default();
    for cabin in &cabins {
        match queries::calendar(&state.db, &cabin.id, from, to, now).await {
            Ok(nights) => rows.push(row(&cabin.name, &nights)),
            Err(err) => return internal(&err.into()),
        }
        if admin {
            // Every source but "" (none has it): the owner's blocks are picked out below.
            match queries::stays_to_export(&state.db, &cabin.id, from, "").await {
                Ok(stays) => blocks.push(owner_blocks(cabin, &stays, to, &who.csrf)),
                Err(err) => return internal(&err.into()),
            }
        }
    }
    let (status, top) = notice.shown();
    let form = if admin && !cabins.is_empty() {
        block_form(&cabins, &who.csrf)
    } else {
        Html::default()
    };
    let blocks = if blocks.as_str().is_empty() {
        Html::default()
    } else {
        html!("<h2>Noches bloqueadas por vos</h2><ul>{}</ul>", blocks)
    };
    let body = html!(
        "{}{}{}{}{}{}",
        top,
        navigation(from, weeks),
        legend(),
        table(from, to, weeks, rows, cabins.is_empty()),
        blocks,
        form
    );
    signed_in_page(status, "Calendario", &who.csrf, body)
}

/// The owner's blocks of `cabin` that overlap the window (ending after its first night, which
/// `stays` already are, and starting before `to`), each with its "Desbloquear" form.
fn owner_blocks(
    cabin: &AccommodationView,
    stays: &[ExportedStay],
    to: NaiveDate,
    csrf: &str,
) -> Html {
    stays
        .iter()
        .filter(|s| s.status == StayStatus::Blocked && s.source == "admin" && s.check_in < to)
        .map(|s| {
            let last = s.check_out.pred_opt().unwrap_or(s.check_out);
            let nights = format!(
                "noches del {} al {}",
                s.check_in.format("%d/%m/%Y"),
                last.format("%d/%m/%Y")
            );
            html!(
                "<li>{}: {} <form style=\"display:inline\" method=\"post\" \
                 action=\"/panel/calendario/desbloquear\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                 <input type=\"hidden\" name=\"cabana\" value=\"{}\">\
                 <input type=\"hidden\" name=\"bloqueo\" value=\"{}\">\
                 <input type=\"hidden\" name=\"desde\" value=\"{}\">\
                 <button type=\"submit\" aria-label=\"Desbloquear {} de {}\">Desbloquear</button>\
                 </form></li>",
                cabin.name,
                nights,
                csrf,
                cabin.id,
                s.occupant_id,
                s.check_in.to_string(),
                nights,
                cabin.name
            )
        })
        .collect()
}

/// "Bloquear noches": a cabin, the first night and the day after the last, a note.
fn block_form(cabins: &[AccommodationView], csrf: &str) -> Html {
    let options: Html = cabins
        .iter()
        .map(|c| html!("<option value=\"{}\">{}</option>", c.id, c.name))
        .collect();
    html!(
        "<h2>Bloquear noches</h2>\
         <form class=\"act\" method=\"post\" action=\"/panel/calendario/bloquear\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"cabana\">Cabaña</label><select id=\"cabana\" name=\"cabana\">{}</select>\
         <label for=\"desde\">Desde (primera noche)</label>\
         <input id=\"desde\" name=\"desde\" type=\"date\" required>\
         <label for=\"hasta\">Hasta (día de salida)</label>\
         <input id=\"hasta\" name=\"hasta\" type=\"date\" required>\
         <label for=\"nota\">Nota</label><input id=\"nota\" name=\"nota\" maxlength=\"200\">\
         <button type=\"submit\">Bloquear</button></form>",
        csrf,
        options
    )
}

#[derive(Deserialize)]
pub struct BlockForm {
    csrf: Option<String>,
    cabana: Option<String>,
    desde: Option<String>,
    hasta: Option<String>,
    nota: Option<String>,
}

crate::panel::post::csrf_field!(BlockForm, UnblockForm);

/// `POST /panel/calendario/bloquear` (admins): blocks free nights through the use case the
/// admin API's `POST /v1/admin/accommodations/{id}/blocks` calls, with the panel user's email
/// as actor. Done: 303 to the calendar from the first night; refused: the calendar again with
/// why, in Spanish (409 nights taken, 422 what was typed).
pub async fn block(state: State, post: AdminPost<BlockForm>) -> HttpResponse {
    let AdminPost { who, form } = post;
    let today = state.today();
    let date =
        |v: &Option<String>| field(v).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let (check_in, check_out) = match (date(&form.desde), date(&form.hasta)) {
        (Some(a), Some(b)) => (a, b),
        _ => {
            let words = "Las fechas tienen que ser AAAA-MM-DD.".to_owned();
            let notice = Notice::Refused(StatusCode::UNPROCESSABLE_ENTITY, words);
            return render(&state, &who, today, DEFAULT_WEEKS, notice).await;
        }
    };
    let Some(id) = field(&form.cabana).and_then(|c| c.parse::<AccommodationId>().ok()) else {
        let words = "Elegí una de las cabañas.".to_owned();
        let notice = Notice::Refused(StatusCode::UNPROCESSABLE_ENTITY, words);
        return render(&state, &who, today, DEFAULT_WEEKS, notice).await;
    };
    let shown_from = check_in.max(today);
    let outcome = match StayDates::new(check_in, check_out) {
        Err(e) => Err(AppError::Domain(e)),
        Ok(stay) => {
            let block_id = BlockId::new();
            let cmd = AccommodationCommand::BlockDates(BlockDates {
                block_id,
                stay,
                source: BlockSource::Admin,
                note: field(&form.nota).map(str::to_owned),
            });
            let origin = origin(&who).correlated(block_id.as_uuid());
            app::execute(&state, id, cmd, &origin).await
        }
    };
    match outcome {
        Ok(_) => {
            // Bounded wait, so the calendar drawn next shows the block.
            let _ = app::reservations::caught_up(&state).await;
            redirect(&format!(
                "/panel/calendario?desde={shown_from}&hecho=bloqueo"
            ))
        }
        Err(AppError::NotFound(_)) => {
            let words = "Esa cabaña no existe.".to_owned();
            let notice = Notice::Refused(StatusCode::UNPROCESSABLE_ENTITY, words);
            render(&state, &who, today, DEFAULT_WEEKS, notice).await
        }
        Err(err) => match refused(&err) {
            Some((status, words)) => {
                let notice = Notice::Refused(status, words);
                render(&state, &who, shown_from, DEFAULT_WEEKS, notice).await
            }
            None => failure(err),
        },
    }
}

#[derive(Deserialize)]
pub struct UnblockForm {
    csrf: Option<String>,
    cabana: Option<String>,
    bloqueo: Option<String>,
    /// The block's first night: the calendar comes back from there.
    desde: Option<String>,
}

/// `POST /panel/calendario/desbloquear` (admins): frees an owner's block through the use case
/// the admin API's `DELETE /v1/admin/accommodations/{id}/blocks/{block_id}` calls, with the
/// panel user's email as actor. Done: 303 to the calendar; refused: the calendar again with why.
pub async fn unblock(state: State, post: AdminPost<UnblockForm>) -> HttpResponse {
    let AdminPost { who, form } = post;
    let today = state.today();
    let shown_from = field(&form.desde)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .map_or(today, |d| d.max(today));
    let gone = |words: &str| Notice::Refused(StatusCode::NOT_FOUND, words.to_owned());
    let Some(id) = field(&form.cabana).and_then(|c| c.parse::<AccommodationId>().ok()) else {
        return render(
            &state,
            &who,
            today,
            DEFAULT_WEEKS,
            gone("Esa cabaña no existe."),
        )
        .await;
    };
    let Some(block_id) = field(&form.bloqueo).and_then(|b| b.parse::<BlockId>().ok()) else {
        let notice = gone("Ese bloqueo ya no existe.");
        return render(&state, &who, shown_from, DEFAULT_WEEKS, notice).await;
    };
    let cmd = AccommodationCommand::UnblockDates(UnblockDates { block_id });
    let origin = origin(&who).correlated(block_id.as_uuid());
    match app::execute(&state, id, cmd, &origin).await {
        Ok(_) => {
            let _ = app::reservations::caught_up(&state).await;
            redirect(&format!(
                "/panel/calendario?desde={shown_from}&hecho=desbloqueo"
            ))
        }
        Err(AppError::NotFound(_)) => {
            render(
                &state,
                &who,
                today,
                DEFAULT_WEEKS,
                gone("Esa cabaña no existe."),
            )
            .await
        }
        Err(AppError::Domain(BookingError::BlockNotFound(_))) => {
            let notice = gone("Ese bloqueo ya no existe: las noches ya estaban libres.");
            render(&state, &who, shown_from, DEFAULT_WEEKS, notice).await
        }
        Err(err) => match refused(&err) {
            Some((status, words)) => {
                let notice = Notice::Refused(status, words);
                render(&state, &who, shown_from, DEFAULT_WEEKS, notice).await
            }
            None => failure(err),
        },
    }
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

/// "vie 15/01": dates as the guests' messages show them.
pub use conversation::dialogue::day_label;

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
            hecho: None,
        };
        assert_eq!(window(&ask(None, None), today), Ok((today, 5)));
        assert!(window(&ask(Some("15/01/2027"), None), today).is_err());
        assert!(window(&ask(None, Some("9")), today).is_err());
        assert!(window(&ask(None, Some("0")), today).is_err());
    }
}
