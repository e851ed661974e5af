//! The payments service: charges through a payment gateway (Stripe or the built-in
//! sandbox), a replica of orders, refunds for orders cancelled while being paid (SPEC §2
//! payments, §3).

pub mod config;
pub mod error;
pub mod events;
pub mod gateway;
pub mod refunds;
pub mod routes;
pub mod startup;
pub mod store;
