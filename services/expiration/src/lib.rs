//! The expiration service: keeps every pending expiration durable and fires
//! `expiration:complete` when an order's window to pay ends (docs/spec.md §10).

pub mod config;
pub mod events;
pub mod scheduler;
pub mod startup;
pub mod store;
