//! The one error shape every service answers with (docs/spec.md §2):
//!
//! ```json
//! { "errors": [ { "message": "…", "field": "email" } ] }
//! ```
//!
//! Each service has its own error enum; they all convert into [`ApiError`], which is the
//! only thing that turns into an HTTP response. Internal errors are logged with their cause
//! chain and answered with a generic message.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub use contract::api::{ErrorBody, ErrorItem};

/// A validation failure of one request field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

pub const NOT_AUTHORIZED: &str = "Not authorized";
pub const NOT_FOUND: &str = "Not Found";
pub const BODY_TOO_LARGE: &str = "Request body too large";
pub const SOMETHING_WENT_WRONG: &str = "Something went wrong";

/// Every way a request can fail, as the client sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400, one entry per failed field.
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    /// 400 with a business rule's message, or a malformed request.
    #[error("{0}")]
    BadRequest(String),
    /// 401, anonymous or not the owner.
    #[error("Not authorized")]
    Unauthorized,
    /// 404, unknown id or route.
    #[error("Not Found")]
    NotFound,
    /// 413, body over the limit.
    #[error("Request body too large")]
    PayloadTooLarge,
    /// Any other deliberate status (405, 415, 429, 502, 503…) with a client-safe message.
    #[error("{status}: {message}")]
    Status { status: StatusCode, message: String },
    /// 500; the cause is logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    pub fn status(status: StatusCode, message: impl Into<String>) -> Self {
        Self::Status {
            status,
            message: message.into(),
        }
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    /// The response, with `Retry-After` saying when to try again (whole seconds, rounded
    /// up, at least one): for the 429 and 503 answers of limits and busy resources.
    pub fn with_retry_after(self, wait: std::time::Duration) -> axum::response::Response {
        let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        let mut response = axum::response::IntoResponse::into_response(self);
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(seconds),
        );
        response
    }

    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Status { status, .. } => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body the client receives.
    pub fn body(&self) -> ErrorBody {
        match self {
            Self::Validation(fields) => ErrorBody {
                errors: fields
                    .iter()
                    .map(|f| ErrorItem {
                        message: f.message.clone(),
                        field: Some(f.field.to_owned()),
                    })
                    .collect(),
            },
            Self::BadRequest(message) | Self::Status { message, .. } => {
                ErrorBody::message(message.clone())
            }
            Self::Unauthorized => ErrorBody::message(NOT_AUTHORIZED),
            Self::NotFound => ErrorBody::message(NOT_FOUND),
            Self::PayloadTooLarge => ErrorBody::message(BODY_TOO_LARGE),
            Self::Internal(_) => ErrorBody::message(SOMETHING_WENT_WRONG),
        }
    }
}

impl From<Vec<FieldError>> for ApiError {
    fn from(fields: Vec<FieldError>) -> Self {
        Self::Validation(fields)
    }
}

impl From<FieldError> for ApiError {
    fn from(field: FieldError) -> Self {
        Self::Validation(vec![field])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            // `{:#}` prints anyhow's whole cause chain on one line.
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        (self.status_code(), Json(self.body())).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonSyntaxError(_) => {
                Self::bad_request("Request body is not valid JSON")
            }
            JsonRejection::JsonDataError(_) => {
                Self::bad_request("Request body must be a JSON object with the expected fields")
            }
            JsonRejection::MissingJsonContentType(_) => Self::status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/json",
            ),
            JsonRejection::BytesRejection(bytes) => {
                if bytes.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Self::PayloadTooLarge
                } else {
                    Self::bad_request("Could not read the request body")
                }
            }
            other => Self::bad_request(other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        Self::NotFound
    }
}

/// Splits a list of field checks into the parsed values or every failure at once.
///
/// ```
/// # use common::error::{FieldError, collect_fields};
/// let title: Result<String, FieldError> = Ok("x".into());
/// let price: Result<u64, FieldError> = Err(FieldError::new("price", "bad"));
/// let err = collect_fields((title, price)).unwrap_err();
/// assert_eq!(err.len(), 1);
/// ```
pub fn collect_fields<T: FieldResults>(results: T) -> Result<T::Output, Vec<FieldError>> {
    results.collect()
}

/// Tuples of `Result<_, FieldError>` that [`collect_fields`] can combine.
pub trait FieldResults {
    type Output;
    fn collect(self) -> Result<Self::Output, Vec<FieldError>>;
}

macro_rules! impl_field_results {
    ($($name:ident),+) => {
        impl<$($name),+> FieldResults for ($(Result<$name, FieldError>,)+) {
            type Output = ($($name,)+);
            #[allow(non_snake_case)]
            fn collect(self) -> Result<Self::Output, Vec<FieldError>> {
                let ($($name,)+) = self;
                let mut errors = Vec::new();
                $(let $name = $name.map_err(|e| errors.push(e)).ok();)+
                if errors.is_empty() {
                    Ok(($($name.expect("checked above"),)+))
                } else {
                    Err(errors)
                }
            }
        }
    };
}

impl_field_results!(A);
impl_field_results!(A, B);
impl_field_results!(A, B, C);

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn render(error: ApiError) -> (StatusCode, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn validation_errors_carry_one_entry_per_field() {
        let (status, body) = render(ApiError::Validation(vec![
            FieldError::new("email", "Email must be valid"),
            FieldError::new("password", "Password must be between 4 and 20 characters"),
        ]))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            serde_json::json!({"errors": [
                {"message": "Email must be valid", "field": "email"},
                {"message": "Password must be between 4 and 20 characters", "field": "password"},
            ]})
        );
    }

    #[tokio::test]
    async fn each_error_maps_to_its_status_and_message() {
        let cases = [
            (ApiError::Unauthorized, 401, "Not authorized"),
            (ApiError::NotFound, 404, "Not Found"),
            (ApiError::PayloadTooLarge, 413, "Request body too large"),
            (ApiError::bad_request("Email in use"), 400, "Email in use"),
            (
                ApiError::status(StatusCode::BAD_GATEWAY, "Service unavailable"),
                502,
                "Service unavailable",
            ),
        ];
        for (error, status, message) in cases {
            let (got_status, body) = render(error).await;
            assert_eq!(got_status.as_u16(), status);
            assert_eq!(body, serde_json::json!({"errors": [{"message": message}]}));
        }
    }

    #[tokio::test]
    async fn internal_errors_never_show_their_cause() {
        let error = ApiError::internal(
            anyhow::anyhow!("connection refused to db at 10.0.0.3").context("loading ticket"),
        );
        let (status, body) = render(error).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body,
            serde_json::json!({"errors": [{"message": "Something went wrong"}]})
        );
    }

    #[test]
    fn collect_fields_reports_every_failure() {
        let a: Result<u8, FieldError> = Err(FieldError::new("a", "bad a"));
        let b: Result<u8, FieldError> = Err(FieldError::new("b", "bad b"));
        let errors = collect_fields((a, b)).unwrap_err();
        assert_eq!(
            errors.iter().map(|e| e.field).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let ok = collect_fields((Ok::<_, FieldError>(1u8), Ok::<_, FieldError>(2u8))).unwrap();
        assert_eq!(ok, (1, 2));
    }
}
