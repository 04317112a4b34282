//! What an auditor asks of the history itself, without trusting any read model:
//!
//! - time travel: an accommodation's nights, or a reservation's state, *as of* a global position
//!   or an instant, by replaying its stream up to that point ("was this night free when the
//!   guest asked?");
//! - the causal story of a reservation: every event about it in order, each with what caused it
//!   (the WhatsApp message, the Mercado Pago notification, the calendar fetch, the admin, the
//!   scheduler) and, where an inbox recorded the delivery, when it arrived.

use actix_web::http::StatusCode;
use projections::queries;

use crate::input::{Consistency, caught_up, reservation_or_404};
use crate::problem::ProblemDetails;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use domain::accommodation::{Occupant, Reservation, ReservationStatus};
use domain::{Accommodation, AccommodationEvent, AccommodationId, Aggregate, DomainEvent};
use eventstore::RecordedEvent;
use eventstore::db_fetch;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Auditor;
use crate::problem::Problem;
use crate::state::AppState;

type State = web::Data<AppState>;

/// A point in the history: a global position, or an instant (RFC 3339, or a date: its end, UTC).
#[derive(Clone, Copy, Debug)]
pub enum AsOf {
    Position(i64),
    Instant(DateTime<Utc>),
}

impl AsOf {
    pub fn parse(raw: &str) -> Result<AsOf, Problem> {
        let raw = raw.trim();
        if let Ok(p) = raw.parse::<i64>() {
            return Ok(AsOf::Position(p));
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
            return Ok(AsOf::Instant(t.with_timezone(&Utc)));
        }
        if let Ok(d) = raw.parse::<NaiveDate>() {
            let end = d.and_hms_opt(23, 59, 59).unwrap_or_default().and_utc();
            return Ok(AsOf::Instant(end));
        }
        Err(Problem::validation(format!(
            "as_of must be a global position, an RFC 3339 instant or a date; got {raw:?}"
        )))
    }

    fn includes(&self, e: &RecordedEvent) -> bool {
        match self {
            // An event not yet stamped with a position is later than any position asked for.
            AsOf::Position(p) => e.position.is_some_and(|q| q <= *p),
            AsOf::Instant(t) => e.recorded_at <= *t,
        }
    }
}

/// The accommodation as its events up to `as_of` left it, and those events (the panel's
/// audit page replays through this too).
pub(crate) async fn replay(
    state: &AppState,
    id: AccommodationId,
    as_of: Option<AsOf>,
) -> Result<(Accommodation, Vec<(RecordedEvent, AccommodationEvent)>), Problem> {
    let events = state.store.read_stream(&id.stream_id(), 0).await?;
    let mut acc = Accommodation::default();
    let mut seen = Vec::new();
    for e in events {
        if as_of.is_some_and(|a| !a.includes(&e)) {
            break;
        }
        let decoded = AccommodationEvent::from_stored(
            &e.event_type,
            e.schema_version as u32,
            e.payload.clone(),
        )
        .map_err(|err| {
            Problem::new(
                actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                "unreadable-event",
                "Unreadable event",
                format!("event at position {:?}: {err}", e.position),
            )
        })?;
        acc.evolve(&decoded);
        seen.push((e, decoded));
    }
    if acc.info().is_none() {
        return Err(Problem::not_found(format!(
            "no accommodation {id} at that point"
        )));
    }
    Ok((acc, seen))
}

/// As the read model, and so the rest of the API, spells it.
fn status_name(s: ReservationStatus) -> &'static str {
    projections::ReservationStatus::from(s).as_str()
}

#[derive(Deserialize)]
pub struct AvailabilityAsOf {
    as_of: Option<String>,
    from: NaiveDate,
    to: NaiveDate,
}

/// `GET /v1/audit/accommodations/{id}/availability?as_of=…&from=…&to=…`: each night of
/// `[from, to)` and what held it at that point of the history.
#[utoipa::path(get, path = "/v1/audit/accommodations/{id}/availability", tag = "audit",
    params(("as_of" = Option<String>, Query, description = "Global position, RFC 3339 instant or date"),
           ("from" = String, Query), ("to" = String, Query)),
    security(("bearer" = [])), responses((status = 200, body = Object), (status = 404, body = crate::problem::ProblemDetails)))]
