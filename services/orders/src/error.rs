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
        ApiError::from(self).into_response()
    }
}
