//! The `ticket` table. Every change is a whole-record update guarded by the version it was
//! decided on, committed with its `ticket:updated` event.
//!
//! The `ticket_order` table: what the service knows about each order it heard of, so that
//! an order's events give the same end state in whatever order they are handled. Every
//! handler of an order's event reads the order's record and writes it in the transaction of
//! its ticket change (see [`with_order`]).

use common::db::{Db, DbError, RecordId};
use common::events::{TicketCreated, TicketUpdated};
use common::money::Price;
use common::outbox::{Outbox, STALE, Tx};
use surrealdb::types::SurrealValue;

use crate::domain::Ticket;

pub const SCHEMA: &str = "
DEFINE TABLE IF NOT EXISTS ticket SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS title ON ticket TYPE string;
DEFINE FIELD IF NOT EXISTS price ON ticket TYPE int ASSERT $value > 0;
DEFINE FIELD IF NOT EXISTS user_id ON ticket TYPE string;
DEFINE FIELD IF NOT EXISTS version ON ticket TYPE int;
DEFINE FIELD IF NOT EXISTS edit_version ON ticket TYPE int;
DEFINE FIELD IF NOT EXISTS order_id ON ticket TYPE option<string>;
DEFINE FIELD IF NOT EXISTS sold ON ticket TYPE bool DEFAULT false;
DEFINE FIELD IF NOT EXISTS created_at ON ticket TYPE datetime DEFAULT time::now();
DEFINE INDEX IF NOT EXISTS ticket_sale ON ticket FIELDS sold, order_id;

DEFINE TABLE IF NOT EXISTS ticket_order SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS ticket_id ON ticket_order TYPE string;
DEFINE FIELD IF NOT EXISTS state ON ticket_order TYPE string
    ASSERT $value IN ['locked', 'rejected', 'cancelled', 'completed'];
DEFINE FIELD IF NOT EXISTS updated_at ON ticket_order TYPE datetime;
";

const COLUMNS: &str =
    "record::id(id) AS id, title, price, user_id, version, edit_version, order_id, sold";

#[derive(Debug, SurrealValue)]
struct Row {
    id: String,
    title: String,
    price: i64,
    user_id: String,
    version: i64,
    edit_version: i64,
    order_id: Option<String>,
    sold: bool,
}

impl TryFrom<Row> for Ticket {
    type Error = DbError;

    fn try_from(row: Row) -> Result<Self, DbError> {
        let invalid =
            |what: &str| DbError::internal(format!("ticket {} has an invalid {what}", row.id));
        Ok(Ticket {
            price: Price::from_cents(row.price).map_err(|_| invalid("price"))?,
            version: u64::try_from(row.version).map_err(|_| invalid("version"))?,
            edit_version: u64::try_from(row.edit_version).map_err(|_| invalid("edit version"))?,
            id: row.id,
            title: row.title,
            user_id: row.user_id,
            order_id: row.order_id,
            sold: row.sold,
        })
    }
}

