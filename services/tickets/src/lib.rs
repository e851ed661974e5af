//! The tickets service: tickets, their versions and locks (docs/spec.md §5, §9).

pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod listing;
pub mod quota;
pub mod routes;
pub mod startup;
pub mod store;
