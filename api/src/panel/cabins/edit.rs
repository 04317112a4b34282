//! An admin changing a cabin from its page (`forms.rs` draws the forms): its details
//! (`POST …/datos`), prices and policies (`…/precios`), a season added or removed
//! (`…/temporadas`, `…/temporadas/quitar`) and an answer to guests (`…/respuestas`). Each is
//! the command the admin API's `PATCH /v1/admin/accommodations/{id}` or `PUT …/pricing` gives,
//! with the panel user's email as actor. What was typed is checked here first, so every
//! refusal is said in Spanish: 422 with the cabin's page and why; done, 303 back to the page.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use app::AppError;
use chrono::{Days, NaiveDate, NaiveTime};
use domain::accommodation::{
    AccommodationCommand, AccommodationInfo, ChangeDetails, ChangePricing, MAX_CAPACITY,
    MAX_DIRECTIONS, MAX_NIGHTS,
};
use domain::house::{Answers, MAX_ANSWER, Topic};
use domain::pricing::{SeasonalPrice, SeasonalRate};
use domain::{AccommodationId, BookingError, Money, Pricing};
use rust_decimal::Decimal;

use super::detail;
use super::forms::{POLICIES, weekday_of};
use crate::panel::post::AdminPost;
use crate::panel::reservations::page::Notice;
use crate::panel::reservations::{failure, origin, refused, typed_amount};
use crate::panel::session::Session;
use crate::panel::{State, redirect};
use crate::state::AppState;

/// A form as the browser sent it, every pair kept: the weekend's checkboxes send `finde`
/// once per night ticked.
pub type Fields = Vec<(String, String)>;

/// The field's trimmed text; `None` when absent or blank.
pub fn get<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// What a form asks for, or why it cannot be done, in Spanish.
type Asked<T> = Result<T, String>;

pub fn whole(fields: &Fields, name: &str, label: &str, max: u32) -> Asked<u32> {
    get(fields, name)
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| format!("{label} tiene que ser un número entre 1 y {max}."))
}

fn time(fields: &Fields, name: &str, label: &str) -> Asked<NaiveTime> {
    get(fields, name)
        .and_then(|v| NaiveTime::parse_from_str(v, "%H:%M").ok())
        .ok_or_else(|| format!("{label} tiene que ser una hora, como 14:00."))
}

fn date(fields: &Fields, name: &str, label: &str) -> Asked<NaiveDate> {
    get(fields, name)
        .and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
        .ok_or_else(|| format!("{label} tiene que ser una fecha."))
}

/// An amount in pesos, as an Argentine owner types it (`45000`, `45.000`, `$ 45.000,50`);
/// blank or `0` is nothing.
fn pesos(fields: &Fields, name: &str, label: &str) -> Asked<Money> {
    let typed = get(fields, name).unwrap_or("0");
    if typed
        .chars()
        .all(|c| matches!(c, '0' | '$' | ' ' | '.' | ','))
    {
        return Ok(Money::ZERO);
    }
    typed_amount(Some(typed))
        .filter(|m| !m.is_negative())
        .ok_or_else(|| format!("{label} tiene que ser un monto en pesos, como 45.000."))
}

/// A percentage (`20`, `12,5`, `-10`); blank is 0.
fn percent(fields: &Fields, name: &str, label: &str) -> Asked<Decimal> {
    let typed = get(fields, name)
        .unwrap_or("0")
        .trim_end_matches('%')
        .trim();
    typed
        .replace(',', ".")
        .parse::<Decimal>()
        .map_err(|_| format!("{label} tiene que ser un porcentaje, como 20."))
}

/// `20` % → × 1.2; a discount down to (not including) −100 %.
fn multiplier(surcharge: Decimal, label: &str) -> Asked<Decimal> {
    if surcharge <= -Decimal::ONE_HUNDRED || surcharge > Decimal::from(1000) {
        return Err(format!("{label} tiene que estar entre -99 % y 1000 %."));
    }
    Ok(Decimal::ONE + surcharge / Decimal::ONE_HUNDRED)
}

