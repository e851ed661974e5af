use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::{ApiError, FieldError};

use crate::password::HashError;

/// Everything a users request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("Email in use")]
    EmailInUse,
    #[error("Invalid credentials")]
    InvalidCredentials,
    #[error("Too many sign-in attempts, try again later")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("Too many sign-ups from your network. Try again later.")]
    TooManySignups { retry_after_secs: u64 },
    /// Every password hashing slot stayed busy for the whole queue wait.
    #[error("Too many requests at once. Please try again in a moment.")]
    Busy,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<common::db::DbError> for AuthError {
    fn from(error: common::db::DbError) -> Self {
        Self::Unexpected(error.into())
    }
}

impl From<HashError> for AuthError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Busy,
            HashError::Failed(error) => Self::Unexpected(error),
        }
    }
}

/// What a busy answer tells the client to wait: hashes end in well under a second.
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

fn with_retry_after(status: StatusCode, message: String, retry_after_secs: u64) -> Response {
    ApiError::status(status, message)
        .with_retry_after(std::time::Duration::from_secs(retry_after_secs))
}

impl From<Vec<FieldError>> for AuthError {
    fn from(fields: Vec<FieldError>) -> Self {
        Self::Validation(fields)
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        match self {
            Self::Validation(fields) => ApiError::Validation(fields).into_response(),
            Self::EmailInUse | Self::InvalidCredentials => {
                ApiError::bad_request(self.to_string()).into_response()
            }
            Self::TooManyAttempts { retry_after_secs }
            | Self::TooManySignups { retry_after_secs } => with_retry_after(
                StatusCode::TOO_MANY_REQUESTS,
                self.to_string(),
                retry_after_secs,
            ),
            Self::Busy => with_retry_after(
                StatusCode::SERVICE_UNAVAILABLE,
                self.to_string(),
                BUSY_RETRY_AFTER_SECS,
            ),
            Self::Unexpected(error) => ApiError::Internal(error).into_response(),
        }
    }
}
