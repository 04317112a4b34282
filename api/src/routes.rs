//! The `/v1` HTTP API: public booking routes, admin routes (admin token), audit routes
//! (auditor or admin token), health, metrics and the OpenAPI document with its UI at `/docs`.

use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDate, NaiveTime, Weekday};
use domain::accommodation::{
    AccommodationCommand, BlockDates, BlockSource, CancelReservation, CancelledBy, ChangeDetails,
    ChangePricing, ChangeStay, Channel, ConfirmLate, ConfirmReservation, ExtendHold, PlaceHold,
    RecordManualPayment, RecordRefund, RegisterAccommodation, UnblockDates, validate_stay,
};
use domain::guest::{GuestProfileSealed, valid_phone};
use domain::payment::CancellationPolicy;
use domain::pricing::SeasonalRate;
use domain::{
    AccommodationEvent, AccommodationId, Aggregate, BlockId, DomainEvent, GuestEvent, GuestId,
    Money, Pricing, ReservationCode, ReservationId, StayDates,
};
use eventstore::{CommandOutcome, ExpectedVersion, Metadata, NewEvent};
use metrics_exporter_prometheus::PrometheusHandle;
use projections::queries::{self, AccommodationView, ReservationFilter, ReservationView};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::app::AppState;
use crate::auth::{Admin, Auditor};
use crate::guard::Reply;
use crate::problem::{Problem, ProblemDetails};

type State = web::Data<AppState>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics_page))
        .route("/webhooks/whatsapp", web::get().to(crate::whatsapp::verify))
        .route(
            "/webhooks/whatsapp",
            web::post().to(crate::whatsapp::receive),
        )
        .route(
            "/webhooks/mercadopago",
            web::post().to(crate::payments::receive),
        )
        .route(
            "/pagos/retorno",
            web::get().to(crate::payments::return_page),
        )
        .route("/ical/{file}", web::get().to(crate::ical::export))
        .route(
            "/docs",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header(("Location", "/docs/"))
                    .finish()
            }),
        )
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", ApiDoc::openapi()))
        .service(
            web::scope("/v1")
                .route("/accommodations", web::get().to(list_accommodations))
                .route("/availability", web::get().to(availability))
                .route("/quotes", web::post().to(quote))
                .route("/reservations", web::post().to(place_hold))
                .route("/reservations/{code}", web::get().to(reservation_status))
                .route("/admin/accommodations", web::post().to(register))
                .route(
                    "/admin/accommodations/{id}",
                    web::patch().to(change_details),
                )
                .route(
                    "/admin/accommodations/{id}",
                    web::get().to(accommodation_details),
                )
                .route(
                    "/admin/accommodations/{id}/pricing",
                    web::put().to(change_pricing),
                )
                .route(
                    "/admin/accommodations/{id}/calendar",
                    web::get().to(calendar),
                )
                .route("/admin/accommodations/{id}/blocks", web::post().to(block))
                .route(
                    "/admin/accommodations/{id}/blocks/{block_id}",
                    web::delete().to(unblock),
                )
                .route("/admin/reservations", web::get().to(list_reservations))
                .route(
                    "/admin/reservations/{code}/confirm",
                    web::post().to(confirm),
                )
                .route("/admin/reservations/{code}/cancel", web::post().to(cancel))
                .route("/admin/reservations/{code}/extend", web::post().to(extend))
                .route("/admin/stats", web::get().to(stats))
                .route("/admin/alerts", web::get().to(crate::payments::alerts))
                .route("/admin/conflicts", web::get().to(crate::ical::conflicts))
                .route(
                    "/admin/accommodations/{id}/feeds",
                    web::post().to(crate::ical::add_feed),
                )
                .route(
                    "/admin/accommodations/{id}/feeds",
                    web::get().to(crate::ical::list_feeds),
                )
                .route(
                    "/admin/accommodations/{id}/feeds/{feed}/sync",
                    web::post().to(crate::ical::sync_now),
                )
                .route(
                    "/admin/accommodations/{id}/feeds/{feed}",
                    web::delete().to(crate::ical::remove_feed),
                )
                .route(
                    "/admin/accommodations/{id}/ical",
                    web::get().to(crate::ical::export_url),
                )
                .route(
                    "/admin/accommodations/{id}/ical/rotate",
                    web::post().to(crate::ical::rotate),
                )
                .route(
                    "/admin/reservations/{code}/payments",
                    web::get().to(crate::payments::reservation_payments),
                )
                .route(
                    "/admin/reservations/{code}/payments",
                    web::post().to(record_payment),
                )
                .route(
                    "/admin/reservations/{code}/refunds/{refund_key}",
                    web::post().to(refund_made),
                )
                .route(
                    "/admin/reservations/{code}/stay",
                    web::post().to(change_stay),
                )
                .route(
                    "/admin/sandbox/payments",
                    web::post().to(crate::payments::sandbox_payment),
                )
                .route(
                    "/admin/whatsapp/conversations",
                    web::get().to(crate::whatsapp::conversations),
                )
                .route(
                    "/admin/whatsapp/conversations/{wa_id}/replies",
                    web::get().to(crate::whatsapp::replies),
                )
                .route(
                    "/admin/whatsapp/conversations/{wa_id}/messages",
                    web::post().to(crate::whatsapp::write),
                )
                .route(
                    "/admin/whatsapp/conversations/{wa_id}/release",
                    web::post().to(crate::whatsapp::release),
                )
                .route("/audit/streams/{stream_id}", web::get().to(audit_stream))
                .route("/audit/events", web::get().to(audit_events))
                .route(
                    "/audit/reservations/{code}/timeline",
                    web::get().to(audit_timeline),
                )
                .route("/audit/verify", web::get().to(audit_verify))
                .route(
                    "/audit/checkpoints/verify",
                    web::post().to(crate::audit::verify_checkpoint),
                )
                .route(
                    "/admin/guests/{guest}/personal-data",
                    web::delete().to(crate::guests::erase),
                )
                .route(
                    "/audit/accommodations/{id}/availability",
                    web::get().to(crate::audit::availability_as_of),
                )
                .route(
                    "/audit/reservations/{code}",
                    web::get().to(crate::audit::reservation_story),
                ),
        );
}