/// `POST /panel/cabanas/{id}/datos`
pub async fn details(state: State, id: web::Path<String>, post: AdminPost<Fields>) -> HttpResponse {
    let AdminPost { who, form: fields } = post;
    change(&state, &who, &id, "datos", |_| {
        let name = get(&fields, "nombre").unwrap_or("");
        if name.chars().count() > 100 || name.is_empty() {
            return Err("El nombre tiene que tener de 1 a 100 caracteres.".into());
        }
        let directions = get(&fields, "como_llegar").unwrap_or("");
        if directions.chars().count() > MAX_DIRECTIONS {
            let words = format!("Cómo llegar puede tener hasta {MAX_DIRECTIONS} caracteres.");
            return Err(words);
        }
        Ok(AccommodationCommand::ChangeDetails(ChangeDetails {
            name: Some(name.to_owned()),
            capacity: Some(whole(&fields, "personas", "Personas", MAX_CAPACITY)?),
            check_in_time: Some(time(&fields, "entrada", "La entrada")?),
            check_out_time: Some(time(&fields, "salida", "La salida")?),
            // Blank removes them.
            directions: Some(directions.to_owned()),
            answers: None,
        }))
    })
    .await
}

/// The prices and policies the form asks for, over the cabin's seasons (changed apart).
pub fn asked_pricing(fields: &Fields, seasons: Vec<SeasonalRate>) -> Asked<Pricing> {
    let nightly = pesos(fields, "noche", "La noche base")?;
    if nightly == Money::ZERO {
        return Err("La noche base tiene que ser mayor que cero.".into());
    }
    let mut p = Pricing::simple(nightly, pesos(fields, "limpieza", "La limpieza")?);
    let surcharge = percent(fields, "recargo_finde", "El recargo de fin de semana")?;
    p.weekend_multiplier = multiplier(surcharge, "El recargo de fin de semana")?;
    p.weekend_nights = fields
        .iter()
        .filter(|(k, _)| k == "finde")
        .filter_map(|(_, v)| weekday_of(v))
        .collect();
    p.deposit_percent = percent(fields, "sena", "La seña")?;
    if p.deposit_percent < Decimal::ONE || p.deposit_percent > Decimal::ONE_HUNDRED {
        return Err("La seña tiene que ser de 1 a 100 % del total.".into());
    }
    let policy = get(fields, "politica").unwrap_or("moderada");
    p.cancellation = POLICIES
        .iter()
        .find(|(_, key)| *key == policy)
        .map(|(kind, _)| *kind)
        .ok_or("Elegí una de las políticas de cancelación.")?;
    p.seasons = seasons;
    Ok(p)
}

/// `POST /panel/cabanas/{id}/precios`
pub async fn pricing(state: State, id: web::Path<String>, post: AdminPost<Fields>) -> HttpResponse {
    let AdminPost { who, form: fields } = post;
    change(&state, &who, &id, "precios", |info| {
        let pricing = asked_pricing(&fields, info.pricing.seasons.clone())?;
        let min_nights = whole(&fields, "minimo", "La estadía mínima", MAX_NIGHTS)?;
        Ok(AccommodationCommand::ChangePricing(ChangePricing {
            pricing,
            min_nights: Some(min_nights),
        }))
    })
    .await
}

/// `POST /panel/cabanas/{id}/temporadas`: adds a season after the others (the first season
/// that covers a night prices it).
pub async fn add_season(
    state: State,
    id: web::Path<String>,
    post: AdminPost<Fields>,
) -> HttpResponse {
    let AdminPost { who, form: fields } = post;
    change(&state, &who, &id, "temporada", |info| {
        let label = get(&fields, "titulo").unwrap_or("");
        if label.is_empty() || label.chars().count() > 60 {
            return Err("El nombre de la temporada tiene que tener de 1 a 60 caracteres.".into());
        }
        let from = date(&fields, "desde", "La primera noche")?;
        let last = date(&fields, "hasta", "La última noche")?;
        if last < from {
            return Err("La última noche no puede ser anterior a la primera.".into());
        }
        let price = match (get(&fields, "precio"), get(&fields, "recargo")) {
            (Some(_), None) => {
                let price = pesos(&fields, "precio", "El precio por noche")?;
                if price == Money::ZERO {
                    return Err("El precio por noche tiene que ser mayor que cero.".into());
                }
                SeasonalPrice::Nightly { price }
            }
            (None, Some(_)) => {
                let surcharge = percent(&fields, "recargo", "El recargo")?;
                let factor = multiplier(surcharge, "El recargo")?;
                SeasonalPrice::Multiplier { factor }
            }
            _ => return Err("Poné un precio por noche o un recargo (uno de los dos).".into()),
        };
        let until = last
            .checked_add_days(Days::new(1))
            .ok_or("Esa fecha no existe.")?;
        let mut pricing = info.pricing.clone();
        pricing.seasons.push(SeasonalRate {
            label: label.to_owned(),
            from,
            until,
            price,
        });
        Ok(AccommodationCommand::ChangePricing(ChangePricing {
            pricing,
            min_nights: None,
        }))
    })
    .await
}

