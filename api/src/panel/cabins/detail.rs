//! One cabin's page: details, prices and policies, seasons, answers to guests, the export
//! links (admins only: their token is the calendar's only lock) and the imported calendars; for
//! an admin, the form that changes an answer (`POST /panel/cabanas/{id}/respuestas`).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use chrono::{Days, Weekday};
use domain::accommodation::AccommodationInfo;
use domain::house::Topic;
use domain::payment::CancellationPolicy;
use domain::pricing::SeasonalPrice;
use domain::{AccommodationId, Pricing};
use rust_decimal::Decimal;
use serde_json::Value;

use super::nights;
use crate::auth::Role;
use crate::panel::html::{Html, html, refusal, signed_in_page};
use crate::panel::reservations::page::Notice;
use crate::panel::reservations::{failure, local_moment};
use crate::panel::session::Session;
use crate::state::AppState;

fn not_found() -> HttpResponse {
    refusal(
        StatusCode::NOT_FOUND,
        "Cabaña no encontrada",
        "No hay ninguna cabaña con ese identificador.",
    )
}

pub async fn render(state: &AppState, who: &Session, id: &str, notice: Notice) -> HttpResponse {
    let Ok(id) = id.parse::<AccommodationId>() else {
        return not_found();
    };
    // From the stream, as the admin API's details: the answers are in no read model.
    let cabin = match state.accommodation(id).await {
        Ok(c) => c,
        Err(e) => return failure(e),
    };
    let Some(info) = cabin.info() else {
        return not_found();
    };
    let admin = who.role == Role::Admin;
    let export = if admin {
        match app::calendar::export_urls(state, id).await {
            Ok(urls) => export_links(&urls),
            Err(e) => return failure(e),
        }
    } else {
        html!(
            "<p>Solo un administrador ve estos enlaces: llevan la clave del calendario de la \
             cabaña.</p>"
        )
    };
    let feeds = match app::calendar::list_feeds(state, id).await {
        Ok(f) => f,
        Err(e) => return failure(e),
    };
    let (status, top) = match notice {
        Notice::None => (StatusCode::OK, Html::default()),
        Notice::Done(words) => (
            StatusCode::OK,
            html!("<p class=\"ok\" role=\"status\">{}</p>", words),
        ),
        Notice::Refused(status, words) => (
            status,
            html!("<p class=\"err\" role=\"alert\">{}</p>", words),
        ),
    };
    let answer_form = if admin {
        answer_form(&id.to_string(), &who.csrf)
    } else {
        Html::default()
    };
    let body = html!(
        "{}<p><a href=\"/panel/cabanas\">← Todas las cabañas</a></p>\
         <p>Esta página es de consulta (salvo las respuestas a los huéspedes): los demás \
         cambios se hacen por la API de administración.</p>\
         {}<h2>Precios y condiciones</h2>{}{}<h2>Respuestas a los huéspedes</h2>{}{}\
         <h2>Calendario para Airbnb y Booking</h2>{}<h2>Calendarios importados</h2>{}",
        top,
        facts(info, admin),
        prices(&info.pricing),
        seasons(&info.pricing),
        answers(info),
        answer_form,
        export,
        imported(&feeds, admin)
    );
    signed_in_page(status, &info.name, &who.csrf, body)
}

fn facts(info: &AccommodationInfo, admin: bool) -> Html {
    let directions = match (&info.directions, admin) {
        (Some(d), true) => html!("<dt>Cómo llegar</dt><dd>{}</dd>", d),
        _ => Html::default(),
    };
    html!(
        "<dl class=\"facts\"><dt>Personas</dt><dd>hasta {}</dd><dt>Estadía mínima</dt><dd>{}</dd>\
         <dt>Entrada</dt><dd>desde las {}</dd><dt>Salida</dt><dd>hasta las {}</dd>{}</dl>",
        info.capacity,
        nights(info.min_nights),
        info.check_in_time.format("%H:%M").to_string(),
        info.check_out_time.format("%H:%M").to_string(),
        directions
    )
}

/// `1.25` → `1,25`.
fn decimal(d: Decimal) -> String {
    d.normalize().to_string().replace('.', ",")
}

fn weekday(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "lunes",
        Weekday::Tue => "martes",
        Weekday::Wed => "miércoles",
        Weekday::Thu => "jueves",
        Weekday::Fri => "viernes",
        Weekday::Sat => "sábado",
        Weekday::Sun => "domingo",
    }
}

fn policy(p: CancellationPolicy) -> &'static str {
    match p {
        CancellationPolicy::None => "sin penalidad: se devuelve todo lo pagado",
        CancellationPolicy::Flexible => "flexible",
        CancellationPolicy::Moderate => "moderada",
        CancellationPolicy::Strict => "estricta",
    }
}

fn prices(p: &Pricing) -> Html {
    let weekend: Vec<&str> = p.weekend_nights.iter().map(|d| weekday(*d)).collect();
    html!(
        "<dl class=\"facts\"><dt>Noche base</dt><dd>{}</dd><dt>Fin de semana</dt>\
         <dd>× {} (noches de {})</dd><dt>Limpieza</dt><dd>{}</dd><dt>Seña</dt><dd>{} %</dd>\
         <dt>Cancelación</dt><dd>{}</dd></dl>",
        p.nightly_base.to_string(),
        decimal(p.weekend_multiplier),
        weekend.join(" y "),
        p.cleaning_fee.to_string(),
        decimal(p.deposit_percent),
        policy(p.cancellation)
    )
}

