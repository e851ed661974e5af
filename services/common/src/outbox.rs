//! The transactional outbox: a state change and the events it produces commit in one
//! SurrealDB transaction; the [`Relay`] then publishes committed events with their id as
//! `Nats-Msg-Id`, and removes each once JetStream has stored it.
//!
//! The relay learns of this process's commits straight from [`Outbox::commit`] and publishes
//! them at once, without reading them back from the database; it also reads the `outbox`
//! table, oldest first, at start-up, every poll interval and after any failure, for events
//! that another instance or a crashed process committed, or that could not be published.
//!
//! A crash between commit and publish loses nothing (the event waits in the `outbox` table);
//! a crash between publish and removal publishes it again, which JetStream drops as a
//! duplicate (and consumers ignore by version anyway).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use surrealdb::types::{SurrealValue, Value};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::bus::Bus;
use crate::db::{Db, DbError, RecordId, new_id};
use crate::events::Event;

/// The outbox table; every service's schema includes it.
pub const SCHEMA: &str = "
DEFINE TABLE IF NOT EXISTS outbox SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS subject ON outbox TYPE string;
DEFINE FIELD IF NOT EXISTS name ON outbox TYPE string;
DEFINE FIELD IF NOT EXISTS payload ON outbox TYPE string;
DEFINE FIELD IF NOT EXISTS created_at ON outbox TYPE datetime DEFAULT time::now();
DEFINE FIELD IF NOT EXISTS trace ON outbox TYPE option<string>;
";

/// Raised (with `THROW`) by a guard statement when the row changed since it was read.
pub const STALE: &str = "gittix:stale";

/// Statements that commit together, with the events they produce.
#[derive(Debug, Default)]
pub struct Tx {
    statements: Vec<String>,
    vars: Vec<(String, Value)>,
    events: Vec<Staged>,
}

/// An event as the outbox stores it and the relay publishes it.
#[derive(Debug, Clone)]
struct Staged {
    id: String,
    subject: &'static str,
    payload: String,
    /// The W3C `traceparent` of the span that staged it, sent with the event so that its
    /// consumers continue that trace (see `telemetry::trace`).
    trace: Option<String>,
}

/// The most committed events kept for the relay's direct path; past it the oldest are
/// dropped from memory (they stay in the table, where the relay's next read finds them).
const COMMITTED_LIMIT: usize = 10_000;

impl Tx {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a SurrealQL statement (without the trailing `;`).
    pub fn statement(mut self, sql: impl Into<String>) -> Self {
        self.statements.push(sql.into());
        self
    }

    /// Adds a statement that aborts the whole transaction with [`STALE`] unless the query
    /// in `updated` (an `UPDATE … WHERE version = $expected` or similar) changed a row.
    pub fn guarded(self, update: impl Into<String>) -> Self {
        let n = self.statements.len();
        self.statement(format!("LET $guard{n} = ({})", update.into()))
            .statement(format!(
                "IF array::len($guard{n}) = 0 {{ THROW '{STALE}' }}"
            ))
    }

    /// Binds a variable used by the statements.
    pub fn bind(mut self, name: &str, value: impl SurrealValue) -> Self {
        self.vars.push((name.to_owned(), value.into_value()));
        self
    }

    /// Stages an event: it is published only if the transaction commits.
    pub fn publish<E: Event>(self, event: &E) -> Self {
        self.publish_with_id(&new_id(), event)
    }

    /// Stages an event under a chosen id, for events that must be published at most once
    /// whatever happens (a second transaction staging the same id fails as a duplicate, and
    /// JetStream drops a second publish).
    pub fn publish_with_id<E: Event>(mut self, id: &str, event: &E) -> Self {
        let n = self.events.len();
        let payload = serde_json::to_string(event).expect("catalogue events always serialise");
        let trace = telemetry::trace::traceparent();
        self.events.push(Staged {
            id: id.to_owned(),
            subject: E::SUBJECT,
            payload: payload.clone(),
            trace: trace.clone(),
        });
        self.statements.push(format!(
            "CREATE type::record('outbox', $outbox_id{n}) \
             CONTENT {{ subject: $outbox_subject{n}, name: $outbox_name{n}, payload: $outbox_payload{n}, trace: $outbox_trace{n} }}"
        ));
        self.vars
            .push((format!("outbox_trace{n}"), trace.into_value()));
        self.vars
            .push((format!("outbox_id{n}"), id.to_owned().into_value()));
        self.vars.push((
            format!("outbox_subject{n}"),
            E::SUBJECT.to_owned().into_value(),
        ));
        self.vars
            .push((format!("outbox_name{n}"), E::NAME.to_owned().into_value()));
        self.vars
            .push((format!("outbox_payload{n}"), payload.into_value()));
        self
    }