// ---------------------------------------------------------------------------------------------
// Input helpers
// ---------------------------------------------------------------------------------------------

/// A money amount given as a JSON number or a string (`45000`, `"45000.50"`).
#[derive(Clone, Copy, Debug)]
pub struct Amount(Decimal);

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
fn parse_or_default<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, Problem> {
    if body.is_empty() {
        return Ok(T::default());
    }
    parse(body)
}

pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    if body.is_empty() {
        return Err(Problem::validation("a JSON body is required"));
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

async fn caught_up(state: &AppState, c: &Consistency) -> Result<(), Problem> {
    if let Some(position) = c.min_position.filter(|p| *p > 0)
        && !state
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

/// Runs a command on an accommodation's stream and returns its outcome and the global position
/// of its last event (for `min_position`).
pub(crate) async fn command(
    state: &AppState,
    id: AccommodationId,
    cmd: AccommodationCommand,
    metadata: Metadata,
) -> Result<(CommandOutcome<AccommodationEvent>, Option<i64>), Problem> {
    let name = cmd.name();
    let result = state
        .handler
        .execute(&id.stream_id(), &cmd, state.now(), &metadata)
        .await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(eventstore::CommandError::Domain(_)) => "rejected",
        Err(eventstore::CommandError::Contention(_)) => "contention",
        Err(_) => "error",
    };
    metrics::counter!("cabanas_commands_total", "command" => name, "outcome" => outcome)
        .increment(1);
    let done = result?;
    if done.retries > 0 {
        metrics::counter!("cabanas_command_retries_total", "command" => name)
            .increment(u64::from(done.retries));
    }
    metrics::counter!("cabanas_appends_total").increment(1);
    let position = state
        .store
        .wait_for_positions(&done.event_ids, Duration::from_secs(2))
        .await?
        .and_then(|p| p.last().copied());
    Ok((done, position))
}

pub(crate) fn meta(actor: &str, correlation: Option<uuid::Uuid>) -> Metadata {
    Metadata {
        correlation_id: correlation,
        actor: Some(actor.to_owned()),
        source: Some("api".into()),
        ..Metadata::default()
    }
}

async fn reservation_or_404(state: &AppState, code: &str) -> Result<ReservationView, Problem> {
    let code = code.trim().to_uppercase();
    queries::reservation_by_code(&state.db, &code)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no reservation {code}")))
}

// ---------------------------------------------------------------------------------------------
// Health and metrics
// ---------------------------------------------------------------------------------------------

/// The process is up.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Database (and Redis when configured) reachable; projection lag shown.
/// How `/readyz` names an instance's part in work one instance does at a time.
fn role(active: bool) -> &'static str {
    if active { "active" } else { "standby" }
}

