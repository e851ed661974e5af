//! The orders service: orders, a replica of tickets, reservations (docs/spec.md §6, §9, §10).

pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod routes;
pub mod startup;
pub mod store;
