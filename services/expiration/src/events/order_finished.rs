//! `order:cancelled` and `order:completed`: the order no longer needs its expiration. An
//! order's next version may arrive before its `order:created`; it then waits for it.

use common::bus::{Delivery, Listener, Outcome};
use common::db::Db;
use common::events::{OrderCancelled, OrderCompleted};

use crate::store;

pub struct DropExpiration {
    pub db: Db,
}

impl Listener<OrderCancelled> for DropExpiration {
    #[tracing::instrument(name = "drop_expiration", skip_all, fields(order_id = %order.id))]
    async fn handle(&self, order: OrderCancelled, _: &Delivery) -> anyhow::Result<Outcome> {
        Ok(store::finish(&self.db, &order.id, order.version)
            .await?
            .outcome())
    }
}

impl Listener<OrderCompleted> for DropExpiration {
    #[tracing::instrument(name = "drop_expiration", skip_all, fields(order_id = %order.id))]
    async fn handle(&self, order: OrderCompleted, _: &Delivery) -> anyhow::Result<Outcome> {
        Ok(store::finish(&self.db, &order.id, order.version)
            .await?
            .outcome())
    }
}
