//! The owner's cabins: registering one, its details, prices and policies, its calendar, and
//! blocking or freeing nights by hand.

use std::str::FromStr;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, NaiveTime, Weekday};
use domain::accommodation::{
    AccommodationCommand, BlockDates, BlockSource, ChangeDetails, ChangePricing,
    RegisterAccommodation, UnblockDates,
};
use domain::payment::CancellationPolicy;
use domain::pricing::SeasonalRate;
use domain::{AccommodationId, BlockId, Money, Pricing};
use projections::queries::{self};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Admin;
use crate::input::{
    Amount, Consistency, State, accommodation_id, admin_origin, caught_up, parse, reply, stay,
};
use crate::posted::Posted;
use crate::problem::{Problem, ProblemDetails};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PricingInput {
    #[schema(value_type = String, example = "45000")]
    nightly_base: Amount,
    #[schema(value_type = Option<String>, example = "8000")]
    cleaning_fee: Option<Amount>,
    #[schema(value_type = Option<String>, example = "1.2")]
    weekend_multiplier: Option<Amount>,
    /// Weekdays whose nights count as weekend, e.g. `["fri", "sat"]`.
    weekend_nights: Option<Vec<String>>,
    #[schema(value_type = Option<String>, example = "30")]
    deposit_percent: Option<Amount>,
    #[schema(value_type = Option<Vec<Object>>)]
    seasons: Option<Vec<SeasonalRate>>,
    /// `none`, `flexible`, `moderate` (default) or `strict`: see docs/integrations/mercadopago.md.
    #[schema(value_type = Option<String>, example = "moderate")]
    cancellation_policy: Option<CancellationPolicy>,
}

impl PricingInput {
    fn to_pricing(&self) -> Result<Pricing, Problem> {
        let money = |a: Amount| Money::new(a.0);
        let mut p = Pricing::simple(
            money(self.nightly_base),
            self.cleaning_fee.map(money).unwrap_or(Money::ZERO),
        );
        if let Some(m) = self.weekend_multiplier {
            p.weekend_multiplier = m.0;
        }
        if let Some(d) = self.deposit_percent {
            p.deposit_percent = d.0;
        }
        if let Some(days) = &self.weekend_nights {
            p.weekend_nights = days
                .iter()
                .map(|d| {
                    Weekday::from_str(d).map_err(|_| {
                        Problem::validation(format!("weekend_nights: {d:?} is not a weekday"))
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(seasons) = &self.seasons {
            p.seasons = seasons.clone();
        }
        if let Some(policy) = self.cancellation_policy {
            p.cancellation = policy;
        }
        p.validate()?;
        Ok(p)
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RegisterInput {
    name: String,
    capacity: u32,
    pricing: PricingInput,
    min_nights: Option<u32>,
    /// `HH:MM`, default 14:00.
    check_in_time: Option<String>,
    /// `HH:MM`, default 10:00.
    check_out_time: Option<String>,
    /// How to get there (address, map link, keys), up to 1000 characters: sent to WhatsApp
    /// guests with their confirmation, never shown publicly.
    directions: Option<String>,
}

fn time(raw: Option<&str>, default: (u32, u32), field: &str) -> Result<NaiveTime, Problem> {
    match raw {
        None => NaiveTime::from_hms_opt(default.0, default.1, 0)
            .ok_or_else(|| Problem::validation(field.to_owned())),
        Some(t) => NaiveTime::parse_from_str(t, "%H:%M")
            .map_err(|_| Problem::validation(format!("{field} must be HH:MM, got {t:?}"))),
    }
}

#[utoipa::path(post, path = "/v1/admin/accommodations", tag = "admin", request_body = RegisterInput,
    security(("bearer" = [])),
    responses((status = 201, description = "Registered: id and position", body = Object),
              (status = 401, body = ProblemDetails), (status = 403, body = ProblemDetails), (status = 422, body = ProblemDetails)))]
pub async fn register(state: State, admin: Admin, posted: Posted) -> Result<HttpResponse, Problem> {
    let (state, admin) = (&state, &admin);
    posted
        .once(state, |input: RegisterInput| async move {
            let id = AccommodationId::new();
            let cmd = AccommodationCommand::Register(RegisterAccommodation {
                accommodation_id: id,
                name: input.name.trim().to_owned(),
                capacity: input.capacity,
                pricing: input.pricing.to_pricing()?,
                min_nights: input.min_nights.unwrap_or(1),
                check_in_time: time(input.check_in_time.as_deref(), (14, 0), "check_in_time")?,
                check_out_time: time(input.check_out_time.as_deref(), (10, 0), "check_out_time")?,
                directions: input.directions,
            });
            let origin = admin_origin(admin).correlated(id.as_uuid());
            let position = app::execute(state, id, cmd, &origin).await?.position;
            reply(StatusCode::CREATED, json!({"id": id, "position": position}))
        })
        .await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DetailsInput {
    name: Option<String>,
    capacity: Option<u32>,
    /// `HH:MM`
    check_in_time: Option<String>,
    /// `HH:MM`
    check_out_time: Option<String>,
    /// As at registration; `""` removes them.
    directions: Option<String>,
    /// Answers to what guests ask on WhatsApp, by topic: `mascotas`, `wifi`, `pagos`,
    /// `pileta`, `parrilla`, `ropa_de_cama`, `bebes`, `estacionamiento`, `calefaccion` (at most
    /// 500 characters each). Laid over the current ones; `""` removes a topic's answer.
    #[schema(value_type = Option<Object>)]
    answers: Option<domain::house::Answers>,
}

#[utoipa::path(patch, path = "/v1/admin/accommodations/{id}", tag = "admin",
    request_body = DetailsInput, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = ProblemDetails), (status = 422, body = ProblemDetails)))]
pub async fn change_details(
    state: State,
    admin: Admin,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let id = accommodation_id(&id)?;
    let input: DetailsInput = parse(&body)?;
    let optional_time =
        |raw: Option<&str>, field: &str| raw.map(|t| time(Some(t), (0, 0), field)).transpose();
    let cmd = AccommodationCommand::ChangeDetails(ChangeDetails {
        name: input.name,
        capacity: input.capacity,
        check_in_time: optional_time(input.check_in_time.as_deref(), "check_in_time")?,
        check_out_time: optional_time(input.check_out_time.as_deref(), "check_out_time")?,
        directions: input.directions,
        answers: input.answers,
    });
    let origin = admin_origin(&admin).correlated(id.as_uuid());
    let position = app::execute(&state, id, cmd, &origin).await?.position;
    Ok(HttpResponse::Ok().json(json!({"id": id, "position": position})))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PricingChangeInput {
    pricing: PricingInput,
    min_nights: Option<u32>,
}

#[utoipa::path(put, path = "/v1/admin/accommodations/{id}/pricing", tag = "admin",
    request_body = PricingChangeInput, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = ProblemDetails), (status = 422, body = ProblemDetails)))]