async fn readyz(state: State) -> HttpResponse {
    let backend = state.store.backend();
    let database = state.store.ping().await;
    if let Err(err) = &database {
        tracing::warn!(error = %err, "readiness: database unreachable");
    }
    let redis = match &state.redis {
        None => None,
        Some(r) => {
            let mut conn = r.clone();
            let pong: Result<String, _> = redis::cmd("PING").query_async(&mut conn).await;
            Some(pong.is_ok())
        }
    };
    let lag = if database.is_ok() {
        state.runner.status().await.ok()
    } else {
        None
    };
    let ready = database.is_ok() && redis != Some(false);
    let max_age = state.settings.ical_max_age.as_secs_f64();
    let stale: Vec<Value> = if database.is_ok() {
        crate::ical::feed_ages(&state)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, _, age)| *age > max_age)
            .map(|(id, source, age)| json!({"feed": id, "source": source, "age_seconds": age}))
            .collect()
    } else {
        Vec::new()
    };
    let status = match (ready, stale.is_empty()) {
        (false, _) => "unavailable",
        // Serving, but some channel's calendar is older than it should be.
        (true, false) => "degraded",
        (true, true) => "ready",
    };
    let body = json!({
        "status": status,
        "stale_calendar_feeds": stale,
        "database": backend,
        "database_ok": database.is_ok(),
        "redis": redis.map(|ok| if ok { "ok" } else { "unreachable" }).unwrap_or("not configured"),
        "projections": lag,
        "voice": state.voice.status(),
        // One instance answers WhatsApp guests at a time; the others stand by.
        "conversation_worker": role(state.conversation_active.load(Ordering::Relaxed)),
        // Likewise one instance sends the replies, so a guest's replies leave in order.
        "reply_sender": role(state.reply_sender_active.load(Ordering::Relaxed)),
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics_page(handle: web::Data<PrometheusHandle>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render())
}

// ---------------------------------------------------------------------------------------------
// Public
// ---------------------------------------------------------------------------------------------

#[utoipa::path(get, path = "/v1/accommodations", tag = "public",
    params(Consistency),
    responses((status = 200, description = "Every accommodation with its pricing", body = Object)))]
async fn list_accommodations(
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
async fn availability(
    state: State,
    q: web::Query<AvailabilityQuery>,
    c: web::Query<Consistency>,
) -> Result<HttpResponse, Problem> {
    caught_up(&state, &c).await?;
    let stay = stay(q.check_in, q.check_out)?;
    if q.guests == 0 {
        return Err(Problem::validation("guests must be at least 1"));
    }
    let offers: Vec<Value> = queries::bookable(&state.db, &stay, q.guests, state.now())
        .await?
        .into_iter()
        .map(|(a, quote)| json!({"accommodation": a, "quote": quote}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "check_in": q.check_in,
        "check_out": q.check_out,
        "guests": q.guests,
        "available": offers,
    })))
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

async fn accommodation_or_404(state: &AppState, id: &str) -> Result<AccommodationView, Problem> {
    queries::accommodation(&state.db, id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no accommodation {id:?}")))
}

#[utoipa::path(post, path = "/v1/quotes", tag = "public", request_body = StayRequest,
    responses((status = 200, description = "The quote, and whether the nights are free now", body = Object),
              (status = 404, body = ProblemDetails), (status = 422, body = ProblemDetails)))]
async fn quote(state: State, body: web::Bytes) -> Result<HttpResponse, Problem> {
    let input: StayRequest = parse(&body)?;
    let id = accommodation_id(&input.accommodation_id)?;
    let acc = accommodation_or_404(&state, &id.to_string()).await?;
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
    .any(|a| a.id == acc.id);
    Ok(HttpResponse::Ok().json(json!({
        "accommodation_id": acc.id,
        "check_in": input.check_in,
        "check_out": input.check_out,
        "guests": input.guests,
        "available": free,
        "quote": acc.pricing.quote(&stay),
    })))
}

/// Records the guest's name and phone on their stream when they are new or changed.
pub(crate) async fn record_guest(state: &AppState, guest: &GuestInput) -> Result<GuestId, Problem> {
    let name = guest.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Problem::validation("guest.name must be 1..100 characters"));
    }
    if !valid_phone(&guest.phone) {
        return Err(Problem::validation(
            "guest.phone must be a phone number (6 to 15 digits, + - ( ) and spaces allowed)",
        ));
    }
    let id = eventstore::pii::guest_for_phone(&state.db, &guest.phone).await?;
    // The read model answers whether the name or phone changed; only then, or for a guest
    // asking to hear on WhatsApp, is their sealed profile opened. A consent once given stays: a
    // later booking that does not ask does not withdraw it.
    let known: Option<(String, String)> = projections::db_fetch!(
        &state.db,
        (String, String),
        fetch_optional,
        "SELECT name, phone FROM rm_guests WHERE guest_ref = $1".to_owned(),
        id.stream_id()
    )?;
    if known.as_ref() == Some(&(name.to_owned(), guest.phone.clone())) && !guest.whatsapp {
        return Ok(id);
    }
    let before = crate::guests::profile(state, &id.stream_id()).await?;
    let profile = eventstore::pii::Profile {
        name: name.to_owned(),
        phone: guest.phone.clone(),
        whatsapp: guest.whatsapp || before.as_ref().is_some_and(|p| p.whatsapp),
    };
    if before.as_ref() != Some(&profile) {
        // Personal data goes into the log sealed with the guest's own key (see eventstore::pii).
        let key = eventstore::pii::key_or_create(
            &state.db,
            &id.stream_id(),
            state.now().timestamp_millis(),
        )
        .await?;
        let sealed = eventstore::pii::seal_profile(&key, &profile);
        let event = GuestEvent::ProfileSealed(GuestProfileSealed {
            guest_id: id,
            sealed,
            recorded_at: state.now(),
        });
        state
            .store
            .append(
                &id.stream_id(),
                ExpectedVersion::Any,
                &[NewEvent {
                    event_id: uuid::Uuid::now_v7(),
                    event_type: event.event_type().to_owned(),
                    schema_version: event.event_version() as i32,
                    payload: event.to_payload(),
                    // Correlated with the guest's conversation, like their dialogue events.
                    metadata: meta("guest", Some(id.as_uuid())),
                }],
            )
            .await?;
    }
    Ok(id)
}

