//! The public API (no token): the cabins, availability, quotes, placing a hold and a
//! reservation's status by its code (no personal data).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use app::Origin;
use chrono::NaiveDate;
use domain::ReservationId;
use domain::accommodation::{Channel, validate_stay};
use projections::ReservationStatus;
use projections::queries;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::input::{
    Consistency, State, accommodation_id, caught_up, parse, reservation_or_404, stay,
};
use crate::posted::Posted;
use crate::problem::{Problem, ProblemDetails};

#[utoipa::path(get, path = "/v1/accommodations", tag = "public",
    params(Consistency),
    responses((status = 200, description = "Every accommodation with its pricing", body = Object)))]
pub async fn list_accommodations(
    state: State,
    c: web::Query<Consistency>,
) -> Result<HttpResponse, Problem> {
    caught_up(&state, &c).await?;
    Ok(HttpResponse::Ok().json(queries::accommodations(&state.db).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AvailabilityQuery {
    check_in: NaiveDate,
    check_out: NaiveDate,
    #[serde(default = "one")]
    guests: u32,
}

fn one() -> u32 {
    1
}

#[utoipa::path(get, path = "/v1/availability", tag = "public",
    params(AvailabilityQuery, Consistency),
    responses((status = 200, description = "Accommodations free for the stay, each with its quote", body = Object),
              (status = 422, description = "Invalid dates or guests", body = ProblemDetails)))]
pub async fn availability(
    state: State,
    q: web::Query<AvailabilityQuery>,
    c: web::Query<Consistency>,
) -> Result<HttpResponse, Problem> {
    caught_up(&state, &c).await?;
    let stay = stay(q.check_in, q.check_out)?;
    if q.guests == 0 {
        return Err(Problem::validation("guests must be at least 1"));
    }
    // Past nights (or years away) are refused as a quote for them is, not answered "none free".
    domain::accommodation::within_calendar(&stay, state.today())?;
    let available = queries::bookable(&state.db, &stay, q.guests, state.now())
        .await?
        .into_iter()
        .map(|(accommodation, quote)| Offer {
            accommodation,
            quote,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Availability {
        check_in: q.check_in,
        check_out: q.check_out,
        guests: q.guests,
        available,
    }))
}

/// The availability answer, written straight from these types (the busiest public read): no
/// `serde_json::Value` tree of every offer is built on the way.
#[derive(Serialize)]
struct Availability {
    check_in: NaiveDate,
    check_out: NaiveDate,
    guests: u32,
    available: Vec<Offer>,
}

#[derive(Serialize)]
struct Offer {
    accommodation: queries::AccommodationView,
    quote: domain::Quote,
}

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
pub struct GuestInput {
    pub(crate) name: String,
    pub(crate) phone: String,
    /// `true`: the guest asks to hear of their booking on WhatsApp at `phone` (the
    /// confirmation with the way there, the day before arrival, changes and refunds).
    #[serde(default)]
    pub(crate) whatsapp: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StayRequest {
    accommodation_id: String,
    check_in: NaiveDate,
    check_out: NaiveDate,
    guests: u32,
    guest: Option<GuestInput>,
}

#[utoipa::path(post, path = "/v1/quotes", tag = "public", request_body = StayRequest,
    responses((status = 200, description = "The quote, and whether the nights are free now", body = Object),
              (status = 404, body = ProblemDetails), (status = 422, body = ProblemDetails)))]
pub async fn quote(state: State, body: web::Bytes) -> Result<HttpResponse, Problem> {
    let input: StayRequest = parse(&body)?;
    let id = accommodation_id(&input.accommodation_id)?;
    // The cabin's own stream, as a hold reads it: a cabin registered a moment ago is quoted,
    // not "not found" while the read models catch up.
    let cabin = state.accommodation(id).await?;
    let acc = cabin
        .info()
        .ok_or_else(|| Problem::not_found(format!("no accommodation {id:?}")))?;
    let stay = stay(input.check_in, input.check_out)?;
    let now = state.now();
    validate_stay(
        acc.capacity,
        acc.min_nights,
        acc.utc_offset_minutes,
        &stay,
        input.guests,
        now,
    )?;
    let free = queries::free_accommodations(
        &state.db,
        input.check_in,
        input.check_out,
        input.guests,
        now,
    )
    .await?
    .iter()
    .any(|a| a.id == acc.id.to_string());
    Ok(HttpResponse::Ok().json(json!({
        "accommodation_id": acc.id,
        "check_in": input.check_in,
        "check_out": input.check_out,
        "guests": input.guests,
        "available": free,
        "quote": acc.pricing.quote(&stay),
    })))
}

#[utoipa::path(post, path = "/v1/reservations", tag = "public", request_body = StayRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the stored response for a repeated request")),
    responses((status = 201, description = "Held: code, quote, deposit, expiry and position", body = Object),
              (status = 409, description = "Dates unavailable", body = ProblemDetails),
              (status = 422, body = ProblemDetails)))]
pub async fn place_hold(state: State, posted: Posted) -> Result<HttpResponse, Problem> {
    let state = &state;
    posted
        .once(state, |input: StayRequest| async move {
            let accommodation = accommodation_id(&input.accommodation_id)?;
            let guest = input
                .guest
                .ok_or_else(|| Problem::validation("guest {name, phone} is required"))?;
            let request = app::bookings::HoldRequest {
                accommodation,
                check_in: input.check_in,
                check_out: input.check_out,
                guests: input.guests,
                guest: app::bookings::NewGuest {
                    name: guest.name,
                    phone: guest.phone,
                    whatsapp: guest.whatsapp,
                },
                channel: Channel::Direct,
                reservation_id: ReservationId::new(),
            };
            let hold = app::bookings::place_hold(state, &request, &Origin::guest()).await?;
            Ok((
                StatusCode::CREATED,
                json!({
                    "reservation_id": hold.reservation_id,
                    "code": hold.code,
                    "status": ReservationStatus::Held,
                    "accommodation_id": accommodation,
                    "check_in": hold.stay.check_in(),
                    "check_out": hold.stay.check_out(),
                    "guests": hold.guests,
                    "quote": hold.quote,
                    "total": hold.quote.total,
                    "deposit": hold.deposit,
                    "expires_at": hold.expires_at,
                    "position": hold.position,
                }),
            ))
        })
        .await
}

#[utoipa::path(get, path = "/v1/reservations/{code}", tag = "public",
    params(("code" = String, Path), Consistency),
    responses((status = 200, description = "Status, stay, amounts (no personal data)", body = Object),
              (status = 404, body = ProblemDetails)))]
pub async fn reservation_status(
    state: State,
    code: web::Path<String>,
    c: web::Query<Consistency>,
) -> Result<HttpResponse, Problem> {
    caught_up(&state, &c).await?;
    let r = reservation_or_404(&state, &code).await?;
    Ok(HttpResponse::Ok().json(json!({
        "code": r.code,
        "status": r.status,
        "accommodation_id": r.accommodation_id,
        "accommodation_name": r.accommodation_name,
        "check_in": r.check_in,
        "check_out": r.check_out,
        "guests": r.guests,
        "quote": r.quote,
        "total": r.total,
        "deposit": r.deposit,
        "amount_paid": r.amount_paid,
        "refunded": r.refunded,
        "balance_due": r.balance_due,
        "payment_link": (r.status == ReservationStatus::Held).then_some(r.payment_link),
        "expires_at": (r.status == ReservationStatus::Held).then_some(r.expires_at),
    })))
}
