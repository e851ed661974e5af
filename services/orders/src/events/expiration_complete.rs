//! `expiration:complete`: the window to pay has passed. A complete order stays complete;
//! an open one is cancelled.

use common::bus::{Delivery, Listener, Outcome};
use common::events::{CancelReason, ExpirationComplete};
use common::outbox::Outbox;

use super::cancel_if_open;

pub struct ExpireOrder {
    pub outbox: Outbox,
}

impl Listener<ExpirationComplete> for ExpireOrder {
    #[tracing::instrument(name = "expire_order", skip_all, fields(order_id = %expired.order_id))]
    async fn handle(&self, expired: ExpirationComplete, _: &Delivery) -> anyhow::Result<Outcome> {
        if cancel_if_open(&self.outbox, &expired.order_id, CancelReason::Expired).await? {
            tracing::info!("order expired");
        }
        Ok(Outcome::Done)
    }
}