/// A code no reservation in the read model uses yet (collisions are rare: 32^7 codes).
pub(crate) async fn fresh_code(state: &AppState) -> Result<ReservationCode, Problem> {
    loop {
        let code = ReservationCode::from_entropy(rand::random());
        if queries::reservation_by_code(&state.db, code.as_str())
            .await?
            .is_none()
        {
            return Ok(code);
        }
    }
}

#[utoipa::path(post, path = "/v1/reservations", tag = "public", request_body = StayRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the stored response for a repeated request")),
    responses((status = 201, description = "Held: code, quote, deposit, expiry and position", body = Object),
              (status = 409, description = "Dates unavailable", body = ProblemDetails),
              (status = 422, body = ProblemDetails)))]
async fn place_hold(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    state
        .idempotency
        .run(&req, &body, || async {
            let input: StayRequest = parse(&body)?;
            let id = accommodation_id(&input.accommodation_id)?;
            let stay = stay(input.check_in, input.check_out)?;
            let guest = input
                .guest
                .as_ref()
                .ok_or_else(|| Problem::validation("guest {name, phone} is required"))?;
            let guest_id = record_guest(&state, guest).await?;
            let reservation_id = ReservationId::new();
            let code = fresh_code(&state).await?;
            let cmd = AccommodationCommand::PlaceHold(PlaceHold {
                reservation_id,
                code,
                guest_ref: guest_id.stream_id(),
                stay,
                guests: input.guests,
                channel: Channel::Direct,
                hold_duration: chrono::Duration::minutes(state.settings.hold_minutes),
            });
            let (done, position) = command(
                &state,
                id,
                cmd,
                meta("guest", Some(reservation_id.as_uuid())),
            )
            .await?;
            let hold = done.events.iter().find_map(|e| match e {
                AccommodationEvent::HoldPlaced(h) => Some(h),
                _ => None,
            });
            let Some(hold) = hold else {
                return Err(Problem::unavailable("the hold was not recorded; retry"));
            };
            Ok((
                StatusCode::CREATED,
                json!({
                    "reservation_id": hold.reservation_id,
                    "code": hold.code,
                    "status": "held",
                    "accommodation_id": id,
                    "check_in": hold.stay.check_in(),
                    "check_out": hold.stay.check_out(),
                    "guests": hold.guests,
                    "quote": hold.quote,
                    "total": hold.quote.total,
                    "deposit": hold.quote.deposit,
                    "expires_at": hold.expires_at,
                    "position": position,
                }),
            ))
        })
        .await
}

#[utoipa::path(get, path = "/v1/reservations/{code}", tag = "public",
    params(("code" = String, Path), Consistency),
    responses((status = 200, description = "Status, stay, amounts (no personal data)", body = Object),
              (status = 404, body = ProblemDetails)))]
async fn reservation_status(
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
        "payment_link": (r.status == "held").then_some(r.payment_link),
        "expires_at": (r.status == "held").then_some(r.expires_at),
    })))
}

// ---------------------------------------------------------------------------------------------
// Admin
// ---------------------------------------------------------------------------------------------

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

fn reply(status: StatusCode, body: Value) -> Result<Reply, Problem> {
    Ok((status, body))
}

#[utoipa::path(post, path = "/v1/admin/accommodations", tag = "admin", request_body = RegisterInput,
    security(("bearer" = [])),
    responses((status = 201, description = "Registered: id and position", body = Object),
              (status = 401, body = ProblemDetails), (status = 403, body = ProblemDetails), (status = 422, body = ProblemDetails)))]
