//! The payment gateway interface and its two implementations: [`stripe::Stripe`] (real
//! HTTPS calls) and [`sandbox::Sandbox`] (Stripe test mode's behaviour, for running without
//! a Stripe account, only when asked for explicitly).

pub mod sandbox;
pub mod stripe;

use futures::future::BoxFuture;

/// A charge to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    /// In the smallest currency unit (cents).
    pub amount: i64,
    /// ISO code, lower-case (`usd`).
    pub currency: String,
    /// The card token from the browser (`tok_visa` in test mode).
    pub source: String,
    pub description: String,
    pub order_id: String,
    /// The same key for a retried request: the provider charges at most once per key, and
    /// answers a replay of the same request with the original result. It is also sent as
    /// the charge's `attempt` metadata, so that a search finds which attempt made a charge.
    pub idempotency_key: String,
}

/// A charge the provider holds for an order, as its search finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundCharge {
    /// The provider's charge id (`ch_…`).
    pub id: String,
    pub amount: i64,
    /// Wholly refunded.
    pub refunded: bool,
    /// The idempotency key of the attempt that made it (its `attempt` metadata), if any.
    pub attempt: Option<String>,
}

/// A successful charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// The provider's charge id (`ch_…`).
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The card was refused; the message is the provider's, for the buyer.
    #[error("{0}")]
    Declined(String),
    /// The provider refused the request (an unknown token, say); its message.
    #[error("{0}")]
    Invalid(String),
    /// The provider could not be reached or failed.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
}

/// Charges and refunds.
pub trait Gateway: Send + Sync + 'static {
    fn charge<'a>(
        &'a self,
        request: &'a ChargeRequest,
    ) -> BoxFuture<'a, Result<Charge, GatewayError>>;

    /// Refunds a whole charge; `idempotency_key` makes a repeated refund a no-op.
    fn refund<'a>(
        &'a self,
        charge_id: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), GatewayError>>;

    /// Every successful charge made for `order_id` (its `order_id` metadata), for
    /// reconciling attempts whose outcome was never recorded.
    fn charges_for_order<'a>(
        &'a self,
        order_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<FoundCharge>, GatewayError>>;

    /// For logs: `stripe` or `sandbox`.
    fn name(&self) -> &'static str;
}
