//! What the orders service does with other services' events.

pub mod expiration_complete;
pub mod payment_created;
pub mod reservation_rejected;
pub mod ticket_created;
pub mod ticket_updated;

use common::db::{self, DbError};
use common::events::CancelReason;
use common::outbox::Outbox;

use crate::store;

/// Cancels the order for `reason` if it is still open; true if it did.
pub(crate) async fn cancel_if_open(
    outbox: &Outbox,
    order_id: &str,
    reason: CancelReason,
) -> Result<bool, DbError> {
    db::retry_conflicts(|| async {
        let Some(order) = store::order(outbox.db(), order_id).await? else {
            tracing::warn!(order_id, "no such order");
            return Ok(false);
        };
        if !order.status.is_open() {
            return Ok(false);
        }
        store::change_status(outbox, &order.cancelled(reason)).await?;
        Ok(true)
    })
    .await
}
