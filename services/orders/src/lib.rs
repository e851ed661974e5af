//! The orders service: orders, a replica of tickets, reservations (SPEC §2 orders, §3).

pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod routes;
pub mod startup;
pub mod store;
