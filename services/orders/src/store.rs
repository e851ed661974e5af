//! The orders database: `orders`, the `ticket` replica, and `ticket_hold`, whose record id
//! is the ticket's id, so that the database itself lets only one active order hold a
//! ticket; and `buyer_orders`, one record per buyer that every order creation writes, so that
//! two creations by one buyer conflict and the open-order count each one checks is exact.

use std::time::Duration;

use common::db::{Db, DbError, RecordId};
use common::events::{
    CancelReason, OrderCancelled, OrderCompleted, OrderCreated, OrderStatus, OrderedTicket,
    TicketRef,
};
use common::money::Price;
use common::outbox::{Outbox, Tx};
use surrealdb::types::SurrealValue;
use time::OffsetDateTime;

use crate::domain::{Order, PricedTicket};

pub const SCHEMA: &str = "
DEFINE TABLE IF NOT EXISTS orders SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS user_id ON orders TYPE string;
DEFINE FIELD IF NOT EXISTS status ON orders TYPE string;
DEFINE FIELD IF NOT EXISTS expires_at ON orders TYPE int;
DEFINE FIELD IF NOT EXISTS version ON orders TYPE int;
DEFINE FIELD IF NOT EXISTS ticket_id ON orders TYPE string;
DEFINE FIELD IF NOT EXISTS ticket_title ON orders TYPE string;
DEFINE FIELD IF NOT EXISTS ticket_price ON orders TYPE int;
DEFINE FIELD IF NOT EXISTS ticket_version ON orders TYPE int;
DEFINE FIELD IF NOT EXISTS cancel_reason ON orders TYPE option<string>;
DEFINE FIELD IF NOT EXISTS created_at ON orders TYPE datetime DEFAULT time::now();
DEFINE INDEX IF NOT EXISTS orders_user ON orders FIELDS user_id;

DEFINE TABLE IF NOT EXISTS ticket SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS title ON ticket TYPE string;
DEFINE FIELD IF NOT EXISTS price ON ticket TYPE int;
DEFINE FIELD IF NOT EXISTS user_id ON ticket TYPE string;
DEFINE FIELD IF NOT EXISTS version ON ticket TYPE int;
DEFINE FIELD IF NOT EXISTS order_id ON ticket TYPE option<string>;

DEFINE TABLE IF NOT EXISTS ticket_hold SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS order_id ON ticket_hold TYPE string;

DEFINE TABLE IF NOT EXISTS buyer_orders SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS created_at ON buyer_orders TYPE datetime;
";

/// Raised (with `THROW`) by [`create_order`] when the buyer already has the most open
/// orders allowed.
pub const TOO_MANY_OPEN: &str = "gittix:too-many-open-orders";

/// The statuses of an order that still holds its ticket.
const OPEN: [OrderStatus; 2] = [OrderStatus::Created, OrderStatus::AwaitingPayment];

// ---------------------------------------------------------------- the ticket replica

/// The orders service's copy of a ticket.
#[derive(Debug, Clone, PartialEq, Eq, SurrealValue)]
pub struct ReplicaTicket {
    pub id: String,
    pub title: String,
    pub price: Price,
    pub user_id: String,
    pub version: i64,
    /// The order the tickets service last said holds the ticket.
    pub order_id: Option<String>,
}

fn ticket_record(id: &str) -> RecordId {
    RecordId::new("ticket", id)
}

pub async fn replica_ticket(db: &Db, id: &str) -> Result<Option<ReplicaTicket>, DbError> {
    let rows: Vec<ReplicaTicket> = db
        .query("SELECT record::id(id) AS id, title, price, user_id, version, order_id FROM $rid")
        .bind(("rid", ticket_record(id)))
        .await?
        .take(0)?;
    Ok(rows.into_iter().next())
}

/// A version of a ticket as the replica keeps it (the record id is the ticket's); applied
/// under the version rule by `common::replica`.
#[derive(Debug, Clone, PartialEq, Eq, SurrealValue)]
pub struct TicketVersion {
    pub title: String,
    pub price: Price,
    pub user_id: String,
    pub version: i64,
    /// The order the tickets service says holds the ticket.
    pub order_id: Option<String>,
}

