//! Trace context across one event hop: the consumer's span of an event is a child of the
//! span in which the change that staged the event committed, in another task and (in
//! production) another process, whichever way the relay found the event.

use std::time::Duration;

use common::db::{self, DbConfig};
use common::outbox::{self, Outbox, Tx};
use common::telemetry::trace::testing::Recorder;
use common::testing::eventually;
use opentelemetry_sdk::trace::SpanData;
use tracing::Instrument as _;

use crate::helpers::*;
use crate::outbox::accepting_listener;

/// The consumer's span for the event it handled.
async fn consumer_span(recorder: &Recorder) -> SpanData {
    eventually("the consumer's span", || async {
        recorder
            .spans()
            .into_iter()
            .find(|span| span.name == "orders receive ticket:created")
    })
    .await
}

async fn assert_continues_the_change(committing: &Outbox, relaying: &Outbox) {
    let (recorder, _guard) = Recorder::install("tickets");
    let (_nats, bus) = start_bus().await;
    let (seen, shutdown) = accepting_listener(&bus);
    tokio::spawn(
        relaying
            .relay(bus.clone())
            .run(Duration::from_millis(50), shutdown.clone()),
    );

    let change = tracing::info_span!("change");
    async {
        committing
            .commit(Tx::new().publish(&ticket("t1", "traced")))
            .await
            .unwrap()
    }
    .instrument(change)
    .await;

    let consumer = consumer_span(&recorder).await;
    let change = recorder.span("change");
    assert_eq!(ids(&seen), ["t1"]);
    assert_eq!(
        consumer.span_context.trace_id(),
        change.span_context.trace_id(),
        "one trace from the change to its consumer"
    );
    assert_eq!(consumer.parent_span_id, change.span_context.span_id());
    assert!(
        consumer.parent_span_is_remote,
        "the parent came in the message"
    );
    shutdown.cancel();
}

async fn outbox_on(db: &db::Db) -> Outbox {
    Outbox::new(db.clone())
}

#[tokio::test(flavor = "current_thread")]
async fn an_event_relayed_at_once_continues_the_trace_of_its_change() {
    let db = db::connect_with_schema(&DbConfig::memory("trace_direct"), outbox::SCHEMA)
        .await
        .unwrap();
    let outbox = outbox_on(&db).await;
    assert_continues_the_change(&outbox, &outbox).await;
}

#[tokio::test(flavor = "current_thread")]
async fn an_event_read_back_from_the_outbox_table_continues_the_trace_of_its_change() {
    let db = db::connect_with_schema(&DbConfig::memory("trace_table"), outbox::SCHEMA)
        .await
        .unwrap();
    // Committed by one instance, relayed by another, which finds it only in the table.
    let (committing, relaying) = (outbox_on(&db).await, outbox_on(&db).await);
    assert_continues_the_change(&committing, &relaying).await;
}
