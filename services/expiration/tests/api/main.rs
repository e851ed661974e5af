//! The expiration service against a real nats-server and SurrealDB (in memory, or in files
//! to survive a restart), its scheduler driven step by step where it matters.

mod helpers;
mod scheduling;
