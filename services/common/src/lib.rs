//! What every GitTix service shares: the error shape, the session, configuration, database
//! access, the event catalogue, the event bus, the outbox and the service runtime.

pub mod bus;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod extract;
pub mod http;
pub mod money;
pub mod outbox;
pub mod service;
pub mod session;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{ApiError, FieldError};
