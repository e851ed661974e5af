//! `/api/payments` (docs/spec.md §7).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use common::FieldError;
use common::contract::{api, routes};
use common::error::collect_fields;
use common::events::OrderStatus;
use common::extract::{Field, Json, field_str};
use common::session::RequireAuth;
use serde::Deserialize;

use crate::error::PaymentsError;
use crate::startup::AppState;
use crate::store;
use crate::workflow::{self, Paid, Settled};

pub fn router() -> Router<AppState> {
    Router::new().route(routes::PAYMENTS, post(create))
}

#[derive(Debug, Deserialize)]
pub struct PaymentInput {
    #[serde(rename = "orderId")]
    order_id: Field,
    token: Field,
}

fn required(field: &Field, name: &'static str, message: &str) -> Result<String, FieldError> {
    match field_str(field).map(str::trim) {
        Some(value) if !value.is_empty() => Ok(value.to_owned()),
        _ => Err(FieldError::new(name, message)),
    }
}

/// Checks in the order of docs/spec.md §7, then pays through the order's payment intent
/// (§11; see [`crate::workflow`]): the charge runs to completion whether or not this
/// request is still there to hear how it went.
#[tracing::instrument(skip_all, fields(user_id = %user.id))]
async fn create(
    State(state): State<AppState>,
    RequireAuth(user): RequireAuth,
    Json(input): Json<PaymentInput>,
) -> Result<(StatusCode, Json<api::Payment>), PaymentsError> {
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
    match order.status {
        OrderStatus::Cancelled => return Err(PaymentsError::Cancelled),
        OrderStatus::Complete => return Err(PaymentsError::AlreadyPaid),
        OrderStatus::Created | OrderStatus::AwaitingPayment => {}
    }
    let payment = match workflow::pay(&state, &order, token).await? {
        Paid::Settled(Settled::Charged(payment)) => payment,
        Paid::Settled(Settled::Refused(message)) => return Err(PaymentsError::Refused(message)),
        Paid::Settled(Settled::Unknown(reason)) => {
            return Err(PaymentsError::ProviderUnavailable(reason));
        }
        // Reconciled as never charged, and the order is over meanwhile.
        Paid::Settled(Settled::NoCharge) => return Err(PaymentsError::Cancelled),
        Paid::AlreadyPaid => return Err(PaymentsError::AlreadyPaid),
        Paid::StillProcessing => return Err(PaymentsError::StillProcessing),
    };
    // The order may have been cancelled while the card was charged (it expired, say); the
    // workflow has refunded the charge then.
    let cancelled = store::order(&state.db, &order_id)
        .await?
        .is_some_and(|o| o.status == OrderStatus::Cancelled);
    if cancelled {
        return Err(PaymentsError::Cancelled);
    }
    Ok((
        StatusCode::CREATED,
        Json(api::Payment {
            id: payment.id.into(),
            order_id: order_id.into(),
            stripe_id: payment.stripe_id,
        }),
    ))
}