async fn register(
    state: State,
    admin: Admin,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    state
        .idempotency
        .run(&req, &body, || async {
            let input: RegisterInput = parse(&body)?;
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
            let (_, position) =
                command(&state, id, cmd, meta(&admin.0.sub, Some(id.as_uuid()))).await?;
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
async fn change_details(
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
    let (_, position) = command(&state, id, cmd, meta(&admin.0.sub, Some(id.as_uuid()))).await?;
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
async fn change_pricing(
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
    let (_, position) = command(&state, id, cmd, meta(&admin.0.sub, Some(id.as_uuid()))).await?;
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
async fn accommodation_details(
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
async fn calendar(
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
async fn block(
    state: State,
    admin: Admin,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    state
        .idempotency
        .run(&req, &body, || async {
            let id = accommodation_id(&id)?;
            let input: BlockInput = parse(&body)?;
            let block_id = BlockId::new();
            let cmd = AccommodationCommand::BlockDates(BlockDates {
                block_id,
                stay: stay(input.check_in, input.check_out)?,
                source: BlockSource::Admin,
                note: input.note.clone(),
            });
            let metadata = meta(&admin.0.sub, Some(block_id.as_uuid()));
            let (_, position) = command(&state, id, cmd, metadata).await?;
            reply(
                StatusCode::CREATED,
                json!({"block_id": block_id, "position": position}),
            )
        })
        .await
}

#[utoipa::path(delete, path = "/v1/admin/accommodations/{id}/blocks/{block_id}", tag = "admin",
    security(("bearer" = [])), responses((status = 200, body = Object), (status = 404, body = ProblemDetails)))]
async fn unblock(
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
    let metadata = meta(&admin.0.sub, Some(block_id.as_uuid()));
    let (_, position) = command(&state, id, cmd, metadata).await?;
    Ok(HttpResponse::Ok().json(json!({"block_id": block_id, "position": position})))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    status: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    accommodation_id: Option<String>,
    channel: Option<String>,
    /// Part of the guest's name or phone, or a reservation code.
    q: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[utoipa::path(get, path = "/v1/admin/reservations", tag = "admin",
    params(ListQuery, Consistency), security(("bearer" = [])),
    responses((status = 200, description = "Matching reservations with guest details", body = Object)))]
async fn list_reservations(
    state: State,
    _admin: Admin,
    q: web::Query<ListQuery>,
    c: web::Query<Consistency>,
) -> Result<HttpResponse, Problem> {
    caught_up(&state, &c).await?;
    let q = q.into_inner();
    let filter = ReservationFilter {
        status: q.status,
        from: q.from,
        to: q.to,
        accommodation_id: q.accommodation_id,
        channel: q.channel,
        q: q.q.filter(|s| !s.trim().is_empty()),
        guest_ref: None,
        limit: q.limit.unwrap_or(50).clamp(1, 500),
        offset: q.offset.unwrap_or(0).max(0),
    };
    let items = queries::search_reservations(&state.db, &filter).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"items": items, "limit": filter.limit, "offset": filter.offset})))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ConfirmInput {
    #[schema(value_type = String, example = "13500")]
    amount: Amount,
    /// How it was paid: `cash`, `transfer`, a receipt number…
    payment_reference: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PaymentInput {
    #[schema(value_type = String, example = "31500")]
    amount: Amount,
    /// The owner's reference (a receipt number, the transfer's id): told again, it is the same
    /// payment. Without one, send an `Idempotency-Key` to make a retry safe.
    payment_reference: Option<String>,
    /// How it was paid: `efectivo`, `transferencia`…
    method: Option<String>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct RefundInput {
    /// How it went back (the transfer's id, "efectivo"…). Default: `by hand`.
    reference: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StayInput {
    check_in: NaiveDate,
    check_out: NaiveDate,
    /// Default: the party as it was.
    guests: Option<u32>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct CancelInput {
    reason: Option<String>,
    /// `true`: give back everything paid, whatever the cancellation policy keeps (the owner
    /// cancels for reasons of their own). Default: the policy, as when the guest asks.
    #[serde(default)]
    refund_all: bool,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct ExtendInput {
    /// Default: the configured hold duration.
    minutes: Option<i64>,
}

/// The reservation a code names, with its id and its cabin's.
async fn reservation_ids(
    state: &AppState,
    code: &str,
) -> Result<(ReservationView, ReservationId, AccommodationId), Problem> {
    let r = reservation_or_404(state, code).await?;
    let reservation_id: ReservationId =
        r.id.parse()
            .map_err(|_| Problem::not_found(format!("no reservation {code}")))?;
    let id = accommodation_id(&r.accommodation_id)?;
    Ok((r, reservation_id, id))
}

/// A command on the reservation `code`, on behalf of `actor`, answered with the events it
/// recorded and where the reservation stands now.
pub(crate) async fn on_reservation(
    state: &AppState,
    actor: &str,
    code: &str,
    make: impl FnOnce(ReservationId) -> Result<AccommodationCommand, Problem>,
) -> Result<Reply, Problem> {
    let (r, reservation_id, id) = reservation_ids(state, code).await?;
    let cmd = make(reservation_id)?;
    let (done, position) =
        command(state, id, cmd, meta(actor, Some(reservation_id.as_uuid()))).await?;
    let events: Vec<&str> = done.events.iter().map(|e| e.event_type()).collect();
    let mut answer = json!({
        "code": r.code,
        "event": events.last(),
        "events": events,
        "position": position,
    });
    // Where the reservation stands now, so that the owner sees what the command did (what a
    // cancellation gives back, what is left to collect) without a second request.
    if let Some(now) = state.accommodation(id).await?.reservation(reservation_id) {
        let refunded: Money = now.payments.iter().map(|p| p.refunded).sum();
        answer["status"] = json!(now.status);
        answer["total"] = json!(now.quote.total);
        answer["paid"] = json!(now.net_paid());
        answer["refunded"] = json!(refunded);
        answer["balance_due"] = json!(now.balance_due());
    }
    reply(StatusCode::OK, answer)
}

/// An admin's command on one reservation, made from the request's JSON body (read with `read`:
/// `parse` when a body is required, `parse_or_default` when it may be left out); idempotent
/// under `Idempotency-Key` and answered as `on_reservation` answers.
async fn admin_command<T>(
    state: &AppState,
    admin: &Admin,
    code: &str,
    (req, body): (&HttpRequest, &[u8]),
    read: fn(&[u8]) -> Result<T, Problem>,
    make: impl FnOnce(T, ReservationId) -> Result<AccommodationCommand, Problem>,
) -> Result<HttpResponse, Problem> {
    state
        .idempotency
        .run(req, body, || async {
            let input = read(body)?;
            on_reservation(state, &admin.0.sub, code, |reservation_id| {
                make(input, reservation_id)
            })
            .await
        })
        .await
}

/// `POST /v1/admin/reservations/{code}/confirm`: the owner took a hold's deposit by hand (a
/// bank transfer, cash). A hold that lapsed meanwhile is confirmed all the same while its nights
/// are free (`LatePaymentAccepted`); if they were taken since, 409 `dates-unavailable` and
/// nothing is recorded.
#[utoipa::path(post, path = "/v1/admin/reservations/{code}/confirm", tag = "admin",
    request_body = ConfirmInput, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = ProblemDetails), (status = 409, body = ProblemDetails)))]
async fn confirm(
    state: State,
    admin: Admin,
    code: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    state
        .idempotency
        .run(&req, &body, || async {
            let input: ConfirmInput = parse(&body)?;
            let reference = input.payment_reference.unwrap_or_else(|| "offline".into());
            confirm_deposit(
                &state,
                &admin.0.sub,
                &code,
                reference,
                Money::new(input.amount.0),
            )
            .await
        })
        .await
}

/// The owner took the deposit of the hold `code` by hand (`…/confirm`, or from their WhatsApp).
/// A hold that lapsed meanwhile is confirmed all the same while its nights are free
/// (`ConfirmLate`), and refused with `dates-unavailable`, nothing recorded, if they are not.
pub(crate) async fn confirm_deposit(
    state: &AppState,
    actor: &str,
    code: &str,
    reference: String,
    amount: Money,
) -> Result<Reply, Problem> {
    let confirmed = on_reservation(state, actor, code, |reservation_id| {
        Ok(AccommodationCommand::Confirm(ConfirmReservation {
            reservation_id,
            payment_reference: reference.clone(),
            amount_paid: amount,
        }))
    })
    .await;
    match confirmed {
        Err(p) if p.kind == "/problems/hold-expired" => {
            on_reservation(state, actor, code, |reservation_id| {
                Ok(AccommodationCommand::ConfirmLate(ConfirmLate {
                    reservation_id,
                    payment_reference: reference,
                    amount_paid: amount,
                }))
            })
            .await
            .map_err(|p| {
                if p.kind == "/problems/dates-unavailable" {
                    p.explained(
                    "the hold lapsed and its nights were taken since; nothing was recorded, and \
                     the transfer is for you to give back",
                )
                } else {
                    p
                }
            })
        }
        other => other,
    }
}

/// `POST /v1/admin/reservations/{code}/payments`: a payment the owner took by hand on a
/// confirmed stay, usually the balance on arrival; it lowers the reservation's `balance_due`.
#[utoipa::path(post, path = "/v1/admin/reservations/{code}/payments", tag = "admin",
    request_body = PaymentInput, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = ProblemDetails),
        (status = 409, body = ProblemDetails), (status = 422, body = ProblemDetails)))]
