//! Errors as `application/problem+json` (RFC 9457) with a stable `type` per kind of error, so
//! clients branch on the type rather than on the wording.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use domain::BookingError;
use eventstore::{CommandError, StoreError};
use serde::Serialize;
use serde_json::Value;

/// An error response; boxed so that `Result<_, Problem>` stays small on the happy path.
#[derive(Debug, Clone)]
pub struct Problem(Box<ProblemDetails>);

impl std::ops::Deref for Problem {
    type Target = ProblemDetails;
    fn deref(&self) -> &ProblemDetails {
        &self.0
    }
}

impl std::ops::DerefMut for Problem {
    fn deref_mut(&mut self) -> &mut ProblemDetails {
        &mut self.0
    }
}

impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// The problem+json body.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProblemDetails {
    /// Stable identifier of the kind of error, e.g. `/problems/dates-unavailable`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Extra machine-readable fields (the clashing dates, the seconds to wait, …).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub extra: Option<Value>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.title, self.detail)
    }
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem(Box::new(ProblemDetails {
            kind: format!("/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            extra: None,
            retry_after: None,
        }))
    }

    pub fn with(mut self, extra: Value) -> Problem {
        self.extra = Some(extra);
        self
    }

    /// The same problem, its detail followed by `more` (what it means where it happened).
    pub fn explained(mut self, more: &str) -> Problem {
        self.0.detail = format!("{}: {more}", self.0.detail);
        self
    }

    pub fn validation(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid request",
            detail,
        )
    }

    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    pub fn rate_limited(retry_after: u64) -> Problem {
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!("slow down: try again in {retry_after} s"),
        );
        p.retry_after = Some(retry_after);
        p
    }

    /// The database or another dependency is down: the client may retry; nothing was lost.
    pub fn unavailable(detail: impl Into<String>) -> Problem {
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Temporarily unavailable",
            detail,
        );
        p.retry_after = Some(2);
        p
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        res.body(serde_json::to_string(self).unwrap_or_default())
    }
}

impl From<BookingError> for Problem {
    fn from(err: BookingError) -> Problem {
        use BookingError as E;
        let detail = err.to_string();
        match err {
            E::DatesUnavailable {
                check_in,
                check_out,
            } => Problem::new(
                StatusCode::CONFLICT,
                "dates-unavailable",
                "Dates unavailable",
                detail,
            )
            .with(serde_json::json!({"clash": {"check_in": check_in, "check_out": check_out}})),
            E::PaidAboveTotal { paid, total } => Problem::new(
                StatusCode::CONFLICT,
                "paid-above-total",
                "Paid more than the new total",
                detail,
            )
            .with(serde_json::json!({"paid": paid, "total": total})),
            E::HoldExpired { expired_at } => {
                Problem::new(StatusCode::CONFLICT, "hold-expired", "Hold expired", detail)
                    .with(serde_json::json!({"expired_at": expired_at}))
            }
            E::NotRegistered
            | E::ReservationNotFound(_)
            | E::BlockNotFound(_)
            | E::UnknownRefund(_) => Problem::not_found(detail),
            E::InvalidAccommodation(_)
            | E::InvalidPricing(_)
            | E::CheckOutNotAfterCheckIn { .. }
            | E::CheckInInPast { .. }
            | E::StayOver { .. }
            | E::StayTooShort { .. }
            | E::StayTooLong { .. }
            | E::TooFarAhead { .. }
            | E::InvalidGuestCount { .. }
            | E::InvalidAmount
            | E::InvalidPaymentReference
            | E::LinkNotForWhatIsOwed { .. }
            | E::InvalidHoldDuration => Problem::validation(detail),
            E::AlreadyRegistered
            | E::DuplicateReservation(_)
            | E::DuplicateBlock(_)
            | E::ReservationCancelled
            | E::AlreadyConfirmed
            | E::HoldAlreadyExtended
            | E::NotHeld
            | E::NotConfirmed
            | E::HoldNightsFixed
            | E::NothingToPay
            | E::PaymentReferenceTaken(_)
            | E::HoldNotDue { .. } => Problem::conflict(detail),
        }
    }
}

/// The one place the application's errors become problems.
impl From<app::AppError> for Problem {
    fn from(err: app::AppError) -> Problem {
        use app::AppError as A;
        match err {
            A::Domain(e) => e.into(),
            A::Contention(n) => {
                let mut p = Problem::new(
                    StatusCode::CONFLICT,
                    "busy",
                    "Busy",
                    format!("the accommodation is busy ({n} concurrent changes); retry"),
                );
                p.retry_after = Some(1);
                p
            }
            A::NotFound(detail) => Problem::not_found(detail),
            A::Invalid(detail) => Problem::validation(detail),
            A::Conflict(detail) => Problem::conflict(detail),
            A::Forbidden(detail) => Problem::forbidden(detail),
            A::Unavailable(e) => {
                tracing::error!(error = %e, "the database did not answer");
                Problem::unavailable("the database is not answering; retry shortly")
            }
            A::Unexpected(e) => {
                tracing::error!(error = %e, "unexpected error");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "something went wrong on our side; the operator is alerted",
                )
            }
        }
    }
}

impl From<CommandError<BookingError>> for Problem {
    fn from(err: CommandError<BookingError>) -> Problem {
        match err {
            CommandError::Domain(e) => e.into(),
            CommandError::Contention(n) => {
                let mut p = Problem::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "Busy",
                    format!("the accommodation is busy ({n} concurrent changes); retry"),
                );
                p.retry_after = Some(1);
                p
            }
            CommandError::Store(e) => e.into(),
            CommandError::Decode(e) => {
                tracing::error!(error = %e, "stored event unreadable");
                Problem::unavailable("stored history could not be read; the operator is alerted")
            }
        }
    }
}

impl From<StoreError> for Problem {
    fn from(err: StoreError) -> Problem {
        tracing::error!(error = %err, "event store error");
        Problem::unavailable("the database is not answering; retry shortly")
    }
}

impl From<sqlx::Error> for Problem {
    fn from(err: sqlx::Error) -> Problem {
        tracing::error!(error = %err, "read model query failed");
        Problem::unavailable("the database is not answering; retry shortly")
    }
}

impl From<projections::ProjectionError> for Problem {
    fn from(err: projections::ProjectionError) -> Problem {
        tracing::error!(error = %err, "projection error");
        Problem::unavailable("read models are not available; retry shortly")
    }
}

/// Turns actix's extractor failures (bad JSON, bad query, oversized body) into problems.
pub fn json_error(err: actix_web::error::JsonPayloadError) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as J;
    let p = match &err {
        J::OverflowKnownLength { .. } | J::Overflow { .. } => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload too large",
            err.to_string(),
        ),
        J::ContentType => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send Content-Type: application/json",
        ),
        J::Deserialize(e) => Problem::validation(e.to_string()),
        _ => Problem::bad_request(err.to_string()),
    };
    p.into()
}

pub fn query_error(err: actix_web::error::QueryPayloadError) -> actix_web::Error {
    Problem::validation(err.to_string()).into()
}

pub fn path_error(err: actix_web::error::PathError) -> actix_web::Error {
    Problem::not_found(err.to_string()).into()
}
