//! The order replica, kept from order events under the version rule.

pub mod order_cancelled;
pub mod order_completed;
pub mod order_created;
pub mod payment_created;

use common::bus::Outcome;
use common::db::{Db, DbError};
use common::events::OrderStatus;

use crate::store::{self, StatusVersion};

/// Applies status `status` at `version` under the version rule (`common::replica`): `Done`
/// when applied or when the replica already has it (duplicate or stale), `RetryLater` when
/// an earlier version is still missing.
pub(crate) async fn apply(
    db: &Db,
    order_id: &str,
    status: OrderStatus,
    version: u64,
) -> Result<Outcome, DbError> {
    let row = StatusVersion {
        status,
        version: i64::try_from(version)
            .map_err(|_| DbError::internal(format!("order {order_id}: version out of range")))?,
    };
    Ok(store::replicate_order(db, order_id, version, row)
        .await?
        .outcome())
}
