use std::time::Duration;

use switchboard_core::Invalid;
use switchboard_store::StoreError;

/// What can go wrong in a use case; each maps to one HTTP status at the edge.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Not there, or not visible to the caller (another domain's data looks absent).
    #[error("not found")]
    NotFound,
    /// Visible, but the caller's scope may not do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Conflict(String),
    #[error("this record was changed by someone else; it is now at version {current}")]
    Stale { current: i64 },
    #[error("too many failed logins; try again later")]
    TooManyAttempts { retry_after: Duration },
    /// Too much is under way (password hashes): the client should try again shortly.
    #[error("the server is busy; try again in a moment")]
    Overloaded { retry_after: Duration },
    /// One caller asks for more than their share (event streams, presence updates).
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: Duration },
    /// The request's body is larger than this resource takes (413).
    #[error("{0}")]
    TooLarge(String),
    /// The body is not of a type this resource takes (415).
    #[error("{0}")]
    Unsupported(String),
    /// What the request refers to is no longer kept (an expired feed cursor): start again (410).
    #[error("{0}")]
    Gone(String),
    #[error("internal error")]
    Internal(#[source] StoreError),
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(what) => AppError::Conflict(what),
            StoreError::Stale { current } => AppError::Stale { current },
            StoreError::NotFound => AppError::NotFound,
            other => AppError::Internal(other),
        }
    }
}

pub(crate) fn forbidden(what: &str) -> AppError {
    AppError::Forbidden(format!("your scope may not {what}"))
}
