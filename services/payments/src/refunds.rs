//! No buyer is charged for a ticket they did not get: a payment for an order that is
//! cancelled (it expired while the buyer paid, or its reservation was refused) is refunded.

use common::events::OrderStatus;

use crate::gateway::GatewayError;
use crate::startup::AppState;
use crate::store;

/// Refunds the order's payment if the order is cancelled and the payment is not refunded
/// yet. Safe to run twice at once: the refund's idempotency key (one per charge, the same
/// as for a charge found beyond the one kept) makes the provider refund once. Returns whether the order is cancelled, in which case its payment (if any) has
/// been refunded, here or by whoever got there first.
pub async fn refund_if_cancelled(state: &AppState, order_id: &str) -> anyhow::Result<bool> {
    let cancelled = store::order(&state.db, order_id)
        .await?
        .is_some_and(|o| o.status == OrderStatus::Cancelled);
    if !cancelled {
        return Ok(false);
    }
    let Some(payment) = store::payment_for(&state.db, order_id).await? else {
        return Ok(true);
    };
    if payment.refunded {
        return Ok(true);
    }
    match state
        .gateway
        .refund(&payment.stripe_id, &format!("refund-{}", payment.stripe_id))
        .await
    {
        Ok(()) => {}
        Err(GatewayError::Unavailable(reason)) => {
            anyhow::bail!("refund of {} failed: {reason}", payment.id)
        }
        Err(error) => anyhow::bail!("the provider refused to refund {}: {error}", payment.id),
    }
    store::mark_refunded(&state.db, &payment.id).await?;
    tracing::info!(order_id, payment_id = %payment.id, "payment refunded: the order was cancelled");
    Ok(true)
}
