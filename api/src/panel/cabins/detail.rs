//! One cabin's page: details, prices and policies, seasons, answers to guests, the export
//! links (admins only: their token is the calendar's only lock) and the imported calendars;
//! for an admin, under each part, the forms that change it (`forms.rs`).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use domain::accommodation::AccommodationInfo;
use domain::house::Topic;
use domain::payment::CancellationPolicy;
use domain::pricing::SeasonalPrice;
use domain::{AccommodationId, Pricing};
use rust_decimal::Decimal;
use serde_json::Value;

use super::{forms, nights};
use crate::auth::Role;
use crate::panel::html::{Html, html, refusal, within};
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
    let (status, top) = notice.shown();
    let key = id.to_string();
    // An admin's forms, each under the part it changes; nothing for an auditor.
    let form = |draw: &dyn Fn() -> Html| if admin { draw() } else { Html::default() };
    let body = html!(
        "{}<p><a href=\"/panel/cabanas\">← Todas las cabañas</a> · \
         <a href=\"/panel/calendario\">Calendario</a></p>{}{}\
         <h2>Precios y condiciones</h2>{}{}{}{}<h2>Respuestas a los huéspedes</h2>{}{}\
         <h2>Calendario para Airbnb y Booking</h2>{}<h2>Calendarios importados</h2>{}{}",
        top,
        facts(info, admin),
        form(&|| forms::details(info, &key, &who.csrf)),
        prices(&info.pricing),
        form(&|| forms::pricing(info, &key, &who.csrf)),
        seasons(
            &info.pricing,
            admin.then_some((key.as_str(), who.csrf.as_str()))
        ),
        form(&|| forms::add_season(&key, &who.csrf)),
        answers(info),
        form(&|| forms::answer(&key, &who.csrf)),
        export,
        imported(&feeds, admin.then_some((key.as_str(), who.csrf.as_str()))),
        form(&|| forms::add_feed(&key, &who.csrf))
    );
    within(status, "Cabañas", &info.name, &who.csrf, body)
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

/// "viernes": a weekday as the owner reads it.
pub use conversation::nlu::weekday_name as weekday;

pub fn policy(p: CancellationPolicy) -> &'static str {
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

/// The seasons in the order they are checked; for an admin (`edit`: the cabin's id and the
/// session's CSRF token), each with its button to remove it.
fn seasons(p: &Pricing, edit: Option<(&str, &str)>) -> Html {
    if p.seasons.is_empty() {
        return html!("<p>Sin temporadas: todas las noches parten de la noche base.</p>");
    }
    let items: Html = p
        .seasons
        .iter()
        .enumerate()
        .map(|(n, s)| {
            let price = match &s.price {
                SeasonalPrice::Nightly { price } => format!("{price} la noche"),
                SeasonalPrice::Multiplier { factor } => format!("× {} la base", decimal(*factor)),
            };
            let remove = match edit {
                Some((id, csrf)) => forms::remove_season(id, csrf, n, s),
                None => Html::default(),
            };
            html!(
                "<li><strong>{}</strong>: {}, {} {}</li>",
                s.label,
                forms::season_nights(s),
                price,
                remove
            )
        })
        .collect();
    html!(
        "<h3>Temporadas</h3><p>Si dos se superponen, vale la de más arriba.</p><ul>{}</ul>",
        items
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

/// The imported calendars; for an admin (`edit`: the cabin's id and the session's CSRF
/// token), with their links, errors and buttons.
fn imported(feeds: &[Value], edit: Option<(&str, &str)>) -> Html {
    if feeds.is_empty() {
        return html!("<p>Esta cabaña no importa ningún calendario.</p>");
    }
    let rows: Html = feeds.iter().map(|f| feed_row(f, edit)).collect();
    let secret_head = if edit.is_some() {
        html!("<th scope=\"col\">Enlace y error</th><th scope=\"col\">Acciones</th>")
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

fn feed_row(feed: &Value, edit: Option<(&str, &str)>) -> Html {
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
    let secret = if let Some((id, csrf)) = edit {
        html!(
            "<td style=\"word-break:break-all\">{}<br><small>{}</small></td>{}",
            feed["url"].as_str().unwrap_or(""),
            feed["error"].as_str().unwrap_or("sin errores"),
            forms::feed_actions(id, csrf, feed)
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
