//! `order:completed`: the replica follows.

use common::bus::{Delivery, Listener, Outcome};
use common::db::Db;
use common::events::{OrderCompleted, OrderStatus};

pub struct CompleteOrder {
    pub db: Db,
}

impl Listener<OrderCompleted> for CompleteOrder {
    #[tracing::instrument(name = "complete_order", skip_all, fields(order_id = %order.id, version = order.version))]
    async fn handle(&self, order: OrderCompleted, _: &Delivery) -> anyhow::Result<Outcome> {
        Ok(super::apply(&self.db, &order.id, OrderStatus::Complete, order.version).await?)
    }
}
