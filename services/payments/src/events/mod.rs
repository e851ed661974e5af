//! The order replica, kept from order events under the version rule.

pub mod order_cancelled;
pub mod order_completed;
pub mod order_created;
pub mod payment_created;

use std::time::Duration;

use common::bus::Outcome;
use common::db::{Db, DbError};
use common::events::OrderStatus;

use crate::store;

/// Applies status `status` at `version` where the replica holds `version - 1`: `Done` when
/// applied or when the replica already has it (duplicate or stale), `RetryLater` when an
/// earlier version is still missing.
pub(crate) async fn apply(
    db: &Db,
    order_id: &str,
    status: OrderStatus,
    version: u64,
) -> Result<Outcome, DbError> {
    let version = version as i64;
    if store::apply_status(db, order_id, status, version).await? {
        return Ok(Outcome::Done);
    }
    match store::order(db, order_id).await? {
        Some(order) if order.version >= version => Ok(Outcome::Done),
        _ => Ok(Outcome::RetryLater(Duration::from_millis(100))),
    }
}