pub async fn availability_as_of(
    state: State,
    _auditor: Auditor,
    id: web::Path<String>,
    q: web::Query<AvailabilityAsOf>,
) -> Result<HttpResponse, Problem> {
    let id: AccommodationId = id
        .parse()
        .map_err(|_| Problem::not_found(format!("no accommodation {id}")))?;
    if q.to <= q.from || (q.to - q.from).num_days() > 366 {
        return Err(Problem::validation(
            "to must be after from, at most a year later",
        ));
    }
    let as_of = q.as_of.as_deref().map(AsOf::parse).transpose()?;
    let (acc, seen) = replay(&state, id, as_of).await?;
    let stays: Vec<_> = acc.active_stays().collect();
    let mut nights = Vec::new();
    let mut night = q.from;
    while night < q.to {
        let holder = stays
            .iter()
            .find(|(s, _)| s.check_in() <= night && night < s.check_out());
        nights.push(match holder {
            None => json!({"date": night, "status": "free"}),
            Some((_, Occupant::Reservation(r))) => {
                let r = acc.reservation(*r);
                json!({
                    "date": night,
                    "status": status_name(r.map_or(ReservationStatus::Held, |r| r.status)),
                    "reservation": r.map(|r| r.code.to_string()),
                })
            }
            Some((_, Occupant::Block(b))) => {
                json!({"date": night, "status": "blocked", "block": b})
            }
        });
        night = night.succ_opt().unwrap_or(q.to);
    }
    let last = seen
        .last()
        .map(|(e, _)| json!({"position": e.position, "recorded_at": e.recorded_at}));
    Ok(HttpResponse::Ok().json(json!({
        "accommodation_id": id,
        "as_of": q.as_of,
        "last_event": last,
        "nights": nights,
    })))
}

#[derive(Deserialize)]
pub struct ReservationAsOf {
    as_of: Option<String>,
}

fn reservation_json(r: &Reservation) -> Value {
    json!({
        "code": r.code,
        "status": status_name(r.status),
        "check_in": r.stay.check_in(),
        "check_out": r.stay.check_out(),
        "guests": r.guests,
        "channel": r.channel,
        "total": r.quote.total,
        "deposit": r.quote.deposit,
        "paid": r.amount_paid,
        "net_paid": r.net_paid(),
        "expires_at": r.expires_at,
        "payment_link": r.payment_url,
    })
}

/// Where a delivery that caused an event was recorded, when it is in an inbox.
async fn delivery(state: &AppState, provider_id: &str) -> Result<Option<Value>, Problem> {
    let mp: Option<(String, Option<String>, i64, Option<String>)> = db_fetch!(
        &state.db,
        (String, Option<String>, i64, Option<String>),
        fetch_optional,
        "SELECT topic, request_id, created_at_ms, outcome FROM mp_inbox WHERE id = $1".to_owned(),
        provider_id.to_owned()
    )?;
    if let Some((topic, request, at, outcome)) = mp {
        return Ok(Some(json!({
            "inbox": "mercadopago", "topic": topic, "request_id": request,
            "received_at": projections::sql::from_millis(at), "outcome": outcome,
        })));
    }
    let wa: Option<(String, i64)> = db_fetch!(
        &state.db,
        (String, i64),
        fetch_optional,
        "SELECT kind, received_at_ms FROM wa_inbox WHERE wamid = $1".to_owned(),
        provider_id.to_owned()
    )?;
    Ok(wa.map(|(kind, at)| {
        json!({"inbox": "whatsapp", "kind": kind, "received_at": projections::sql::from_millis(at)})
    }))
}

/// `GET /v1/audit/reservations/{code}?as_of=…`: the reservation's state at that point and the
/// causal story that led there.
#[utoipa::path(get, path = "/v1/audit/reservations/{code}", tag = "audit",
    params(("code" = String, Path), ("as_of" = Option<String>, Query, description = "Global position, RFC 3339 instant or date")),
    security(("bearer" = [])), responses((status = 200, body = Object), (status = 404, body = crate::problem::ProblemDetails)))]
