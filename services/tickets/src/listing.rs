//! `GET /api/tickets`, kept serialised in memory.
//!
//! The list is the most read thing in the system (every visit to the home page asks for
//! it) and changes only when a ticket does. Running its SurrealDB query and serialising
//! every ticket on each read took most of the service's CPU under load (see
//! BENCHMARKS.md), so the answer is kept as bytes and reused until something may have
//! changed it:
//!
//! - a transaction committed through this instance's outbox (every ticket change is one),
//!   seen through [`Outbox::commits`];
//! - a `ticket:created` or `ticket:updated` on NATS: another instance sharing the database
//!   changed a ticket (this instance's own events arrive too, harmlessly);
//! - [`MAX_AGE`] passing, in case such an event never reaches this instance (NATS away).
//!
//! With one instance the list is therefore always exact; with several, another instance's
//! change shows once its event arrives (milliseconds), and within [`MAX_AGE`] at worst.
//! A read that started before a change can never store a list that outlives it: the list
//! is stored with the counts read *before* its query, which the change has moved.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use common::bus::Bus;
use common::contract::api;
use common::events::{Event, TicketCreated, TicketUpdated};
use common::outbox::Outbox;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::error::TicketsError;
use crate::store;

/// The longest a kept list is used without being read again.
pub const MAX_AGE: Duration = Duration::from_secs(1);

/// What the kept list was read after: (local commits, ticket events received).
type Stamp = (u64, u64);

struct Kept {
    stamp: Stamp,
    read_at: Instant,
    body: Bytes,
}

/// The serialised list of tickets for sale, shared by every request of one instance.
pub struct Listing {
    outbox: Outbox,
    max_age: Duration,
    events: AtomicU64,
    kept: RwLock<Option<Kept>>,
    /// One query at a time: requests that find the list stale while it is being read again
    /// wait for that read instead of all querying at once.
    reading: tokio::sync::Mutex<()>,
}

impl Listing {
    pub fn new(outbox: Outbox, max_age: Duration) -> Self {
        Self {
            outbox,
            max_age,
            events: AtomicU64::new(0),
            kept: RwLock::new(None),
            reading: tokio::sync::Mutex::new(()),
        }
    }

    fn stamp(&self) -> Stamp {
        (self.outbox.commits(), self.events.load(Ordering::Acquire))
    }

    fn current(&self) -> Option<Bytes> {
        let kept = self.kept.read().unwrap_or_else(|e| e.into_inner());
        kept.as_ref()
            .filter(|k| k.stamp == self.stamp() && k.read_at.elapsed() < self.max_age)
            .map(|k| k.body.clone())
    }

    /// The JSON array of the tickets available to buy, newest first.
    pub async fn body(&self) -> Result<Bytes, TicketsError> {
        if let Some(body) = self.current() {
            return Ok(body);
        }
        let _reading = self.reading.lock().await;
        if let Some(body) = self.current() {
            return Ok(body);
        }
        let (stamp, read_at) = (self.stamp(), Instant::now());
        let tickets = store::list_available(self.outbox.db()).await?;
        let bodies: Vec<api::Ticket> = tickets.into_iter().map(Into::into).collect();
        let body =
            Bytes::from(serde_json::to_vec(&bodies).expect("ticket bodies always serialise"));
        *self.kept.write().unwrap_or_else(|e| e.into_inner()) = Some(Kept {
            stamp,
            read_at,
            body: body.clone(),
        });
        Ok(body)
    }

    /// Marks the kept list stale: a ticket changed somewhere.
    pub fn ticket_changed(&self) {
        self.events.fetch_add(1, Ordering::AcqRel);
    }

    /// Marks the list stale on every ticket event on NATS until `shutdown`. A plain
    /// subscription, not a consumer: only events from now on matter, and each instance
    /// sees all of them. The client subscribes again by itself after a reconnect.
    pub async fn follow(self: Arc<Self>, bus: Bus, shutdown: CancellationToken) {
        loop {
            let subscribed = async {
                let created = bus.client().subscribe(TicketCreated::SUBJECT).await?;
                let updated = bus.client().subscribe(TicketUpdated::SUBJECT).await?;
                anyhow::Ok(futures::stream::select(created, updated))
            };
            let mut events = match subscribed.await {
                Ok(events) => events,
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "cannot follow ticket events; retrying"
                    );
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            // Whatever happened before the subscription is covered by the first read.
            self.ticket_changed();
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    event = events.next() => match event {
                        Some(_) => self.ticket_changed(),
                        None => break,
                    },
                }
            }
        }
    }
}
