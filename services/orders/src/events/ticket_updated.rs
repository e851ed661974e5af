//! `ticket:updated`: apply version N only where the replica holds N − 1. An early event is
//! retried later; a duplicate or stale one is acknowledged and ignored.

use std::time::Duration;

use common::bus::{Delivery, Listener, Outcome};
use common::db::Db;
use common::events::TicketUpdated;

use crate::store::{self, ReplicaTicket};

pub struct ReplicateUpdatedTicket {
    pub db: Db,
}

impl Listener<TicketUpdated> for ReplicateUpdatedTicket {
    #[tracing::instrument(name = "replicate_updated_ticket", skip_all, fields(ticket_id = %ticket.id, version = ticket.version))]
    async fn handle(&self, ticket: TicketUpdated, _: &Delivery) -> anyhow::Result<Outcome> {
        let replica = ReplicaTicket {
            id: ticket.id,
            title: ticket.title,
            price: ticket.price.cents(),
            user_id: ticket.user_id,
            version: i64::try_from(ticket.version)
                .map_err(|_| common::bus::poison("the ticket's version is out of range"))?,
            order_id: ticket.order_id,
        };
        if replica.version > 0 && store::apply_replica(&self.db, &replica).await? {
            return Ok(Outcome::Done);
        }
        let held = store::replica_ticket(&self.db, &replica.id)
            .await?
            .map(|t| t.version);
        match held {
            Some(version) if version >= replica.version => {
                tracing::debug!(held = version, "stale or duplicate, ignored");
                Ok(Outcome::Done)
            }
            _ => {
                tracing::debug!(held = ?held, "an earlier version is missing, retrying later");
                Ok(Outcome::RetryLater(Duration::from_millis(100)))
            }
        }
    }
}
