//! Pending expirations, one record per order (its id is the order's), kept until they
//! fire: a restart of the service or of NATS loses none. The records are a replica of the
//! orders under the version rule (`common::replica`): `order:created` (version 0) schedules
//! one, and the order's next version (cancelled or completed) ends it, however the events
//! are ordered on the way.

use common::db::{Db, DbError, RecordId};
use common::events::ExpirationComplete;
use common::outbox::{Outbox, Tx};
use common::replica::{self, Applied};
use surrealdb::types::{Datetime, SurrealValue};

pub const SCHEMA: &str = "
DEFINE TABLE IF NOT EXISTS expiration SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS expires_at ON expiration TYPE int;
DEFINE FIELD IF NOT EXISTS done ON expiration TYPE bool DEFAULT false;
DEFINE FIELD IF NOT EXISTS done_at ON expiration TYPE option<datetime>;
DEFINE FIELD IF NOT EXISTS version ON expiration TYPE int DEFAULT 0;
DEFINE INDEX IF NOT EXISTS expiration_due ON expiration FIELDS done, expires_at;
UPDATE expiration SET version = 0 WHERE version = NONE;
";

/// An expiration that is due.
#[derive(Debug, Clone, SurrealValue)]
pub struct Due {
    pub order_id: String,
    pub expires_at: i64,
}

const TABLE: &str = "expiration";

fn record(order_id: &str) -> RecordId {
    RecordId::new(TABLE, order_id)
}

/// Version 0 of an order: its expiration, pending.
#[derive(Debug, Clone, SurrealValue)]
struct Scheduled {
    expires_at: i64,
    done: bool,
    version: i64,
}

/// A later version of an order (cancelled or completed): its expiration is no longer
/// needed.
#[derive(Debug, Clone, SurrealValue)]
struct Finished {
    done: bool,
    done_at: Datetime,
    version: i64,
}

/// Schedules the order's expiration (version 0 of the order): `Applied` when this
/// scheduled it, `Held` when it was already scheduled (a duplicate event).
pub async fn schedule(db: &Db, order_id: &str, expires_at_ms: i64) -> Result<Applied, DbError> {
    let row = Scheduled {
        expires_at: expires_at_ms,
        done: false,
        version: 0,
    };
    replica::apply(db, TABLE, order_id, 0, row).await
}

/// Marks the expiration done without firing it: the order reached `version` (cancelled or
/// paid). `NotYet` while the order's earlier version has not been seen here.
pub async fn finish(db: &Db, order_id: &str, version: u64) -> Result<Applied, DbError> {
    let row = Finished {
        done: true,
        done_at: Datetime::now(),
        version: i64::try_from(version)
            .map_err(|_| DbError::internal(format!("order {order_id}: version out of range")))?,
    };
    replica::apply(db, TABLE, order_id, version, row).await
}

/// Expirations due at `now_ms`, soonest first.
pub async fn due(db: &Db, now_ms: i64, limit: usize) -> Result<Vec<Due>, DbError> {
    db.query(
        "SELECT record::id(id) AS order_id, expires_at FROM expiration \
         WHERE done = false AND expires_at <= $now ORDER BY expires_at LIMIT $limit",
    )
    .bind(("now", now_ms))
    .bind(("limit", limit as i64))
    .await?
    .take(0)
}

/// When the next pending expiration is due, if any.
pub async fn next_due(db: &Db) -> Result<Option<i64>, DbError> {
    let next: Vec<i64> = db
        .query("SELECT VALUE expires_at FROM expiration WHERE done = false ORDER BY expires_at LIMIT 1")
        .await?
        .take(0)?;
    Ok(next.into_iter().next())
}

/// Marks it done and stages `expiration:complete` (under an id derived from the order, so it
/// is published once however often this runs). Fails with a stale-guard error if another
/// instance fired it first.
pub async fn fire(outbox: &Outbox, order_id: &str) -> Result<(), DbError> {
    let tx = Tx::new()
        .guarded(
            "UPDATE $rid SET done = true, done_at = time::now() WHERE done = false RETURN AFTER",
        )
        .bind("rid", record(order_id))
        .publish_with_id(
            &format!("expired-{order_id}"),
            &ExpirationComplete {
                order_id: order_id.to_owned(),
            },
        );
    outbox.commit(tx).await
}

/// [`fire`] for several orders in one transaction: all of them fire, or none does (a
/// stale-guard or duplicate error when another instance fired one of them first).
pub async fn fire_all(outbox: &Outbox, order_ids: &[String]) -> Result<(), DbError> {
    let mut tx = Tx::new();
    for (i, order_id) in order_ids.iter().enumerate() {
        tx = tx
            .guarded(format!(
                "UPDATE $rid{i} SET done = true, done_at = time::now() WHERE done = false RETURN AFTER"
            ))
            .bind(&format!("rid{i}"), record(order_id))
            .publish_with_id(
                &format!("expired-{order_id}"),
                &ExpirationComplete {
                    order_id: order_id.clone(),
                },
            );
    }
    outbox.commit(tx).await
}

/// How long a finished expiration is remembered: as long as the stream keeps the events
/// that finish it, and a day more. An `order:cancelled` or `order:completed` redelivered
/// (or replayed) after its record is gone would wait for an `order:created` that never
/// comes (see `common::replica`).
pub const KEEP_FINISHED: std::time::Duration =
    common::bus::EVENT_RETENTION.saturating_add(std::time::Duration::from_secs(24 * 60 * 60));

/// Forgets expirations finished longer ago than [`KEEP_FINISHED`].
pub async fn prune(db: &Db) -> Result<(), DbError> {
    db.query(
        "DELETE expiration WHERE done = true AND done_at < time::now() - type::duration($keep)",
    )
    .bind(("keep", format!("{}s", KEEP_FINISHED.as_secs())))
    .await?
    .check()?;
    Ok(())
}
