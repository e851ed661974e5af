//! The tickets service through HTTP on a random port, with a real nats-server and an
//! in-memory SurrealDB; its listeners fed with catalogue events published in the tests.

mod create;
mod helpers;
mod limits;
mod listeners;
mod read;
mod update;
mod versions;
