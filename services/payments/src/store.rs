//! The payments database: a replica of orders, one payment intent per order (the
//! `payment_claim` table) that lets a single attempt charge at a time, every attempt's
//! exact request, and the payments made.

use common::db::{Db, DbError, RecordId, is_conflict, retry_while};
use common::events::{OrderStatus, PaymentCreated};
use common::money::Price;
use common::outbox::{Outbox, Tx};
use surrealdb::types::SurrealValue;

use crate::gateway::ChargeRequest;

pub const SCHEMA: &str = "
DEFINE TABLE IF NOT EXISTS orders SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS user_id ON orders TYPE string;
DEFINE FIELD IF NOT EXISTS price ON orders TYPE int;
DEFINE FIELD IF NOT EXISTS status ON orders TYPE string;
DEFINE FIELD IF NOT EXISTS version ON orders TYPE int;

DEFINE TABLE IF NOT EXISTS payment_claim SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS state ON payment_claim TYPE string;
DEFINE FIELD IF NOT EXISTS attempt ON payment_claim TYPE int;
DEFINE FIELD IF NOT EXISTS updated_at ON payment_claim TYPE datetime;
DEFINE INDEX IF NOT EXISTS payment_claim_due ON payment_claim FIELDS state, updated_at;

DEFINE TABLE IF NOT EXISTS payment_attempt SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS order_id ON payment_attempt TYPE string;
DEFINE FIELD IF NOT EXISTS number ON payment_attempt TYPE int;
DEFINE FIELD IF NOT EXISTS amount ON payment_attempt TYPE int;
DEFINE FIELD IF NOT EXISTS currency ON payment_attempt TYPE string;
DEFINE FIELD IF NOT EXISTS source ON payment_attempt TYPE string;
DEFINE FIELD IF NOT EXISTS description ON payment_attempt TYPE string;
DEFINE FIELD IF NOT EXISTS outcome ON payment_attempt TYPE string;
DEFINE FIELD IF NOT EXISTS charge_id ON payment_attempt TYPE option<string>;
DEFINE FIELD IF NOT EXISTS message ON payment_attempt TYPE option<string>;
DEFINE FIELD IF NOT EXISTS created_at ON payment_attempt TYPE datetime DEFAULT time::now();

DEFINE TABLE IF NOT EXISTS stray_charge SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS order_id ON stray_charge TYPE string;
DEFINE FIELD IF NOT EXISTS refunded ON stray_charge TYPE bool DEFAULT false;
DEFINE FIELD IF NOT EXISTS created_at ON stray_charge TYPE datetime DEFAULT time::now();
DEFINE INDEX IF NOT EXISTS stray_charge_open ON stray_charge FIELDS refunded;

DEFINE TABLE IF NOT EXISTS payment SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS order_id ON payment TYPE string;
DEFINE FIELD IF NOT EXISTS stripe_id ON payment TYPE string;
DEFINE FIELD IF NOT EXISTS amount ON payment TYPE int;
DEFINE FIELD IF NOT EXISTS refunded ON payment TYPE bool DEFAULT false;
DEFINE FIELD IF NOT EXISTS refunded_at ON payment TYPE option<datetime>;
DEFINE FIELD IF NOT EXISTS created_at ON payment TYPE datetime DEFAULT time::now();
DEFINE INDEX IF NOT EXISTS payment_order ON payment FIELDS order_id UNIQUE;
";

// ---------------------------------------------------------------- the order replica

/// The payments service's copy of an order.
#[derive(Debug, Clone, PartialEq, Eq, SurrealValue)]
pub struct ReplicaOrder {
    pub id: String,
    pub user_id: String,
    pub price: Price,
    pub status: OrderStatus,
    pub version: i64,
}

fn order_record(id: &str) -> RecordId {
    RecordId::new("orders", id)
}

pub async fn order(db: &Db, id: &str) -> Result<Option<ReplicaOrder>, DbError> {
    let rows: Vec<ReplicaOrder> = db
        .query("SELECT record::id(id) AS id, user_id, price, status, version FROM $rid")
        .bind(("rid", order_record(id)))
        .await?
        .take(0)?;
    Ok(rows.into_iter().next())
}

