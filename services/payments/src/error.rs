use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::{ApiError, FieldError};

/// Everything a payment request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("Not Found")]
    NotFound,
    #[error("Not authorized")]
    NotOwner,
    #[error("Cannot pay for a cancelled order")]
    Cancelled,
    #[error("Order is already paid")]
    AlreadyPaid,
    /// The provider refused the card or the request; its message.
    #[error("{0}")]
    Refused(String),
    #[error("payment provider unavailable: {0}")]
    ProviderUnavailable(String),
    /// Another request's charge of the order is still with the provider.
    #[error("the order's payment is still being processed")]
    StillProcessing,
    #[error(transparent)]
    Db(#[from] common::db::DbError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<Vec<FieldError>> for PaymentsError {
    fn from(fields: Vec<FieldError>) -> Self {
        Self::Validation(fields)
    }
}

impl From<PaymentsError> for ApiError {
    fn from(error: PaymentsError) -> Self {
        match error {
            PaymentsError::Validation(fields) => ApiError::Validation(fields),
            PaymentsError::NotFound => ApiError::NotFound,
            PaymentsError::NotOwner => ApiError::Unauthorized,
            PaymentsError::Cancelled | PaymentsError::AlreadyPaid | PaymentsError::Refused(_) => {
                ApiError::bad_request(error.to_string())
            }
            PaymentsError::ProviderUnavailable(reason) => {
                tracing::error!(reason, "payment provider unavailable");
                ApiError::status(
                    StatusCode::BAD_GATEWAY,
                    "The payment provider is unavailable. Please try again; you will not be charged twice.",
                )
            }
            PaymentsError::StillProcessing => ApiError::status(
                StatusCode::CONFLICT,
                "Your payment is still being processed. Check your order again in a minute; you will not be charged twice.",
            ),
            PaymentsError::Db(error) => ApiError::internal(error),
            PaymentsError::Unexpected(error) => ApiError::Internal(error),
        }
    }
}

impl IntoResponse for PaymentsError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}
