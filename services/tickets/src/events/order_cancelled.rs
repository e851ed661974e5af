//! `order:cancelled`: unlock the ticket, but only a lock held by that same order.

use common::bus::{Delivery, Listener, Outcome};
use common::db;
use common::events::OrderCancelled;
use common::outbox::Outbox;

use crate::domain::Ticket;
use crate::store;

pub struct UnlockTicket {
    pub outbox: Outbox,
}

impl Listener<OrderCancelled> for UnlockTicket {
    #[tracing::instrument(name = "unlock_ticket", skip_all, fields(order_id = %order.id, ticket_id = %order.ticket.id))]
    async fn handle(&self, order: OrderCancelled, _: &Delivery) -> anyhow::Result<Outcome> {
        let unlocked = db::retry_conflicts(|| async {
            let Some(ticket) = store::get(self.outbox.db(), &order.ticket.id).await? else {
                return Ok(false);
            };
            if ticket.sold || ticket.order_id.as_deref() != Some(order.id.as_str()) {
                return Ok(false);
            }
            let unlocked = Ticket {
                version: ticket.version + 1,
                order_id: None,
                ..ticket
            };
            store::update(&self.outbox, unlocked.version - 1, &unlocked).await?;
            Ok::<_, db::DbError>(true)
        })
        .await?;
        if unlocked {
            tracing::info!("ticket unlocked");
        }
        Ok(Outcome::Done)
    }
}
