//! `payment:created`, the service's own event: the safety net for a charge that lands on an
//! order cancelled meanwhile. The request that charged refunds at once when it sees the
//! cancellation, but it can crash first, or the provider can fail the refund; this event
//! is in the outbox with the payment, so it is delivered, and retried, until the refund
//! is made.

use common::bus::{Delivery, Listener, Outcome};
use common::events::PaymentCreated;

use crate::refunds::refund_if_cancelled;
use crate::startup::AppState;

pub struct RefundLatePayment {
    pub state: AppState,
}

impl Listener<PaymentCreated> for RefundLatePayment {
    #[tracing::instrument(name = "refund_late_payment", skip_all, fields(order_id = %payment.order_id))]
    async fn handle(&self, payment: PaymentCreated, _: &Delivery) -> anyhow::Result<Outcome> {
        refund_if_cancelled(&self.state, &payment.order_id).await?;
        Ok(Outcome::Done)
    }
}