/// A version of an order as the replica keeps it (the record id is the order's): every
/// field for `order:created`.
#[derive(Debug, Clone, SurrealValue)]
pub struct OrderVersion {
    pub user_id: String,
    pub price: Price,
    pub status: OrderStatus,
    pub version: i64,
}

/// What a later version of an order changes: its status.
#[derive(Debug, Clone, SurrealValue)]
pub struct StatusVersion {
    pub status: OrderStatus,
    pub version: i64,
}

/// Applies a version of an order (`OrderVersion` or `StatusVersion`) to the replica.
pub async fn replicate_order<R: SurrealValue + 'static>(
    db: &Db,
    id: &str,
    version: u64,
    row: R,
) -> Result<common::replica::Applied, DbError> {
    common::replica::apply(db, "orders", id, version, row).await
}

// ---------------------------------------------------------------- payment intents

/// Where an order's payment stands: one `payment_claim` row per order, the order's payment
/// intent. One attempt at a time charges the order; see [`crate::workflow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentState {
    /// An attempt is being sent to the provider by some worker (a lease: past
    /// `stale_secs` without news, its worker is taken to be gone).
    Charging,
    /// The provider never answered the attempt: it must be reconciled before another.
    Unknown,
    /// Paid: the payment is recorded.
    Charged,
    /// The last attempt was refused, or reconciled as never charged: a new attempt may start.
    Failed,
}

impl IntentState {
    /// Every state's stored name, in [`IntentState::as_str`]'s order.
    pub const NAMES: &'static [&'static str] = &["charging", "unknown", "charged", "failed"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Charging => "charging",
            Self::Unknown => "unknown",
            Self::Charged => "charged",
            Self::Failed => "failed",
        }
    }

    pub fn parse(state: &str) -> Option<Self> {
        [Self::Charging, Self::Unknown, Self::Charged, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == state)
    }
}

/// One try at charging an order: the exact request, stored before it is sent, so that it
/// can be replayed with the same idempotency key and the same parameters.
#[derive(Debug, Clone, PartialEq, Eq, SurrealValue)]
pub struct Attempt {
    pub order_id: String,
    pub number: i64,
    pub amount: i64,
    pub currency: String,
    pub source: String,
    pub description: String,
}

impl Attempt {
    /// The provider's idempotency key, one per attempt.
    pub fn idempotency_key(&self) -> String {
        idempotency_key(&self.order_id, self.number)
    }

    pub fn request(&self) -> ChargeRequest {
        ChargeRequest {
            amount: self.amount,
            currency: self.currency.clone(),
            source: self.source.clone(),
            description: self.description.clone(),
            order_id: self.order_id.clone(),
            idempotency_key: self.idempotency_key(),
        }
    }
}

pub fn idempotency_key(order_id: &str, attempt: i64) -> String {
    format!("charge-{order_id}-{attempt}")
}

/// What [`begin`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// A new attempt, stored and leased to the caller: send it.
    Started(Attempt),
    /// The caller took over attempt `number`, whose outcome is unknown: reconcile it.
    Reconcile { number: i64 },
    /// Another worker is sending an attempt right now.
    InFlight,
    /// The order is paid.
    Paid,
}

#[derive(Debug, SurrealValue)]
struct IntentRow {
    state: String,
    attempt: i64,
}

fn claim_record(order_id: &str) -> RecordId {
    RecordId::new("payment_claim", order_id)
}

fn attempt_record(order_id: &str, number: i64) -> RecordId {
    RecordId::new("payment_attempt", format!("{order_id}-{number}"))
}

/// The intent's state and current attempt number, if the order has one.
pub async fn intent(db: &Db, order_id: &str) -> Result<Option<(IntentState, i64)>, DbError> {
    let rows: Vec<IntentRow> = db
        .query("SELECT state, attempt FROM $rid")
        .bind(("rid", claim_record(order_id)))
        .await?
        .take(0)?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|row| Some((IntentState::parse(&row.state)?, row.attempt))))
}

/// Starts paying the order with `attempt` (its number is chosen here): a new attempt when
/// the order has none or its last one failed, otherwise whatever the intent's state says.
/// An attempt whose worker went quiet for `stale_secs`, or whose outcome is unknown, is
/// handed over for reconciliation.
pub async fn begin(db: &Db, attempt: &Attempt, stale_secs: i64) -> Result<Begin, DbError> {
    common::db::retry_conflicts(|| try_begin(db, attempt, stale_secs)).await
}

