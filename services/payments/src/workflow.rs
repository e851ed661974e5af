//! Paying for an order, as payment platforms do it: a payment intent per order (its state
//! in [`store::IntentState`]) driven through attempts, each with its own idempotency key and
//! its exact request stored before it is sent.
//!
//! ```text
//!             begin                 provider answers            recorded
//!   (none) ─────────▶ charging ─────────────────────────▶ charged
//!     failed ───────▶    │  ▲  declined / invalid / reconciled as never charged
//!                        │  └──────────────────────────▶ failed   (next attempt: a new key)
//!                        │ no answer (timeout, 5xx, unreachable)
//!                        ▼
//!                     unknown ──reconcile──▶ charging (same attempt, same key, same request)
//! ```
//!
//! - An attempt runs in a task of its own, which the request only awaits: a buyer who hangs
//!   up, or a proxy that gives up, does not stop the charge from being recorded.
//! - Only one attempt charges an order at a time. A second request while one is in flight
//!   (a double click) waits for its outcome and never starts a charge of its own.
//! - An attempt whose outcome is unknown (the provider never answered, or the worker died
//!   between charging and recording) is reconciled before anything else happens to the
//!   order: by the next payment request at once, or by the [`crate::sweeper`] once it has
//!   been quiet for `PAYMENT_CLAIM_STALE_SECONDS`. Reconciling asks the provider for the
//!   order's charges (Stripe's charge search by `metadata['order_id']`; the sandbox keeps the
//!   same ledger). The attempt's own charge is recorded. If there is none: a recent attempt
//!   of an open order is replayed with the same key (the provider then answers with the
//!   original result, or charges once); a recent attempt of an order that is over waits,
//!   since the search lags a little; an older attempt ends without a charge (the buyer may
//!   pay again with a new attempt).
//! - Any other charge found for the order beyond the one kept is refunded, and so is the
//!   payment of an order that was cancelled (see [`crate::refunds`]).

use std::time::Duration;

use anyhow::Context as _;
use common::db::new_id;

use crate::gateway::{FoundCharge, GatewayError};
use crate::refunds::refund_if_cancelled;
use crate::startup::AppState;
use crate::store::{self, Attempt, Begin, IntentState, NoCharge, Payment, ReplicaOrder};

/// How an attempt ended, for the request that awaited it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Charged and recorded.
    Charged(Payment),
    /// The provider refused; its message, for the buyer.
    Refused(String),
    /// The provider did not answer; the attempt will be reconciled.
    Unknown(String),
    /// Reconciled: the provider holds no charge for it, and the order is over.
    NoCharge,
}

/// What a payment request gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paid {
    Settled(Settled),
    /// The order was paid already (by this buyer's other request, say).
    AlreadyPaid,
    /// Another request's attempt is still with the provider after the wait.
    StillProcessing,
}

/// How long Stripe's search may take to show a new charge ("usually within a minute"): an
/// attempt younger than this is never ruled to have charged nothing.
pub const SEARCH_LAG_SECS: i64 = 90;

/// The longest a request waits for another request's attempt: longer than one call to
/// the provider may take.
const WAIT_FOR_OTHER: Duration = Duration::from_secs(40);

/// Pays for `order` with the card `token`, whatever the state of its payment intent.
pub async fn pay(state: &AppState, order: &ReplicaOrder, token: String) -> anyhow::Result<Paid> {
    let attempt = Attempt {
        order_id: order.id.clone(),
        number: 0,
        amount: order.price.cents(),
        currency: "usd".to_owned(),
        source: token,
        description: format!("GitTix order {}", order.id),
    };
    // A reconciliation that ends without a charge frees the order for this request's
    // attempt; a failed attempt of another request does too. Each turn makes progress.
    for _ in 0..3 {
        // The order may have been cancelled since the request checked it.
        if !is_open(state, &order.id).await? {
            return Ok(Paid::Settled(Settled::NoCharge));
        }
        match store::begin(&state.db, &attempt, state.claim_stale_secs).await? {
            Begin::Started(attempt) => {
                let state = state.clone();
                return detached(async move { drive(&state, &attempt).await }).await;
            }
            Begin::Reconcile { number } => {
                let (state, order_id) = (state.clone(), order.id.clone());
                match detached(async move { reconcile(&state, &order_id, number).await }).await? {
                    // Never charged: this request's card may go ahead, if the order is
                    // still open (checked at the top).
                    Paid::Settled(Settled::NoCharge) => continue,
                    other => return Ok(other),
                }
            }
            Begin::InFlight => match wait_for_other(state, &order.id).await? {
                // Refused: this request's card may do better. Unknown: reconcile it now.
                Some(IntentState::Failed | IntentState::Unknown) => continue,
                Some(IntentState::Charged) => return Ok(Paid::AlreadyPaid),
                Some(IntentState::Charging) | None => return Ok(Paid::StillProcessing),
            },
            Begin::Paid => return Ok(Paid::AlreadyPaid),
        }
    }
    Ok(Paid::StillProcessing)
}

