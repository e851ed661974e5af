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
            let due = store::due(self.outbox.db(), now_ms, 256).await?;
            let batch = due.len();
            for expiration in due {
                let fired_here = db::retry_conflicts(|| async {
                    match store::fire(&self.outbox, &expiration.order_id).await {
                        Ok(()) => Ok(true),
                        // Another instance fired it first.
                        Err(error) if outbox::is_stale(&error) || db::is_duplicate(&error) => {
                            Ok(false)
                        }
                        Err(error) => Err(error),
                    }
                })
                .await?;
                if fired_here {
                    fired += 1;
                    let late_ms = now_ms - expiration.expires_at;
                    tracing::info!(order_id = %expiration.order_id, late_ms, "expiration fired");
                }
            }
            if batch < 256 {
                return Ok(fired);
            }
        }
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
