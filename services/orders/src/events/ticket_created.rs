//! `ticket:created`: add the ticket to the replica (a duplicate changes nothing).

use common::bus::{Delivery, Listener, Outcome};
use common::db::Db;
use common::events::TicketCreated;

use crate::store::{self, TicketVersion};

pub struct ReplicateCreatedTicket {
    pub db: Db,
}

impl Listener<TicketCreated> for ReplicateCreatedTicket {
    #[tracing::instrument(name = "replicate_created_ticket", skip_all, fields(ticket_id = %ticket.id))]
    async fn handle(&self, ticket: TicketCreated, _: &Delivery) -> anyhow::Result<Outcome> {
        let row = TicketVersion {
            title: ticket.title,
            price: ticket.price,
            user_id: ticket.user_id,
            version: i64::try_from(ticket.version)
                .map_err(|_| common::bus::poison("the ticket's version is out of range"))?,
            order_id: None,
        };
        let applied = store::replicate_ticket(&self.db, &ticket.id, row).await?;
        tracing::debug!(?applied, "replicated");
        Ok(applied.outcome())
    }
}
