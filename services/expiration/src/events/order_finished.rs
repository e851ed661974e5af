//! `order:cancelled` and `order:completed`: the order no longer needs its expiration.

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
        store::drop_pending(&self.db, &order.id).await?;
        Ok(Outcome::Done)
    }
}

impl Listener<OrderCompleted> for DropExpiration {
    #[tracing::instrument(name = "drop_expiration", skip_all, fields(order_id = %order.id))]
    async fn handle(&self, order: OrderCompleted, _: &Delivery) -> anyhow::Result<Outcome> {
        store::drop_pending(&self.db, &order.id).await?;
        Ok(Outcome::Done)
    }
}
