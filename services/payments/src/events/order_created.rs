//! `order:created`: add the order to the replica (a duplicate changes nothing).

use common::bus::{Delivery, Listener, Outcome};
use common::db::Db;
use common::events::OrderCreated;

use crate::store::{self, OrderVersion};

pub struct ReplicateOrder {
    pub db: Db,
}

impl Listener<OrderCreated> for ReplicateOrder {
    #[tracing::instrument(name = "replicate_order", skip_all, fields(order_id = %order.id))]
    async fn handle(&self, order: OrderCreated, _: &Delivery) -> anyhow::Result<Outcome> {
        let row = OrderVersion {
            user_id: order.user_id,
            price: order.ticket.price,
            status: order.status,
            version: i64::try_from(order.version)
                .map_err(|_| common::bus::poison("the order's version is out of range"))?,
        };
        let applied = store::replicate_order(&self.db, &order.id, order.version, row).await?;
        Ok(applied.outcome())
    }
}
