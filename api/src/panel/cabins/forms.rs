//! The forms an admin changes a cabin with, drawn filled with what the cabin has now, each
//! folded in a `<details>` so the page stays short on a phone: its details, its prices and
//! policies, a season added or removed, an answer to guests, an imported calendar added,
//! fetched now or removed. `edit.rs` and `feeds.rs` take what they send.

use chrono::{Days, Weekday};
use domain::accommodation::AccommodationInfo;
use domain::house::Topic;
use domain::payment::CancellationPolicy;
use domain::pricing::SeasonalRate;
use rust_decimal::Decimal;
use serde_json::Value;

use super::detail::{policy, topic, weekday};
use crate::panel::html::{Html, html};
use crate::panel::reservations::plain;

/// A form posting to `/panel/cabanas/{id}/{action}`, folded under `title`.
fn folded(title: &str, id: &str, action: &str, csrf: &str, fields: Html, button: &str) -> Html {
    html!(
        "<details><summary>{}</summary>\
         <form class=\"act\" method=\"post\" action=\"/panel/cabanas/{}/{}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">{}\
         <button type=\"submit\">{}</button></form></details>",
        title,
        id,
        action,
        csrf,
        fields,
        button
    )
}

/// A labelled text input; `kind` is its HTML type (`text`, `time`, `date`, `url`).
pub fn input(name: &str, label: &str, kind: &str, value: &str, extra: Html) -> Html {
    html!(
        "<label for=\"{}\">{}</label>\
         <input id=\"{}\" name=\"{}\" type=\"{}\" value=\"{}\"{}>",
        name,
        label,
        name,
        name,
        kind,
        value,
        extra
    )
}

/// Name, people, check-in and check-out times, directions.
pub fn details(info: &AccommodationInfo, id: &str, csrf: &str) -> Html {
    let fields = html!(
        "{}{}{}{}<label for=\"como_llegar\">Cómo llegar (se manda con la confirmación; vacío: \
         nada)</label><textarea id=\"como_llegar\" name=\"como_llegar\" rows=\"3\" \
         maxlength=\"{}\">{}</textarea>",
        input(
            "nombre",
            "Nombre",
            "text",
            &info.name,
            html!(" required maxlength=\"100\"")
        ),
        input(
            "personas",
            "Personas (como máximo)",
            "number",
            &info.capacity.to_string(),
            html!(
                " required min=\"1\" max=\"{}\"",
                domain::accommodation::MAX_CAPACITY
            )
        ),
        input(
            "entrada",
            "Entrada desde las",
            "time",
            &info.check_in_time.format("%H:%M").to_string(),
            html!(" required")
        ),
        input(
            "salida",
            "Salida hasta las",
            "time",
            &info.check_out_time.format("%H:%M").to_string(),
            html!(" required")
        ),
        domain::accommodation::MAX_DIRECTIONS,
        info.directions.as_deref().unwrap_or("")
    );
    folded(
        "Cambiar los datos",
        id,
        "datos",
        csrf,
        fields,
        "Guardar datos",
    )
}

/// `1.2` → `20` (the surcharge, in percent, an owner thinks in).
fn surcharge(multiplier: Decimal) -> String {
    ((multiplier - Decimal::ONE) * Decimal::ONE_HUNDRED)
        .normalize()
        .to_string()
        .replace('.', ",")
}

const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// The weekday's key in the form (`vie`), read back by `edit.rs`.
pub fn weekday_key(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "lun",
        Weekday::Tue => "mar",
        Weekday::Wed => "mie",
        Weekday::Thu => "jue",
        Weekday::Fri => "vie",
        Weekday::Sat => "sab",
        Weekday::Sun => "dom",
    }
}

pub fn weekday_of(key: &str) -> Option<Weekday> {
    WEEK.into_iter().find(|d| weekday_key(*d) == key)
}

/// The policy's key in the form, read back by `edit.rs`.
pub const POLICIES: [(CancellationPolicy, &str); 4] = [
    (CancellationPolicy::None, "ninguna"),
    (CancellationPolicy::Flexible, "flexible"),
    (CancellationPolicy::Moderate, "moderada"),
    (CancellationPolicy::Strict, "estricta"),
];

/// Nightly base, cleaning, weekend surcharge and nights, deposit, cancellation, minimum stay.
pub fn pricing(info: &AccommodationInfo, id: &str, csrf: &str) -> Html {
    let p = &info.pricing;
    let weekend: Html = WEEK
        .into_iter()
        .map(|d| {
            let checked = if p.weekend_nights.contains(&d) {
                html!(" checked")
            } else {
                Html::default()
            };
            html!(
                "<label><input type=\"checkbox\" name=\"finde\" value=\"{}\"{}> {}</label>",
                weekday_key(d),
                checked,
                weekday(d)
            )
        })
        .collect();
    let policies: Html = POLICIES
        .iter()
        .map(|(policy_kind, key)| {
            let selected = if *policy_kind == p.cancellation {
                html!(" selected")
            } else {
                Html::default()
            };
            html!(
                "<option value=\"{}\"{}>{}</option>",
                *key,
                selected,
                policy(*policy_kind)
            )
        })
        .collect();
    let amount = html!(" required inputmode=\"decimal\"");
    let fields = html!(
        "{}{}{}<fieldset><legend>Noches de fin de semana</legend>{}</fieldset>{}\
         <label for=\"politica\">Cancelación</label><select id=\"politica\" name=\"politica\">{}\
         </select>{}",
        input(
            "noche",
            "Noche base ($)",
            "text",
            &plain(p.nightly_base),
            amount.clone()
        ),
        input(
            "limpieza",
            "Limpieza ($)",
            "text",
            &plain(p.cleaning_fee),
            amount.clone()
        ),
        input(
            "recargo_finde",
            "Recargo de fin de semana (%; 0: ninguno)",
            "text",
            &surcharge(p.weekend_multiplier),
            amount.clone()
        ),
        weekend,
        input(
            "sena",
            "Seña (% del total)",
            "text",
            &p.deposit_percent.normalize().to_string().replace('.', ","),
            amount
        ),
        policies,
        input(
            "minimo",
            "Estadía mínima (noches)",
            "number",
            &info.min_nights.to_string(),
            html!(
                " required min=\"1\" max=\"{}\"",
                domain::accommodation::MAX_NIGHTS
            )
        )
    );
    folded(
        "Cambiar precios y condiciones",
        id,
        "precios",
        csrf,
        fields,
        "Guardar precios",
    )
}

