//! What the tickets service does with other services' events. Each handler reads the
//! ticket and what the service knows of the order ([`crate::store::OrderState`]), decides,
//! and writes both in one transaction guarded by what it read, so a redelivered or
//! duplicate event changes nothing twice, and an order's events give the same end state in
//! whatever order they are handled.

pub mod order_cancelled;
pub mod order_completed;
pub mod order_created;
