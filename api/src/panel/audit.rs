//! `GET /panel/auditoria`: the event log as a timeline (newest first, 100 a page, older pages
//! by position), one reservation as it stood at a date and time (replayed from its stream, as
//! `GET /v1/audit/reservations/{code}?as_of=…` does), and `POST /panel/auditoria/verificar`,
//! which walks the hash chain as `GET /v1/audit/verify` does. Both roles: nothing here changes
//! anything. Only event types, streams, times and actors are shown: never a payload, so a
//! guest's personal data (sealed in the log) never reaches the page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use domain::accommodation::Reservation;
use domain::{AccommodationId, ReservationId};
use eventstore::RecordedEvent;
use serde::Deserialize;
use serde_json::Value;

use super::html::{Html, html, signed_in_page};
use super::reservations::page::{actor_words, event_words};
use super::reservations::{field, local_moment, pesos, status_word};
use super::session::Session;
use super::{CsrfForm, State, forbidden, internal, signed_in};
use crate::audit::{AsOf, replay};
use crate::state::AppState;

/// Events a page of the timeline shows.
const PAGE: i64 = 100;

#[derive(Deserialize, Default)]
pub struct Query {
    /// Events before this global position (the "más viejos" link).
    antes: Option<String>,
    reserva: Option<String>,
    fecha: Option<String>,
    hora: Option<String>,
}

/// `GET /panel/auditoria`.
pub async fn page(state: State, req: HttpRequest, query: web::Query<Query>) -> HttpResponse {
    let who = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    render(&state, &who, &query, Html::default()).await
}

/// `POST /panel/auditoria/verificar`: CSRF-checked, open to both roles (it changes nothing).
pub async fn verify(state: State, req: HttpRequest, form: web::Form<CsrfForm>) -> HttpResponse {
    let who = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if !who.csrf_ok(form.csrf.as_deref()) {
        return forbidden();
    }
    let report = match state.store.verify_chain().await {
        Ok(r) => r,
        Err(err) => return internal(&err.into()),
    };
    let result = match &report.first_break {
        None => html!(
            "<p class=\"ok\" role=\"status\">La cadena está intacta: {} eventos verificados \
             (último en la posición {}).</p>",
            report.verified_events.to_string(),
            report.head_position
        ),
        Some(b) => html!(
            "<p class=\"err\" role=\"alert\">La cadena está rota: {} eventos verificados; el \
             primero que no coincide con su hash está en la posición {} ({}).</p>",
            report.verified_events.to_string(),
            b.position,
            b.reason
        ),
    };
    render(&state, &who, &Query::default(), result).await
}

async fn render(state: &AppState, who: &Session, query: &Query, top: Html) -> HttpResponse {
    let head = match state.store.head_position().await {
        Ok(h) => h,
        Err(err) => return internal(&err.into()),
    };
    // Positions are dense: the page before `antes` is the 100 positions under it.
    let before = field(&query.antes)
        .and_then(|a| a.parse::<i64>().ok())
        .map_or(head + 1, |a| a.clamp(1, head + 1));
    let after = (before - 1 - PAGE).max(0);
    let mut events = match state.store.read_all(after, before - 1 - after).await {
        Ok(e) => e,
        Err(err) => return internal(&err.into()),
    };
    events.reverse();
    let (status, as_of) = match field(&query.reserva) {
        None => (StatusCode::OK, Html::default()),
        Some(code) => match reservation_as_of(state, code, query).await {
            Ok(part) => (StatusCode::OK, part),
            Err((status, words)) if status != StatusCode::INTERNAL_SERVER_ERROR => (
                status,
                html!("<p class=\"err\" role=\"alert\">{}</p>", words),
            ),
            Err((_, words)) => return internal(&anyhow::anyhow!(words)),
        },
    };
    let body = html!(
        "{}<form method=\"post\" action=\"/panel/auditoria/verificar\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\">Verificar la cadena</button></form>\
         <h2>Una reserva en el tiempo</h2>{}{}<h2>Registro de eventos</h2>{}",
        top,
        who.csrf,
        as_of_form(query),
        as_of,
        timeline(&events, after)
    );
    signed_in_page(status, "Auditoría", &who.csrf, body)
}

fn as_of_form(query: &Query) -> Html {
    html!(
        "<form class=\"filter\" method=\"get\" action=\"/panel/auditoria\">\
         <label for=\"reserva\">Reserva</label>\
         <input id=\"reserva\" name=\"reserva\" value=\"{}\" required>\
         <label for=\"fecha\">al</label>\
         <input id=\"fecha\" name=\"fecha\" type=\"date\" value=\"{}\" required>\
         <label for=\"hora\">hora (Argentina)</label>\
         <input id=\"hora\" name=\"hora\" type=\"time\" step=\"1\" value=\"{}\">\
         <button type=\"submit\">Ver</button></form>",
        field(&query.reserva).unwrap_or(""),
        field(&query.fecha).unwrap_or(""),
        field(&query.hora).unwrap_or("")
    )
}