/// A season: its name, first and last night, and a price per night or a surcharge.
pub fn add_season(id: &str, csrf: &str) -> Html {
    let fields = html!(
        "{}{}{}<p>Un precio por noche, o un recargo sobre la noche base (uno de los dos).</p>{}{}",
        input(
            "titulo",
            "Nombre de la temporada (p. ej. Verano)",
            "text",
            "",
            html!(" required maxlength=\"60\"")
        ),
        input("desde", "Primera noche", "date", "", html!(" required")),
        input("hasta", "Última noche", "date", "", html!(" required")),
        input(
            "precio",
            "Precio por noche ($)",
            "text",
            "",
            html!(" inputmode=\"decimal\"")
        ),
        input(
            "recargo",
            "Recargo (%)",
            "text",
            "",
            html!(" inputmode=\"decimal\"")
        )
    );
    folded(
        "Agregar una temporada",
        id,
        "temporadas",
        csrf,
        fields,
        "Agregar temporada",
    )
}

/// A button that removes the `n`th season; its name goes along, so a list changed meanwhile
/// by someone else does not lose the wrong one.
pub fn remove_season(id: &str, csrf: &str, n: usize, season: &SeasonalRate) -> Html {
    html!(
        "<form class=\"inline\" method=\"post\" action=\"/panel/cabanas/{}/temporadas/quitar\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"temporada\" value=\"{}\">\
         <input type=\"hidden\" name=\"nombre\" value=\"{}\">\
         <button type=\"submit\" aria-label=\"Quitar la temporada {}\">Quitar</button></form>",
        id,
        csrf,
        n,
        season.label,
        season.label
    )
}

/// A season's nights as the owner reads them: `until` is the first night out of it.
pub fn season_nights(s: &SeasonalRate) -> String {
    let last = s.until.checked_sub_days(Days::new(1)).unwrap_or(s.until);
    format!(
        "noches del {} al {}",
        s.from.format("%d/%m/%Y"),
        last.format("%d/%m/%Y")
    )
}

/// One topic, its answer; a blank answer removes the topic's.
pub fn answer(id: &str, csrf: &str) -> Html {
    let options: Html = Topic::ALL
        .iter()
        .map(|t| html!("<option value=\"{}\">{}</option>", t.key(), topic(*t)))
        .collect();
    let fields = html!(
        "<label for=\"tema\">Tema</label><select id=\"tema\" name=\"tema\">{}</select>\
         <label for=\"respuesta\">Respuesta (vacía: se borra la del tema)</label>\
         <textarea id=\"respuesta\" name=\"respuesta\" rows=\"3\" maxlength=\"{}\"></textarea>",
        options,
        domain::house::MAX_ANSWER
    );
    folded(
        "Cambiar una respuesta",
        id,
        "respuestas",
        csrf,
        fields,
        "Guardar respuesta",
    )
}

/// Another channel's calendar to import: the channel and its export link.
pub fn add_feed(id: &str, csrf: &str) -> Html {
    let fields = html!(
        "<label for=\"canal\">Canal</label><select id=\"canal\" name=\"canal\">\
         <option value=\"airbnb\">Airbnb</option><option value=\"booking\">Booking</option>\
         <option value=\"otro\">Otro</option></select>{}",
        input(
            "enlace",
            "Enlace del calendario (iCal) que da el canal",
            "url",
            "",
            html!(" required maxlength=\"2000\"")
        )
    );
    folded(
        "Importar otro calendario",
        id,
        "calendarios",
        csrf,
        fields,
        "Importar",
    )
}

/// "Traer ahora" and "Dejar de importar" for one imported calendar.
pub fn feed_actions(id: &str, csrf: &str, feed: &Value) -> Html {
    let feed_id = feed["id"].as_str().unwrap_or("");
    let button = |action: &str, words: &str| {
        html!(
            "<form class=\"inline\" method=\"post\" \
             action=\"/panel/cabanas/{}/calendarios/{}/{}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">{}</button></form>",
            id,
            feed_id,
            action,
            csrf,
            words
        )
    };
    html!(
        "<td>{} {}</td>",
        button("sincronizar", "Traer ahora"),
        button("quitar", "Dejar de importar")
    )
}
