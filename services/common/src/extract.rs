//! Extractors whose rejections answer in the common error shape instead of axum's plain text.

use axum::extract::FromRequest;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// A JSON body. Malformed JSON, a wrong `Content-Type` or an oversized body are rejected
/// with [`ApiError`]; as a response it serialises like `axum::Json`.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

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
