//! The sweeper: reconciles payment attempts whose outcome nobody recorded, because the
//! provider never answered or the worker sending them died (a crash, a restart), and
//! refunds charges set aside as strays. Every instance runs one; two never reconcile the
//! same attempt (they lease it first).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::startup::AppState;
use crate::{store, workflow};

/// Attempts reconciled per sweep at most; the next sweep takes the rest.
const BATCH: usize = 100;

pub struct Sweeper {
    pub state: AppState,
}

impl Sweeper {
    /// Reconciles every attempt that has been unknown or quiet for `stale_secs`; returns how
    /// many it took. Tests drive it directly with `stale_secs = 0`.
    pub async fn sweep_once(&self, stale_secs: i64) -> anyhow::Result<usize> {
        workflow::refund_strays_recorded(&self.state).await;
        let mut taken = 0;
        for (order_id, number) in store::due(&self.state.db, stale_secs, BATCH).await? {
            if !store::take_over(&self.state.db, &order_id, number, false, stale_secs).await? {
                continue;
            }
            taken += 1;
            match workflow::reconcile(&self.state, &order_id, number).await {
                Ok(settled) => tracing::info!(order_id, number, ?settled, "attempt reconciled"),
                // Left `charging`: due again once it has been quiet for `stale_secs`.
                Err(error) => {
                    tracing::warn!(
                        order_id,
                        number,
                        error = format!("{error:#}"),
                        "reconciling failed"
                    )
                }
            }
        }
        Ok(taken)
    }

    /// Sweeps every `every` until shutdown.
    pub async fn run(self, every: Duration, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            if let Err(error) = self.sweep_once(self.state.claim_stale_secs).await {
                tracing::warn!(error = format!("{error:#}"), "payment sweep failed");
            }
        }
    }
}