async fn record_payment(
    state: State,
    admin: Admin,
    code: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    admin_command(
        &state,
        &admin,
        &code,
        (&req, &body),
        parse,
        |input: PaymentInput, reservation_id| {
            Ok(AccommodationCommand::RecordManualPayment(
                RecordManualPayment {
                    reservation_id,
                    reference: input
                        .payment_reference
                        .unwrap_or_else(|| format!("manual-{}", uuid::Uuid::now_v7())),
                    amount: Money::new(input.amount.0),
                    method: input.method,
                },
            ))
        },
    )
    .await
}

/// `POST /v1/admin/reservations/{code}/refunds/{refund_key}`: the owner gave back a refund
/// themselves (one to make by hand, or one the provider refused that went back another way).
/// The refund shows as issued, its alert as resolved, and a WhatsApp guest is told.
#[utoipa::path(post, path = "/v1/admin/reservations/{code}/refunds/{refund_key}", tag = "admin",
    request_body = RefundInput, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = ProblemDetails),
        (status = 422, body = ProblemDetails)))]
async fn refund_made(
    state: State,
    admin: Admin,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let (code, refund_key) = path.into_inner();
    admin_command(
        &state,
        &admin,
        &code,
        (&req, &body),
        parse_or_default,
        |input: RefundInput, reservation_id| {
            let reference = input.reference.as_deref().map(str::trim);
            if reference.is_some_and(|r| r.is_empty() || r.chars().count() > 100) {
                return Err(Problem::validation(
                    "the reference must have 1 to 100 characters",
                ));
            }
            Ok(AccommodationCommand::RecordRefund(RecordRefund {
                reservation_id,
                refund_key,
                refund_id: reference.unwrap_or("by hand").to_owned(),
            }))
        },
    )
    .await
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
pub struct DryRun {
    /// `true`: answer what the change would do (new quote, total, balance) and record nothing.
    #[serde(default)]
    dry_run: bool,
}

/// `POST /v1/admin/reservations/{code}/stay`: a confirmed reservation moves to other nights,
/// stays longer or shorter, or changes its party. Priced again at today's prices; what was paid
/// stays paid and `balance_due` follows the new total. The guest is told on WhatsApp. With
/// `?dry_run=true` the owner sees the new price first (the same refusals, nothing recorded).
#[utoipa::path(post, path = "/v1/admin/reservations/{code}/stay", tag = "admin",
    params(DryRun), request_body = StayInput, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = ProblemDetails),
        (status = 409, body = ProblemDetails), (status = 422, body = ProblemDetails)))]