/// Applies a version of a ticket to the replica.
pub async fn replicate_ticket(
    db: &Db,
    id: &str,
    ticket: TicketVersion,
) -> Result<common::replica::Applied, DbError> {
    let version = ticket.version as u64;
    common::replica::apply(db, "ticket", id, version, ticket).await
}

// ---------------------------------------------------------------- orders

const ORDER_COLUMNS: &str = "record::id(id) AS id, user_id, status, expires_at, version, \
    ticket_id, ticket_title, ticket_price, ticket_version, cancel_reason";

#[derive(Debug, SurrealValue)]
struct OrderRow {
    id: String,
    user_id: String,
    status: String,
    expires_at: i64,
    version: i64,
    ticket_id: String,
    ticket_title: String,
    ticket_price: i64,
    ticket_version: i64,
    cancel_reason: Option<String>,
}

impl TryFrom<OrderRow> for Order {
    type Error = DbError;

    fn try_from(row: OrderRow) -> Result<Self, DbError> {
        let invalid =
            |what: &str| DbError::internal(format!("order {} has an invalid {what}", row.id));
        Ok(Order {
            status: OrderStatus::parse(&row.status).ok_or_else(|| invalid("status"))?,
            expires_at: OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(row.expires_at) * 1_000_000,
            )
            .map_err(|_| invalid("expiry"))?,
            version: u64::try_from(row.version).map_err(|_| invalid("version"))?,
            ticket: PricedTicket {
                price: Price::from_cents(row.ticket_price).map_err(|_| invalid("price"))?,
                version: u64::try_from(row.ticket_version)
                    .map_err(|_| invalid("ticket version"))?,
                id: row.ticket_id,
                title: row.ticket_title,
            },
            cancel_reason: match row.cancel_reason {
                Some(reason) => {
                    Some(CancelReason::parse(&reason).ok_or_else(|| invalid("cancel reason"))?)
                }
                None => None,
            },
            id: row.id,
            user_id: row.user_id,
        })
    }
}

fn order_record(id: &str) -> RecordId {
    RecordId::new("orders", id)
}

fn hold_record(ticket_id: &str) -> RecordId {
    RecordId::new("ticket_hold", ticket_id)
}

fn unix_ms(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

pub async fn order(db: &Db, id: &str) -> Result<Option<Order>, DbError> {
    let rows: Vec<OrderRow> = db
        .query(format!("SELECT {ORDER_COLUMNS} FROM $rid"))
        .bind(("rid", order_record(id)))
        .await?
        .take(0)?;
    rows.into_iter().next().map(Order::try_from).transpose()
}

/// A user's orders, oldest first.
pub async fn orders_of(db: &Db, user_id: &str) -> Result<Vec<Order>, DbError> {
    let rows: Vec<OrderRow> = db
        .query(format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = $user ORDER BY id ASC"
        ))
        .bind(("user", user_id.to_owned()))
        .await?
        .take(0)?;
    rows.into_iter().map(Order::try_from).collect()
}