/// The instant the form names: a date and a time (HH:MM or HH:MM:SS, 23:59:59 when left blank)
/// on the owner's clock (Argentina).
fn instant(query: &Query) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(field(&query.fecha)?, "%Y-%m-%d").ok()?;
    let time = match field(&query.hora) {
        None => NaiveTime::from_hms_opt(23, 59, 59)?,
        Some(t) => NaiveTime::parse_from_str(t, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
            .ok()?,
    };
    let offset = domain::accommodation::ARGENTINA_UTC_OFFSET_MINUTES;
    Some(date.and_time(time).and_utc() - chrono::Duration::minutes(i64::from(offset)))
}

type Refused = (StatusCode, String);

/// The reservation as its stream up to that instant left it, and its events until then.
async fn reservation_as_of(state: &AppState, code: &str, query: &Query) -> Result<Html, Refused> {
    let at = instant(query).ok_or((
        StatusCode::UNPROCESSABLE_ENTITY,
        "La fecha tiene que ser AAAA-MM-DD y la hora HH:MM.".to_owned(),
    ))?;
    let code = code.to_uppercase();
    let missing = || {
        (
            StatusCode::NOT_FOUND,
            "No hay ninguna reserva con ese código.".to_owned(),
        )
    };
    let failed = |e: String| (StatusCode::INTERNAL_SERVER_ERROR, e);
    let view = projections::queries::reservation_by_code(&state.db, &code)
        .await
        .map_err(|e| failed(e.to_string()))?
        .ok_or_else(missing)?;
    let acc: AccommodationId = view.accommodation_id.parse().map_err(|_| missing())?;
    let id: ReservationId = view.id.parse().map_err(|_| missing())?;
    let when = local_moment(at);
    let (cabin, seen) = match replay(state, acc, Some(AsOf::Instant(at))).await {
        Ok(r) => r,
        // The cabin itself did not exist yet.
        Err(p) if p.status == 404 => return Ok(not_yet(&code, &when)),
        Err(p) => return Err(failed(p.detail.clone())),
    };
    let Some(r) = cabin.reservation(id) else {
        return Ok(not_yet(&code, &when));
    };
    let events: Vec<&RecordedEvent> = seen
        .iter()
        .filter(|(_, decoded)| decoded.reservation_id() == Some(id))
        .map(|(e, _)| e)
        .collect();
    Ok(html!(
        "<h3>Reserva {} al {}</h3>{}<ol class=\"history\">{}</ol>",
        code,
        when,
        facts(r),
        events.iter().map(|e| story_line(e)).collect::<Html>()
    ))
}

fn not_yet(code: &str, when: &str) -> Html {
    html!(
        "<h3>Reserva {} al {}</h3><p>La reserva todavía no existía a esa hora.</p>",
        code,
        when
    )
}

fn facts(r: &Reservation) -> Html {
    html!(
        "<dl class=\"facts\"><dt>Estado</dt><dd>{}</dd><dt>Estadía</dt><dd>{} → {}</dd>\
         <dt>Personas</dt><dd>{}</dd><dt>Total</dt><dd>{}</dd><dt>Seña</dt><dd>{}</dd>\
         <dt>Pagado</dt><dd>{}</dd></dl>",
        status_word(r.status.into()),
        super::calendar::day_label(r.stay.check_in()),
        super::calendar::day_label(r.stay.check_out()),
        r.guests,
        pesos(r.quote.total),
        pesos(r.quote.deposit),
        pesos(r.amount_paid)
    )
}

fn actor(e: &RecordedEvent) -> &str {
    actor_words(
        e.metadata
            .get("actor")
            .and_then(Value::as_str)
            .unwrap_or(""),
    )
}

/// The event type in words where the reservation page has them, as recorded otherwise.
fn words(event_type: &str) -> &str {
    match event_words(event_type) {
        "Otro cambio" => event_type,
        words => words,
    }
}

fn story_line(e: &RecordedEvent) -> Html {
    html!(
        "<li><time>{}</time> · {} · <small>{}</small></li>",
        local_moment(e.recorded_at),
        words(&e.event_type),
        actor(e)
    )
}

fn timeline(events: &[RecordedEvent], after: i64) -> Html {
    if events.is_empty() {
        return html!("<p>Todavía no hay eventos.</p>");
    }
    let rows: Html = events
        .iter()
        .map(|e| {
            html!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><time>{}</time></td><td>{}</td></tr>",
                e.position.unwrap_or_default(),
                words(&e.event_type),
                e.stream_id,
                local_moment(e.recorded_at),
                actor(e)
            )
        })
        .collect();
    let older = if after > 0 {
        html!(
            "<nav><a href=\"/panel/auditoria?antes={}\">Ver más viejos →</a></nav>",
            after + 1
        )
    } else {
        Html::default()
    };
    html!(
        "<div class=\"scroll\"><table><caption>Eventos, del más nuevo al más viejo</caption>\
         <thead><tr><th scope=\"col\">Posición</th><th scope=\"col\">Evento</th>\
         <th scope=\"col\">Stream</th><th scope=\"col\">Hora</th><th scope=\"col\">Quién</th>\
         </tr></thead><tbody>{}</tbody></table></div>{}",
        rows,
        older
    )
}