/// `POST /panel/cabanas/{id}/temporadas/quitar`: the season at `temporada`, when it is still
/// the one named `nombre`.
pub async fn remove_season(
    state: State,
    id: web::Path<String>,
    post: AdminPost<Fields>,
) -> HttpResponse {
    let AdminPost { who, form: fields } = post;
    change(&state, &who, &id, "temporada-quitada", |info| {
        let mut pricing = info.pricing.clone();
        let n = get(&fields, "temporada").and_then(|n| n.parse::<usize>().ok());
        let named = |n: &usize| pricing.seasons.get(*n).map(|s| s.label.as_str());
        let Some(n) = n.filter(|n| named(n) == get(&fields, "nombre")) else {
            return Err("Las temporadas cambiaron mientras tanto: mirá la lista de nuevo.".into());
        };
        pricing.seasons.remove(n);
        Ok(AccommodationCommand::ChangePricing(ChangePricing {
            pricing,
            min_nights: None,
        }))
    })
    .await
}

/// `POST /panel/cabanas/{id}/respuestas`: sets (or, blank, removes) one topic's answer.
pub async fn answer(state: State, id: web::Path<String>, post: AdminPost<Fields>) -> HttpResponse {
    let AdminPost { who, form: fields } = post;
    change(&state, &who, &id, "respuesta", |_| {
        let chosen = get(&fields, "tema");
        let topic = Topic::ALL
            .into_iter()
            .find(|t| Some(t.key()) == chosen)
            .ok_or("Elegí uno de los temas.")?;
        let text = get(&fields, "respuesta").unwrap_or("");
        if text.chars().count() > MAX_ANSWER {
            return Err(format!(
                "La respuesta puede tener hasta {MAX_ANSWER} caracteres."
            ));
        }
        Ok(AccommodationCommand::ChangeDetails(ChangeDetails {
            answers: Some(Answers::from([(topic, text.to_owned())])),
            ..ChangeDetails::default()
        }))
    })
    .await
}

/// Every change's way, for an admin (see [`AdminPost`]): the cabin as it is now; the
/// command `asked` makes of the form (or why not, in Spanish); the command carried out. Done:
/// 303 to the cabin's page saying `done`; refused: the page again with why.
async fn change(
    state: &AppState,
    who: &Session,
    id: &str,
    done: &str,
    asked: impl FnOnce(&AccommodationInfo) -> Asked<AccommodationCommand>,
) -> HttpResponse {
    let Ok(cabin) = id.parse::<AccommodationId>() else {
        return detail::render(state, who, id, Notice::None).await;
    };
    let current = match state.accommodation(cabin).await {
        Ok(c) => c,
        Err(e) => return failure(e),
    };
    let Some(info) = current.info() else {
        return detail::render(state, who, id, Notice::None).await;
    };
    let cmd = match asked(info) {
        Ok(cmd) => cmd,
        Err(words) => return typed_wrong(state, who, id, words).await,
    };
    let origin = origin(who).correlated(cabin.as_uuid());
    match app::execute(state, cabin, cmd, &origin).await {
        Ok(_) => redirect(&format!("/panel/cabanas/{cabin}?hecho={done}")),
        Err(AppError::NotFound(_)) => detail::render(state, who, id, Notice::None).await,
        // Checked above in Spanish; a rule this page does not know yet is said generally.
        Err(AppError::Domain(
            BookingError::InvalidPricing(_) | BookingError::InvalidAccommodation(_),
        )) => typed_wrong(state, who, id, "Revisá los datos del formulario.".into()).await,
        Err(err) => match refused(&err) {
            Some((status, words)) => {
                detail::render(state, who, id, Notice::Refused(status, words)).await
            }
            None => failure(err),
        },
    }
}

async fn typed_wrong(state: &AppState, who: &Session, id: &str, words: String) -> HttpResponse {
    let notice = Notice::Refused(StatusCode::UNPROCESSABLE_ENTITY, words);
    detail::render(state, who, id, notice).await
}
