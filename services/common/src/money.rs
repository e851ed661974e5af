//! Prices ([`contract::money`]), and reading one from a request field.

pub use contract::money::*;

use crate::FieldError;
use crate::extract::Field;

/// The request field `price` as a [`Price`], or its message on field `price`
/// (docs/spec.md §3).
pub fn price_field(field: &Field) -> Result<Price, FieldError> {
    Price::from_json(field.as_ref()).map_err(|error| FieldError::new("price", error.to_string()))
}
