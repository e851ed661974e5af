use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use common::bus::{self, Bus, Delivery, ListenOptions, Listener, Outcome, dead_letters};
use common::deadletter;
use common::events::{STREAM, TicketCreated};
use common::testing::eventually;
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

#[tokio::test]
async fn each_service_handles_an_event_once_even_with_two_instances() {
    let (_nats, bus) = start_bus().await;
    let shutdown = CancellationToken::new();
    let orders = Arc::new(Mutex::new(Vec::new()));
    let payments = Arc::new(Mutex::new(Vec::new()));
    spawn_listener(
        &bus,
        "orders",
        "orders-1",
        Behaviour::Accept,
        &orders,
        &shutdown,
    );
    spawn_listener(
        &bus,
        "orders",
        "orders-2",
        Behaviour::Accept,
        &orders,
        &shutdown,
    );
    spawn_listener(
        &bus,
        "payments",
        "payments-1",
        Behaviour::Accept,
        &payments,
        &shutdown,
    );

    for i in 0..40 {
        bus.publish(&format!("event-{i}"), &ticket(&format!("t{i}"), "Show"))
            .await
            .unwrap();
    }
    // A last event: once both services handled it, everything before was delivered.
    bus.publish("event-last", &ticket("last", "Show"))
        .await
        .unwrap();
    for seen in [&orders, &payments] {
        eventually("the last event", || async {
            ids(seen).contains(&"last".to_owned()).then_some(())
        })
        .await;
    }

    for (name, seen) in [("orders", &orders), ("payments", &payments)] {
        let handled = ids(seen);
        let distinct: HashSet<_> = handled.iter().collect();
        assert_eq!(handled.len(), 41, "{name} handled {} events", handled.len());
        assert_eq!(distinct.len(), 41, "{name} handled an event twice");
    }
    shutdown.cancel();
}

#[tokio::test]
async fn a_handler_that_asks_to_retry_sees_the_event_again() {
    let (_nats, bus) = start_bus().await;
    let shutdown = CancellationToken::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    spawn_listener(
        &bus,
        "orders",
        "orders-1",
        Behaviour::RetryOnce,
        &seen,
        &shutdown,
    );

    bus.publish("e1", &ticket("t1", "Show")).await.unwrap();
    eventually("the redelivery", || async {
        (seen.lock().unwrap().len() == 2).then_some(())
    })
    .await;

    let deliveries: Vec<i64> = seen.lock().unwrap().iter().map(|s| s.delivered).collect();
    assert_eq!(deliveries, [1, 2]);
    shutdown.cancel();
}

#[tokio::test]
async fn the_same_event_id_published_twice_is_handled_once() {
    let (_nats, bus) = start_bus().await;
    let shutdown = CancellationToken::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    spawn_listener(
        &bus,
        "orders",
        "orders-1",
        Behaviour::Accept,
        &seen,
        &shutdown,
    );

    let first = bus.publish("same-id", &ticket("t1", "Show")).await.unwrap();
    let second = bus.publish("same-id", &ticket("t1", "Show")).await.unwrap();
    assert!(!first, "the first publish is not a duplicate");
    assert!(second, "the second publish is reported as a duplicate");

    bus.publish("sentinel", &ticket("sentinel", "Show"))
        .await
        .unwrap();
    eventually("the sentinel", || async {
        ids(&seen).contains(&"sentinel".to_owned()).then_some(())
    })
    .await;
    assert_eq!(ids(&seen), ["t1", "sentinel"]);
    shutdown.cancel();
}

/// How a [`Failing`] listener fails.
#[derive(Clone, Copy, Debug)]
pub enum Failure {
    /// An error without a `Poison` in it: the database or a provider is down.
    Infrastructure,
    /// `Outcome::RetryLater`: an earlier event is still missing.
    NotYet,
    /// A `Poison` error: the event itself is at fault.
    Poison,
}

/// Fails deliveries of events titled "poison" (before delivery `until_delivery`, and until
/// it is `fixed`), then handles them; handles every other event at once.
pub struct Failing {
    pub failure: Failure,
    pub until_delivery: i64,
    pub fixed: AtomicBool,
    /// The events handled, with their delivery.
    pub handled: Mutex<Vec<(TicketCreated, Delivery)>>,
}

impl Failing {
    pub fn new(failure: Failure, until_delivery: i64) -> Arc<Self> {
        Arc::new(Self {
            failure,
            until_delivery,
            fixed: AtomicBool::new(false),
            handled: Mutex::new(Vec::new()),
        })
    }

    /// Fails every delivery of an event titled "poison" until it is fixed.
    pub fn always(failure: Failure) -> Arc<Self> {
        Self::new(failure, i64::MAX)
    }

