//! `order:created`: lock the ticket for the order, or refuse (SPEC §3, the price race).

use std::time::Duration;

use common::bus::{Delivery, Listener, Outcome};
use common::db;
use common::events::{OrderCreated, RejectionReason, TicketReservationRejected};
use common::outbox::Outbox;

use crate::domain::Ticket;
use crate::store;

pub struct LockTicket {
    pub outbox: Outbox,
}

/// Deliveries to wait for another order's lock to go before refusing. The orders service
/// lets only one active order hold a ticket, so a lock by another order usually means that
/// order's cancellation is still on its way (events of different kinds are not ordered).
const UNLOCK_GRACE_DELIVERIES: i64 = 6;

enum Decision {
    Locked,
    AlreadyLocked,
    /// Locked by another order that may be about to let go.
    Wait,
    Reject(RejectionReason),
}

impl Listener<OrderCreated> for LockTicket {
    #[tracing::instrument(name = "lock_ticket", skip_all, fields(order_id = %order.id, ticket_id = %order.ticket.id))]
    async fn handle(&self, order: OrderCreated, delivery: &Delivery) -> anyhow::Result<Outcome> {
        let decision = db::retry_conflicts(|| async {
            let Some(ticket) = store::get(self.outbox.db(), &order.ticket.id).await? else {
                return Ok(Decision::Reject(RejectionReason::TicketUnavailable));
            };
            if ticket.order_id.as_deref() == Some(order.id.as_str()) {
                return Ok(Decision::AlreadyLocked);
            }
            if ticket.is_locked() {
                if !ticket.sold && delivery.delivered < UNLOCK_GRACE_DELIVERIES {
                    return Ok(Decision::Wait);
                }
                return Ok(Decision::Reject(RejectionReason::TicketUnavailable));
            }
            // The owner changed the title or price after the version the order was priced
            // at: the buyer saw something that is no longer true.
            if ticket.edit_version > order.ticket.version || ticket.price != order.ticket.price {
                return Ok(Decision::Reject(RejectionReason::PriceChanged));
            }
            let locked = Ticket {
                version: ticket.version + 1,
                order_id: Some(order.id.clone()),
                ..ticket
            };
            store::update(&self.outbox, locked.version - 1, &locked).await?;
            Ok::<_, db::DbError>(Decision::Locked)
        })
        .await?;
        match decision {
            Decision::Locked => tracing::info!("ticket locked"),
            Decision::AlreadyLocked => tracing::debug!("already locked for this order"),
            Decision::Wait => {
                tracing::info!("locked by another order; waiting for it to let go");
                return Ok(Outcome::RetryLater(Duration::from_millis(200)));
            }
            Decision::Reject(reason) => {
                tracing::info!(?reason, "reservation rejected");
                let rejected = TicketReservationRejected {
                    order_id: order.id.clone(),
                    ticket_id: order.ticket.id.clone(),
                    reason,
                };
                store::publish_once(&self.outbox, &format!("rejected-{}", order.id), &rejected)
                    .await?;
            }
        }
        Ok(Outcome::Done)
    }
}