async fn change_stay(
    state: State,
    admin: Admin,
    code: web::Path<String>,
    dry: web::Query<DryRun>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    if dry.dry_run {
        return preview_stay(&state, &code, &body).await;
    }
    admin_command(
        &state,
        &admin,
        &code,
        (&req, &body),
        parse,
        |input: StayInput, reservation_id| {
            Ok(AccommodationCommand::ChangeStay(ChangeStay {
                reservation_id,
                stay: stay(input.check_in, input.check_out)?,
                guests: input.guests,
            }))
        },
    )
    .await
}

/// What a stay change would do, decided on the cabin's current state and not recorded.
async fn preview_stay(state: &AppState, code: &str, body: &[u8]) -> Result<HttpResponse, Problem> {
    let input: StayInput = parse(body)?;
    let new_stay = stay(input.check_in, input.check_out)?;
    let (r, reservation_id, id) = reservation_ids(state, code).await?;
    let mut cabin = state.accommodation(id).await?;
    let cmd = AccommodationCommand::ChangeStay(ChangeStay {
        reservation_id,
        stay: new_stay,
        guests: input.guests,
    });
    // The figures are read off the cabin as the change would leave it, as after a real one.
    for event in cabin.decide(&cmd, state.now())? {
        cabin.evolve(&event);
    }
    let after = cabin
        .reservation(reservation_id)
        .ok_or_else(|| Problem::not_found(format!("no reservation {code}")))?;
    Ok(HttpResponse::Ok().json(json!({
        "code": r.code,
        "dry_run": true,
        "check_in": after.stay.check_in(),
        "check_out": after.stay.check_out(),
        "guests": after.guests,
        "quote": after.quote,
        "total": after.quote.total,
        "amount_paid": after.net_paid(),
        "balance_due": after.balance_due(),
    })))
}

#[utoipa::path(post, path = "/v1/admin/reservations/{code}/cancel", tag = "admin",
    request_body = CancelInput, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = ProblemDetails), (status = 409, body = ProblemDetails)))]
async fn cancel(
    state: State,
    admin: Admin,
    code: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    admin_command(
        &state,
        &admin,
        &code,
        (&req, &body),
        parse_or_default,
        |input: CancelInput, reservation_id| {
            Ok(AccommodationCommand::Cancel(CancelReservation {
                reservation_id,
                by: CancelledBy::Admin,
                reason: input.reason.unwrap_or_default(),
                refund_all: input.refund_all,
            }))
        },
    )
    .await
}

#[utoipa::path(post, path = "/v1/admin/reservations/{code}/extend", tag = "admin",
    request_body = ExtendInput, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = ProblemDetails), (status = 409, body = ProblemDetails)))]
async fn extend(
    state: State,
    admin: Admin,
    code: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let default_minutes = state.settings.hold_minutes;
    admin_command(
        &state,
        &admin,
        &code,
        (&req, &body),
        parse_or_default,
        |input: ExtendInput, reservation_id| {
            let minutes = input.minutes.unwrap_or(default_minutes);
            if !(1..=24 * 60).contains(&minutes) {
                return Err(Problem::validation("minutes must be 1..1440"));
            }
            Ok(AccommodationCommand::ExtendHold(ExtendHold {
                reservation_id,
                by: chrono::Duration::minutes(minutes),
            }))
        },
    )
    .await
}

#[utoipa::path(get, path = "/v1/admin/stats", tag = "admin", params(Consistency),
    security(("bearer" = [])),
    responses((status = 200, description = "Occupancy per cabin and month; revenue per month and channel (every payment received that month less what was given back, and the confirmations); holds placed, converted, expired and cancelled by the month they were placed", body = Object)))]
