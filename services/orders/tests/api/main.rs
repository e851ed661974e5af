//! The orders service through HTTP on a random port, with a real nats-server and an
//! in-memory SurrealDB; other services' events are published by the tests.

mod cancel;
mod create;
mod events;
mod helpers;
mod limits;
mod read;
mod replica;
