//! Stripe over HTTPS: form-encoded requests with the secret key, an `Idempotency-Key` on
//! every call, timeouts, and Stripe's error bodies mapped to what the buyer should read.
//! Charges carry the order id and the attempt's idempotency key as metadata, so that the
//! Search API finds every charge of an order when an attempt's outcome was lost.

use std::time::Duration;

use futures::future::BoxFuture;
use serde::Deserialize;

use super::{Charge, ChargeRequest, FoundCharge, Gateway, GatewayError};

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
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.secret_key)
            .header("Idempotency-Key", key)
            .form(form);
        Self::answer(request).await
    }

    async fn get(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<serde_json::Value, GatewayError> {
        let request = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.secret_key)
            .query(query);
        Self::answer(request).await
    }

    async fn answer(request: reqwest::RequestBuilder) -> Result<serde_json::Value, GatewayError> {
        let response = request
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

/// The Search API's query for an order's charges (ids are ULIDs; quotes are escaped anyway).
fn search_query(order_id: &str) -> String {
    let escaped = order_id.replace('\\', "\\\\").replace('\'', "\\'");
    format!("metadata['order_id']:'{escaped}'")
}

#[derive(Deserialize)]
struct SearchResult {
    data: Vec<FoundBody>,
    #[serde(default)]
    has_more: bool,
    next_page: Option<String>,
}

#[derive(Deserialize)]
struct FoundBody {
    id: String,
    amount: i64,
    #[serde(default)]
    refunded: bool,
    status: String,
    #[serde(default)]
    metadata: FoundMetadata,
}

#[derive(Deserialize, Default)]
struct FoundMetadata {
    attempt: Option<String>,
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
                ("metadata[attempt]", request.idempotency_key.clone()),
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

    fn charges_for_order<'a>(
        &'a self,
        order_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<FoundCharge>, GatewayError>> {
        Box::pin(async move {
            let query = search_query(order_id);
            let mut found = Vec::new();
            let mut page: Option<String> = None;
            // 100 charges a page; an order has one or two, so the bound is never reached.
            for _ in 0..10 {
                let mut params = vec![("query", query.as_str()), ("limit", "100")];
                if let Some(page) = &page {
                    params.push(("page", page.as_str()));
                }
                let body = self.get("/v1/charges/search", &params).await?;
                let result: SearchResult = serde_json::from_value(body).map_err(|e| {
                    GatewayError::Unavailable(format!("unreadable search result: {e}"))
                })?;
                found.extend(
                    result
                        .data
                        .into_iter()
                        .filter(|c| c.status == "succeeded")
                        .map(|c| FoundCharge {
                            id: c.id,
                            amount: c.amount,
                            refunded: c.refunded,
                            attempt: c.metadata.attempt,
                        }),
                );
                match result.next_page {
                    Some(next) if result.has_more => page = Some(next),
                    _ => return Ok(found),
                }
            }
            Ok(found)
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
    fn the_search_query_names_the_order_and_escapes_quotes() {
        assert_eq!(search_query("01ABC"), "metadata['order_id']:'01ABC'");
        assert_eq!(search_query("a'b"), "metadata['order_id']:'a\\'b'");
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
