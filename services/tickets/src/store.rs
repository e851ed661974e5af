//! The `ticket` table. Every change is a whole-record update guarded by the version it was
//! decided on, committed with its `ticket:updated` event.

use common::db::{Db, DbError, RecordId};
use common::events::{TicketCreated, TicketUpdated};
use common::money::Price;
use common::outbox::{Outbox, Tx};
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
/// version is still `expected_version`, with its `ticket:updated`, plus any `extra`
/// statements of the same transaction. Fails with a stale-guard error otherwise.
pub async fn update(
    outbox: &Outbox,
    expected_version: u64,
    ticket: &Ticket,
) -> Result<(), DbError> {
    debug_assert_eq!(ticket.version, expected_version + 1);
    let tx = Tx::new()
        .guarded(
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
        .publish(&updated_event(ticket));
    outbox.commit(tx).await
}

/// Publishes `event` under `event_id` unless an event with that id was already staged.
pub async fn publish_once<E: common::events::Event>(
    outbox: &Outbox,
    event_id: &str,
    event: &E,
) -> Result<(), DbError> {
    match outbox
        .commit(Tx::new().publish_with_id(event_id, event))
        .await
    {
        Err(error) if common::db::is_duplicate(&error) => Ok(()),
        other => other,
    }
}
