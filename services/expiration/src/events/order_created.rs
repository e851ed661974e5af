//! `order:created`: remember when the order's window ends.

use common::bus::{Delivery, Listener, Outcome};
use common::events::OrderCreated;
use common::replica::Applied;

use crate::scheduler::Scheduler;
use crate::store;

pub struct ScheduleExpiration {
    pub scheduler: Scheduler,
    pub db: common::db::Db,
}

impl Listener<OrderCreated> for ScheduleExpiration {
    #[tracing::instrument(name = "schedule_expiration", skip_all, fields(order_id = %order.id))]
    async fn handle(&self, order: OrderCreated, _: &Delivery) -> anyhow::Result<Outcome> {
        let at_ms = (order.expires_at.unix_timestamp_nanos() / 1_000_000) as i64;
        let applied = store::schedule(&self.db, &order.id, at_ms).await?;
        if applied == Applied::Applied {
            tracing::info!(expires_at = %order.expires_at, "expiration scheduled");
            self.scheduler.wake();
        }
        Ok(applied.outcome())
    }
}