async fn try_begin(db: &Db, attempt: &Attempt, stale_secs: i64) -> Result<Begin, DbError> {
    let first = Attempt {
        number: 1,
        ..attempt.clone()
    };
    let tx = Tx::new()
        .statement(
            "CREATE $claim CONTENT { state: 'charging', attempt: 1, updated_at: time::now() }",
        )
        .bind("claim", claim_record(&attempt.order_id));
    match commit(db, create_attempt(tx, &first)).await {
        Ok(()) => return Ok(Begin::Started(first)),
        Err(error) if common::db::is_duplicate(&error) => {}
        Err(error) => return Err(error),
    }
    let Some((state, number)) = intent(db, &attempt.order_id).await? else {
        return Err(DbError::internal("payment intent vanished".to_owned()));
    };
    match state {
        IntentState::Charged => Ok(Begin::Paid),
        IntentState::Failed => {
            let next = Attempt {
                number: number + 1,
                ..attempt.clone()
            };
            let tx = Tx::new()
                .guarded(
                    "UPDATE $claim SET state = 'charging', attempt = $next, updated_at = time::now() \
                     WHERE state = 'failed' AND attempt = $number RETURN AFTER",
                )
                .bind("claim", claim_record(&attempt.order_id))
                .bind("number", number)
                .bind("next", next.number);
            commit(db, create_attempt(tx, &next)).await?;
            Ok(Begin::Started(next))
        }
        IntentState::Charging | IntentState::Unknown => {
            if take_over(db, &attempt.order_id, number, true, stale_secs).await? {
                Ok(Begin::Reconcile { number })
            } else {
                Ok(Begin::InFlight)
            }
        }
    }
}

/// Adds the statement that stores `attempt` (outcome pending) to `tx`.
fn create_attempt(tx: Tx, attempt: &Attempt) -> Tx {
    tx.statement(
        "CREATE $attempt CONTENT { order_id: $attempt_order, number: $attempt_number, \
         amount: $attempt_amount, currency: $attempt_currency, source: $attempt_source, \
         description: $attempt_description, outcome: 'pending' }",
    )
    .bind("attempt", attempt_record(&attempt.order_id, attempt.number))
    .bind("attempt_order", attempt.order_id.clone())
    .bind("attempt_number", attempt.number)
    .bind("attempt_amount", attempt.amount)
    .bind("attempt_currency", attempt.currency.clone())
    .bind("attempt_source", attempt.source.clone())
    .bind("attempt_description", attempt.description.clone())
}

/// Runs a transaction without events (the outbox's transaction shape, without the relay).
async fn commit(db: &Db, tx: Tx) -> Result<(), DbError> {
    Outbox::new(db.clone()).commit(tx).await
}

/// Leases attempt `number` of the order to the caller when its worker has been quiet for
/// `stale_secs`, or (with `unknown_now`) at once when its outcome is known to be unknown.
/// Of two callers at once, one wins (they write the same row); the other gets `false`.
pub async fn take_over(
    db: &Db,
    order_id: &str,
    number: i64,
    unknown_now: bool,
    stale_secs: i64,
) -> Result<bool, DbError> {
    let take = || async {
        let taken: Vec<RecordId> = db
            .query(
                "UPDATE $rid SET state = 'charging', updated_at = time::now() \
                 WHERE attempt = $number AND ( \
                   (state = 'unknown' AND $unknown_now) OR \
                   (state IN ['charging', 'unknown'] AND updated_at < time::now() - type::duration($stale)) \
                 ) RETURN VALUE id",
            )
            .bind(("rid", claim_record(order_id)))
            .bind(("number", number))
            .bind(("unknown_now", unknown_now))
            .bind(("stale", format!("{stale_secs}s")))
            .await?
            .take(0)?;
        Ok(!taken.is_empty())
    };
    retry_while(take, is_conflict).await
}

