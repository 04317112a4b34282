//! The application's typed error: what a workflow or a route can be told when a use case does
//! not go through. Workflows match its variants (never an HTTP status, a problem type or an
//! English message); `api` maps it to a problem in one place.

use domain::BookingError;
use eventstore::{CommandError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A booking rule refused it: permanent, never retried as it stands.
    #[error(transparent)]
    Domain(#[from] BookingError),
    /// Others changed the same stream too often for the handler's retries: transient.
    #[error("busy: {0} concurrent changes; retry")]
    Contention(u32),
    /// What was asked for does not exist (a reservation code, a cabin, a feed).
    #[error("{0}")]
    NotFound(String),
    /// The input breaks a rule of the use case (not the domain's): a name too long, an amount
    /// that is not positive.
    #[error("{0}")]
    Invalid(String),
    /// Well formed, but what is there refuses it (a calendar already imported, sandbox payments
    /// with real credentials configured).
    #[error("{0}")]
    Conflict(String),
    /// The caller may not (a calendar token that does not match).
    #[error("{0}")]
    Forbidden(String),
    /// The database (or a store read) did not answer: transient; nothing was lost.
    #[error("the database is not answering")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else: a bug or an unreadable stored event.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl AppError {
    /// Worth trying again as it stands: contention or an outage, not a refusal.
    pub fn is_transient(&self) -> bool {
        matches!(self, AppError::Contention(_) | AppError::Unavailable(_))
    }

    pub fn not_found(what: impl Into<String>) -> AppError {
        AppError::NotFound(what.into())
    }

    pub fn invalid(what: impl Into<String>) -> AppError {
        AppError::Invalid(what.into())
    }

    pub fn conflict(what: impl Into<String>) -> AppError {
        AppError::Conflict(what.into())
    }
}

impl From<CommandError<BookingError>> for AppError {
    fn from(err: CommandError<BookingError>) -> AppError {
        match err {
            CommandError::Domain(e) => AppError::Domain(e),
            CommandError::Contention(n) => AppError::Contention(n),
            CommandError::Store(e) => e.into(),
            CommandError::Decode(e) => {
                AppError::Unexpected(anyhow::anyhow!("stored event unreadable: {e}"))
            }
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> AppError {
        match err {
            // Someone else wrote the stream first: contention, not an outage.
            StoreError::Conflict { .. } => AppError::Contention(1),
            StoreError::EventIdReused(_) | StoreError::EmptyAppend => {
                AppError::Unexpected(err.into())
            }
            other => AppError::Unavailable(other.into()),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> AppError {
        AppError::Unavailable(err.into())
    }
}

impl From<projections::ProjectionError> for AppError {
    fn from(err: projections::ProjectionError) -> AppError {
        AppError::Unavailable(err.into())
    }
}
