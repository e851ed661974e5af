//! Stripe over HTTPS: form-encoded requests with the secret key, an `Idempotency-Key` on
//! every call, timeouts, and Stripe's error bodies mapped to what the buyer should read.

use std::time::Duration;

use futures::future::BoxFuture;
use serde::Deserialize;

use super::{Charge, ChargeRequest, Gateway, GatewayError};

pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";

pub struct Stripe {
    client: reqwest::Client,
    base: String,
    secret_key: String,
}

impl Stripe {
    pub fn new(secret_key: String, base: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            secret_key,
        })
    }

    async fn post(
        &self,
        path: &str,
        key: &str,
        form: &[(&str, String)],
    ) -> Result<serde_json::Value, GatewayError> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.secret_key)
            .header("Idempotency-Key", key)
            .form(form)
            .send()
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        let status = response.status();
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| GatewayError::Unavailable(format!("unreadable answer ({status}): {e}")))?;
        if status.is_success() {
            return Ok(body);
        }
        Err(map_error(status.as_u16(), &body))
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: StripeError,
}

#[derive(Deserialize)]
struct StripeError {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<String>,
}

/// Stripe's errors: card errors are declines with a message for the buyer; invalid
/// requests (an unknown token) are refusals with Stripe's message; the rest (bad key, rate
/// limits, outages) mean the provider is unavailable to us.
fn map_error(status: u16, body: &serde_json::Value) -> GatewayError {
    let error = serde_json::from_value::<ErrorBody>(body.clone())
        .ok()
        .map(|b| b.error);
    let message = error.as_ref().and_then(|e| e.message.clone());
    match (status, error.as_ref().and_then(|e| e.kind.as_deref())) {
        (_, Some("card_error")) | (402, _) => {
            GatewayError::Declined(message.unwrap_or_else(|| "Your card was declined.".into()))
        }
        (400 | 404, Some("invalid_request_error")) => {
            GatewayError::Invalid(message.unwrap_or_else(|| "The payment was refused.".into()))
        }
        _ => GatewayError::Unavailable(format!("status {status}: {}", message.unwrap_or_default())),
    }
}

impl Gateway for Stripe {
    fn charge<'a>(
        &'a self,
        request: &'a ChargeRequest,
    ) -> BoxFuture<'a, Result<Charge, GatewayError>> {
        Box::pin(async move {
            let form = [
                ("amount", request.amount.to_string()),
                ("currency", request.currency.clone()),
                ("source", request.source.clone()),
                ("description", request.description.clone()),
                ("metadata[order_id]", request.order_id.clone()),
            ];
            let body = self
                .post("/v1/charges", &request.idempotency_key, &form)
                .await?;
            let id = body["id"]
                .as_str()
                .ok_or_else(|| GatewayError::Unavailable("a charge without an id".into()))?;
            Ok(Charge { id: id.to_owned() })
        })
    }

    fn refund<'a>(
        &'a self,
        charge_id: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), GatewayError>> {
        Box::pin(async move {
            let form = [("charge", charge_id.to_owned())];
            match self.post("/v1/refunds", idempotency_key, &form).await {
                Ok(_) => Ok(()),
                // Stripe refuses a second refund of a fully refunded charge.
                Err(GatewayError::Invalid(message))
                    if message.contains("already been refunded") =>
                {
                    Ok(())
                }
                Err(error) => Err(error),
            }
        })
    }

    fn name(&self) -> &'static str {
        "stripe"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn card_errors_are_declines_with_stripes_message() {
        let body = json!({"error": {"type": "card_error", "code": "card_declined", "message": "Your card was declined."}});
        assert_eq!(
            map_error(402, &body),
            GatewayError::Declined("Your card was declined.".into())
        );
    }

    #[test]
    fn invalid_requests_carry_stripes_message() {
        let body = json!({"error": {"type": "invalid_request_error", "message": "No such token: 'tok_nope'"}});
        assert_eq!(
            map_error(400, &body),
            GatewayError::Invalid("No such token: 'tok_nope'".into())
        );
    }

    #[test]
    fn everything_else_is_unavailable() {
        for (status, body) in [
            (
                401,
                json!({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}),
            ),
            (429, json!({"error": {"type": "rate_limit_error"}})),
            (500, json!({})),
            (503, json!("maintenance")),
        ] {
            assert!(
                matches!(map_error(status, &body), GatewayError::Unavailable(_)),
                "{status}"
            );
        }
    }
}
