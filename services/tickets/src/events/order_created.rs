//! `order:created`: lock the ticket for the order, or refuse (docs/spec.md §9, the price race).
//!
//! The order's cancellation or completion may have been handled before it (the consumers
//! are separate, so events of different kinds are not ordered): a cancelled order gets no
//! lock, and a completed one gets its ticket locked and sold in one step.

use std::time::Duration;

use common::bus::{Delivery, Listener, Outcome};
use common::db;
use common::events::{OrderCreated, RejectionReason, TicketReservationRejected};
use common::outbox::{Outbox, Tx};

use crate::domain::Ticket;
use crate::store::{self, OrderChange, OrderState};

pub struct LockTicket {
    pub outbox: Outbox,
}

/// Deliveries to wait for another order's lock to go before refusing. The orders service
/// lets only one active order hold a ticket, so a lock by another order usually means that
/// order's cancellation is still on its way (events of different kinds are not ordered).
const UNLOCK_GRACE_DELIVERIES: i64 = 6;

#[derive(Debug, PartialEq)]
enum Decision {
    /// Store this ticket, locked for the order.
    Lock(Ticket),
    /// Store this ticket, locked for the order and sold: its completion came first.
    Sell(Ticket),
    /// Locked, sold or rejected for this order already: a duplicate.
    AlreadyDone,
    /// The order was cancelled before its reservation arrived: nothing to lock.
    Cancelled,
    /// Locked by another order that may be about to let go.
    Wait,
    Reject(RejectionReason),
}

/// What to do with the order, given its ticket and what is known of the order so far.
fn decide(
    order: &OrderCreated,
    ticket: Option<Ticket>,
    seen: Option<OrderState>,
    delivered: i64,
) -> Decision {
    match seen {
        Some(OrderState::Cancelled) => return Decision::Cancelled,
        Some(OrderState::Locked | OrderState::Rejected) => return Decision::AlreadyDone,
        Some(OrderState::Completed) | None => {}
    }
    let Some(ticket) = ticket else {
        return Decision::Reject(RejectionReason::TicketUnavailable);
    };
    if ticket.order_id.as_deref() == Some(order.id.as_str()) {
        return Decision::AlreadyDone;
    }
    if ticket.is_locked() {
        if !ticket.sold && delivered < UNLOCK_GRACE_DELIVERIES {
            return Decision::Wait;
        }
        return Decision::Reject(RejectionReason::TicketUnavailable);
    }
    // The owner changed the title or price after the version the order was priced at: the
    // buyer saw something that is no longer true.
    if ticket.edit_version > order.ticket.version || ticket.price != order.ticket.price {
        return Decision::Reject(RejectionReason::PriceChanged);
    }
    let locked = Ticket {
        version: ticket.version + 1,
        order_id: Some(order.id.clone()),
        ..ticket
    };
    if seen == Some(OrderState::Completed) {
        Decision::Sell(Ticket {
            sold: true,
            ..locked
        })
    } else {
        Decision::Lock(locked)
    }
}

impl LockTicket {
    /// Commits `decision` with the order's new state, guarded by what it was decided on.
    async fn apply(
        &self,
        order: &OrderCreated,
        seen: Option<OrderState>,
        decision: &Decision,
    ) -> Result<(), db::DbError> {
        let (tx, state) = match decision {
            Decision::Lock(locked) => (
                store::with_update(Tx::new(), locked.version - 1, locked),
                OrderState::Locked,
            ),
            Decision::Sell(sold) => (
                store::with_update(Tx::new(), sold.version - 1, sold),
                OrderState::Completed,
            ),
            Decision::Reject(reason) => {
                let rejected = TicketReservationRejected {
                    order_id: order.id.clone(),
                    ticket_id: order.ticket.id.clone(),
                    reason: *reason,
                };
                let tx = Tx::new().publish_with_id(&format!("rejected-{}", order.id), &rejected);
                (tx, OrderState::Rejected)
            }
            Decision::AlreadyDone | Decision::Cancelled | Decision::Wait => return Ok(()),
        };
        let change = OrderChange {
            order_id: &order.id,
            ticket_id: &order.ticket.id,
            seen,
            state,
        };
        self.outbox.commit(store::with_order(tx, &change)).await
    }
}