/// Creates the order, its hold on the ticket and its `order:created`, in one transaction.
/// Fails as a duplicate when another active order holds the ticket, and with
/// [`TOO_MANY_OPEN`] (see [`is_too_many_open`]) when the buyer already has `max_open` open
/// orders. The transaction writes the buyer's `buyer_orders` record before it counts, so
/// two creations by one buyer at once conflict (one is retried) instead of both counting
/// the same orders.
pub async fn create_order(outbox: &Outbox, order: &Order, max_open: u32) -> Result<(), DbError> {
    let event = OrderCreated {
        id: order.id.clone(),
        version: order.version,
        status: order.status,
        user_id: order.user_id.clone(),
        expires_at: order.expires_at,
        ticket: OrderedTicket {
            id: order.ticket.id.clone(),
            price: order.ticket.price,
            version: order.ticket.version,
        },
    };
    let tx = Tx::new()
        .statement("CREATE $hold CONTENT { order_id: $order_id }")
        .statement("UPSERT $buyer SET created_at = time::now()")
        .statement(
            "LET $open = array::len(SELECT VALUE id FROM orders \
             WHERE user_id = $user_id AND status IN $open_statuses)",
        )
        .statement(format!(
            "IF $open >= $max_open {{ THROW '{TOO_MANY_OPEN}' }}"
        ))
        .statement(
            "CREATE $rid CONTENT { user_id: $user_id, status: $status, expires_at: $expires_at, \
             version: $version, ticket_id: $ticket_id, ticket_title: $ticket_title, \
             ticket_price: $ticket_price, ticket_version: $ticket_version, cancel_reason: NONE }",
        )
        .bind("hold", hold_record(&order.ticket.id))
        .bind("order_id", order.id.clone())
        .bind(
            "buyer",
            RecordId::new("buyer_orders", order.user_id.as_str()),
        )
        .bind("open_statuses", open_statuses())
        .bind("max_open", i64::from(max_open))
        .bind("rid", order_record(&order.id))
        .bind("user_id", order.user_id.clone())
        .bind("status", order.status.as_str().to_owned())
        .bind("expires_at", unix_ms(order.expires_at))
        .bind("version", order.version as i64)
        .bind("ticket_id", order.ticket.id.clone())
        .bind("ticket_title", order.ticket.title.clone())
        .bind("ticket_price", order.ticket.price.cents())
        .bind("ticket_version", order.ticket.version as i64)
        .publish(&event);
    outbox.commit(tx).await
}

/// Whether [`create_order`] failed because the buyer has too many open orders.
pub fn is_too_many_open(error: &DbError) -> bool {
    error.message().contains(TOO_MANY_OPEN)
}

fn open_statuses() -> Vec<String> {
    OPEN.iter()
        .map(|status| status.as_str().to_owned())
        .collect()
}

/// How long until the first of the buyer's open orders expires (and frees its place), if
/// any is open; zero if one is already past its expiry.
pub async fn until_first_open_expires(
    db: &Db,
    user_id: &str,
    now: OffsetDateTime,
) -> Result<Option<Duration>, DbError> {
    let expiries: Vec<i64> = db
        .query(
            "SELECT VALUE expires_at FROM orders \
             WHERE user_id = $user AND status IN $open_statuses",
        )
        .bind(("user", user_id.to_owned()))
        .bind(("open_statuses", open_statuses()))
        .await?
        .take(0)?;
    Ok(expiries.into_iter().min().map(|first| {
        let left = first.saturating_sub(unix_ms(now));
        Duration::from_millis(u64::try_from(left).unwrap_or(0))
    }))
}

/// Stores a status change (`order.version` is one more than the stored one) with its event;
/// a cancellation also releases the order's hold on the ticket. Fails with a stale-guard
/// error when the order changed meanwhile.
pub async fn change_status(outbox: &Outbox, order: &Order) -> Result<(), DbError> {
    let mut tx = Tx::new()
        .guarded(
            "UPDATE $rid SET status = $status, version = $version, cancel_reason = $reason \
             WHERE version = $expected RETURN AFTER",
        )
        .bind("rid", order_record(&order.id))
        .bind("status", order.status.as_str().to_owned())
        .bind("version", order.version as i64)
        .bind("reason", order.cancel_reason.map(|r| r.as_str().to_owned()))
        .bind("expected", order.version as i64 - 1);
    let ticket = TicketRef {
        id: order.ticket.id.clone(),
    };
    tx = match order.status {
        OrderStatus::Cancelled => tx
            .statement("DELETE ticket_hold WHERE id = $hold AND order_id = $order_id")
            .bind("hold", hold_record(&order.ticket.id))
            .bind("order_id", order.id.clone())
            .publish(&OrderCancelled {
                id: order.id.clone(),
                version: order.version,
                ticket,
            }),
        OrderStatus::Complete => tx.publish(&OrderCompleted {
            id: order.id.clone(),
            version: order.version,
            ticket,
        }),
        OrderStatus::Created | OrderStatus::AwaitingPayment => tx,
    };
    outbox.commit(tx).await
}