async fn stats(
    state: State,
    _admin: Admin,
    c: web::Query<Consistency>,
) -> Result<HttpResponse, Problem> {
    caught_up(&state, &c).await?;
    Ok(HttpResponse::Ok().json(queries::stats(&state.db).await?))
}

// ---------------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize, utoipa::IntoParams)]
pub struct StreamQuery {
    after_version: Option<i64>,
}

#[utoipa::path(get, path = "/v1/audit/streams/{stream_id}", tag = "audit",
    params(("stream_id" = String, Path), StreamQuery), security(("bearer" = [])),
    responses((status = 200, description = "The stream's events in version order", body = Object),
              (status = 404, body = ProblemDetails)))]
async fn audit_stream(
    state: State,
    _auditor: Auditor,
    stream_id: web::Path<String>,
    q: web::Query<StreamQuery>,
) -> Result<HttpResponse, Problem> {
    let after = q.after_version.unwrap_or(0).max(0);
    let events = state.store.read_stream(&stream_id, after).await?;
    if events.is_empty() && after == 0 {
        return Err(Problem::not_found(format!("no stream {stream_id:?}")));
    }
    Ok(HttpResponse::Ok().json(json!({"stream_id": *stream_id, "events": events})))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct EventsQuery {
    /// Events after this global position.
    from: Option<i64>,
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/v1/audit/events", tag = "audit", params(EventsQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "The global log from a position, gap-free", body = Object)))]
async fn audit_events(
    state: State,
    _auditor: Auditor,
    q: web::Query<EventsQuery>,
) -> Result<HttpResponse, Problem> {
    let from = q.from.unwrap_or(0).max(0);
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let events = state.store.read_all(from, limit).await?;
    let next = events.last().and_then(|e| e.position).unwrap_or(from);
    Ok(HttpResponse::Ok().json(json!({"from": from, "next": next, "events": events})))
}

#[utoipa::path(get, path = "/v1/audit/reservations/{code}/timeline", tag = "audit",
    params(("code" = String, Path), Consistency), security(("bearer" = [])),
    responses((status = 200, description = "Every event of the reservation with position, time, actor, source, causation", body = Object),
              (status = 404, body = ProblemDetails)))]
async fn audit_timeline(
    state: State,
    _auditor: Auditor,
    code: web::Path<String>,
    c: web::Query<Consistency>,
) -> Result<HttpResponse, Problem> {
    caught_up(&state, &c).await?;
    let r = reservation_or_404(&state, &code).await?;
    let timeline = queries::timeline(&state.db, &r.id).await?;
    Ok(
        HttpResponse::Ok()
            .json(json!({"code": r.code, "reservation_id": r.id, "events": timeline})),
    )
}

#[utoipa::path(get, path = "/v1/audit/verify", tag = "audit", security(("bearer" = [])),
    responses((status = 200, description = "The hash chain is intact", body = Object),
              (status = 409, description = "The first altered event", body = Object)))]
async fn audit_verify(state: State, _auditor: Auditor) -> Result<HttpResponse, Problem> {
    let report = state.store.verify_chain().await?;
    if report.is_intact() {
        return Ok(HttpResponse::Ok().json(report));
    }
    // A problem body (the middleware insists on one for every error) carrying the report.
    let detail = match &report.first_break {
        Some(b) => format!(
            "the event at position {} does not match its hash",
            b.position
        ),
        None => "the chain is broken".to_owned(),
    };
    Err(Problem::new(
        StatusCode::CONFLICT,
        "chain-broken",
        "The hash chain is broken",
        detail,
    )
    .with(json!({"report": report})))
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "cabanas", description = "Event-sourced booking engine for cabin rentals. Errors are application/problem+json; every POST accepts Idempotency-Key; command responses carry `position`, which queries accept as `min_position` to read their own writes."),
    paths(
        list_accommodations, availability, quote, place_hold, reservation_status,
        register, accommodation_details, change_details, change_pricing, calendar, block, unblock, list_reservations, confirm, cancel,
        record_payment, refund_made, change_stay, extend, stats, audit_stream, audit_events, audit_timeline, audit_verify,
        crate::payments::alerts, crate::payments::reservation_payments, crate::payments::sandbox_payment,
        crate::ical::add_feed, crate::ical::list_feeds, crate::ical::sync_now, crate::ical::remove_feed,
        crate::ical::export_url, crate::ical::rotate, crate::ical::conflicts,
        crate::audit::availability_as_of, crate::audit::reservation_story, crate::guests::erase,
        crate::audit::verify_checkpoint
    ),
    components(schemas(ProblemDetails, StayRequest, GuestInput, RegisterInput, PricingInput,
        PricingChangeInput, DetailsInput, BlockInput, ConfirmInput, PaymentInput, RefundInput, StayInput, CancelInput, ExtendInput,
        crate::payments::SandboxPayment, crate::ical::FeedInput, crate::audit::CheckpointCheck)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
