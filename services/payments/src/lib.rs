//! The payments service: charges through a payment gateway (Stripe, or the built-in
//! sandbox when asked for), driven by a payment intent per order that survives the request
//! (see [`workflow`]), a replica of orders, refunds for orders cancelled while being paid.

pub mod config;
pub mod error;
pub mod events;
pub mod gateway;
pub mod refunds;
pub mod routes;
pub mod startup;
pub mod store;
pub mod sweeper;
pub mod workflow;
