//! The auth service: users, sign-up / sign-in / sign-out and session tokens (docs/spec.md §4).

pub mod config;
pub mod domain;
pub mod error;
pub mod limits;
pub mod password;
pub mod routes;
pub mod startup;
pub mod store;