    pub fn fix(&self) {
        self.fixed.store(true, Ordering::SeqCst);
    }

    pub fn handled_ids(&self) -> Vec<String> {
        self.handled
            .lock()
            .unwrap()
            .iter()
            .map(|(event, _)| event.id.clone())
            .collect()
    }

    /// The delivery on which the event `id` was handled, once it was.
    pub fn delivery_of(&self, id: &str) -> Option<Delivery> {
        self.handled
            .lock()
            .unwrap()
            .iter()
            .find(|(event, _)| event.id == id)
            .map(|(_, delivery)| delivery.clone())
    }

    /// Starts listening for `TicketCreated` as `service`, retrying every millisecond or so
    /// and setting a poison event aside on its third delivery.
    pub fn spawn(self: &Arc<Self>, bus: &Bus, service: &'static str, shutdown: &CancellationToken) {
        tokio::spawn(bus::listen::<TicketCreated, _>(
            bus.clone(),
            service,
            self.clone(),
            ListenOptions {
                retry_base: Duration::from_millis(1),
                ..fast_options()
            },
            shutdown.clone(),
        ));
    }
}

impl Listener<TicketCreated> for Failing {
    async fn handle(&self, event: TicketCreated, delivery: &Delivery) -> anyhow::Result<Outcome> {
        let failing = event.title == "poison"
            && delivery.delivered < self.until_delivery
            && !self.fixed.load(Ordering::SeqCst);
        if failing {
            match self.failure {
                Failure::Infrastructure => {
                    return Err(anyhow::anyhow!("connection refused")
                        .context("reading the ticket from the database"));
                }
                Failure::NotYet => return Ok(Outcome::RetryLater(Duration::from_millis(1))),
                Failure::Poison => {
                    return Err(
                        bus::poison("the ticket has no seats").context("reserving the ticket")
                    );
                }
            }
        }
        self.handled.lock().unwrap().push((event, delivery.clone()));
        Ok(Outcome::Done)
    }
}

#[tokio::test]
async fn poison_events_are_set_aside_and_the_next_event_still_flows() {
    let (_nats, bus) = start_bus().await;
    let shutdown = CancellationToken::new();
    let orders = Failing::always(Failure::Poison);
    orders.spawn(&bus, "orders", &shutdown);

    // Data that does not parse, and data the handler refuses every time.
    bus.publish_raw(
        subject_of::<TicketCreated>(),
        "garbage",
        b"{not json".to_vec().into(),
    )
    .await
    .unwrap();
    bus.publish("poison", &ticket("t-poison", "poison"))
        .await
        .unwrap();
    bus.publish("good", &ticket("t-good", "Show"))
        .await
        .unwrap();

    eventually("the good event", || async { orders.delivery_of("t-good") }).await;
    let kept = eventually("both events set aside", || async {
        let kept = dead_letters(&bus, "orders").await.ok()?;
        (kept.len() == 2).then_some(kept)
    })
    .await;
    let payloads: Vec<String> = kept
        .iter()
        .map(|(_, payload)| String::from_utf8_lossy(payload).into_owned())
        .collect();
    assert_eq!(payloads[0], "{not json");
    assert!(payloads[1].contains("t-poison"), "{payloads:?}");
    assert!(
        kept.iter()
            .all(|(subject, _)| subject == "deadletter.orders.events.ticket.created")
    );
    assert_eq!(
        orders.handled_ids(),
        ["t-good"],
        "the poison event never counted as handled"
    );

    let letters = deadletter::list(&bus).await.unwrap();
    assert_eq!(
        letters[0].deliveries, 1,
        "unparseable data is set aside at once"
    );
    assert!(letters[0].reason.starts_with("unparseable"), "{letters:?}");
    assert_eq!(
        letters[1].deliveries,
        fast_options().max_deliveries,
        "poison is retried up to max_deliveries"
    );
    assert!(
        letters[1].reason.contains("the ticket has no seats"),
        "{letters:?}"
    );
    shutdown.cancel();
}

/// Publishes one event to a listener that fails with `failure` on four times
/// `max_deliveries` deliveries, and checks it is handled on the next one, never set aside.
async fn retried_past_max_deliveries(failure: Failure) {
    let (_nats, bus) = start_bus().await;
    let shutdown = CancellationToken::new();
    let failing_deliveries = 4 * fast_options().max_deliveries;
    let orders = Failing::new(failure, failing_deliveries + 1);
    orders.spawn(&bus, "orders", &shutdown);

    bus.publish("retried", &ticket("t-retried", "poison"))
        .await
        .unwrap();

    let delivery = eventually("the event handled at last", || async {
        orders.delivery_of("t-retried")
    })
    .await;
    assert_eq!(delivery.delivered, failing_deliveries + 1);
    assert!(dead_letters(&bus, "orders").await.unwrap().is_empty());
    shutdown.cancel();
}