/// Intents whose attempt's outcome is unknown, or whose worker has been quiet, for
/// `stale_secs`: the sweeper's work, at most `limit` (the next sweep takes the rest).
pub async fn due(db: &Db, stale_secs: i64, limit: usize) -> Result<Vec<(String, i64)>, DbError> {
    #[derive(SurrealValue)]
    struct Due {
        order_id: String,
        attempt: i64,
    }
    let rows: Vec<Due> = db
        .query(
            "SELECT record::id(id) AS order_id, attempt FROM payment_claim \
             WHERE state IN ['charging', 'unknown'] \
             AND updated_at < time::now() - type::duration($stale) \
             LIMIT $limit",
        )
        .bind(("stale", format!("{stale_secs}s")))
        .bind(("limit", limit as i64))
        .await?
        .take(0)?;
    Ok(rows.into_iter().map(|r| (r.order_id, r.attempt)).collect())
}

/// The stored attempt; `None` for attempts made before attempts were stored.
pub async fn attempt(db: &Db, order_id: &str, number: i64) -> Result<Option<Attempt>, DbError> {
    let rows: Vec<Attempt> = db
        .query("SELECT order_id, number, amount, currency, source, description FROM $rid")
        .bind(("rid", attempt_record(order_id, number)))
        .await?
        .take(0)?;
    Ok(rows.into_iter().next())
}

/// Whether attempt `number` was stored less than `secs` ago (attempts stored before
/// attempts had a creation time, and missing ones, count as old).
pub async fn attempt_is_younger(
    db: &Db,
    order_id: &str,
    number: i64,
    secs: i64,
) -> Result<bool, DbError> {
    let young: Vec<bool> = db
        .query("SELECT VALUE created_at > time::now() - type::duration($age) FROM $rid")
        .bind(("rid", attempt_record(order_id, number)))
        .bind(("age", format!("{secs}s")))
        .await?
        .take(0)?;
    Ok(young.first().copied().unwrap_or(false))
}

// ---------------------------------------------------------------- stray charges

/// Sets aside a charge that no order keeps (its attempt was settled otherwise while it was
/// with the provider), to be refunded.
pub async fn add_stray(db: &Db, order_id: &str, charge_id: &str) -> Result<(), DbError> {
    let add = || async {
        db.query("UPSERT $rid SET order_id = $order_id")
            .bind(("rid", RecordId::new("stray_charge", charge_id)))
            .bind(("order_id", order_id.to_owned()))
            .await?
            .check()?;
        Ok(())
    };
    retry_while(add, is_conflict).await
}

/// Stray charges not refunded yet.
pub async fn strays(db: &Db) -> Result<Vec<String>, DbError> {
    db.query("SELECT VALUE record::id(id) FROM stray_charge WHERE refunded = false LIMIT 100")
        .await?
        .take(0)
}

pub async fn stray_refunded(db: &Db, charge_id: &str) -> Result<(), DbError> {
    let mark = || async {
        db.query("UPDATE $rid SET refunded = true")
            .bind(("rid", RecordId::new("stray_charge", charge_id)))
            .await?
            .check()?;
        Ok(())
    };
    retry_while(mark, is_conflict).await
}

/// How an attempt ended without a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoCharge {
    /// The provider refused the card or the request.
    Refused,
    /// Reconciled: the provider holds no charge for it and the order is over.
    None,
}

/// Ends attempt `number` without a charge; the next payment starts a new attempt.
pub async fn end_without_charge(
    db: &Db,
    order_id: &str,
    number: i64,
    how: NoCharge,
    message: &str,
) -> Result<(), DbError> {
    let outcome = match how {
        NoCharge::Refused => "refused",
        NoCharge::None => "none",
    };
    settle_attempt(db, order_id, number, "failed", Some((outcome, message))).await
}

/// Marks attempt `number`'s outcome unknown (the provider did not answer): it is
/// reconciled by the next payment request or by the sweeper.
pub async fn mark_unknown(db: &Db, order_id: &str, number: i64) -> Result<(), DbError> {
    settle_attempt(db, order_id, number, "unknown", None).await
}

async fn settle_attempt(
    db: &Db,
    order_id: &str,
    number: i64,
    state: &str,
    outcome: Option<(&str, &str)>,
) -> Result<(), DbError> {
    let settle = || async {
        db.query(
            "BEGIN TRANSACTION; \
             LET $settled = (UPDATE $claim SET state = $state, updated_at = time::now() \
               WHERE state = 'charging' AND attempt = $number RETURN VALUE id); \
             IF array::len($settled) > 0 AND $outcome != NONE { \
               UPDATE $attempt SET outcome = $outcome, message = $message \
             }; \
             COMMIT TRANSACTION;",
        )
        .bind(("claim", claim_record(order_id)))
        .bind(("attempt", attempt_record(order_id, number)))
        .bind(("number", number))
        .bind(("state", state.to_owned()))
        .bind(("outcome", outcome.map(|(o, _)| o.to_owned())))
        .bind(("message", outcome.map(|(_, m)| m.to_owned())))
        .await?
        .check()?;
        Ok(())
    };
    retry_while(settle, is_conflict).await
}

