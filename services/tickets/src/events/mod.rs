//! What the tickets service does with other services' events. Each handler reads the
//! ticket, decides, and writes guarded by the version it read, so a redelivered or
//! duplicate event changes nothing twice.

pub mod order_cancelled;
pub mod order_completed;
pub mod order_created;
