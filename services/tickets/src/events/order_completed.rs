//! `order:completed`: the ticket is sold to that order. A completion handled before the
//! order's reservation is remembered, and the reservation sells the ticket when it comes.

use common::bus::{Delivery, Listener, Outcome};
use common::db;
use common::events::OrderCompleted;
use common::outbox::{Outbox, Tx};

use crate::domain::Ticket;
use crate::store::{self, OrderChange, OrderState};

pub struct MarkSold {
    pub outbox: Outbox,
}

#[derive(Debug, PartialEq)]
enum Decision {
    /// Store this ticket, sold to the order that holds it.
    Sell(Ticket),
    /// The order's reservation has not been handled yet: record the completion for it.
    Remember,
    /// Sold to this order already, or the completion is already recorded.
    AlreadyDone,
    /// The order does not hold the ticket and will not: its reservation was rejected, or
    /// it was cancelled.
    NotHeld {
        state: OrderState,
        holder: Option<String>,
    },
}

/// What to do with the completion, given the ticket and what is known of the order.
fn decide(order_id: &str, ticket: Option<Ticket>, seen: Option<OrderState>) -> Decision {
    let holder = match ticket {
        Some(t) if t.order_id.as_deref() == Some(order_id) => {
            if t.sold {
                return Decision::AlreadyDone;
            }
            return Decision::Sell(Ticket {
                version: t.version + 1,
                sold: true,
                ..t
            });
        }
        Some(t) => t.order_id,
        None => None,
    };
    match seen {
        None => Decision::Remember,
        Some(OrderState::Completed) => Decision::AlreadyDone,
        Some(state) => Decision::NotHeld { state, holder },
    }
}

impl Listener<OrderCompleted> for MarkSold {
    #[tracing::instrument(name = "mark_sold", skip_all, fields(order_id = %order.id, ticket_id = %order.ticket.id))]
    async fn handle(&self, order: OrderCompleted, _: &Delivery) -> anyhow::Result<Outcome> {
        let decision = db::retry_conflicts(|| async {
            let seen = store::order_state(self.outbox.db(), &order.id).await?;
            let ticket = store::get(self.outbox.db(), &order.ticket.id).await?;
            let decision = decide(&order.id, ticket, seen);
            let tx = match &decision {
                Decision::Sell(sold) => store::with_update(Tx::new(), sold.version - 1, sold),
                Decision::Remember => Tx::new(),
                Decision::AlreadyDone | Decision::NotHeld { .. } => return Ok(decision),
            };
            let change = OrderChange {
                order_id: &order.id,
                ticket_id: &order.ticket.id,
                seen,
                state: OrderState::Completed,
            };
            self.outbox.commit(store::with_order(tx, &change)).await?;
            Ok::<_, db::DbError>(decision)
        })
        .await?;
        match decision {
            Decision::Sell(_) => tracing::info!("ticket sold"),
            Decision::Remember => {
                tracing::info!("completion recorded; the ticket is sold when the order arrives");
            }
            Decision::AlreadyDone => tracing::debug!("completion already handled"),
            Decision::NotHeld { state, holder } => {
                tracing::warn!(
                    state = state.as_str(),
                    ?holder,
                    "completed order does not hold the ticket"
                );
            }
        }
        Ok(Outcome::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::tests::ticket;

    #[test]
    fn a_ticket_held_by_the_order_is_sold_once() {
        let seen = Some(OrderState::Locked);
        let Decision::Sell(sold) = decide("o", Some(ticket(Some("o"), false)), seen) else {
            panic!("not sold");
        };
        assert_eq!((sold.version, sold.sold), (5, true));
        assert_eq!(
            decide("o", Some(sold), Some(OrderState::Completed)),
            Decision::AlreadyDone
        );
    }

    #[test]
    fn a_completion_before_the_reservation_is_remembered_once() {
        for ticket in [
            None,
            Some(ticket(None, false)),
            Some(ticket(Some("x"), true)),
        ] {
            assert_eq!(decide("o", ticket.clone(), None), Decision::Remember);
            assert_eq!(
                decide("o", ticket, Some(OrderState::Completed)),
                Decision::AlreadyDone
            );
        }
    }

    #[test]
    fn a_rejected_or_cancelled_order_is_not_sold() {
        for state in [OrderState::Rejected, OrderState::Cancelled] {
            assert_eq!(
                decide("o", Some(ticket(Some("x"), false)), Some(state)),
                Decision::NotHeld {
                    state,
                    holder: Some("x".into())
                }
            );
        }
    }
}