    fn sql(&self) -> String {
        let mut sql = String::from("BEGIN TRANSACTION;\n");
        for statement in &self.statements {
            sql.push_str(statement);
            sql.push_str(";\n");
        }
        sql.push_str("COMMIT TRANSACTION;");
        sql
    }
}

/// Commits transactions that carry events and hands those events to the relay.
#[derive(Clone, Debug)]
pub struct Outbox {
    db: Db,
    wake: Arc<Notify>,
    commits: Arc<AtomicU64>,
    /// Events committed here that the relay has not taken yet, in commit order.
    committed: Arc<Mutex<Vec<Staged>>>,
}

impl Outbox {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            wake: Arc::new(Notify::new()),
            commits: Arc::new(AtomicU64::new(0)),
            committed: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// How many transactions this outbox (and its clones) committed so far. A value kept
    /// beside the count it was read at is stale once the count moves: caches of what the
    /// service's own writes change use it to know when to read again.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }

    /// Runs the statements in one transaction. Fails as a whole, with a
    /// [`crate::db::is_conflict`] error when a concurrent transaction won, or with
    /// [`STALE`] when a guard found nothing to update.
    pub async fn commit(&self, tx: Tx) -> Result<(), DbError> {
        let mut query = self.db.query(tx.sql());
        for (name, value) in tx.vars {
            query = query.bind((name, value));
        }
        let response = query.await?;
        first_error(response)?;
        self.commits.fetch_add(1, Ordering::AcqRel);
        if !tx.events.is_empty() {
            {
                let mut committed = self.committed.lock().unwrap_or_else(|e| e.into_inner());
                committed.extend(tx.events);
                let excess = committed.len().saturating_sub(COMMITTED_LIMIT);
                committed.drain(..excess);
            }
            self.wake.notify_one();
        }
        Ok(())
    }

    /// A relay for this outbox.
    pub fn relay(&self, bus: Bus) -> Relay {
        Relay {
            db: self.db.clone(),
            bus,
            wake: self.wake.clone(),
            committed: self.committed.clone(),
        }
    }
}

/// The most telling error of a failed transaction: a `THROW` or a conflict rather than the
/// "not executed due to a failed transaction" of the statements around it.
fn first_error(mut response: surrealdb::IndexedResults) -> Result<(), DbError> {
    let mut errors: Vec<(usize, DbError)> = response.take_errors().into_iter().collect();
    if errors.is_empty() {
        return Ok(());
    }
    errors.sort_by_key(|(index, _)| *index);
    let not_executed = |e: &DbError| {
        e.query_details()
            .is_some_and(|d| matches!(d, surrealdb::types::QueryError::NotExecuted))
    };
    let telling = errors
        .iter()
        .position(|(_, e)| !not_executed(e))
        .unwrap_or(0);
    Err(errors.swap_remove(telling).1)
}

/// Whether the transaction failed because a guard found the row changed.
pub fn is_stale(error: &DbError) -> bool {
    error.message().contains(STALE)
}

#[derive(Debug, SurrealValue)]
struct Pending {
    id: surrealdb::types::RecordId,
    subject: String,
    payload: String,
    trace: Option<String>,
}

/// An event on its way to JetStream.
struct Outgoing<'a> {
    id: String,
    subject: &'a str,
    payload: Bytes,
    trace: Option<String>,
}

/// Publishes committed events. Several relays (one per instance) may run against one
/// database: JetStream drops the duplicates they cause.
#[derive(Clone, Debug)]
pub struct Relay {
    db: Db,
    bus: Bus,
    wake: Arc<Notify>,
    committed: Arc<Mutex<Vec<Staged>>>,
}

