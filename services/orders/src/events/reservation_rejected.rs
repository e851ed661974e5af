//! `ticket:reservation-rejected`: the tickets service refused to lock the ticket; the order
//! is cancelled with the reason the buyer will see.

use common::bus::{Delivery, Listener, Outcome};
use common::events::{CancelReason, TicketReservationRejected};
use common::outbox::Outbox;

use super::cancel_if_open;

pub struct CancelRejectedOrder {
    pub outbox: Outbox,
}

impl Listener<TicketReservationRejected> for CancelRejectedOrder {
    #[tracing::instrument(name = "cancel_rejected_order", skip_all, fields(order_id = %rejected.order_id, reason = ?rejected.reason))]
    async fn handle(
        &self,
        rejected: TicketReservationRejected,
        _: &Delivery,
    ) -> anyhow::Result<Outcome> {
        if cancel_if_open(
            &self.outbox,
            &rejected.order_id,
            CancelReason::from(rejected.reason),
        )
        .await?
        {
            tracing::info!("order cancelled: reservation rejected");
        }
        Ok(Outcome::Done)
    }
}
