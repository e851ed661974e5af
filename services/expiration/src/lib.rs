//! The expiration service: keeps every pending expiration durable and fires
//! `expiration:complete` when an order's window to pay ends (SPEC §3).

pub mod config;
pub mod events;
pub mod scheduler;
pub mod startup;
pub mod store;
