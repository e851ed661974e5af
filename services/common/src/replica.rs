//! Replicas of another service's records, kept from its events under the version rule
//! (docs/spec.md §9): version 0 creates the row, a duplicate of it changing nothing;
//! version N applies only where the replica holds N − 1. An earlier version still missing
//! is retried later (at-least-once delivery brings it); a duplicate or stale one is
//! acknowledged and ignored.
//!
//! ```no_run
//! # async fn example(db: &common::db::Db) -> anyhow::Result<common::bus::Outcome> {
//! use surrealdb::types::SurrealValue;
//!
//! #[derive(SurrealValue)]
//! struct Status { status: String, version: i64 }
//! let row = Status { status: "complete".into(), version: 2 };
//! Ok(common::replica::apply(db, "orders", "01j…", 2, row).await?.outcome())
//! # }
//! ```

use std::time::Duration;

use surrealdb::types::SurrealValue;

use crate::bus::Outcome;
use crate::db::{Db, DbError, RecordId};

/// How long an event waits before it is tried again when an earlier version is missing.
pub const RETRY: Duration = Duration::from_millis(100);

/// What became of a replicated version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The replica now holds it.
    Applied,
    /// The replica already held it, or a later one: a duplicate or a stale event.
    Held,
    /// An earlier version is still missing.
    NotYet,
}

impl Applied {
    /// What a listener answers the bus.
    pub fn outcome(self) -> Outcome {
        match self {
            Self::Applied | Self::Held => Outcome::Done,
            Self::NotYet => Outcome::RetryLater(RETRY),
        }
    }
}

/// Applies version `version` of record `id` in `table`: `row` holds the fields it sets,
/// `version` among them (every field for version 0, which creates the row; for a later
/// version, the fields that event carries, merged into the row).
pub async fn apply<R>(
    db: &Db,
    table: &str,
    id: &str,
    version: u64,
    row: R,
) -> Result<Applied, DbError>
where
    R: SurrealValue + 'static,
{
    let rid = RecordId::new(table, id);
    let version = i64::try_from(version)
        .map_err(|_| DbError::internal(format!("{table} {id}: version out of range")))?;
    if version == 0 {
        let created = db
            .query("CREATE $rid CONTENT $row RETURN NONE")
            .bind(("rid", rid))
            .bind(("row", row))
            .await?
            .check();
        return match created {
            Ok(_) => Ok(Applied::Applied),
            Err(error) if crate::db::is_duplicate(&error) => Ok(Applied::Held),
            Err(error) => Err(error),
        };
    }
    let updated: Vec<RecordId> = db
        .query("UPDATE $rid MERGE $row WHERE version = $previous RETURN VALUE id")
        .bind(("rid", rid.clone()))
        .bind(("row", row))
        .bind(("previous", version - 1))
        .await?
        .take(0)?;
    if !updated.is_empty() {
        return Ok(Applied::Applied);
    }
    let held: Vec<i64> = db
        .query("SELECT VALUE version FROM $rid")
        .bind(("rid", rid))
        .await?
        .take(0)?;
    Ok(match held.first() {
        Some(held) if *held >= version => Applied::Held,
        _ => Applied::NotYet,
    })
}
