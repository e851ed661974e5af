//! `order:cancelled`: unlock the ticket, but only a lock held by that same order; and
//! remember the cancellation, so that the order's reservation, if it is handled later,
//! locks nothing.

use common::bus::{Delivery, Listener, Outcome};
use common::db;
use common::events::OrderCancelled;
use common::outbox::{Outbox, Tx};

use crate::domain::Ticket;
use crate::store::{self, OrderChange, OrderState};

pub struct UnlockTicket {
    pub outbox: Outbox,
}

#[derive(Debug, PartialEq)]
enum Decision {
    /// Store this ticket, unlocked, and record the cancellation.
    Unlock(Ticket),
    /// Record the cancellation; no lock of this order to clear (none yet, or rejected).
    Remember,
    /// Cancelled already, or completed (which a cancellation never undoes).
    Nothing,
}

/// What to do with the cancellation, given the ticket and what is known of the order.
fn decide(order_id: &str, ticket: Option<Ticket>, seen: Option<OrderState>) -> Decision {
    if matches!(seen, Some(OrderState::Cancelled | OrderState::Completed)) {
        return Decision::Nothing;
    }
    match ticket.filter(|t| !t.sold && t.order_id.as_deref() == Some(order_id)) {
        Some(held) => Decision::Unlock(Ticket {
            version: held.version + 1,
            order_id: None,
            ..held
        }),
        None => Decision::Remember,
    }
}

impl Listener<OrderCancelled> for UnlockTicket {
    #[tracing::instrument(name = "unlock_ticket", skip_all, fields(order_id = %order.id, ticket_id = %order.ticket.id))]
    async fn handle(&self, order: OrderCancelled, _: &Delivery) -> anyhow::Result<Outcome> {
        let decision = db::retry_conflicts(|| async {
            let seen = store::order_state(self.outbox.db(), &order.id).await?;
            let ticket = store::get(self.outbox.db(), &order.ticket.id).await?;
            let decision = decide(&order.id, ticket, seen);
            let tx = match &decision {
                Decision::Unlock(unlocked) => {
                    store::with_update(Tx::new(), unlocked.version - 1, unlocked)
                }
                Decision::Remember => Tx::new(),
                Decision::Nothing => return Ok(decision),
            };
            let change = OrderChange {
                order_id: &order.id,
                ticket_id: &order.ticket.id,
                seen,
                state: OrderState::Cancelled,
            };
            self.outbox.commit(store::with_order(tx, &change)).await?;
            Ok::<_, db::DbError>(decision)
        })
        .await?;
        match decision {
            Decision::Unlock(_) => tracing::info!("ticket unlocked"),
            Decision::Remember => tracing::info!("cancellation recorded; no lock to clear"),
            Decision::Nothing => tracing::debug!("order already cancelled or completed"),
        }
        Ok(Outcome::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::tests::ticket;

    #[test]
    fn a_lock_held_by_the_order_is_cleared() {
        let seen = Some(OrderState::Locked);
        let Decision::Unlock(unlocked) = decide("o", Some(ticket(Some("o"), false)), seen) else {
            panic!("not unlocked");
        };
        assert_eq!((unlocked.version, unlocked.order_id), (5, None));
    }

    #[test]
    fn a_cancellation_without_a_lock_of_its_own_is_remembered() {
        for ticket in [
            None,
            Some(ticket(None, false)),
            Some(ticket(Some("x"), false)),
        ] {
            assert_eq!(decide("o", ticket.clone(), None), Decision::Remember);
            assert_eq!(
                decide("o", ticket, Some(OrderState::Rejected)),
                Decision::Remember
            );
        }
    }

    #[test]
    fn a_sale_and_a_completion_are_never_undone() {
        assert_eq!(
            decide("o", Some(ticket(Some("o"), true)), None),
            Decision::Remember
        );
        for ticket in [None, Some(ticket(Some("o"), true))] {
            assert_eq!(
                decide("o", ticket, Some(OrderState::Completed)),
                Decision::Nothing
            );
        }
    }

    #[test]
    fn a_second_cancellation_changes_nothing() {
        assert_eq!(
            decide("o", Some(ticket(None, false)), Some(OrderState::Cancelled)),
            Decision::Nothing
        );
    }
}
