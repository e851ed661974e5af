//! The payment gateway interface and its two implementations: [`stripe::Stripe`] (real
//! HTTPS calls) and [`sandbox::Sandbox`] (Stripe test mode's behaviour, for running without
//! a Stripe account).

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
    /// The same key for a retried request: the provider charges at most once per key.
    pub idempotency_key: String,
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

    /// For logs: `stripe` or `sandbox`.
    fn name(&self) -> &'static str;
}
