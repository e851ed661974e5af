//! Fires `expiration:complete` when an order's window ends: sleeps until the next pending
//! expiration (or until woken by a new one), fires what is due, late ones at once.

use std::sync::Arc;
use std::time::Duration;

use common::db;
use common::outbox::{self, Outbox};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store;

/// The longest sleep: other instances may have scheduled something sooner.
const MAX_SLEEP: Duration = Duration::from_millis(500);
/// How many due expirations fire in one transaction.
const BATCH: usize = 64;

#[derive(Clone)]
pub struct Scheduler {
    outbox: Outbox,
    wake: Arc<Notify>,
}

impl Scheduler {
    pub fn new(outbox: Outbox) -> Self {
        Self {
            outbox,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Re-plans the next wake-up (a new expiration was scheduled).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// One step: fires every expiration due at `now_ms`. Returns how many this instance fired.
    pub async fn fire_due(&self, now_ms: i64) -> anyhow::Result<usize> {
        let mut fired = 0;
        loop {
            let due = store::due(self.outbox.db(), now_ms, BATCH).await?;
            let batch = due.len();
            if batch > 0 {
                fired += self.fire_batch(due, now_ms).await?;
            }
            if batch < BATCH {
                return Ok(fired);
            }
        }
    }

    /// Fires a batch of due expirations in one transaction (one commit, one flush to disk,
    /// instead of one per order: when many orders expire together, as after a rush or a
    /// restart, per-order commits fall behind). If another instance fired one of them
    /// first, the batch changes nothing and each is fired on its own instead.
    async fn fire_batch(&self, due: Vec<store::Due>, now_ms: i64) -> anyhow::Result<usize> {
        let ids: Vec<String> = due.iter().map(|e| e.order_id.clone()).collect();
        let together =
            db::retry_while(|| store::fire_all(&self.outbox, &ids), db::is_conflict).await;
        let fired_here: Vec<&store::Due> = match together {
            Ok(()) => due.iter().collect(),
            Err(error) if outbox::is_stale(&error) || db::is_duplicate(&error) => {
                let mut fired = Vec::new();
                for expiration in &due {
                    if self.fire_one(&expiration.order_id).await? {
                        fired.push(expiration);
                    }
                }
                fired
            }
            Err(error) => return Err(error.into()),
        };
        for expiration in &fired_here {
            let late_ms = now_ms - expiration.expires_at;
            tracing::info!(order_id = %expiration.order_id, late_ms, "expiration fired");
        }
        Ok(fired_here.len())
    }

    /// Fires one expiration; false if another instance fired it first.
    async fn fire_one(&self, order_id: &str) -> anyhow::Result<bool> {
        let fired = db::retry_conflicts(|| async {
            match store::fire(&self.outbox, order_id).await {
                Ok(()) => Ok(true),
                Err(error) if outbox::is_stale(&error) || db::is_duplicate(&error) => Ok(false),
                Err(error) => Err(error),
            }
        })
        .await?;
        Ok(fired)
    }

    /// Runs until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut last_prune = std::time::Instant::now();
        loop {
            if let Err(error) = self.fire_due(now_ms()).await {
                tracing::warn!(error = format!("{error:#}"), "firing expirations failed");
            }
            if last_prune.elapsed() > Duration::from_secs(3600) {
                last_prune = std::time::Instant::now();
                if let Err(error) = store::prune(self.outbox.db()).await {
                    tracing::warn!(error = %error, "pruning old expirations failed");
                }
            }
            let sleep = match store::next_due(self.outbox.db()).await {
                Ok(Some(at)) => {
                    Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0)).min(MAX_SLEEP)
                }
                Ok(None) => MAX_SLEEP,
                Err(error) => {
                    tracing::warn!(error = %error, "reading the next expiration failed");
                    MAX_SLEEP
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }
}

pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}
