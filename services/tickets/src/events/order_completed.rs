//! `order:completed`: the ticket is sold to that order.

use common::bus::{Delivery, Listener, Outcome};
use common::db;
use common::events::OrderCompleted;
use common::outbox::Outbox;

use crate::domain::Ticket;
use crate::store;

pub struct MarkSold {
    pub outbox: Outbox,
}

impl Listener<OrderCompleted> for MarkSold {
    #[tracing::instrument(name = "mark_sold", skip_all, fields(order_id = %order.id, ticket_id = %order.ticket.id))]
    async fn handle(&self, order: OrderCompleted, _: &Delivery) -> anyhow::Result<Outcome> {
        db::retry_conflicts(|| async {
            let Some(ticket) = store::get(self.outbox.db(), &order.ticket.id).await? else {
                tracing::warn!("completed order for an unknown ticket");
                return Ok(());
            };
            if ticket.order_id.as_deref() != Some(order.id.as_str()) {
                tracing::warn!(holder = ?ticket.order_id, "completed order does not hold the ticket");
                return Ok(());
            }
            if ticket.sold {
                return Ok(());
            }
            let sold = Ticket {
                version: ticket.version + 1,
                sold: true,
                ..ticket
            };
            store::update(&self.outbox, sold.version - 1, &sold).await?;
            tracing::info!("ticket sold");
            Ok::<_, db::DbError>(())
        })
        .await?;
        Ok(Outcome::Done)
    }
}
