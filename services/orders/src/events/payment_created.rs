//! `payment:created`: the order is paid. It completes only if it is still open, and only
//! once the tickets service has confirmed the lock for it (the replica shows the ticket held
//! by this order), so that a completed order always owns its ticket. A payment for an order
//! that is no longer open is refunded by the payments service.

use std::time::Duration;

use common::bus::{Delivery, Listener, Outcome};
use common::db;
use common::events::PaymentCreated;
use common::outbox::Outbox;

use crate::store;

pub struct CompletePaidOrder {
    pub outbox: Outbox,
}

enum Decision {
    Completed,
    NotOpen,
    AwaitingLock,
}

impl Listener<PaymentCreated> for CompletePaidOrder {
    #[tracing::instrument(name = "complete_paid_order", skip_all, fields(order_id = %payment.order_id))]
    async fn handle(&self, payment: PaymentCreated, _: &Delivery) -> anyhow::Result<Outcome> {
        let decision = db::retry_conflicts(|| async {
            let Some(order) = store::order(self.outbox.db(), &payment.order_id).await? else {
                tracing::warn!("payment for an unknown order");
                return Ok(Decision::NotOpen);
            };
            if !order.status.is_open() {
                return Ok(Decision::NotOpen);
            }
            let held_by = store::replica_ticket(self.outbox.db(), &order.ticket.id)
                .await?
                .and_then(|t| t.order_id);
            if held_by.as_deref() != Some(order.id.as_str()) {
                return Ok(Decision::AwaitingLock);
            }
            store::change_status(&self.outbox, &order.completed()).await?;
            Ok::<_, db::DbError>(Decision::Completed)
        })
        .await?;
        match decision {
            Decision::Completed => tracing::info!("order complete"),
            Decision::NotOpen => tracing::info!("order not open; nothing to complete"),
            Decision::AwaitingLock => {
                tracing::info!("waiting for the ticket's lock to be confirmed");
                return Ok(Outcome::RetryLater(Duration::from_millis(200)));
            }
        }
        Ok(Outcome::Done)
    }
}
