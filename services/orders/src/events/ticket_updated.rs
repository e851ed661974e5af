//! `ticket:updated`: apply version N only where the replica holds N − 1
//! (`common::replica`). An early event is retried later; a duplicate or stale one is
//! acknowledged and ignored.

use common::bus::{Delivery, Listener, Outcome};
use common::db::Db;
use common::events::TicketUpdated;

use crate::store::{self, TicketVersion};

pub struct ReplicateUpdatedTicket {
    pub db: Db,
}

impl Listener<TicketUpdated> for ReplicateUpdatedTicket {
    #[tracing::instrument(name = "replicate_updated_ticket", skip_all, fields(ticket_id = %ticket.id, version = ticket.version))]
    async fn handle(&self, ticket: TicketUpdated, _: &Delivery) -> anyhow::Result<Outcome> {
        let row = TicketVersion {
            title: ticket.title,
            price: ticket.price,
            user_id: ticket.user_id,
            version: i64::try_from(ticket.version)
                .map_err(|_| common::bus::poison("the ticket's version is out of range"))?,
            order_id: ticket.order_id,
        };
        let applied = store::replicate_ticket(&self.db, &ticket.id, row).await?;
        tracing::debug!(?applied, "replicated");
        Ok(applied.outcome())
    }
}
