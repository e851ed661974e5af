//! NATS permissions (`common::bus::access`) on a real `nats-server` configured with the
//! rendered accounts: each service publishes only its own events, yet still runs its
//! consumers and sets aside what it cannot handle; it cannot read another service's replies.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::bus::access::{self, ADMIN};
use common::bus::{self, Bus, NatsUser};
use common::events::{Event, PaymentCreated, STREAM, TicketCreated};
use common::testing::{NatsServer, eventually};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::helpers::{Behaviour, spawn_listener, ticket};

const SERVICES: &[&str] = &["auth", "tickets", "orders", "expiration", "payments"];

fn password(user: &str) -> String {
    format!("pw-{user}-0123456789")
}

fn server() -> NatsServer {
    let config = access::accounts(SERVICES, |user| format!("\"{}\"", password(user)));
    NatsServer::start_with_config(Some(&config))
}

async fn connect(nats: &NatsServer, user: &str) -> Bus {
    let user = NatsUser {
        name: user.to_owned(),
        password: password(user),
    };
    tokio::time::timeout(
        Duration::from_secs(20),
        Bus::connect_as(&nats.url(), &user.name, Some(&user), 1),
    )
    .await
    .expect("connected within 20 s")
    .expect("connected")
}

fn payment(id: &str) -> PaymentCreated {
    PaymentCreated {
        id: id.to_owned(),
        order_id: "o1".to_owned(),
        stripe_id: "ch_forged".to_owned(),
    }
}

async fn stored_events(bus: &Bus) -> u64 {
    let mut stream = bus.jetstream().get_stream(STREAM).await.unwrap();
    stream.info().await.unwrap().state.messages
}

#[tokio::test]
async fn a_service_cannot_publish_another_services_event() {
    let nats = server();
    let admin = connect(&nats, ADMIN).await;
    let tickets = connect(&nats, "tickets").await;
    let orders = connect(&nats, "orders").await;
    let payments = connect(&nats, "payments").await;

    payments
        .publish("p1", &payment("p1"))
        .await
        .expect("payments owns payment:created");
    tickets
        .publish("t1", &ticket("t1", "Owned"))
        .await
        .expect("tickets owns ticket:created");

    let forged = orders.publish("p2", &payment("p2")).await;
    assert!(forged.is_err(), "orders published {}", PaymentCreated::NAME);
    let forged = orders.publish("t2", &ticket("t2", "Forged")).await;
    assert!(forged.is_err(), "orders published {}", TicketCreated::NAME);
    let forged = tickets.publish("p3", &payment("p3")).await;
    assert!(
        forged.is_err(),
        "tickets published {}",
        PaymentCreated::NAME
    );

    assert_eq!(
        stored_events(&admin).await,
        2,
        "only the owners' events are stored"
    );
}

#[tokio::test]
async fn a_service_consumes_and_sets_aside_under_its_own_user() {
    let nats = server();
    let admin = connect(&nats, ADMIN).await;
    let tickets = connect(&nats, "tickets").await;
    let orders = connect(&nats, "orders").await;
    let shutdown = CancellationToken::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    spawn_listener(
        &orders,
        "orders",
        "orders-1",
        Behaviour::Accept,
        &seen,
        &shutdown,
    );

    tickets
        .publish("t1", &ticket("t1", "Concert"))
        .await
        .unwrap();
    // Only the operator may publish anything at all: here, an event that does not parse.
    admin
        .publish_raw(TicketCreated::SUBJECT, "garbage", "{not json".into())
        .await
        .unwrap();

    eventually("orders consumed the ticket", || async {
        (seen.lock().unwrap().len() == 1).then_some(())
    })
    .await;
    let set_aside = eventually("orders set the garbage aside", || async {
        let letters = bus::dead_letters(&admin, "orders").await.ok()?;
        (!letters.is_empty()).then_some(letters)
    })
    .await;
    assert_eq!(set_aside.len(), 1);
    shutdown.cancel();
}

#[tokio::test]
async fn a_service_cannot_read_another_services_replies() {
    let nats = server();
    let payments = connect(&nats, "payments").await;
    let orders = connect(&nats, "orders").await;
    // JetStream acknowledges each of payments' publishes on payments' inbox.
    let mut eavesdropper = orders
        .client()
        .subscribe(format!("{}.>", access::inbox_prefix("payments")))
        .await
        .unwrap();
    orders.client().flush().await.unwrap();

    for n in 0..5 {
        let id = format!("p{n}");
        payments.publish(&id, &payment(&id)).await.unwrap();
    }
    let overheard = tokio::time::timeout(Duration::from_millis(500), eavesdropper.next()).await;
    assert!(
        !matches!(overheard, Ok(Some(_))),
        "orders read a reply meant for payments"
    );
}
