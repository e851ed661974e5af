//! Answers and Stripe's error bodies: `{"error": {"type", "code", "param", "message", ...}}`.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

/// A status and a JSON body: what a request is answered, and what the idempotency layer
/// stores and replays.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

impl Answer {
    pub(crate) fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body,
        }
    }
}

/// One of Stripe's error objects, built up and then turned into an [`Answer`].
pub(crate) struct StripeError {
    status: StatusCode,
    fields: Map<String, Value>,
}

impl StripeError {
    fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> Self {
        let mut fields = Map::new();
        fields.insert("type".into(), kind.into());
        fields.insert("message".into(), message.into().into());
        Self { status, fields }
    }

    /// A 400 `invalid_request_error`.
    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// A 400 `idempotency_error`.
    pub(crate) fn idempotency(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "idempotency_error", message)
    }

    /// A 402 `card_error`: the card was declined; `charge` names the failed charge.
    pub(crate) fn card(message: &str, code: &str, decline_code: &str, charge: &str) -> Self {
        Self::new(StatusCode::PAYMENT_REQUIRED, "card_error", message)
            .code(code)
            .field("decline_code", decline_code)
            .field("charge", charge)
    }

    /// A 500 `api_error`: a problem on Stripe's side.
    pub(crate) fn api(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "api_error", message)
    }

    /// `Missing required param: amount.`
    pub(crate) fn missing_param(name: &str) -> Self {
        Self::invalid_request(format!("Missing required param: {name}."))
            .code("parameter_missing")
            .param(name)
    }

    /// `Received unknown parameter: foo`
    pub(crate) fn unknown_param(name: &str) -> Self {
        Self::invalid_request(format!("Received unknown parameter: {name}"))
            .code("parameter_unknown")
            .param(name)
    }

    /// `No such charge: 'ch_x'`
    pub(crate) fn no_such(resource: &str, id: &str, param: &str) -> Self {
        Self::invalid_request(format!("No such {resource}: '{id}'"))
            .code("resource_missing")
            .param(param)
    }

    pub(crate) fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub(crate) fn code(self, code: &str) -> Self {
        self.field("code", code)
    }

    pub(crate) fn param(self, param: &str) -> Self {
        self.field("param", param)
    }

    fn field(mut self, name: &str, value: &str) -> Self {
        self.fields.insert(name.into(), value.into());
        self
    }

    pub(crate) fn answer(self) -> Answer {
        Answer {
            status: self.status,
            body: json!({ "error": self.fields }),
        }
    }
}

impl From<StripeError> for Answer {
    fn from(error: StripeError) -> Self {
        error.answer()
    }
}
