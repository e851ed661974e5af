//! Extractors whose rejections answer in the common error shape instead of axum's plain text.

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON object body. Malformed JSON, anything but an object (serde would read an array
/// into a struct field by field), a wrong `Content-Type` or an oversized body are rejected
/// with [`ApiError`]; as a response it serialises like `axum::Json`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) =
            axum::Json::<serde_json::Value>::from_request(request, state).await?;
        if !value.is_object() {
            return Err(ApiError::bad_request("Request body must be a JSON object"));
        }
        serde_json::from_value(value).map(Json).map_err(|_| {
            ApiError::bad_request("Request body must be a JSON object with the expected fields")
        })
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters; a path that cannot be parsed is an unknown resource (404).
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// Accepts any JSON value for a field so that validation can report every field's problem
/// with its own message (a wrong type included) instead of failing on the first one.
pub type Field = Option<serde_json::Value>;

/// The string in a [`Field`], if it holds one.
pub fn field_str(field: &Field) -> Option<&str> {
    field.as_ref().and_then(serde_json::Value::as_str)
}
