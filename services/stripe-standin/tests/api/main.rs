//! The stand-in itself, driven over HTTP as the payments service drives it.

mod charges;
mod helpers;
mod idempotency;
mod outage;
mod refunds;
mod search;
