//! `GET /panel/numeros?desde=AAAA-MM&hasta=AAAA-MM` and `GET /panel/numeros.csv` (issue 28,
//! item 3): occupancy per cabin and month, revenue, average nightly rate, channel mix and lead
//! time, for both roles. The counters come from the stats read model; the rate, the lead time
//! and the imported nights from the typed queries beside it (`projections::queries::stats`).
//! `figures.rs` computes, `chart.rs` draws the SVG, `page.rs` and `csv.rs` lay them out.

pub mod chart;
pub mod csv;
pub mod figures;
pub mod page;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Datelike, Months, NaiveDate};
use projections::queries;
use serde::Deserialize;

use self::figures::Figures;
use super::html::refusal;
use super::session::Session;
use super::{State, internal, signed_in};
use crate::state::AppState;

/// Longest window shown: two years of months keeps the page small and the query cheap.
const MAX_MONTHS: u32 = 24;

#[derive(Deserialize)]
pub struct Query {
    desde: Option<String>,
    hasta: Option<String>,
}

/// The window asked for, as the firsts of its first and last months; by default six months
/// back and six ahead of this one. `Err` says what is wrong, in Spanish.
pub fn window(query: &Query, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), &'static str> {
    let this = today.with_day(1).unwrap_or(today);
    let month = |text: Option<&str>, default: NaiveDate| match text.filter(|t| !t.is_empty()) {
        None => Ok(default),
        Some(t) => NaiveDate::parse_from_str(&format!("{t}-01"), "%Y-%m-%d")
            .map_err(|_| "Los meses tienen que ser AAAA-MM (por ejemplo 2027-01)."),
    };
    let first = month(query.desde.as_deref(), this - Months::new(6))?;
    let last = month(query.hasta.as_deref(), this + Months::new(6))?;
    if last < first {
        return Err("El mes «hasta» tiene que ser igual o posterior a «desde».");
    }
    if first + Months::new(MAX_MONTHS) <= last {
        return Err("Se pueden ver hasta 24 meses a la vez.");
    }
    Ok((first, last))
}

/// The signed-in user and the figures of the window asked for, or the page to answer instead.
async fn load(
    state: &AppState,
    req: &HttpRequest,
    query: &Query,
) -> Result<(Session, NaiveDate, NaiveDate, Figures), HttpResponse> {
    let who = signed_in(state, req).await?;
    let (first, last) = window(query, state.today())
        .map_err(|why| refusal(StatusCode::BAD_REQUEST, "Meses no válidos", why))?;
    let end = last + Months::new(1);
    let failed = |err: sqlx::Error| internal(&err.into());
    let cabins = queries::accommodations(&state.db).await.map_err(failed)?;
    let stats = queries::stats(&state.db).await.map_err(failed)?;
    let sold = queries::sold_stays(&state.db, first, end)
        .await
        .map_err(failed)?;
    let imported = queries::imported_stays(&state.db, first, end)
        .await
        .map_err(failed)?;
    let months = figures::months(first, last);
    let figures = figures::compute(months, &cabins, &stats, &sold, &imported);
    Ok((who, first, last, figures))
}

/// `GET /panel/numeros`
pub async fn show(state: State, req: HttpRequest, query: web::Query<Query>) -> HttpResponse {
    match load(&state, &req, &query).await {
        Ok((who, first, last, figures)) => page::render(&who, first, last, &figures),
        Err(res) => res,
    }
}

/// `GET /panel/numeros.csv`: the same figures, to open in a spreadsheet.
pub async fn export(state: State, req: HttpRequest, query: web::Query<Query>) -> HttpResponse {
    match load(&state, &req, &query).await {
        Ok((_, first, last, figures)) => csv::render(first, last, &figures),
        Err(res) => res,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_defaults_to_six_months_each_side_and_refuses_nonsense() {
        let today = NaiveDate::from_ymd_opt(2027, 3, 15).unwrap();
        let ask = |desde: Option<&str>, hasta: Option<&str>| Query {
            desde: desde.map(str::to_owned),
            hasta: hasta.map(str::to_owned),
        };
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            window(&ask(None, None), today),
            Ok((d("2026-09-01"), d("2027-09-01")))
        );
        assert_eq!(
            window(&ask(Some("2027-01"), Some("2027-01")), today),
            Ok((d("2027-01-01"), d("2027-01-01")))
        );
        assert!(window(&ask(Some("2027-13"), None), today).is_err());
        assert!(window(&ask(Some("2027-05"), Some("2027-04")), today).is_err());
        assert!(window(&ask(Some("2020-01"), Some("2027-04")), today).is_err());
    }
}
