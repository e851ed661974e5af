//! The listing limit: at most `max` new tickets per user in any rolling hour, counted from
//! the `ticket` table's `created_at`.
//!
//! The count and the creation are two transactions, so one instance lets a user's listings
//! through one at a time (a lock per user, striped so memory stays bounded): with one
//! instance the limit is exact; with several, parallel listings by one user sent to
//! different instances can pass it by at most one per other instance.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use common::db::{Db, DbError};
use tokio::sync::{Mutex, MutexGuard};

/// The index the count reads; applied with the service's schema.
pub const SCHEMA: &str = "
DEFINE INDEX IF NOT EXISTS ticket_user_created ON ticket FIELDS user_id, created_at;
";

/// The rolling window the limit applies to.
pub const WINDOW: Duration = Duration::from_secs(60 * 60);

/// How many locks users' listings share.
const STRIPES: usize = 64;

/// Per-user listing limits.
#[derive(Debug)]
pub struct ListingQuota {
    max: u32,
    stripes: Vec<Mutex<()>>,
}

/// What [`ListingQuota::admit`] decided.
#[derive(Debug)]
pub enum Admission<'a> {
    /// The user may list one more ticket; hold the guard until the ticket is stored.
    Admitted(MutexGuard<'a, ()>),
    /// The user has listed `max` tickets in the window; one leaves it after this long.
    Refused { retry_after: Duration },
}

impl ListingQuota {
    pub fn new(max: u32) -> Self {
        Self {
            max,
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    /// Whether `user_id` may list another ticket now. While the returned guard is held, no
    /// other listing by the same user is admitted by this instance.
    pub async fn admit(&self, db: &Db, user_id: &str) -> Result<Admission<'_>, DbError> {
        let guard = self.stripes[stripe(user_id)].lock().await;
        let left = recent_listings(db, user_id).await?;
        // `left` holds, oldest first, how long each listing in the window stays in it; the
        // user may list again once all but `max - 1` of them have left.
        let over = left
            .len()
            .saturating_sub((self.max as usize).saturating_sub(1));
        Ok(match over {
            0 => Admission::Admitted(guard),
            n => Admission::Refused {
                retry_after: left[n - 1],
            },
        })
    }
}

fn stripe(user_id: &str) -> usize {
    let mut hasher = DefaultHasher::new();
    user_id.hash(&mut hasher);
    (hasher.finish() % STRIPES as u64) as usize
}

/// For each ticket `user_id` listed in the last [`WINDOW`], oldest first: how long until it
/// leaves the window, in whole seconds rounded up (by the database's clock, which stamped
/// `created_at`).
pub async fn recent_listings(db: &Db, user_id: &str) -> Result<Vec<Duration>, DbError> {
    let window = WINDOW.as_secs();
    let mut millis: Vec<i64> = db
        .query(format!(
            "SELECT VALUE duration::millis(created_at + {window}s - time::now()) FROM ticket \
             WHERE user_id = $user AND created_at > time::now() - {window}s"
        ))
        .bind(("user", user_id.to_owned()))
        .await?
        .take(0)?;
    millis.sort_unstable();
    Ok(millis
        .into_iter()
        .map(|ms| Duration::from_secs(u64::try_from(ms).unwrap_or(0).div_ceil(1000).max(1)))
        .collect())
}
