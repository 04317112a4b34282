//! What the route modules share: reading a request's body and ids, the money amounts clients
//! send, read-your-writes (`min_position`), and how an admin's commands are recorded.

use std::str::FromStr;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::web;
use app::Origin;
use chrono::NaiveDate;
use domain::{AccommodationId, StayDates};
use projections::queries::ReservationView;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::auth::Admin;
use crate::guard::Reply;
use crate::problem::Problem;
use crate::state::AppState;

pub(crate) type State = web::Data<AppState>;

/// A money amount given as a JSON number or a string (`45000`, `"45000.50"`).
#[derive(Clone, Copy, Debug)]
pub struct Amount(pub Decimal);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        let v = Value::deserialize(d)?;
        let text = match &v {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.trim().to_owned(),
            _ => return Err(serde::de::Error::custom("expected an amount")),
        };
        Decimal::from_str(&text)
            .or_else(|_| Decimal::from_scientific(&text))
            .map(Amount)
            .map_err(|_| serde::de::Error::custom(format!("{text:?} is not an amount")))
    }
}

/// A body that may be left out altogether: then every field takes its default.
pub(crate) fn parse_or_default<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, Problem> {
    if body.is_empty() {
        return Ok(T::default());
    }
    parse(body)
}

pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    if body.is_empty() {
        return Err(Problem::validation("a JSON body is required"));
    }
    // PostgreSQL keeps no NUL in text or JSON: refused here as what it is, a client's mistake,
    // not met later as a database error.
    if body.windows(6).any(|w| w == b"\\u0000") {
        return Err(Problem::validation(
            "text may not contain NUL characters (\\u0000)",
        ));
    }
    serde_json::from_slice(body).map_err(|e| Problem::validation(format!("invalid body: {e}")))
}

pub(crate) fn accommodation_id(raw: &str) -> Result<AccommodationId, Problem> {
    raw.parse()
        .map_err(|_| Problem::not_found(format!("no accommodation {raw:?}")))
}

pub(crate) fn stay(check_in: NaiveDate, check_out: NaiveDate) -> Result<StayDates, Problem> {
    Ok(StayDates::new(check_in, check_out)?)
}

/// `?min_position=N`: wait (bounded) until the read models include position N.
#[derive(Deserialize, Default, utoipa::IntoParams)]
pub struct Consistency {
    min_position: Option<i64>,
}

/// Waits until the read models include `min_position`. A position beyond the log's head is
/// one no write ever answered with: the client's mistake, said at once (422), not waited on.
pub(crate) async fn caught_up(state: &AppState, c: &Consistency) -> Result<(), Problem> {
    let Some(position) = c.min_position.filter(|p| *p > 0) else {
        return Ok(());
    };
    let head = state.store.head_position().await?;
    if position > head {
        return Err(Problem::validation(format!(
            "min_position {position} is beyond the log's head ({head}): use a position a write answered with"
        )));
    }
    if !state
        .runner
        .wait_for(position, Duration::from_secs(5))
        .await?
    {
        return Err(Problem::unavailable(format!(
            "read models have not reached position {position} yet"
        )));
    }
    Ok(())
}

pub(crate) async fn reservation_or_404(
    state: &AppState,
    code: &str,
) -> Result<ReservationView, Problem> {
    let code = code.trim().to_uppercase();
    app::reservations::by_code(state, &code)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no reservation {code}")))
}

/// Commands an admin gives through the API are recorded as theirs.
pub(crate) fn admin_origin(admin: &Admin) -> Origin {
    Origin::admin(&admin.0.sub)
}

/// An answer with its status, as the idempotency guard keeps it.
pub(crate) fn reply(status: StatusCode, body: Value) -> Result<Reply, Problem> {
    Ok((status, body))
}
