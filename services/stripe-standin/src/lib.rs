//! A stand-in for Stripe's Charges API, for integration tests of the payments service.
//!
//! It is the one stand-in the tests allow, so it behaves like Stripe where the payments
//! service can tell the difference: a ledger of charges and refunds, idempotency keys with
//! Stripe's replay and conflict rules, Stripe's error bodies, test-mode magic tokens, the
//! Search API for charges, and staged faults (an outage, charges held until released).
//!
//! ```no_run
//! # async fn example() {
//! let stripe = stripe_standin::StripeStandIn::start().await;
//! // Point the service's STRIPE_API_BASE at `stripe.url()`, drive it, then read the ledger:
//! let charges = stripe.wait_for_charges(1).await;
//! assert_eq!(charges[0].amount, 1000);
//! # }
//! ```
//!
//! Served: `POST /v1/charges`, `POST /v1/refunds`, `GET /v1/charges/:id` and
//! `GET /v1/charges/search`, with `Authorization: Bearer sk_…`. Tokens: `tok_visa`,
//! `tok_visa_debit`, `tok_mastercard`, `tok_amex` succeed; `tok_chargeDeclined` and
//! `tok_chargeDeclinedInsufficientFunds` are declined (402, kept as failed charges, as
//! Stripe keeps them); `tok_slow` succeeds, after a wait while slow charges are held; any
//! other token is `No such token`.
//!
//! Every handle is a cheap clone of the same server. The server runs in a task of the
//! current tokio runtime and stops with it.

mod errors;
mod idempotency;
mod ledger;
mod routes;
mod search;
mod tokens;

/// Form pairs from string slices, for the unit tests.
#[cfg(test)]
fn test_form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

pub use ledger::{LedgerCharge, LedgerRefund, Received};

/// How long the `wait_for_*` helpers wait before they give up and panic with what they saw.
/// A deadline for a failing test, not a timing assertion.
const WAIT: Duration = Duration::from_secs(30);

/// A running stand-in; clones share the server, its ledger and its switches.
#[derive(Clone)]
pub struct StripeStandIn {
    shared: Arc<Shared>,
    url: String,
}

impl StripeStandIn {
    /// Binds 127.0.0.1 on a free port and serves in a task of the current runtime.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the Stripe stand-in binds a local port");
        let url = format!(
            "http://{}",
            listener
                .local_addr()
                .expect("a bound listener has an address")
        );
        let shared = Arc::new(Shared::new());
        let app = routes::router(shared.clone());
        tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the Stripe stand-in serves");
        });
        Self { shared, url }
    }

    /// The base URL, `http://127.0.0.1:PORT`: what `STRIPE_API_BASE` is set to.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The ledger: every successful charge, in the order they were made, with its refunds
    /// applied. Declined charges are not here (see [`Self::declined_charges`]).
    pub fn charges(&self) -> Vec<LedgerCharge> {
        self.shared.read(State::succeeded_charges)
    }

    /// The charges that were declined, in order. Stripe keeps them as charge objects with
    /// `status: "failed"`; no money moved.
    pub fn declined_charges(&self) -> Vec<LedgerCharge> {
        self.shared.read(|state| {
            state
                .charges
                .iter()
                .filter(|c| c.decline.is_some())
                .map(|c| c.charge.clone())
                .collect()
        })
    }

    /// Every refund made, in order.
    pub fn refunds(&self) -> Vec<LedgerRefund> {
        self.shared.read(|state| state.refunds.clone())
    }

    /// Every request received, in order of arrival, whatever was answered (or not).
    pub fn requests(&self) -> Vec<Received> {
        self.shared.read(|state| state.requests.clone())
    }

    /// An outage: while down, every request is answered 500 with an `api_error` body,
    /// before authentication and before the idempotency layer, so nothing changes in the
    /// ledger and no answer is stored for an idempotency key. Charges already being
    /// processed (a held `tok_slow`) still complete.
    pub fn set_down(&self, down: bool) {
        self.shared.write(|state| state.down = down);
    }

    /// From now on, a charge of `tok_slow` waits, after Stripe has received it, until
    /// [`Self::release_slow_charges`]. The charge completes even if the client hangs up
    /// meanwhile; only the answer is lost.
    pub fn hold_slow_charges(&self) {
        self.shared.slow_held.send_replace(true);
    }

    /// Lets held `tok_slow` charges (and later ones) complete.
    pub fn release_slow_charges(&self) {
        self.shared.slow_held.send_replace(false);
    }

    /// How many `tok_slow` charges are waiting to be released right now.
    pub fn held_charges(&self) -> usize {
        self.shared.read(|state| state.held)
    }

    /// Resolves with the requests to `path` once at least `n` have arrived; panics with
    /// every request seen if that takes unreasonably long.
    pub async fn wait_for_requests(&self, path: &str, n: usize) -> Vec<Received> {
        self.wait_until(&format!("{n} request(s) to {path}"), |state| {
            let to_path: Vec<Received> = state
                .requests
                .iter()
                .filter(|r| r.path == path)
                .cloned()
                .collect();
            (to_path.len() >= n).then_some(to_path)
        })
        .await
    }

    /// Resolves with the ledger once it holds at least `n` successful charges.
    pub async fn wait_for_charges(&self, n: usize) -> Vec<LedgerCharge> {
        self.wait_until(&format!("{n} charge(s) in the ledger"), |state| {
            let charges = state.succeeded_charges();
            (charges.len() >= n).then_some(charges)
        })
        .await
    }

    /// Resolves once at least `n` `tok_slow` charges are waiting to be released.
    pub async fn wait_for_held_charges(&self, n: usize) {
        self.wait_until(&format!("{n} held charge(s)"), |state| {
            (state.held >= n).then_some(())
        })
        .await
    }

    async fn wait_until<T>(&self, what: &str, mut ready: impl FnMut(&State) -> Option<T>) -> T {
        let mut changes = self.shared.changes.subscribe();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(value) = self.shared.read(&mut ready) {
                return value;
            }
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                let seen = self.shared.read(State::describe);
                panic!("the Stripe stand-in waited {WAIT:?} for {what}; it saw:\n{seen}");
            }
        }
    }
}

