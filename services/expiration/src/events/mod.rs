//! What the expiration service does with order events.

pub mod order_created;
pub mod order_finished;
