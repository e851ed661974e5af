use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use common::bus::dead_letters;
use common::events::TicketCreated;
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

#[tokio::test]
async fn poison_events_are_set_aside_and_the_next_event_still_flows() {
    let (_nats, bus) = start_bus().await;
    let shutdown = CancellationToken::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    spawn_listener(
        &bus,
        "orders",
        "orders-1",
        Behaviour::FailPoison,
        &seen,
        &shutdown,
    );

    // Data that does not parse, and data the handler fails on every time.
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

    eventually("the good event", || async {
        ids(&seen).contains(&"t-good".to_owned()).then_some(())
    })
    .await;
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
        ids(&seen),
        ["t-good"],
        "the poison event never counted as handled"
    );
    shutdown.cancel();
}