/// Runs `work` in a task of its own and awaits it: dropping the request (the buyer hung
/// up) leaves the task running to the end. The task stays in the request's span, so the
/// `payment:created` it stages continues the request's trace.
async fn detached<F>(work: F) -> anyhow::Result<Paid>
where
    F: Future<Output = anyhow::Result<Settled>> + Send + 'static,
{
    let settled = tokio::spawn(tracing::Instrument::in_current_span(work))
        .await
        .context("the payment task stopped")??;
    Ok(Paid::Settled(settled))
}

/// Waits for another worker's attempt to leave `charging`; its state then, or `Charging`
/// when the wait ran out.
async fn wait_for_other(state: &AppState, order_id: &str) -> anyhow::Result<Option<IntentState>> {
    let deadline = tokio::time::Instant::now() + WAIT_FOR_OTHER;
    loop {
        let intent = store::intent(&state.db, order_id).await?.map(|(s, _)| s);
        if intent != Some(IntentState::Charging) || tokio::time::Instant::now() >= deadline {
            return Ok(intent);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends the attempt (again, with its own key and parameters) and records what the
/// provider answered.
async fn drive(state: &AppState, attempt: &Attempt) -> anyhow::Result<Settled> {
    let (order_id, number) = (attempt.order_id.as_str(), attempt.number);
    match state.gateway.charge(&attempt.request()).await {
        Ok(charge) => record(state, order_id, number, &charge.id, attempt.amount).await,
        Err(GatewayError::Declined(message) | GatewayError::Invalid(message)) => {
            tracing::info!(order_id, number, message, "charge refused");
            store::end_without_charge(&state.db, order_id, number, NoCharge::Refused, &message)
                .await?;
            Ok(Settled::Refused(message))
        }
        Err(GatewayError::Unavailable(reason)) => {
            tracing::warn!(
                order_id,
                number,
                reason,
                "charge outcome unknown; will reconcile"
            );
            store::mark_unknown(&state.db, order_id, number).await?;
            Ok(Settled::Unknown(reason))
        }
    }
}

/// Records charge `charge_id` of attempt `number`, then refunds it at once if the order was
/// cancelled meanwhile. Storage failures are retried for a while; past that the intent
/// stays `charging` and the sweeper finds the charge again.
async fn record(
    state: &AppState,
    order_id: &str,
    number: i64,
    charge_id: &str,
    amount: i64,
) -> anyhow::Result<Settled> {
    let payment = Payment {
        id: new_id(),
        order_id: order_id.to_owned(),
        stripe_id: charge_id.to_owned(),
        amount,
        refunded: false,
    };
    let mut delay = Duration::from_millis(100);
    let recorded = loop {
        match store::record_payment(&state.outbox, number, &payment).await {
            Ok(()) => break payment,
            Err(error) if common::outbox::is_stale(&error) => {
                // Another worker settled the intent first: with this very charge, or (its
                // lease lapsed meanwhile) otherwise. A charge the order does not keep is
                // set aside for a refund, which the sweeper retries until it is made.
                let kept = store::payment_for(&state.db, order_id).await?;
                if let Some(kept) = kept.as_ref().filter(|p| p.stripe_id == charge_id) {
                    break kept.clone();
                }
                tracing::warn!(
                    order_id,
                    charge_id,
                    "a charge the order does not keep; refunding it"
                );
                store::add_stray(&state.db, order_id, charge_id).await?;
                refund_strays_recorded(state).await;
                return Ok(Settled::Refused(match kept {
                    Some(_) => "Order is already paid".to_owned(),
                    None => "This payment was not needed and is being refunded.".to_owned(),
                }));
            }
            Err(error) if delay < Duration::from_secs(10) => {
                tracing::warn!(
                    order_id,
                    error = format!("{error:#}"),
                    ?delay,
                    "recording the charge failed; retrying"
                );
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(error) => return Err(error).context("recording the charge"),
        }
    };
    tracing::info!(order_id, payment_id = %recorded.id, charge_id, gateway = state.gateway.name(), "charged");
    if let Err(error) = refund_if_cancelled(state, order_id).await {
        // The payment:created event staged with it retries the refund until it is made.
        tracing::warn!(order_id, error = format!("{error:#}"), "refund deferred");
    }
    Ok(Settled::Charged(recorded))
}

/// Settles attempt `number`, leased to the caller, with what the provider holds for the
/// order, then refunds any charge of the order beyond the one kept.
pub async fn reconcile(state: &AppState, order_id: &str, number: i64) -> anyhow::Result<Settled> {
    let found = match state.gateway.charges_for_order(order_id).await {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(order_id, number, error = %error, "reconciling: provider unavailable");
            store::mark_unknown(&state.db, order_id, number).await?;
            return Ok(Settled::Unknown(error.to_string()));
        }
    };
    let attempt = store::attempt(&state.db, order_id, number).await?;
    let key = store::idempotency_key(order_id, number);
    // Attempts made before attempts were stored sent no `attempt` metadata.
    let own = found.iter().find(|c| match &c.attempt {
        Some(made_by) => *made_by == key,
        None => attempt.is_none(),
    });
    let open = is_open(state, order_id).await?;
    let own_id = own.map(|c| c.id.clone());
    if let Err(error) = refund_strays(state, order_id, &found, own_id.as_deref()).await {
        tracing::warn!(
            order_id,
            number,
            error = format!("{error:#}"),
            "reconciling: a refund failed"
        );
        store::mark_unknown(&state.db, order_id, number).await?;
        return Ok(Settled::Unknown(error.to_string()));
    }
    // Stripe's search may not show a charge made within the last minute or so: only an
    // older attempt can be ruled to have charged nothing. A recent one of an open order is
    // replayed (Stripe answers a replayed key with the original result); an older one is
    // settled by the search alone, so a key whose first answer Stripe kept as an error is
    // given up for a new attempt rather than replayed for ever.
    let young = store::attempt_is_younger(&state.db, order_id, number, SEARCH_LAG_SECS).await?;
    let settled = match (own, attempt) {
        (Some(charge), _) => {
            tracing::info!(order_id, number, charge_id = %charge.id, "reconciled: the attempt charged");
            record(state, order_id, number, &charge.id, charge.amount).await?
        }
        (None, Some(attempt)) if open && young => {
            tracing::info!(order_id, number, "reconciling: replaying the attempt");
            drive(state, &attempt).await?
        }
        (None, _) if young => {
            tracing::info!(
                order_id,
                number,
                "reconciling: too recent to rule a charge out"
            );
            store::mark_unknown(&state.db, order_id, number).await?;
            Settled::Unknown("the provider's search may not show the charge yet".to_owned())
        }
        (None, _) => {
            tracing::info!(order_id, number, "reconciled: the attempt charged nothing");
            store::end_without_charge(&state.db, order_id, number, NoCharge::None, "no charge")
                .await?;
            Settled::NoCharge
        }
    };
    Ok(settled)
}

/// Refunds every charge of the order that is neither its recorded payment (which
/// [`refund_if_cancelled`] looks after) nor `own`, the charge of the attempt being
/// reconciled: an order keeps at most one charge. Done first, so that a failure leaves the
/// attempt to be reconciled again.
async fn refund_strays(
    state: &AppState,
    order_id: &str,
    found: &[FoundCharge],
    own: Option<&str>,
) -> anyhow::Result<()> {
    let kept = store::payment_for(&state.db, order_id)
        .await?
        .map(|p| p.stripe_id);
    for charge in found {
        if charge.refunded
            || kept.as_deref() == Some(charge.id.as_str())
            || own == Some(charge.id.as_str())
        {
            continue;
        }
        tracing::warn!(order_id, charge_id = %charge.id, "refunding a charge beyond the one kept");
        state
            .gateway
            .refund(&charge.id, &format!("refund-{}", charge.id))
            .await
            .with_context(|| format!("refunding {}", charge.id))?;
    }
    Ok(())
}

/// Whether the order is open for payment in the replica.
async fn is_open(state: &AppState, order_id: &str) -> anyhow::Result<bool> {
    Ok(store::order(&state.db, order_id)
        .await?
        .is_some_and(|o| o.status.is_open()))
}

/// Refunds the charges set aside as strays (charges no order keeps); what fails stays for
/// the next sweep.
pub async fn refund_strays_recorded(state: &AppState) {
    let strays = match store::strays(&state.db).await {
        Ok(strays) => strays,
        Err(error) => {
            tracing::warn!(error = format!("{error:#}"), "reading stray charges failed");
            return;
        }
    };
    for charge_id in strays {
        let refunded = state
            .gateway
            .refund(&charge_id, &format!("refund-{charge_id}"))
            .await;
        match refunded {
            Ok(()) => {
                if let Err(error) = store::stray_refunded(&state.db, &charge_id).await {
                    tracing::warn!(
                        charge_id,
                        error = format!("{error:#}"),
                        "marking a stray refunded failed"
                    );
                }
                tracing::info!(charge_id, "stray charge refunded");
            }
            Err(error) => {
                tracing::warn!(charge_id, error = %error, "refunding a stray charge failed; will retry")
            }
        }
    }
}
