//! What every GitTix service shares: the error shape, the session, configuration, database
//! access, the event catalogue, the event bus and its set-aside events, the outbox and the
//! service runtime.

pub mod bus;
pub mod catalogue;
pub mod config;
pub mod db;
pub mod deadletter;
pub mod error;
/// The event catalogue: [`contract::events`].
pub use contract::events;
pub mod extract;
pub mod http;
pub mod money;
pub mod outbox;
pub mod replica;
pub mod service;
pub mod session;
/// Logs, traces and metrics: the `telemetry` crate.
pub use telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use contract;
pub use error::{ApiError, FieldError};

/// The allocator the `service` and web server binaries install (`#[global_allocator]`):
/// request handling and SurrealDB's query engine make many small, short-lived allocations,
/// and under load glibc's `malloc`/`free` were the largest item in a service's CPU
/// profile. Built without transparent huge pages (see the workspace `Cargo.toml`), it
/// keeps only a little more private memory per process than glibc's allocator (figures in
/// BENCHMARKS.md).
pub use mimalloc::MiMalloc;