#[tokio::test]
async fn an_infrastructure_failure_is_retried_past_max_deliveries_until_the_handler_succeeds() {
    retried_past_max_deliveries(Failure::Infrastructure).await;
}

#[tokio::test]
async fn an_event_that_is_not_applicable_yet_is_retried_past_max_deliveries() {
    retried_past_max_deliveries(Failure::NotYet).await;
}

#[tokio::test]
async fn an_event_that_keeps_failing_on_an_outage_is_never_set_aside_and_others_still_flow() {
    let (_nats, bus) = start_bus().await;
    let shutdown = CancellationToken::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    // `FailOutage` fails with a plain error, no `Poison` in it: an infrastructure failure.
    spawn_listener(
        &bus,
        "orders",
        "orders-1",
        Behaviour::FailOutage,
        &seen,
        &shutdown,
    );

    bus.publish("stuck", &ticket("t-stuck", "poison"))
        .await
        .unwrap();
    bus.publish("good", &ticket("t-good", "Show"))
        .await
        .unwrap();

    // Each delivery, redeliveries included, takes a consumer sequence number: past twice
    // max_deliveries, the stuck event was delivered more often than a poison one would be.
    let name = bus::consumer_name::<TicketCreated>("orders");
    let enough = 2 * u64::try_from(fast_options().max_deliveries).unwrap() + 1;
    eventually(
        "the stuck event redelivered past max_deliveries",
        || async {
            let stream = bus.jetstream().get_stream(STREAM).await.ok()?;
            let info = stream.consumer_info(&name).await.ok()?;
            (info.delivered.consumer_sequence > enough).then_some(())
        },
    )
    .await;
    assert_eq!(ids(&seen), ["t-good"]);
    assert!(dead_letters(&bus, "orders").await.unwrap().is_empty());
    shutdown.cancel();
}

#[tokio::test]
async fn a_consumer_created_with_capped_deliveries_gets_unlimited_deliveries_on_start() {
    let (_nats, bus) = start_bus().await;
    let name = bus::consumer_name::<TicketCreated>("orders");
    let stream = bus.jetstream().get_stream(STREAM).await.unwrap();
    // As the previous version created it.
    stream
        .create_consumer(pull::Config {
            durable_name: Some(name.clone()),
            filter_subject: subject_of::<TicketCreated>().to_owned(),
            ack_policy: AckPolicy::Explicit,
            deliver_policy: DeliverPolicy::All,
            ack_wait: Duration::from_secs(30),
            max_deliver: 23,
            ..Default::default()
        })
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let orders = Failing::always(Failure::Infrastructure);
    orders.spawn(&bus, "orders", &shutdown);

    eventually("the consumer updated", || async {
        let info = stream.consumer_info(&name).await.ok()?;
        (info.config.max_deliver == -1).then_some(())
    })
    .await;
    let info = stream.consumer_info(&name).await.unwrap();
    assert_eq!(info.config.ack_wait, fast_options().ack_wait);

    bus.publish("after", &ticket("t-after", "Show"))
        .await
        .unwrap();
    eventually("an event on the updated consumer", || async {
        orders.delivery_of("t-after")
    })
    .await;
    shutdown.cancel();
}

#[tokio::test]
async fn the_event_flow_harness_finds_what_was_published_since_it_started_and_says_what_it_saw() {
    use common::testing::EventFlow;
    use futures::FutureExt as _;

    let (_nats, bus) = start_bus().await;
    bus.publish("before", &ticket("t0", "before"))
        .await
        .unwrap();
    let flow = EventFlow::start(&bus).await;
    flow.publish(&ticket("t1", "first")).await;
    flow.publish(&ticket("t2", "second")).await;
    let found = flow
        .expect("the second ticket", |e: &TicketCreated| e.title == "second")
        .await;
    assert_eq!(found.id, "t2");
    flow.expect_none(
        "nothing from before the flow started",
        std::time::Duration::from_millis(300),
        |e: &TicketCreated| e.id == "t0",
    )
    .await;

    let missing = std::panic::AssertUnwindSafe(flow.expect_none(
        "the first ticket must not appear",
        std::time::Duration::from_millis(300),
        |e: &TicketCreated| e.id == "t1",
    ))
    .catch_unwind()
    .await
    .expect_err("t1 was published, so expect_none fails");
    let message = missing
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("events.ticket.created"), "{message}");
    assert!(message.contains(r#""title":"first""#), "{message}");
    assert!(!message.contains(r#""title":"before""#), "{message}");
}
