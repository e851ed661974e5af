//! A payment gateway that behaves like Stripe test mode, for running without a Stripe
//! account: the test tokens succeed or fail as Stripe documents them, charges are recorded
//! in the payments database (one per idempotency key, which a replay answers with the
//! original charge), can be refunded, and are found by order like Stripe's charge search.

use common::db::{Db, DbError, RecordId};
use futures::future::BoxFuture;
use surrealdb::types::SurrealValue;

use super::{Charge, ChargeRequest, FoundCharge, Gateway, GatewayError};

pub const SCHEMA: &str = "
DEFINE TABLE IF NOT EXISTS sandbox_charge SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS charge_id ON sandbox_charge TYPE string;
DEFINE FIELD IF NOT EXISTS amount ON sandbox_charge TYPE int;
DEFINE FIELD IF NOT EXISTS currency ON sandbox_charge TYPE string;
DEFINE FIELD IF NOT EXISTS source ON sandbox_charge TYPE string;
DEFINE FIELD IF NOT EXISTS order_id ON sandbox_charge TYPE string;
DEFINE FIELD IF NOT EXISTS refunded ON sandbox_charge TYPE bool DEFAULT false;
DEFINE FIELD IF NOT EXISTS created_at ON sandbox_charge TYPE datetime DEFAULT time::now();
DEFINE INDEX IF NOT EXISTS sandbox_charge_id ON sandbox_charge FIELDS charge_id UNIQUE;
DEFINE INDEX IF NOT EXISTS sandbox_charge_order ON sandbox_charge FIELDS order_id;
";

/// What a test token does: `Ok` succeeds, `Err` is the decline message.
pub fn outcome(token: &str) -> Option<Result<(), &'static str>> {
    Some(match token {
        "tok_visa"
        | "tok_visa_debit"
        | "tok_mastercard"
        | "tok_mastercard_debit"
        | "tok_amex"
        | "tok_discover" => Ok(()),
        "tok_chargeDeclined" => Err("Your card was declined."),
        "tok_chargeDeclinedInsufficientFunds" => Err("Your card has insufficient funds."),
        "tok_chargeDeclinedExpiredCard" => Err("Your card has expired."),
        "tok_chargeDeclinedIncorrectCvc" => Err("Your card's security code is incorrect."),
        "tok_chargeDeclinedProcessingError" => {
            Err("An error occurred while processing your card. Try again in a little bit.")
        }
        _ => return None,
    })
}

pub struct Sandbox {
    db: Db,
}

/// A recorded sandbox charge.
#[derive(Debug, Clone, SurrealValue)]
pub struct SandboxCharge {
    pub charge_id: String,
    pub amount: i64,
    pub currency: String,
    pub source: String,
    pub order_id: String,
    pub refunded: bool,
}

impl Sandbox {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    fn record(key: &str) -> RecordId {
        RecordId::new("sandbox_charge", key)
    }

    /// Every charge the sandbox made, for tests and inspection.
    pub async fn charges(db: &Db) -> Result<Vec<SandboxCharge>, DbError> {
        db.query("SELECT charge_id, amount, currency, source, order_id, refunded FROM sandbox_charge ORDER BY created_at")
            .await?
            .take(0)
    }

    async fn by_key(&self, key: &str) -> Result<Option<SandboxCharge>, DbError> {
        let rows: Vec<SandboxCharge> = self
            .db
            .query("SELECT charge_id, amount, currency, source, order_id, refunded FROM $rid")
            .bind(("rid", Self::record(key)))
            .await?
            .take(0)?;
        Ok(rows.into_iter().next())
    }
}

fn unavailable(error: DbError) -> GatewayError {
    GatewayError::Unavailable(error.to_string())
}

