use axum::response::{IntoResponse, Response};
use common::{ApiError, FieldError};

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
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<common::db::DbError> for AuthError {
    fn from(error: common::db::DbError) -> Self {
        Self::Unexpected(error.into())
    }
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
            Self::TooManyAttempts { retry_after_secs } => {
                let mut response =
                    ApiError::status(axum::http::StatusCode::TOO_MANY_REQUESTS, self.to_string())
                        .into_response();
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, retry_after_secs.into());
                response
            }
            Self::Unexpected(error) => ApiError::Internal(error).into_response(),
        }
    }
}
