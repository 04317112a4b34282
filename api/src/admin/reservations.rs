//! Reservations as the owner handles them: listing and finding them, confirming a deposit
//! taken by hand, recording a payment or a refund made by hand, moving a stay (with a preview),
//! cancelling, extending a hold, and the stats.

use app::reservations::NotConfirmed;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use domain::accommodation::{
    AccommodationCommand, CancelReservation, CancelledBy, ChangeStay, ExtendHold,
    RecordManualPayment, RecordRefund,
};
use domain::{Money, ReservationId};
use projections::ReservationStatus;
use projections::queries::{self, ReservationFilter};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Admin;
use crate::guard::Reply;
use crate::input::{
    Amount, Consistency, State, admin_origin, caught_up, parse, parse_or_default, reply, stay,
};
use crate::posted::Posted;
use crate::problem::{Problem, ProblemDetails};
use crate::state::AppState;

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
pub async fn list_reservations(
    state: State,
    _admin: Admin,
    q: web::Query<ListQuery>,
    c: web::Query<Consistency>,
) -> Result<HttpResponse, Problem> {
    caught_up(&state, &c).await?;
    let q = q.into_inner();
    let status = q.status.as_deref().map(ReservationStatus::parse);
    let filter = ReservationFilter {
        status: status.flatten(),
        from: q.from,
        to: q.to,
        accommodation_id: q.accommodation_id,
        channel: q.channel,
        q: q.q.filter(|s| !s.trim().is_empty()),
        guest_ref: None,
        newest_first: false,
        limit: q.limit.unwrap_or(50).clamp(1, 500),
        offset: q.offset.unwrap_or(0).max(0),
    };
    // A word no reservation's status can be matches none (as when the column was compared with
    // the word itself): an empty list, not a refusal.
    let items = match status {
        Some(None) => Vec::new(),
        _ => queries::search_reservations(&state.db, &filter).await?,
    };
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

/// A command on the reservation `code` by the admin, answered with the events it recorded and
/// where the reservation stands now.
pub(crate) async fn on_reservation(
    state: &AppState,
    admin: &Admin,
    code: &str,
    make: impl FnOnce(ReservationId) -> Result<AccommodationCommand, Problem>,
) -> Result<Reply, Problem> {
    let mut problem = None;
    let changed = app::reservations::on_reservation(state, &admin_origin(admin), code, |id| {
        make(id).map_err(|p| {
            let detail = p.detail.clone();
            problem = Some(p);
            app::AppError::invalid(detail)
        })
    })
    .await;
    match (changed, problem) {
        (_, Some(p)) => Err(p),
        (changed, None) => reply(StatusCode::OK, json!(changed?)),
    }
}

/// An admin's command on one reservation, made from the request's JSON body (read with `read`:
/// `parse` when a body is required, `parse_or_default` when it may be left out); idempotent
/// under `Idempotency-Key` and answered as `on_reservation` answers.
pub async fn admin_command<T>(
    state: &AppState,
    admin: &Admin,
    code: &str,
    posted: &Posted,
    read: fn(&[u8]) -> Result<T, Problem>,
    make: impl FnOnce(T, ReservationId) -> Result<AccommodationCommand, Problem>,
) -> Result<HttpResponse, Problem> {
    posted
        .once_read(state, read, |input| {
            on_reservation(state, admin, code, |reservation_id| {
                make(input, reservation_id)
            })
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
pub async fn confirm(
    state: State,
    admin: Admin,
    code: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, Problem> {
    let (state, admin, code) = (&state, &admin, &code);
    posted
        .once(state, |input: ConfirmInput| async move {
            let reference = input.payment_reference.unwrap_or_else(|| "offline".into());
            let amount = Money::new(input.amount.0);
            let confirmed = app::reservations::confirm_deposit(
                state,
                &admin_origin(admin),
                code,
                &reference,
                amount,
            )
            .await;
            match confirmed {
                Ok(changed) => reply(StatusCode::OK, json!(changed)),
                Err(NotConfirmed::LapsedAndTaken(e)) => Err(Problem::from(e).explained(
                    "the hold lapsed and its nights were taken since; nothing was recorded, and \
                     the transfer is for you to give back",
                )),
                Err(NotConfirmed::Other(e)) => Err(e.into()),
            }
        })
        .await
}

/// `POST /v1/admin/reservations/{code}/payments`: a payment the owner took by hand on a
/// confirmed stay, usually the balance on arrival; it lowers the reservation's `balance_due`.
#[utoipa::path(post, path = "/v1/admin/reservations/{code}/payments", tag = "admin",
    request_body = PaymentInput, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = ProblemDetails),
        (status = 409, body = ProblemDetails), (status = 422, body = ProblemDetails)))]
pub async fn record_payment(
    state: State,
    admin: Admin,
    code: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, Problem> {
    admin_command(
        &state,
        &admin,
        &code,
        &posted,
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
pub async fn refund_made(
    state: State,
    admin: Admin,
    path: web::Path<(String, String)>,
    posted: Posted,
) -> Result<HttpResponse, Problem> {
    let (code, refund_key) = path.into_inner();
    admin_command(
        &state,
        &admin,
        &code,
        &posted,
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
pub async fn change_stay(
    state: State,
    admin: Admin,
    code: web::Path<String>,
    dry: web::Query<DryRun>,
    posted: Posted,
) -> Result<HttpResponse, Problem> {
    if dry.dry_run {
        return preview_stay(&state, &code, posted.body()).await;
    }
    admin_command(
        &state,
        &admin,
        &code,
        &posted,
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
pub async fn preview_stay(
    state: &AppState,
    code: &str,
    body: &[u8],
) -> Result<HttpResponse, Problem> {
    let input: StayInput = parse(body)?;
    let new_stay = stay(input.check_in, input.check_out)?;
    let preview = app::reservations::preview_stay(state, code, new_stay, input.guests).await?;
    let mut answer = json!(preview);
    answer["dry_run"] = json!(true);
    Ok(HttpResponse::Ok().json(answer))
}

#[utoipa::path(post, path = "/v1/admin/reservations/{code}/cancel", tag = "admin",
    request_body = CancelInput, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = ProblemDetails), (status = 409, body = ProblemDetails)))]
pub async fn cancel(
    state: State,
    admin: Admin,
    code: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, Problem> {
    admin_command(
        &state,
        &admin,
        &code,
        &posted,
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
pub async fn extend(
    state: State,
    admin: Admin,
    code: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, Problem> {
    let default_minutes = state.settings.hold_minutes;
    admin_command(
        &state,
        &admin,
        &code,
        &posted,
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
pub async fn stats(
    state: State,
    _admin: Admin,
    c: web::Query<Consistency>,
) -> Result<HttpResponse, Problem> {
    caught_up(&state, &c).await?;
    Ok(HttpResponse::Ok().json(queries::stats(&state.db).await?))
}