pub async fn reservation_story(
    state: State,
    _auditor: Auditor,
    code: web::Path<String>,
    q: web::Query<ReservationAsOf>,
) -> Result<HttpResponse, Problem> {
    let code = code.trim().to_uppercase();
    let view = projections::queries::reservation_by_code(&state.db, &code)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no reservation {code}")))?;
    let id: AccommodationId = view
        .accommodation_id
        .parse()
        .map_err(|_| Problem::not_found(format!("no reservation {code}")))?;
    let reservation_id = view
        .id
        .parse()
        .map_err(|_| Problem::not_found(format!("no reservation {code}")))?;
    let as_of = q.as_of.as_deref().map(AsOf::parse).transpose()?;
    let (acc, seen) = replay(&state, id, as_of).await?;
    let mut story = Vec::new();
    for (e, decoded) in &seen {
        if decoded.reservation_id() != Some(reservation_id) {
            continue;
        }
        let provider = e
            .metadata
            .get("provider_message_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let delivered = match &provider {
            Some(p) => delivery(&state, p).await?,
            None => None,
        };
        story.push(json!({
            "position": e.position,
            "recorded_at": e.recorded_at,
            "event_type": e.event_type,
            "schema_version": e.schema_version,
            "actor": e.metadata.get("actor"),
            "source": e.metadata.get("source"),
            "caused_by": provider,
            "causation_id": e.metadata.get("causation_id"),
            "correlation_id": e.metadata.get("correlation_id"),
            "delivery": delivered,
            "event": decoded.to_payload(),
        }));
    }
    Ok(HttpResponse::Ok().json(json!({
        "code": code,
        "reservation_id": view.id,
        "as_of": q.as_of,
        "state": acc.reservation(reservation_id).map(reservation_json),
        "story": story,
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CheckpointCheck {
    /// A checkpoint as `cabanas checkpoint sign` prints it.
    #[schema(value_type = Object)]
    checkpoint: eventstore::checkpoint::Checkpoint,
    /// The owner's published public key (hex): the checkpoint must be signed by it.
    public_key: Option<String>,
}

/// `POST /v1/audit/checkpoints/verify`: does this log still have the hash the owner signed?
/// Also walks the chain, which proves the stored hashes match the events.
#[utoipa::path(post, path = "/v1/audit/checkpoints/verify", tag = "audit",
    request_body = CheckpointCheck, security(("bearer" = [])),
    responses((status = 200, description = "The checkpoint holds and the chain is intact", body = Object),
              (status = 409, description = "It does not: which part failed", body = Object),
              (status = 400, body = crate::problem::ProblemDetails)))]
pub async fn verify_checkpoint(
    state: web::Data<AppState>,
    _auditor: Auditor,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let body: CheckpointCheck = crate::input::parse(&body)?;
    let chain = state.store.verify_chain().await?;
    let check =
        eventstore::checkpoint::verify(&*state.store, &body.checkpoint, body.public_key.as_deref())
            .await?;
    let holds = chain.is_intact() && check.holds();
    let answer = json!({"holds": holds, "checkpoint": check, "chain": chain});
    if holds {
        return Ok(HttpResponse::Ok().json(answer));
    }
    let why = if !check.signature_valid {
        "the signature is not valid (or not by the pinned key)"
    } else if !check.hash_matches {
        "the log does not have the signed hash at that position: history was rewritten or cut"
    } else {
        "the hash chain is broken"
    };
    Err(Problem::new(
        actix_web::http::StatusCode::CONFLICT,
        "checkpoint-mismatch",
        "The checkpoint does not hold",
        why,
    )
    .with(answer))
}

// ---------------------------------------------------------------------------------------------
// The log, a stream, a reservation's timeline, the chain
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize, utoipa::IntoParams)]
pub struct StreamQuery {
    after_version: Option<i64>,
}

#[utoipa::path(get, path = "/v1/audit/streams/{stream_id}", tag = "audit",
    params(("stream_id" = String, Path), StreamQuery), security(("bearer" = [])),
    responses((status = 200, description = "The stream's events in version order", body = Object),
              (status = 404, body = ProblemDetails)))]
pub async fn audit_stream(
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
pub async fn audit_events(
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
pub async fn audit_timeline(
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
pub async fn audit_verify(state: State, _auditor: Auditor) -> Result<HttpResponse, Problem> {
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
