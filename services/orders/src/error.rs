use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::db::AsConflict;
use common::{ApiError, FieldError};

/// Everything an orders request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum OrdersError {
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("Not Found")]
    NotFound,
    #[error("Not authorized")]
    NotOwner,
    #[error("You cannot buy your own ticket")]
    OwnTicket,
    #[error("Ticket is already reserved")]
    AlreadyReserved,
    #[error("Cannot cancel a completed order")]
    Completed,
    /// 429: the buyer already has the most open orders allowed; `retry_after` is the time
    /// until the first of them expires.
    #[error("You have too many open orders. Pay for or cancel one first.")]
    TooManyOpenOrders { retry_after: Option<Duration> },
    #[error(transparent)]
    Db(#[from] common::db::DbError),
}

impl From<FieldError> for OrdersError {
    fn from(field: FieldError) -> Self {
        Self::Validation(vec![field])
    }
}

impl AsConflict for OrdersError {
    fn is_conflict(&self) -> bool {
        matches!(self, Self::Db(error) if error.is_conflict())
    }
}

impl From<OrdersError> for ApiError {
    fn from(error: OrdersError) -> Self {
        match error {
            OrdersError::Validation(fields) => ApiError::Validation(fields),
            OrdersError::NotFound => ApiError::NotFound,
            OrdersError::NotOwner => ApiError::Unauthorized,
            OrdersError::OwnTicket | OrdersError::AlreadyReserved | OrdersError::Completed => {
                ApiError::bad_request(error.to_string())
            }
            OrdersError::TooManyOpenOrders { .. } => {
                ApiError::status(StatusCode::TOO_MANY_REQUESTS, error.to_string())
            }
            OrdersError::Db(error) if error.is_conflict() => ApiError::status(
                StatusCode::CONFLICT,
                "The order changed while saving; please try again",
            ),
            OrdersError::Db(error) => ApiError::internal(error),
        }
    }
}

impl IntoResponse for OrdersError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            Self::TooManyOpenOrders { retry_after } => *retry_after,
            _ => None,
        };
        match retry_after {
            Some(wait) => ApiError::from(self).with_retry_after(wait),
            None => ApiError::from(self).into_response(),
        }
    }
}
