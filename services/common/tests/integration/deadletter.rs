use common::deadletter;
use common::events::TicketCreated;
use common::testing::eventually;
use tokio_util::sync::CancellationToken;

use crate::bus::{Failing, Failure};
use crate::helpers::*;

#[tokio::test]
async fn a_set_aside_event_is_listed_with_its_service_subject_reason_and_deliveries() {
    let (_nats, bus) = start_bus().await;
    let shutdown = CancellationToken::new();
    Failing::always(Failure::Poison).spawn(&bus, "orders", &shutdown);

    bus.publish("evt-1", &ticket("t1", "poison")).await.unwrap();

    let letters = eventually("the event set aside", || async {
        let letters = deadletter::list(&bus).await.ok()?;
        (!letters.is_empty()).then_some(letters)
    })
    .await;
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.service, "orders");
    assert_eq!(letter.subject, subject_of::<TicketCreated>());
    assert_eq!(letter.event_id.as_deref(), Some("evt-1"));
    assert_eq!(letter.deliveries, fast_options().max_deliveries);
    assert!(
        letter
            .reason
            .contains("reserving the ticket: the ticket has no seats"),
        "{letter:?}"
    );
    let event: TicketCreated = serde_json::from_slice(&letter.payload).unwrap();
    assert_eq!(event.id, "t1");

    let shown = deadletter::show(&bus, letter.sequence).await.unwrap();
    assert_eq!(&shown, letter);
    shutdown.cancel();
}

#[tokio::test]
async fn a_replayed_event_is_handled_again_and_leaves_the_dead_letter_stream() {
    let (_nats, bus) = start_bus().await;
    let shutdown = CancellationToken::new();
    let orders = Failing::always(Failure::Poison);
    orders.spawn(&bus, "orders", &shutdown);
    bus.publish("evt-1", &ticket("t1", "poison")).await.unwrap();
    let letter = eventually("the event set aside", || async {
        deadletter::list(&bus).await.ok()?.into_iter().next()
    })
    .await;

    orders.fix();
    let replayed = deadletter::replay(&bus, letter.sequence).await.unwrap();

    assert_eq!(replayed.sequence, letter.sequence);
    let delivery = eventually("the replayed event handled", || async {
        orders.delivery_of("t1")
    })
    .await;
    assert_eq!(
        delivery.event_id,
        Some(format!("evt-1-replay-{}", letter.sequence))
    );
    assert!(deadletter::list(&bus).await.unwrap().is_empty());
    assert!(deadletter::show(&bus, letter.sequence).await.is_err());
    assert!(
        deadletter::replay(&bus, letter.sequence).await.is_err(),
        "an event is replayed once"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn replaying_a_services_events_leaves_the_other_services_events_set_aside() {
    let (_nats, bus) = start_bus().await;
    let shutdown = CancellationToken::new();
    let orders = Failing::always(Failure::Poison);
    orders.spawn(&bus, "orders", &shutdown);
    let payments = Failing::always(Failure::Poison);
    payments.spawn(&bus, "payments", &shutdown);
    bus.publish("evt-1", &ticket("t1", "poison")).await.unwrap();
    bus.publish("evt-2", &ticket("t2", "poison")).await.unwrap();
    eventually("both events set aside by both services", || async {
        (deadletter::list(&bus).await.ok()?.len() == 4).then_some(())
    })
    .await;

    orders.fix();
    payments.fix();
    let replayed = deadletter::replay_all(&bus, Some("orders")).await.unwrap();

    assert_eq!(replayed.len(), 2);
    assert!(replayed.iter().all(|letter| letter.service == "orders"));
    // A replay goes to every consumer of the subject.
    for service in [&orders, &payments] {
        eventually("both replayed events handled", || async {
            (service.handled_ids().len() == 2).then_some(())
        })
        .await;
    }
    let left = deadletter::list(&bus).await.unwrap();
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|letter| letter.service == "payments"));
    shutdown.cancel();
}

#[tokio::test]
async fn every_set_aside_event_is_listed_however_many_there_are() {
    let (_nats, bus) = start_bus().await;
    let count = 1201;
    let mut acks = Vec::new();
    for i in 0..count {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(deadletter::ORIGINAL_SUBJECT, subject_of::<TicketCreated>());
        headers.insert(deadletter::REASON, format!("reason {i}").as_str());
        let ack = bus
            .jetstream()
            .publish_with_headers(
                format!("deadletter.orders.{}", subject_of::<TicketCreated>()),
                headers,
                "{}".into(),
            )
            .await
            .unwrap();
        acks.push(ack);
    }
    for ack in acks {
        ack.await.unwrap();
    }

    let letters = deadletter::list(&bus).await.unwrap();

    assert_eq!(letters.len(), count);
    assert_eq!(letters[count - 1].reason, format!("reason {}", count - 1));
}