/// What every handle and the server share.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Whether `tok_slow` charges are held.
    slow_held: watch::Sender<bool>,
    /// Bumped after every change to the state, for the `wait_for_*` helpers.
    changes: watch::Sender<u64>,
}

impl Shared {
    fn new() -> Self {
        Self {
            state: Mutex::new(State::default()),
            slow_held: watch::Sender::new(false),
            changes: watch::Sender::new(0),
        }
    }

    /// Reads the state under the lock (never held across an await).
    pub(crate) fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Changes the state under the lock and wakes the waiters.
    pub(crate) fn write<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let result = f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner));
        self.changes.send_modify(|n| *n += 1);
        result
    }

    /// Waits while `tok_slow` charges are held, counted in `held` meanwhile.
    pub(crate) async fn wait_while_slow_charges_are_held(&self) {
        let mut held = self.slow_held.subscribe();
        if !*held.borrow_and_update() {
            return;
        }
        self.write(|state| state.held += 1);
        // The sender lives as long as `self`, so this only ends by a release.
        let _ = held.wait_for(|held| !held).await;
        self.write(|state| state.held -= 1);
    }
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) charges: Vec<ledger::ChargeRecord>,
    pub(crate) refunds: Vec<LedgerRefund>,
    pub(crate) requests: Vec<Received>,
    pub(crate) keys: idempotency::Keys,
    pub(crate) down: bool,
    /// `tok_slow` charges waiting for a release.
    pub(crate) held: usize,
}

impl State {
    fn succeeded_charges(&self) -> Vec<LedgerCharge> {
        self.charges
            .iter()
            .filter(|c| c.decline.is_none())
            .map(|c| c.charge.clone())
            .collect()
    }

    fn describe(&self) -> String {
        let mut seen = String::new();
        for r in &self.requests {
            seen.push_str(&format!(
                "  {} {} key={:?} form={:?}\n",
                r.method, r.path, r.idempotency_key, r.form
            ));
        }
        for c in &self.charges {
            seen.push_str(&format!(
                "  charge {} {} {} declined={} refunded={}\n",
                c.charge.id,
                c.charge.amount,
                c.charge.source,
                c.decline.is_some(),
                c.charge.amount_refunded
            ));
        }
        seen.push_str(&format!("  held slow charges: {}\n", self.held));
        seen
    }
}