impl Relay {
    /// Publishes what this process committed since the last call, in commit order, without
    /// reading the table, and removes what JetStream stored. On a failure the events not
    /// published stay in the table for [`Relay::publish_pending`]. Returns how many were
    /// published.
    pub async fn publish_committed(&self) -> anyhow::Result<usize> {
        let staged = std::mem::take(&mut *self.committed.lock().unwrap_or_else(|e| e.into_inner()));
        let events: Vec<Outgoing> = staged
            .into_iter()
            .map(|event| Outgoing {
                id: event.id,
                subject: event.subject,
                payload: Bytes::from(event.payload),
                trace: event.trace,
            })
            .collect();
        self.publish(events).await
    }

    /// Sends every event, then awaits JetStream's acknowledgements in order, stopping at the
    /// first failure so that order is kept, and removes the stored ones from the table.
    async fn publish(&self, events: Vec<Outgoing<'_>>) -> anyhow::Result<usize> {
        if events.is_empty() {
            return Ok(0);
        }
        let mut acks = Vec::with_capacity(events.len());
        let mut failure = None;
        for event in &events {
            let started = self
                .bus
                .start_publish(
                    event.subject,
                    &event.id,
                    event.payload.clone(),
                    event.trace.as_deref(),
                )
                .await;
            match started {
                Ok(ack) => acks.push(ack),
                Err(error) => {
                    failure = Some(error.context("publishing stopped"));
                    break;
                }
            }
        }
        let mut published = Vec::with_capacity(acks.len());
        for (event, ack) in events.iter().zip(acks) {
            match ack.await {
                Ok(_) => {
                    metrics::counter!(
                        telemetry::metrics::EVENTS_PUBLISHED,
                        "subject" => event.subject.to_owned()
                    )
                    .increment(1);
                    published.push(RecordId::new("outbox", event.id.as_str()));
                }
                Err(error) => {
                    failure = Some(anyhow::anyhow!(
                        "JetStream did not store the {} event {}: {error}",
                        event.subject,
                        event.id
                    ));
                    break;
                }
            }
        }
        let count = published.len();
        if count > 0 {
            self.db
                .query("DELETE $ids")
                .bind(("ids", published))
                .await
                .and_then(|r| r.check())
                .context("removing published events from the outbox")?;
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(count),
        }
    }

    /// One pass over the table: publishes up to a batch of pending events, oldest first,
    /// and removes those JetStream stored. Stops at the first failure so that order is
    /// kept. Returns how many were published.
    pub async fn publish_pending(&self) -> anyhow::Result<usize> {
        let pending: Vec<Pending> = self
            .db
            .query("SELECT id, subject, payload, trace FROM outbox ORDER BY id LIMIT $limit")
            .bind(("limit", BATCH as i64))
            .await
            .and_then(|mut r| r.take(0))
            .context("reading the outbox")?;
        let events: Vec<Outgoing> = pending
            .iter()
            .map(|event| Outgoing {
                id: crate::db::key_of(&event.id),
                subject: event.subject.as_str(),
                payload: Bytes::from(event.payload.clone()),
                trace: event.trace.clone(),
            })
            .collect();
        self.publish(events).await
    }

    /// Publishes until `shutdown`: this process's commits as they happen, and whatever the
    /// table holds at start-up, every `poll` (events other instances committed) and after a
    /// failure (NATS away).
    pub async fn run(self, poll: Duration, shutdown: CancellationToken) {
        let mut read_table = true;
        loop {
            if read_table {
                match self.publish_pending().await {
                    Ok(count) if count == BATCH => continue,
                    Ok(_) => read_table = false,
                    Err(error) => {
                        tracing::warn!(error = format!("{error:#}"), "outbox relay pass failed");
                        read_table = false;
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.wake.notified() => {
                    if let Err(error) = self.publish_committed().await {
                        tracing::warn!(error = format!("{error:#}"), "publishing committed events failed; reading the outbox");
                        read_table = true;
                    }
                }
                () = tokio::time::sleep(poll) => read_table = true,
            }
        }
    }
}

/// Events read from the table per pass.
const BATCH: usize = 256;
