use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::db::AsConflict;
use common::{ApiError, FieldError};

/// Everything a tickets request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum TicketsError {
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("Not Found")]
    NotFound,
    #[error("Cannot edit a reserved ticket")]
    Reserved,
    #[error("Not authorized")]
    NotOwner,
    /// 429: the user listed the most tickets allowed in the last hour; one leaves the hour
    /// after `retry_after`.
    #[error("You have listed too many tickets in the last hour. Try again later.")]
    TooManyListings { retry_after: Duration },
    #[error(transparent)]
    Db(#[from] common::db::DbError),
}

impl From<Vec<FieldError>> for TicketsError {
    fn from(fields: Vec<FieldError>) -> Self {
        Self::Validation(fields)
    }
}

impl AsConflict for TicketsError {
    fn is_conflict(&self) -> bool {
        matches!(self, Self::Db(error) if error.is_conflict())
    }
}

impl From<TicketsError> for ApiError {
    fn from(error: TicketsError) -> Self {
        match error {
            TicketsError::Validation(fields) => ApiError::Validation(fields),
            TicketsError::NotFound => ApiError::NotFound,
            TicketsError::Reserved => ApiError::bad_request("Cannot edit a reserved ticket"),
            TicketsError::NotOwner => ApiError::Unauthorized,
            TicketsError::TooManyListings { .. } => {
                ApiError::status(StatusCode::TOO_MANY_REQUESTS, error.to_string())
            }
            TicketsError::Db(error) if error.is_conflict() => ApiError::status(
                StatusCode::CONFLICT,
                "The ticket changed while saving; please try again",
            ),
            TicketsError::Db(error) => ApiError::internal(error),
        }
    }
}

impl IntoResponse for TicketsError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            Self::TooManyListings { retry_after } => Some(*retry_after),
            _ => None,
        };
        match retry_after {
            Some(wait) => ApiError::from(self).with_retry_after(wait),
            None => ApiError::from(self).into_response(),
        }
    }
}
