//! Integration tests of the shared library against a real nats-server and SurrealDB.

mod access;
mod bus;
mod db;
mod deadletter;
mod helpers;
mod limits;
mod outbox;
mod tracing;