// ---------------------------------------------------------------- payments

/// A payment made.
#[derive(Debug, Clone, PartialEq, Eq, SurrealValue)]
pub struct Payment {
    pub id: String,
    pub order_id: String,
    pub stripe_id: String,
    pub amount: i64,
    pub refunded: bool,
}

/// Records the charge of attempt `attempt`: the intent becomes `charged`, the attempt
/// records its charge, the payment is stored and `payment:created` staged, all in one
/// transaction. A storage conflict is retried; the intent's guard failing (another worker
/// recorded it first) is not: see [`common::outbox::is_stale`].
pub async fn record_payment(
    outbox: &Outbox,
    attempt: i64,
    payment: &Payment,
) -> Result<(), DbError> {
    retry_while(|| try_record_payment(outbox, attempt, payment), is_conflict).await
}

async fn try_record_payment(
    outbox: &Outbox,
    attempt: i64,
    payment: &Payment,
) -> Result<(), DbError> {
    let tx = Tx::new()
        .guarded(
            "UPDATE $claim SET state = 'charged', updated_at = time::now() \
             WHERE state IN ['charging', 'unknown'] AND attempt = $attempt RETURN AFTER",
        )
        .statement("UPDATE $attempt_rid SET outcome = 'charged', charge_id = $stripe_id")
        .statement(
            "CREATE $rid CONTENT { order_id: $order_id, stripe_id: $stripe_id, amount: $amount, refunded: false }",
        )
        .bind("claim", claim_record(&payment.order_id))
        .bind("attempt", attempt)
        .bind("attempt_rid", attempt_record(&payment.order_id, attempt))
        .bind("rid", RecordId::new("payment", payment.id.as_str()))
        .bind("order_id", payment.order_id.clone())
        .bind("stripe_id", payment.stripe_id.clone())
        .bind("amount", payment.amount)
        .publish(&PaymentCreated {
            id: payment.id.clone(),
            order_id: payment.order_id.clone(),
            stripe_id: payment.stripe_id.clone(),
        });
    outbox.commit(tx).await
}

const PAYMENT_COLUMNS: &str = "record::id(id) AS id, order_id, stripe_id, amount, refunded";

pub async fn payment_for(db: &Db, order_id: &str) -> Result<Option<Payment>, DbError> {
    let rows: Vec<Payment> = db
        .query(format!(
            "SELECT {PAYMENT_COLUMNS} FROM payment WHERE order_id = $order_id LIMIT 1"
        ))
        .bind(("order_id", order_id.to_owned()))
        .await?
        .take(0)?;
    Ok(rows.into_iter().next())
}

pub async fn payments(db: &Db) -> Result<Vec<Payment>, DbError> {
    db.query(format!("SELECT {PAYMENT_COLUMNS} FROM payment ORDER BY id"))
        .await?
        .take(0)
}

/// Marks the payment refunded; the order's cancellation and the payment request can both
/// get here at once, so a conflict between them is retried.
pub async fn mark_refunded(db: &Db, payment_id: &str) -> Result<(), DbError> {
    let mark = || async {
        db.query(
            "UPDATE $rid SET refunded = true, refunded_at = time::now() WHERE refunded = false",
        )
        .bind(("rid", RecordId::new("payment", payment_id)))
        .await?
        .check()?;
        Ok(())
    };
    retry_while(mark, is_conflict).await
}

#[cfg(test)]
mod tests {
    use super::IntentState;

    #[test]
    fn the_state_names_are_those_stored() {
        let states = [
            IntentState::Charging,
            IntentState::Unknown,
            IntentState::Charged,
            IntentState::Failed,
        ];
        let names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, IntentState::NAMES);
        for name in IntentState::NAMES {
            assert_eq!(
                IntentState::parse(name).map(IntentState::as_str),
                Some(*name)
            );
        }
    }
}
