//! `/api/payments` (SPEC §2 payments).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use common::FieldError;
use common::db::new_id;
use common::error::collect_fields;
use common::events::OrderStatus;
use common::extract::{Field, Json, field_str};
use common::session::RequireAuth;
use serde::{Deserialize, Serialize};

use crate::error::PaymentsError;
use crate::gateway::{ChargeRequest, GatewayError};
use crate::refunds::refund_if_cancelled;
use crate::startup::AppState;
use crate::store::{self, Claim, Payment};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/payments", post(create))
}

#[derive(Debug, Deserialize)]
pub struct PaymentInput {
    #[serde(rename = "orderId")]
    order_id: Field,
    token: Field,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentBody {
    id: String,
    order_id: String,
    stripe_id: String,
}

fn required(field: &Field, name: &'static str, message: &str) -> Result<String, FieldError> {
    match field_str(field).map(str::trim) {
        Some(value) if !value.is_empty() => Ok(value.to_owned()),
        _ => Err(FieldError::new(name, message)),
    }
}

/// Checks in the SPEC's order, then charges once: a claim per order lets one charge run
/// at a time, the provider's idempotency key makes a retried request charge at most once,
/// and a charge that lands on an order cancelled meanwhile is refunded at once.
#[tracing::instrument(skip_all, fields(user_id = %user.id))]
async fn create(
    State(state): State<AppState>,
    RequireAuth(user): RequireAuth,
    Json(input): Json<PaymentInput>,
) -> Result<(StatusCode, Json<PaymentBody>), PaymentsError> {
    let (order_id, token) = collect_fields((
        required(&input.order_id, "orderId", "Order id is required"),
        required(&input.token, "token", "Token is required"),
    ))?;
    if !common::db::is_valid_id(&order_id) {
        return Err(PaymentsError::NotFound);
    }
    let order = store::order(&state.db, &order_id)
        .await?
        .ok_or(PaymentsError::NotFound)?;
    if order.user_id != user.id {
        return Err(PaymentsError::NotOwner);
    }
    match order.status() {
        Some(OrderStatus::Cancelled) => return Err(PaymentsError::Cancelled),
        Some(OrderStatus::Complete) => return Err(PaymentsError::AlreadyPaid),
        _ => {}
    }
    let attempt = match store::claim(&state.db, &order_id, state.claim_stale_secs).await? {
        Claim::Granted { attempt } => attempt,
        Claim::Busy | Claim::Paid => return Err(PaymentsError::AlreadyPaid),
    };
    let request = ChargeRequest {
        amount: order.price,
        currency: "usd".to_owned(),
        source: token,
        description: format!("GitTix order {order_id}"),
        order_id: order_id.clone(),
        idempotency_key: format!("charge-{order_id}-{attempt}"),
    };
    let charge = match state.gateway.charge(&request).await {
        Ok(charge) => charge,
        Err(error) => {
            let refused = !matches!(error, GatewayError::Unavailable(_));
            store::release_claim(&state.db, &order_id, attempt, refused).await?;
            return Err(match error {
                GatewayError::Declined(message) | GatewayError::Invalid(message) => {
                    tracing::info!(%order_id, message, "charge refused");
                    PaymentsError::Refused(message)
                }
                GatewayError::Unavailable(reason) => PaymentsError::ProviderUnavailable(reason),
            });
        }
    };
    let payment = Payment {
        id: new_id(),
        order_id: order_id.clone(),
        stripe_id: charge.id,
        amount: order.price,
        refunded: false,
    };
    store::record_payment(&state.outbox, attempt, &payment).await?;
    tracing::info!(%order_id, payment_id = %payment.id, gateway = state.gateway.name(), "charged");
    // The order may have been cancelled while the card was charged (it expired, say).
    let cancelled = store::order(&state.db, &order_id)
        .await?
        .is_some_and(|o| o.status() == Some(OrderStatus::Cancelled));
    if cancelled {
        if let Err(error) = refund_if_cancelled(&state, &order_id).await {
            // The charge is recorded and its payment:created event staged with it; the
            // service's own listener of that event retries the refund until it is made.
            tracing::warn!(%order_id, error = format!("{error:#}"), "refund deferred");
        }
        return Err(PaymentsError::Cancelled);
    }
    Ok((
        StatusCode::CREATED,
        Json(PaymentBody {
            id: payment.id,
            order_id,
            stripe_id: payment.stripe_id,
        }),
    ))
}
