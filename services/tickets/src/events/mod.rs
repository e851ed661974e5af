//! What the tickets service does with other services' events. Each handler reads the
//! ticket and what the service knows of the order ([`crate::store::OrderState`]), decides,
//! and writes both in one transaction guarded by what it read, so a redelivered or
//! duplicate event changes nothing twice, and an order's events give the same end state in
//! whatever order they are handled.

pub mod order_cancelled;
pub mod order_completed;
pub mod order_created;

#[cfg(test)]
pub(crate) mod tests {
    use common::money::Price;

    use crate::domain::Ticket;

    /// A ticket at version 4, last edited by its owner at version 2, held by `order_id`.
    pub(crate) fn ticket(order_id: Option<&str>, sold: bool) -> Ticket {
        Ticket {
            id: "t".into(),
            title: "Concert".into(),
            price: Price::from_cents(1000).unwrap(),
            user_id: "seller".into(),
            version: 4,
            order_id: order_id.map(Into::into),
            sold,
            edit_version: 2,
        }
    }
}