impl Gateway for Sandbox {
    fn charge<'a>(
        &'a self,
        request: &'a ChargeRequest,
    ) -> BoxFuture<'a, Result<Charge, GatewayError>> {
        Box::pin(async move {
            match outcome(&request.source) {
                None => {
                    return Err(GatewayError::Invalid(format!(
                        "No such token: '{}'",
                        request.source
                    )));
                }
                Some(Err(message)) => return Err(GatewayError::Declined(message.to_owned())),
                Some(Ok(())) => {}
            }
            // Like Stripe: the same key answers with the charge it made the first time.
            if let Some(existing) = self
                .by_key(&request.idempotency_key)
                .await
                .map_err(unavailable)?
            {
                return Ok(Charge {
                    id: existing.charge_id,
                });
            }
            let charge_id = format!("ch_sandbox_{}", common::db::new_id());
            let created = self
                .db
                .query(
                    "CREATE $rid CONTENT { charge_id: $charge_id, amount: $amount, currency: $currency, \
                     source: $source, order_id: $order_id, refunded: false }",
                )
                .bind(("rid", Self::record(&request.idempotency_key)))
                .bind(("charge_id", charge_id.clone()))
                .bind(("amount", request.amount))
                .bind(("currency", request.currency.clone()))
                .bind(("source", request.source.clone()))
                .bind(("order_id", request.order_id.clone()))
                .await
                .and_then(|r| r.check());
            match created {
                Ok(_) => Ok(Charge { id: charge_id }),
                // The same key at the same moment: answer with the one that won.
                Err(error)
                    if common::db::is_duplicate(&error) || common::db::is_conflict(&error) =>
                {
                    let existing = self
                        .by_key(&request.idempotency_key)
                        .await
                        .map_err(unavailable)?;
                    existing
                        .map(|c| Charge { id: c.charge_id })
                        .ok_or_else(|| GatewayError::Unavailable("sandbox charge conflict".into()))
                }
                Err(error) => Err(unavailable(error)),
            }
        })
    }

    fn refund<'a>(
        &'a self,
        charge_id: &'a str,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), GatewayError>> {
        Box::pin(async move {
            let updated: Vec<RecordId> = self
                .db
                .query("UPDATE sandbox_charge SET refunded = true WHERE charge_id = $charge_id RETURN VALUE id")
                .bind(("charge_id", charge_id.to_owned()))
                .await
                .and_then(|mut r| r.take(0))
                .map_err(unavailable)?;
            if updated.is_empty() {
                return Err(GatewayError::Invalid(format!(
                    "No such charge: '{charge_id}'"
                )));
            }
            Ok(())
        })
    }

    fn charges_for_order<'a>(
        &'a self,
        order_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<FoundCharge>, GatewayError>> {
        #[derive(SurrealValue)]
        struct Row {
            charge_id: String,
            amount: i64,
            refunded: bool,
            attempt: String,
        }
        Box::pin(async move {
            let rows: Vec<Row> = self
                .db
                .query(
                    "SELECT charge_id, amount, refunded, record::id(id) AS attempt \
                     FROM sandbox_charge WHERE order_id = $order_id ORDER BY created_at",
                )
                .bind(("order_id", order_id.to_owned()))
                .await
                .and_then(|mut r| r.take(0))
                .map_err(unavailable)?;
            Ok(rows
                .into_iter()
                .map(|row| FoundCharge {
                    id: row.charge_id,
                    amount: row.amount,
                    refunded: row.refunded,
                    attempt: Some(row.attempt),
                })
                .collect())
        })
    }

    fn name(&self) -> &'static str {
        "sandbox"
    }
}

#[cfg(test)]
mod tests {
    use super::outcome;

    #[test]
    fn test_tokens_behave_like_stripe_test_mode() {
        assert_eq!(outcome("tok_visa"), Some(Ok(())));
        assert_eq!(outcome("tok_mastercard"), Some(Ok(())));
        assert_eq!(
            outcome("tok_chargeDeclined"),
            Some(Err("Your card was declined."))
        );
        assert_eq!(outcome("tok_unknown"), None);
    }
}
