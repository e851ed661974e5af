//! The payments database: a replica of orders, one claim per order that lets a single
//! charge run at a time, and the payments made.

use common::db::{Db, DbError, RecordId, is_conflict, retry_while};
use common::events::{OrderStatus, PaymentCreated};
use common::outbox::{Outbox, Tx};
use surrealdb::types::SurrealValue;

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
    pub price: i64,
    pub status: String,
    pub version: i64,
}

impl ReplicaOrder {
    pub fn status(&self) -> Option<OrderStatus> {
        OrderStatus::parse(&self.status)
    }
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

/// Adds an order to the replica; false if it was already there.
pub async fn insert_order(db: &Db, order: &ReplicaOrder) -> Result<bool, DbError> {
    let result = db
        .query("CREATE $rid CONTENT { user_id: $user_id, price: $price, status: $status, version: $version }")
        .bind(("rid", order_record(&order.id)))
        .bind(("user_id", order.user_id.clone()))
        .bind(("price", order.price))
        .bind(("status", order.status.clone()))
        .bind(("version", order.version))
        .await?
        .check();
    match result {
        Ok(_) => Ok(true),
        Err(error) if common::db::is_duplicate(&error) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Sets the status at version N where the replica holds N − 1; true if it did.
pub async fn apply_status(
    db: &Db,
    id: &str,
    status: OrderStatus,
    version: i64,
) -> Result<bool, DbError> {
    let updated: Vec<RecordId> = db
        .query("UPDATE $rid SET status = $status, version = $version WHERE version = $previous RETURN VALUE id")
        .bind(("rid", order_record(id)))
        .bind(("status", status.as_str().to_owned()))
        .bind(("version", version))
        .bind(("previous", version - 1))
        .await?
        .take(0)?;
    Ok(!updated.is_empty())
}

// ---------------------------------------------------------------- claims

/// Whether this request may charge the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Charge, with this attempt number (part of the idempotency key).
    Granted { attempt: i64 },
    /// Another request is charging it right now.
    Busy,
    /// It was charged already.
    Paid,
}

#[derive(Debug, SurrealValue)]
struct ClaimRow {
    state: String,
    attempt: i64,
    stale: bool,
}

fn claim_record(order_id: &str) -> RecordId {
    RecordId::new("payment_claim", order_id)
}

/// Claims the right to charge the order. A claim left `charging` for longer than
/// `stale_secs` (its holder crashed) is taken over with the same attempt, so the provider's
/// idempotency returns whatever that attempt did.
pub async fn claim(db: &Db, order_id: &str, stale_secs: i64) -> Result<Claim, DbError> {
    retry_while(|| try_claim(db, order_id, stale_secs), is_conflict).await
}

/// One attempt at [`claim`]; fails with a conflict when another instance raced it.
async fn try_claim(db: &Db, order_id: &str, stale_secs: i64) -> Result<Claim, DbError> {
    let created = db
        .query("CREATE $rid CONTENT { state: 'charging', attempt: 1, updated_at: time::now() }")
        .bind(("rid", claim_record(order_id)))
        .await?
        .check();
    match created {
        Ok(_) => return Ok(Claim::Granted { attempt: 1 }),
        Err(error) if common::db::is_duplicate(&error) => {}
        Err(error) => return Err(error),
    }
    let rows: Vec<ClaimRow> = db
        .query(
            "SELECT state, attempt, updated_at < time::now() - type::duration($stale) AS stale FROM $rid",
        )
        .bind(("rid", claim_record(order_id)))
        .bind(("stale", format!("{stale_secs}s")))
        .await?
        .take(0)?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(Claim::Busy);
    };
    let takeable = match row.state.as_str() {
        "charged" => return Ok(Claim::Paid),
        "failed" => true,
        _ => row.stale,
    };
    if !takeable {
        return Ok(Claim::Busy);
    }
    let taken: Vec<RecordId> = db
        .query(
            "UPDATE $rid SET state = 'charging', updated_at = time::now() \
             WHERE state = $state AND attempt = $attempt RETURN VALUE id",
        )
        .bind(("rid", claim_record(order_id)))
        .bind(("state", row.state))
        .bind(("attempt", row.attempt))
        .await?
        .take(0)?;
    Ok(if taken.is_empty() {
        Claim::Busy
    } else {
        Claim::Granted {
            attempt: row.attempt,
        }
    })
}

/// Gives the claim back after a failed charge. A refused card moves on to a new attempt
/// (a new idempotency key for the next card); an outage keeps the attempt, so that a retry
/// gets whatever the provider did with it.
pub async fn release_claim(
    db: &Db,
    order_id: &str,
    attempt: i64,
    next_attempt: bool,
) -> Result<(), DbError> {
    let release = || async {
        db.query(
            "UPDATE $rid SET state = 'failed', attempt = $next, updated_at = time::now() \
             WHERE state = 'charging' AND attempt = $attempt",
        )
        .bind(("rid", claim_record(order_id)))
        .bind(("attempt", attempt))
        .bind(("next", if next_attempt { attempt + 1 } else { attempt }))
        .await?
        .check()?;
        Ok(())
    };
    retry_while(release, is_conflict).await
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

/// Records the charge: the claim becomes `charged`, the payment is stored and
/// `payment:created` staged, all in one transaction. A storage conflict is retried; the
/// claim's guard failing (another request took the claim over) is not.
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
             WHERE state = 'charging' AND attempt = $attempt RETURN AFTER",
        )
        .statement(
            "CREATE $rid CONTENT { order_id: $order_id, stripe_id: $stripe_id, amount: $amount, refunded: false }",
        )
        .bind("claim", claim_record(&payment.order_id))
        .bind("attempt", attempt)
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