impl Listener<OrderCreated> for LockTicket {
    #[tracing::instrument(name = "lock_ticket", skip_all, fields(order_id = %order.id, ticket_id = %order.ticket.id))]
    async fn handle(&self, order: OrderCreated, delivery: &Delivery) -> anyhow::Result<Outcome> {
        let decision = db::retry_conflicts(|| async {
            let seen = store::order_state(self.outbox.db(), &order.id).await?;
            let ticket = store::get(self.outbox.db(), &order.ticket.id).await?;
            let decision = decide(&order, ticket, seen, delivery.delivered);
            self.apply(&order, seen, &decision).await?;
            Ok::<_, db::DbError>(decision)
        })
        .await?;
        match decision {
            Decision::Lock(_) => tracing::info!("ticket locked"),
            Decision::Sell(_) => tracing::info!("ticket locked and sold: the order was completed"),
            Decision::AlreadyDone => tracing::debug!("already handled for this order"),
            Decision::Cancelled => tracing::info!("order already cancelled; ticket not locked"),
            Decision::Wait => {
                tracing::info!("locked by another order; waiting for it to let go");
                return Ok(Outcome::RetryLater(Duration::from_millis(200)));
            }
            Decision::Reject(reason) => tracing::info!(?reason, "reservation rejected"),
        }
        Ok(Outcome::Done)
    }
}

#[cfg(test)]
mod tests {
    use common::events::{OrderStatus, OrderedTicket};
    use common::money::Price;

    use super::*;
    use crate::events::tests::ticket;

    fn order(priced_at: u64) -> OrderCreated {
        OrderCreated {
            id: "o".into(),
            version: 0,
            status: OrderStatus::Created,
            user_id: "buyer".into(),
            expires_at: time::OffsetDateTime::now_utc(),
            ticket: OrderedTicket {
                id: "t".into(),
                price: Price::from_cents(1000).unwrap(),
                version: priced_at,
            },
        }
    }

    #[test]
    fn an_order_not_heard_of_locks_an_unlocked_ticket() {
        let Decision::Lock(locked) = decide(&order(3), Some(ticket(None, false)), None, 1) else {
            panic!("not locked");
        };
        assert_eq!(locked.order_id.as_deref(), Some("o"));
        assert_eq!((locked.version, locked.sold), (5, false));
    }

    #[test]
    fn a_completed_order_locks_and_sells_in_one_step() {
        let seen = Some(OrderState::Completed);
        let Decision::Sell(sold) = decide(&order(3), Some(ticket(None, false)), seen, 1) else {
            panic!("not sold");
        };
        assert_eq!(sold.order_id.as_deref(), Some("o"));
        assert_eq!((sold.version, sold.sold), (5, true));
    }

    #[test]
    fn a_completed_order_keeps_the_price_race_rules() {
        let seen = Some(OrderState::Completed);
        assert_eq!(
            decide(&order(1), Some(ticket(None, false)), seen, 1),
            Decision::Reject(RejectionReason::PriceChanged)
        );
        assert_eq!(
            decide(&order(3), Some(ticket(Some("other"), true)), seen, 1),
            Decision::Reject(RejectionReason::TicketUnavailable)
        );
        assert_eq!(
            decide(&order(3), Some(ticket(Some("o"), true)), seen, 1),
            Decision::AlreadyDone
        );
    }

    #[test]
    fn a_cancelled_order_locks_nothing_and_is_not_rejected() {
        let seen = Some(OrderState::Cancelled);
        for ticket in [
            None,
            Some(ticket(None, false)),
            Some(ticket(Some("x"), false)),
        ] {
            assert_eq!(decide(&order(3), ticket, seen, 1), Decision::Cancelled);
        }
    }

    #[test]
    fn an_order_already_decided_is_a_duplicate() {
        for seen in [OrderState::Locked, OrderState::Rejected] {
            assert_eq!(
                decide(&order(3), Some(ticket(None, false)), Some(seen), 1),
                Decision::AlreadyDone
            );
        }
    }
}