pub async fn change_pricing(
    state: State,
    admin: Admin,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let id = accommodation_id(&id)?;
    let input: PricingChangeInput = parse(&body)?;
    let cmd = AccommodationCommand::ChangePricing(ChangePricing {
        pricing: input.pricing.to_pricing()?,
        min_nights: input.min_nights,
    });
    let origin = admin_origin(&admin).correlated(id.as_uuid());
    let position = app::execute(&state, id, cmd, &origin).await?.position;
    Ok(HttpResponse::Ok().json(json!({"id": id, "position": position})))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct RangeQuery {
    from: NaiveDate,
    to: NaiveDate,
}

#[utoipa::path(get, path = "/v1/admin/accommodations/{id}", tag = "admin",
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, description = "The cabin as the owner set it up, directions included", body = Object),
              (status = 404, body = ProblemDetails)))]
pub async fn accommodation_details(
    state: State,
    _admin: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = accommodation_id(&id)?;
    // From the stream itself: what guests are told is exactly what this shows, read models
    // aside (the directions are in none of them: they are not for the public list).
    let cabin = state.accommodation(id).await?;
    let info = cabin
        .info()
        .ok_or_else(|| Problem::not_found(format!("no accommodation {id}")))?;
    Ok(HttpResponse::Ok().json(json!({
        "id": id,
        "name": info.name,
        "capacity": info.capacity,
        "min_nights": info.min_nights,
        "check_in_time": info.check_in_time.format("%H:%M").to_string(),
        "check_out_time": info.check_out_time.format("%H:%M").to_string(),
        "pricing": info.pricing,
        "directions": info.directions,
        "answers": info.answers,
    })))
}

#[utoipa::path(get, path = "/v1/admin/accommodations/{id}/calendar", tag = "admin",
    params(("id" = String, Path), RangeQuery, Consistency), security(("bearer" = [])),
    responses((status = 200, description = "Each night: free, held, confirmed or blocked", body = Object)))]
pub async fn calendar(
    state: State,
    _admin: Admin,
    id: web::Path<String>,
    q: web::Query<RangeQuery>,
    c: web::Query<Consistency>,
) -> Result<HttpResponse, Problem> {
    caught_up(&state, &c).await?;
    let id = accommodation_id(&id)?;
    let range = stay(q.from, q.to)?;
    if range.nights() > 400 {
        return Err(Problem::validation("ask for at most 400 nights at a time"));
    }
    let nights = queries::calendar(&state.db, &id.to_string(), q.from, q.to, state.now()).await?;
    Ok(HttpResponse::Ok().json(json!({"accommodation_id": id, "nights": nights})))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct BlockInput {
    check_in: NaiveDate,
    check_out: NaiveDate,
    note: Option<String>,
}

#[utoipa::path(post, path = "/v1/admin/accommodations/{id}/blocks", tag = "admin",
    request_body = BlockInput, security(("bearer" = [])),
    responses((status = 201, body = Object), (status = 409, body = ProblemDetails)))]
pub async fn block(
    state: State,
    admin: Admin,
    id: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, Problem> {
    let id = accommodation_id(&id)?;
    let (state, admin) = (&state, &admin);
    posted
        .once(state, |input: BlockInput| async move {
            let block_id = BlockId::new();
            let cmd = AccommodationCommand::BlockDates(BlockDates {
                block_id,
                stay: stay(input.check_in, input.check_out)?,
                source: BlockSource::Admin,
                note: input.note.clone(),
            });
            let origin = admin_origin(admin).correlated(block_id.as_uuid());
            let position = app::execute(state, id, cmd, &origin).await?.position;
            reply(
                StatusCode::CREATED,
                json!({"block_id": block_id, "position": position}),
            )
        })
        .await
}

#[utoipa::path(delete, path = "/v1/admin/accommodations/{id}/blocks/{block_id}", tag = "admin",
    security(("bearer" = [])), responses((status = 200, body = Object), (status = 404, body = ProblemDetails)))]
pub async fn unblock(
    state: State,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (id, block) = path.into_inner();
    let id = accommodation_id(&id)?;
    let block_id: BlockId = block
        .parse()
        .map_err(|_| Problem::not_found(format!("no block {block:?}")))?;
    let cmd = AccommodationCommand::UnblockDates(UnblockDates { block_id });
    let origin = admin_origin(&admin).correlated(block_id.as_uuid());
    let position = app::execute(&state, id, cmd, &origin).await?.position;
    Ok(HttpResponse::Ok().json(json!({"block_id": block_id, "position": position})))
}
