//! `order:cancelled`: the replica follows, and a payment already made for the order is
//! refunded.

use common::bus::{Delivery, Listener, Outcome};
use common::events::{OrderCancelled, OrderStatus};

use crate::refunds::refund_if_cancelled;
use crate::startup::AppState;

pub struct CancelOrder {
    pub state: AppState,
}

impl Listener<OrderCancelled> for CancelOrder {
    #[tracing::instrument(name = "cancel_order", skip_all, fields(order_id = %order.id, version = order.version))]
    async fn handle(&self, order: OrderCancelled, _: &Delivery) -> anyhow::Result<Outcome> {
        let outcome = super::apply(
            &self.state.db,
            &order.id,
            OrderStatus::Cancelled,
            order.version,
        )
        .await?;
        if outcome == Outcome::Done {
            // Also on a redelivery: a crash between the two steps must not skip the refund.
            refund_if_cancelled(&self.state, &order.id).await?;
        }
        Ok(outcome)
    }
}
