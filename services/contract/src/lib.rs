//! GitTix's wire contract, written once: what crosses a process boundary, as Rust types.
//!
//! - [`events`]: the event catalogue (docs/spec.md §8), each event's subject, publisher and
//!   data;
//! - [`api`]: every request and response body of the HTTP API (§3–§7) and the error shape
//!   (§2);
//! - [`routes`]: the API's paths;
//! - [`ids`], [`money`], [`status`], [`timestamp`]: the values those carry.
//!
//! The services (through `common`, which re-exports this crate) and the web app (on the
//! server and in the browser) use the same types, so adding a field to a response or an
//! event is one change here plus its writer and its readers. Only serde, its JSON numbers
//! and `time` (for event timestamps, never linked into the browser's WebAssembly) are
//! needed.

pub mod api;
#[cfg(feature = "docs")]
pub mod docs;
pub mod events;
pub mod ids;
pub mod money;
pub mod routes;
pub mod status;
#[cfg(feature = "surrealdb")]
mod surreal;
pub mod timestamp;

pub use ids::{OrderId, PaymentId, TicketId, UserId};
pub use money::{Price, PriceError, PriceText};
pub use status::{CancelReason, OrderStatus, RejectionReason, TicketStatus};
pub use timestamp::Timestamp;
