//! What the stand-in keeps: charges, refunds and the requests it received, with the JSON
//! Stripe renders them as.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::search::Clause;
use crate::tokens::{Decline, TestCard};

/// A charge in the ledger.
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerCharge {
    /// `ch_…`
    pub id: String,
    /// In the smallest currency unit (cents).
    pub amount: i64,
    /// Lowercase ISO code, `usd`.
    pub currency: String,
    /// The token charged, `tok_visa`.
    pub source: String,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// The `Idempotency-Key` of the request that made the charge.
    pub idempotency_key: Option<String>,
    /// Whether the whole amount has been refunded.
    pub refunded: bool,
    pub amount_refunded: i64,
    /// Unix seconds.
    pub created: i64,
}

/// A refund in the ledger.
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerRefund {
    /// `re_…`
    pub id: String,
    /// The charge refunded, `ch_…`.
    pub charge: String,
    pub amount: i64,
    pub currency: String,
    pub reason: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub idempotency_key: Option<String>,
    /// Unix seconds.
    pub created: i64,
}

/// One request as the stand-in received it.
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    /// `POST`, `GET`.
    pub method: String,
    /// `/v1/charges`.
    pub path: String,
    /// The decoded query string.
    pub query: Vec<(String, String)>,
    /// The `Authorization` header as sent.
    pub authorization: Option<String>,
    pub idempotency_key: Option<String>,
    pub content_type: Option<String>,
    /// The decoded form body, in the order sent.
    pub form: Vec<(String, String)>,
}

impl Received {
    /// The first value of the form field `name`: `param("metadata[order_id]")`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A charge as the stand-in keeps it: the ledger's view plus what only the JSON shows.
pub(crate) struct ChargeRecord {
    pub(crate) charge: LedgerCharge,
    pub(crate) card_id: String,
    pub(crate) brand: &'static str,
    pub(crate) last4: &'static str,
    pub(crate) funding: &'static str,
    pub(crate) decline: Option<Decline>,
    pub(crate) livemode: bool,
}

impl ChargeRecord {
    pub(crate) fn new(charge: LedgerCharge, card: &TestCard, livemode: bool) -> Self {
        Self {
            charge,
            card_id: new_id("card"),
            brand: card.brand,
            last4: card.last4,
            funding: card.funding,
            decline: card.decline.clone(),
            livemode,
        }
    }

    pub(crate) fn status(&self) -> &'static str {
        if self.decline.is_some() {
            "failed"
        } else {
            "succeeded"
        }
    }

    pub(crate) fn matches(&self, clause: &Clause) -> bool {
        match clause {
            Clause::Metadata { key, value } => self.charge.metadata.get(key) == Some(value),
            Clause::Status(status) => self.status() == status,
            Clause::Currency(currency) => self.charge.currency.eq_ignore_ascii_case(currency),
            Clause::Amount(amount) => self.charge.amount == *amount,
        }
    }

    /// The charge object, as `POST /v1/charges`, `GET /v1/charges/:id` and search render it.
    pub(crate) fn to_json(&self) -> Value {
        let c = &self.charge;
        let succeeded = self.decline.is_none();
        json!({
            "id": c.id,
            "object": "charge",
            "amount": c.amount,
            "amount_captured": if succeeded { c.amount } else { 0 },
            "amount_refunded": c.amount_refunded,
            "captured": succeeded,
            "created": c.created,
            "currency": c.currency,
            "description": c.description,
            "failure_code": self.decline.as_ref().map(|d| d.code),
            "failure_message": self.decline.as_ref().map(|d| d.message),
            "livemode": self.livemode,
            "metadata": c.metadata,
            "paid": succeeded,
            "payment_method": self.card_id,
            "refunded": c.refunded,
            "source": {
                "id": self.card_id,
                "object": "card",
                "brand": self.brand,
                "funding": self.funding,
                "last4": self.last4,
            },
            "status": self.status(),
        })
    }
}

impl LedgerRefund {
    /// The refund object.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "charge": self.charge,
            "created": self.created,
            "currency": self.currency,
            "metadata": self.metadata,
            "payment_intent": null,
            "reason": self.reason,
            "status": "succeeded",
        })
    }
}

/// `ch_01J…`: Stripe's prefix, a ULID for the rest.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new())
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
