//! The payments service through HTTP on a random port (real nats-server, in-memory
//! SurrealDB), with the sandbox gateway or a local stand-in for Stripe's API.

mod concurrency;
mod create;
mod faults;
mod helpers;
mod refunds;
mod stripe;