fn seasons(p: &Pricing) -> Html {
    if p.seasons.is_empty() {
        return html!("<p>Sin temporadas: todas las noches parten de la noche base.</p>");
    }
    let items: Html = p
        .seasons
        .iter()
        .map(|s| {
            let price = match &s.price {
                SeasonalPrice::Nightly { price } => format!("{price} la noche"),
                SeasonalPrice::Multiplier { factor } => format!("× {} la base", decimal(*factor)),
            };
            // `until` is the first night out of the season: the last one in is the day before.
            let last = s.until.checked_sub_days(Days::new(1)).unwrap_or(s.until);
            html!(
                "<li><strong>{}</strong>: noches del {} al {}, {}</li>",
                s.label,
                s.from.format("%d/%m/%Y").to_string(),
                last.format("%d/%m/%Y").to_string(),
                price
            )
        })
        .collect();
    html!("<h3>Temporadas</h3><ul>{}</ul>", items)
}

/// One topic, its answer; a blank answer removes the topic's.
fn answer_form(id: &str, csrf: &str) -> Html {
    let options: Html = Topic::ALL
        .iter()
        .map(|t| html!("<option value=\"{}\">{}</option>", t.key(), topic(*t)))
        .collect();
    html!(
        "<h3>Cambiar una respuesta</h3>\
         <form class=\"act\" method=\"post\" action=\"/panel/cabanas/{}/respuestas\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"tema\">Tema</label><select id=\"tema\" name=\"tema\">{}</select>\
         <label for=\"respuesta\">Respuesta (vacía: se borra la del tema)</label>\
         <textarea id=\"respuesta\" name=\"respuesta\" rows=\"3\" maxlength=\"{}\"></textarea>\
         <button type=\"submit\">Guardar respuesta</button></form>",
        id,
        csrf,
        options,
        domain::house::MAX_ANSWER
    )
}

pub fn topic(t: Topic) -> &'static str {
    match t {
        Topic::Pets => "Mascotas",
        Topic::Wifi => "Wi-Fi",
        Topic::Payment => "Pagos",
        Topic::Pool => "Pileta",
        Topic::Grill => "Parrilla",
        Topic::Linen => "Ropa de cama",
        Topic::Babies => "Bebés",
        Topic::Parking => "Estacionamiento",
        Topic::Heating => "Calefacción",
    }
}

fn answers(info: &AccommodationInfo) -> Html {
    if info.answers.is_empty() {
        return html!("<p>Todavía no cargaste respuestas.</p>");
    }
    let items: Html = info
        .answers
        .iter()
        .map(|(t, answer)| html!("<dt>{}</dt><dd>{}</dd>", topic(*t), answer))
        .collect();
    html!("<dl class=\"facts\">{}</dl>", items)
}

fn export_links(urls: &Value) -> Html {
    let link = |key: &str, label: &str| match urls[key].as_str() {
        Some(url) => html!(
            "<dt>{}</dt><dd style=\"word-break:break-all\"><a class=\"ical\" href=\"{}\">{}</a></dd>",
            label,
            url,
            url
        ),
        None => Html::default(),
    };
    html!(
        "<p>Pegá cada enlace en la importación de calendario del canal. No lo compartas: \
         con él se ven las noches ocupadas.</p><dl class=\"facts\">{}{}{}</dl>",
        link("for_airbnb", "Para Airbnb"),
        link("for_booking", "Para Booking"),
        link("url", "Para otros")
    )
}

fn imported(feeds: &[Value], admin: bool) -> Html {
    if feeds.is_empty() {
        return html!("<p>Esta cabaña no importa ningún calendario.</p>");
    }
    let rows: Html = feeds.iter().map(|f| feed_row(f, admin)).collect();
    let secret_head = if admin {
        html!("<th scope=\"col\">Enlace y error</th>")
    } else {
        Html::default()
    };
    html!(
        "<div class=\"scroll\"><table><caption>Calendarios que esta cabaña importa</caption>\
         <thead><tr><th scope=\"col\">Canal</th><th scope=\"col\">Estado</th>\
         <th scope=\"col\">Última sincronización buena</th><th scope=\"col\">Eventos</th>{}\
         </tr></thead><tbody>{}</tbody></table></div>",
        secret_head,
        rows
    )
}

fn feed_row(feed: &Value, admin: bool) -> Html {
    let state = match (feed["healthy"].as_bool(), feed["stale"].as_bool()) {
        (Some(false), _) => "con errores",
        (_, Some(true)) => "desactualizado",
        _ => "al día",
    };
    let last = feed["last_success"]
        .as_str()
        .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
        .map_or_else(|| "nunca".to_owned(), local_moment);
    let events = feed["events"]
        .as_i64()
        .map_or_else(|| "—".to_owned(), |n| n.to_string());
    let secret = if admin {
        html!(
            "<td style=\"word-break:break-all\">{}<br><small>{}</small></td>",
            feed["url"].as_str().unwrap_or(""),
            feed["error"].as_str().unwrap_or("sin errores")
        )
    } else {
        Html::default()
    };
    html!(
        "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td>{}</tr>",
        crate::panel::numbers::figures::channel_label(feed["source"].as_str().unwrap_or("")),
        state,
        last,
        events,
        secret
    )
}