fn record(id: &str) -> RecordId {
    RecordId::new("ticket", id)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Ticket>, DbError> {
    let rows: Vec<Row> = db
        .query(format!("SELECT {COLUMNS} FROM $rid"))
        .bind(("rid", record(id)))
        .await?
        .take(0)?;
    rows.into_iter().next().map(Ticket::try_from).transpose()
}

/// Tickets that can be bought: neither reserved nor sold, newest first.
pub async fn list_available(db: &Db) -> Result<Vec<Ticket>, DbError> {
    let rows: Vec<Row> = db
        .query(format!(
            "SELECT {COLUMNS} FROM ticket WHERE sold = false AND order_id = NONE ORDER BY id DESC"
        ))
        .await?
        .take(0)?;
    rows.into_iter().map(Ticket::try_from).collect()
}

/// Inserts a new ticket (version 0) with its `ticket:created`.
pub async fn create(outbox: &Outbox, ticket: &Ticket) -> Result<(), DbError> {
    let event = TicketCreated {
        id: ticket.id.clone(),
        version: ticket.version,
        title: ticket.title.clone(),
        price: ticket.price,
        user_id: ticket.user_id.clone(),
    };
    let tx = Tx::new()
        .statement(
            "CREATE $rid CONTENT { title: $title, price: $price, user_id: $user_id, \
             version: $version, edit_version: $version, order_id: NONE, sold: false }",
        )
        .bind("rid", record(&ticket.id))
        .bind("title", ticket.title.clone())
        .bind("price", ticket.price.cents())
        .bind("user_id", ticket.user_id.clone())
        .bind("version", ticket.version as i64)
        .publish(&event);
    outbox.commit(tx).await
}

/// The `ticket:updated` event describing this state.
pub fn updated_event(ticket: &Ticket) -> TicketUpdated {
    TicketUpdated {
        id: ticket.id.clone(),
        version: ticket.version,
        title: ticket.title.clone(),
        price: ticket.price,
        user_id: ticket.user_id.clone(),
        order_id: ticket.order_id.clone(),
    }
}

/// Stores `ticket` (whose version is one more than `expected_version`) if the stored
/// version is still `expected_version`, with its `ticket:updated`. Fails with a stale-guard
/// error otherwise.
pub async fn update(
    outbox: &Outbox,
    expected_version: u64,
    ticket: &Ticket,
) -> Result<(), DbError> {
    outbox
        .commit(with_update(Tx::new(), expected_version, ticket))
        .await
}

/// Adds [`update`]'s guarded write of `ticket` and its `ticket:updated` to `tx`.
pub fn with_update(tx: Tx, expected_version: u64, ticket: &Ticket) -> Tx {
    debug_assert_eq!(ticket.version, expected_version + 1);
    tx.guarded(
        "UPDATE $rid SET title = $title, price = $price, version = $version, \
         edit_version = $edit_version, order_id = $order_id, sold = $sold \
         WHERE version = $expected RETURN AFTER",
    )
    .bind("rid", record(&ticket.id))
    .bind("title", ticket.title.clone())
    .bind("price", ticket.price.cents())
    .bind("version", ticket.version as i64)
    .bind("edit_version", ticket.edit_version as i64)
    .bind("order_id", ticket.order_id.clone())
    .bind("sold", ticket.sold)
    .bind("expected", expected_version as i64)
    .publish(&updated_event(ticket))
}

/// What the service knows about an order. It only moves forward: nothing follows
/// `cancelled`, and `completed` is never downgraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    /// The ticket was locked for the order.
    Locked,
    /// The reservation was refused and `ticket:reservation-rejected` published.
    Rejected,
    /// The order was cancelled: a reservation arriving later is not made.
    Cancelled,
    /// The order was completed: the ticket is sold to it, or is sold when its reservation
    /// arrives.
    Completed,
}

impl OrderState {
    const ALL: [OrderState; 4] = [
        OrderState::Locked,
        OrderState::Rejected,
        OrderState::Cancelled,
        OrderState::Completed,
    ];

    /// The stored name (one of those the schema accepts).
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Locked => "locked",
            OrderState::Rejected => "rejected",
            OrderState::Cancelled => "cancelled",
            OrderState::Completed => "completed",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

fn order_record(order_id: &str) -> RecordId {
    RecordId::new("ticket_order", order_id)
}

/// The state of an order, or `None` if the service has not heard of it yet.
pub async fn order_state(db: &Db, order_id: &str) -> Result<Option<OrderState>, DbError> {
    let states: Vec<String> = db
        .query("SELECT VALUE state FROM $rid")
        .bind(("rid", order_record(order_id)))
        .await?
        .take(0)?;
    states
        .first()
        .map(|name| {
            OrderState::parse(name).ok_or_else(|| {
                DbError::internal(format!("order {order_id} has an invalid state {name:?}"))
            })
        })
        .transpose()
}

/// A new state for an order, decided on the state read before it (`seen`).
#[derive(Debug, Clone, Copy)]
pub struct OrderChange<'a> {
    pub order_id: &'a str,
    pub ticket_id: &'a str,
    pub seen: Option<OrderState>,
    pub state: OrderState,
}

/// Adds to `tx` the recording of `change`, which fails the transaction as stale if the
/// order's state is no longer `change.seen`. The record is written even when the state
/// stays the same: two handlers of one order committing at once (on two instances) then
/// both write it, and SurrealDB fails one of them with a conflict instead of letting both
/// commit what they decided on the same stale read.
pub fn with_order(tx: Tx, change: &OrderChange<'_>) -> Tx {
    tx.statement(format!(
        "IF (SELECT VALUE state FROM $order_rid)[0] != $order_seen {{ THROW '{STALE}' }}"
    ))
    .statement(
        "UPSERT $order_rid SET ticket_id = $order_ticket_id, state = $order_state, \
         updated_at = time::now()",
    )
    .bind("order_rid", order_record(change.order_id))
    .bind(
        "order_seen",
        change.seen.map(|state| state.as_str().to_owned()),
    )
    .bind("order_ticket_id", change.ticket_id.to_owned())
    .bind("order_state", change.state.as_str().to_owned())
}
