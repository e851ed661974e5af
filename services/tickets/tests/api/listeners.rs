use std::collections::BTreeSet;
use std::sync::Arc;

use common::bus::{Delivery, Listener, Outcome};
use common::events::{RejectionReason, TicketReservationRejected, TicketUpdated};
use common::outbox::Outbox;
use common::testing::{EventFlow, eventually};
use serde_json::{Value, json};
use tickets::events::order_cancelled::UnlockTicket;
use tickets::events::order_completed::MarkSold;
use tickets::events::order_created::LockTicket;
use tickets::store::OrderState;

use crate::helpers::*;

#[tokio::test]
async fn order_created_locks_the_ticket_for_the_order() {
    let app = TestApp::spawn().await;
    let ticket = app.listed(&app.user(), "Concert", 10.0).await;
    let id = id_of(&ticket);
    let flow = EventFlow::start(&app.bus).await;
    flow.publish(&order_created("order-1", &ticket)).await;
    let event = flow
        .expect("the ticket locked for the order", |e: &TicketUpdated| {
            e.id == id
        })
        .await;
    assert_eq!(event.version, 1);
    assert_eq!(event.order_id.as_deref(), Some("order-1"));
    let locked = app.ticket(&id).await;
    assert_eq!(locked["status"], "reserved");
    assert_eq!(locked["orderId"], "order-1");
}

#[tokio::test]
async fn order_cancelled_unlocks_only_a_lock_held_by_the_same_order() {
    let app = TestApp::spawn().await;
    let ticket = app.listed(&app.user(), "Concert", 10.0).await;
    let id = id_of(&ticket);
    app.publish(&order_created("order-1", &ticket)).await;
    app.ticket_when(&id, "the lock", |t| t["status"] == "reserved")
        .await;

    // Another order's cancellation leaves the lock alone…
    app.publish(&order_cancelled("order-2", &id)).await;
    // …and this one's releases it. Events are handled in order, so once the ticket is
    // available, the other cancellation was already handled.
    app.publish(&order_cancelled("order-1", &id)).await;
    let unlocked = app
        .ticket_when(&id, "the unlock", |t| t["status"] == "available")
        .await;
    assert_eq!(
        unlocked["version"], 2,
        "one lock and one unlock, nothing else"
    );
    assert!(unlocked.get("orderId").is_none());

    let event = eventually("the unlock event", || async {
        app.events::<TicketUpdated>()
            .await
            .into_iter()
            .find(|e| e.id == id && e.version == 2)
    })
    .await;
    assert_eq!(event.order_id, None);
}

#[tokio::test]
async fn order_completed_marks_the_ticket_sold() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let ticket = app.listed(&seller, "Concert", 10.0).await;
    let id = id_of(&ticket);
    app.publish(&order_created("order-1", &ticket)).await;
    app.ticket_when(&id, "the lock", |t| t["status"] == "reserved")
        .await;
    app.publish(&order_completed("order-1", &id)).await;
    let sold = app
        .ticket_when(&id, "sold", |t| t["status"] == "sold")
        .await;
    assert_eq!(sold["orderId"], "order-1");
    assert_eq!(sold["version"], 2);

    // A cancellation of the buying order after the sale does not unlock it.
    app.publish(&order_cancelled("order-1", &id)).await;
    app.publish(&order_created("order-2", &sold)).await;
    eventually("the second order's rejection", || async {
        app.events::<TicketReservationRejected>()
            .await
            .into_iter()
            .find(|e| e.order_id == "order-2")
    })
    .await;
    assert_eq!(app.ticket(&id).await, sold);
}

#[tokio::test]
async fn a_reservation_priced_before_the_owners_edit_is_rejected_as_price_changed() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let ticket = app.listed(&seller, "Concert", 10.0).await;
    let id = id_of(&ticket);
    // The buyer saw version 0; the owner edits to version 1 before the order arrives.
    let stale = order_created("order-1", &ticket);
    let response = app
        .update(
            Some(&seller),
            &id,
            &json!({"title": "Concert", "price": 99}),
        )
        .await;
    assert_eq!(response.status(), 200);
    app.publish(&stale).await;

    let rejection = eventually("the rejection", || async {
        app.events::<TicketReservationRejected>()
            .await
            .into_iter()
            .find(|e| e.order_id == "order-1")
    })
    .await;
    assert_eq!(rejection.ticket_id, id);
    assert_eq!(rejection.reason, RejectionReason::PriceChanged);
    let stored = app.ticket(&id).await;
    assert_eq!(stored["status"], "available");
    assert_eq!(stored["price"], 99);
}

#[tokio::test]
async fn a_reservation_of_a_ticket_locked_by_another_order_is_rejected_as_unavailable() {
    let app = TestApp::spawn().await;
    let ticket = app.listed(&app.user(), "Concert", 10.0).await;
    let id = id_of(&ticket);
    app.publish(&order_created("order-1", &ticket)).await;
    app.publish(&order_created("order-2", &ticket)).await;
    let rejection = eventually("the rejection", || async {
        app.events::<TicketReservationRejected>()
            .await
            .into_iter()
            .find(|e| e.order_id == "order-2")
    })
    .await;
    assert_eq!(rejection.reason, RejectionReason::TicketUnavailable);
    assert_eq!(app.ticket(&id).await["orderId"], "order-1");
}

#[tokio::test]
async fn a_lock_and_unlock_do_not_count_as_edits() {
    let app = TestApp::spawn().await;
    let ticket = app.listed(&app.user(), "Concert", 10.0).await;
    let id = id_of(&ticket);
    app.publish(&order_created("order-1", &ticket)).await;
    // The two events go to two consumers: a cancellation handled first would rightly
    // stop the lock (see the events-in-any-order tests), so this waits for the lock.
    app.ticket_when(&id, "the lock", |t| t["orderId"] == "order-1")
        .await;
    app.publish(&order_cancelled("order-1", &id)).await;
    let unlocked = app
        .ticket_when(&id, "the unlock", |t| t["version"] == 2)
        .await;
    // A buyer who saw version 0 still sees the true price: the order is accepted.
    app.publish(&order_created("order-2", &ticket)).await;
    let locked = app
        .ticket_when(&id, "the second lock", |t| t["orderId"] == "order-2")
        .await;
    assert_eq!(locked["version"], 3);
    assert_eq!(unlocked["price"], locked["price"]);
}

#[tokio::test]
async fn a_duplicate_order_created_is_applied_once() {
    let app = TestApp::spawn().await;
    let ticket = app.listed(&app.user(), "Concert", 10.0).await;
    let id = id_of(&ticket);
    let order = order_created("order-1", &ticket);
    // Two deliveries with different message ids, so JetStream does not drop the second.
    app.publish(&order).await;
    app.publish(&order).await;
    // Completions go to another consumer: wait for the lock they complete.
    app.ticket_when(&id, "the lock", |t| t["orderId"] == "order-1")
        .await;
    app.publish(&order_completed("order-1", &id)).await;
    app.publish(&order_completed("order-1", &id)).await;
    let sold = app
        .ticket_when(&id, "sold", |t| t["status"] == "sold")
        .await;
    // A later no-op event for the same ticket proves the duplicates were handled.
    app.publish(&order_cancelled("order-9", &id)).await;
    let other = app.listed(&app.user(), "Marker", 1.0).await;
    app.publish(&order_created("marker", &other)).await;
    app.ticket_when(&id_of(&other), "the marker lock", |t| {
        t["status"] == "reserved"
    })
    .await;

    assert_eq!(app.ticket(&id).await, sold);
    assert_eq!(sold["version"], 2);
    let versions: Vec<u64> = app
        .events::<TicketUpdated>()
        .await
        .into_iter()
        .filter(|e| e.id == id)
        .map(|e| e.version)
        .collect();
    assert_eq!(versions, [1, 2]);
    assert!(app.events::<TicketReservationRejected>().await.is_empty());
}

#[tokio::test]
async fn an_edit_racing_a_reservation_lets_exactly_one_win() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    for round in 0..15 {
        let ticket = app.listed(&seller, "Concert", 10.0).await;
        let id = id_of(&ticket);
        let order_id = format!("race-{round}");
        let order = order_created(&order_id, &ticket);
        let edit_body = json!({"title": "Concert", "price": 20});
        let (edit, ()) = tokio::join!(
            app.update(Some(&seller), &id, &edit_body),
            app.publish(&order)
        );
        let edit_won = edit.status() == 200;
        if !edit_won {
            assert_eq!(edit.status(), 400);
        }
        let settled = if edit_won {
            let rejection = eventually("the rejection", || async {
                app.events::<TicketReservationRejected>()
                    .await
                    .into_iter()
                    .find(|e| e.order_id == order_id)
            })
            .await;
            assert_eq!(rejection.reason, RejectionReason::PriceChanged);
            app.ticket(&id).await
        } else {
            app.ticket_when(&id, "the lock", |t| t["orderId"] == order_id.as_str())
                .await
        };
        if edit_won {
            assert_eq!(settled["price"], 20);
            assert_eq!(settled["status"], "available");
        } else {
            assert_eq!(settled["price"], 10, "the buyer's price stands");
            assert_eq!(settled["status"], "reserved");
        }
    }
    let rejected: BTreeSet<String> = app
        .events::<TicketReservationRejected>()
        .await
        .into_iter()
        .map(|e| e.order_id)
        .collect();
    assert!(rejected.len() <= 15);
}

#[tokio::test]
async fn a_reservation_waits_for_the_previous_order_to_let_go() {
    let app = TestApp::spawn().await;
    let ticket = app.listed(&app.user(), "Concert", 10.0).await;
    let id = id_of(&ticket);
    app.publish(&order_created("order-1", &ticket)).await;
    app.ticket_when(&id, "the first lock", |t| t["orderId"] == "order-1")
        .await;
    // The second order arrives before the first one's cancellation.
    app.publish(&order_created("order-2", &ticket)).await;
    app.publish(&order_cancelled("order-1", &id)).await;
    let locked = app
        .ticket_when(&id, "the second lock", |t| t["orderId"] == "order-2")
        .await;
    assert_eq!(locked["version"], 3);
    assert!(app.events::<TicketReservationRejected>().await.is_empty());
}

/// The versions of the `ticket:updated` events published for ticket `id`, once the one
/// with version `last` is out (the relay publishes in commit order, so any earlier change
/// of the ticket is out too).
async fn ticket_versions(app: &TestApp, id: &str, last: u64) -> Vec<u64> {
    eventually("the last ticket:updated", || async {
        let versions: Vec<u64> = app
            .events::<TicketUpdated>()
            .await
            .into_iter()
            .filter(|e| e.id == id)
            .map(|e| e.version)
            .collect();
        versions.contains(&last).then_some(versions)
    })
    .await
}

async fn rejections_of(app: &TestApp, order_id: &str) -> Vec<TicketReservationRejected> {
    app.events::<TicketReservationRejected>()
        .await
        .into_iter()
        .filter(|e| e.order_id == order_id)
        .collect()
}

#[tokio::test]
async fn a_cancellation_handled_before_its_reservation_keeps_the_ticket_unlocked() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let ticket = app.listed(&seller, "Concert", 10.0).await;
    let id = id_of(&ticket);

    // The service was away while the buyer cancelled: the cancellation is handled first,
    // twice (a redelivery).
    app.publish_handled(&order_cancelled("order-1", &id)).await;
    app.publish_handled(&order_cancelled("order-1", &id)).await;
    assert_eq!(
        app.order_state("order-1").await,
        Some(OrderState::Cancelled)
    );
    // Then the reservation, twice too.
    app.publish_handled(&order_created("order-1", &ticket))
        .await;
    app.publish_handled(&order_created("order-1", &ticket))
        .await;

    let stored = app.ticket(&id).await;
    assert_eq!(stored["status"], "available");
    assert!(stored.get("orderId").is_none());
    assert_eq!(stored["version"], 0, "no lock was taken");
    assert_eq!(
        app.order_state("order-1").await,
        Some(OrderState::Cancelled)
    );

    // The owner can still edit it…
    let response = app
        .update(
            Some(&seller),
            &id,
            &json!({"title": "Concert", "price": 15}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let edited: Value = response.json().await.unwrap();
    assert_eq!(edited["version"], 1);
    assert_eq!(ticket_versions(&app, &id, 1).await, [1], "only the edit");
    assert!(
        rejections_of(&app, "order-1").await.is_empty(),
        "a cancelled order needs no rejection"
    );

    // …and another buyer can reserve it.
    app.publish(&order_created("order-2", &edited)).await;
    let locked = app
        .ticket_when(&id, "the other buyer's lock", |t| t["orderId"] == "order-2")
        .await;
    assert_eq!(locked["version"], 2);
    assert_eq!(locked["price"], 15);
}

#[tokio::test]
async fn a_reservation_redelivered_after_its_cancellation_does_not_lock_again() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let ticket = app.listed(&seller, "Concert", 10.0).await;
    let id = id_of(&ticket);
    app.publish_handled(&order_created("order-1", &ticket))
        .await;
    assert_eq!(app.ticket(&id).await["orderId"], "order-1");
    app.publish_handled(&order_cancelled("order-1", &id)).await;
    let unlocked = app.ticket(&id).await;
    assert_eq!(unlocked["status"], "available");
    assert_eq!(unlocked["version"], 2);

    app.publish_handled(&order_created("order-1", &ticket))
        .await;
    app.publish_handled(&order_cancelled("order-1", &id)).await;

    assert_eq!(app.ticket(&id).await, unlocked);
    assert_eq!(
        app.order_state("order-1").await,
        Some(OrderState::Cancelled)
    );
    let response = app
        .update(
            Some(&seller),
            &id,
            &json!({"title": "Concert", "price": 12}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(ticket_versions(&app, &id, 3).await, [1, 2, 3]);
}

#[tokio::test]
async fn a_completion_handled_before_its_reservation_sells_the_ticket_to_that_order() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let ticket = app.listed(&seller, "Concert", 10.0).await;
    let id = id_of(&ticket);

    // Payments completed the order before the tickets service saw it.
    app.publish_handled(&order_completed("order-1", &id)).await;
    assert_eq!(
        app.order_state("order-1").await,
        Some(OrderState::Completed)
    );
    assert_eq!(app.ticket(&id).await["status"], "available");

    app.publish_handled(&order_created("order-1", &ticket))
        .await;
    let sold = app.ticket(&id).await;
    assert_eq!(sold["status"], "sold");
    assert_eq!(sold["orderId"], "order-1");
    assert_eq!(sold["version"], 1, "locked and sold in one step");

    // Duplicates of either, and a late cancellation, change nothing.
    app.publish_handled(&order_completed("order-1", &id)).await;
    app.publish_handled(&order_created("order-1", &ticket))
        .await;
    app.publish_handled(&order_cancelled("order-1", &id)).await;
    assert_eq!(app.ticket(&id).await, sold);
    assert_eq!(
        app.order_state("order-1").await,
        Some(OrderState::Completed)
    );

    let response = app
        .update(
            Some(&seller),
            &id,
            &json!({"title": "Concert", "price": 12}),
        )
        .await;
    assert_eq!(response.status(), 400, "a sold ticket cannot be edited");
    let event = eventually("the sale", || async {
        app.events::<TicketUpdated>()
            .await
            .into_iter()
            .find(|e| e.id == id)
    })
    .await;
    assert_eq!(
        (event.version, event.order_id.as_deref()),
        (1, Some("order-1"))
    );
    assert!(rejections_of(&app, "order-1").await.is_empty());
}

#[tokio::test]
async fn a_completion_handled_before_a_reservation_priced_before_an_edit_is_still_rejected() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let ticket = app.listed(&seller, "Concert", 10.0).await;
    let id = id_of(&ticket);
    app.publish_handled(&order_completed("order-1", &id)).await;
    let response = app
        .update(
            Some(&seller),
            &id,
            &json!({"title": "Concert", "price": 99}),
        )
        .await;
    assert_eq!(response.status(), 200);

    app.publish_handled(&order_created("order-1", &ticket))
        .await;
    let rejection = eventually("the rejection", || async {
        rejections_of(&app, "order-1").await.into_iter().next()
    })
    .await;
    assert_eq!(rejection.reason, RejectionReason::PriceChanged);
    assert_eq!(app.order_state("order-1").await, Some(OrderState::Rejected));

    // A redelivered completion does not sell it either.
    app.publish_handled(&order_completed("order-1", &id)).await;
    let stored = app.ticket(&id).await;
    assert_eq!(stored["status"], "available");
    assert_eq!(stored["price"], 99);
    assert_eq!(stored["version"], 1);
}

/// The service's handlers as other instances run them: on the same database, each event on
/// its own task, so that two events of one order are handled at the same instant.
struct Instances {
    lock: LockTicket,
    unlock: UnlockTicket,
    sell: MarkSold,
}

impl Instances {
    fn on(app: &TestApp) -> Self {
        Self {
            lock: LockTicket {
                outbox: Outbox::new(app.db.clone()),
            },
            unlock: UnlockTicket {
                outbox: Outbox::new(app.db.clone()),
            },
            sell: MarkSold {
                outbox: Outbox::new(app.db.clone()),
            },
        }
    }
}

/// Runs two handlers at once on the runtime's threads, as two instances would, and expects
/// both to finish their delivery.
async fn both_done<A, B>(a: A, b: B)
where
    A: Future<Output = anyhow::Result<Outcome>> + Send + 'static,
    B: Future<Output = anyhow::Result<Outcome>> + Send + 'static,
{
    let (a, b) = (tokio::spawn(a), tokio::spawn(b));
    assert_eq!(a.await.unwrap().unwrap(), Outcome::Done);
    assert_eq!(b.await.unwrap().unwrap(), Outcome::Done);
}

fn first_delivery() -> Delivery {
    Delivery {
        event_id: None,
        delivered: 1,
        stream_sequence: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_racing_its_cancellation_on_two_instances_leaves_the_ticket_unlocked() {
    let app = TestApp::spawn().await;
    let instances = Arc::new(Instances::on(&app));
    for round in 0..50 {
        // A seller per round: one may list only so many tickets an hour.
        let seller = app.user();
        let ticket = app.listed(&seller, "Concert", 10.0).await;
        let id = id_of(&ticket);
        let order_id = format!("race-{round}");
        let (created, cancelled) = (
            order_created(&order_id, &ticket),
            order_cancelled(&order_id, &id),
        );
        both_done(
            {
                let instances = instances.clone();
                async move { instances.lock.handle(created, &first_delivery()).await }
            },
            {
                let instances = instances.clone();
                async move { instances.unlock.handle(cancelled, &first_delivery()).await }
            },
        )
        .await;

        let stored = app.ticket(&id).await;
        assert_eq!(stored["status"], "available", "round {round}: {stored}");
        assert!(
            stored["version"] == 0 || stored["version"] == 2,
            "no lock, or a lock and its unlock: {stored}"
        );
        assert_eq!(
            app.order_state(&order_id).await,
            Some(OrderState::Cancelled)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_racing_its_completion_on_two_instances_sells_the_ticket() {
    let app = TestApp::spawn().await;
    let instances = Arc::new(Instances::on(&app));
    for round in 0..50 {
        // A seller per round: one may list only so many tickets an hour.
        let seller = app.user();
        let ticket = app.listed(&seller, "Concert", 10.0).await;
        let id = id_of(&ticket);
        let order_id = format!("race-{round}");
        let (created, completed) = (
            order_created(&order_id, &ticket),
            order_completed(&order_id, &id),
        );
        both_done(
            {
                let instances = instances.clone();
                async move { instances.lock.handle(created, &first_delivery()).await }
            },
            {
                let instances = instances.clone();
                async move { instances.sell.handle(completed, &first_delivery()).await }
            },
        )
        .await;

        let stored = app.ticket(&id).await;
        assert_eq!(stored["status"], "sold", "round {round}: {stored}");
        assert_eq!(stored["orderId"], order_id.as_str());
        assert!(
            stored["version"] == 1 || stored["version"] == 2,
            "locked and sold, at once or in turn: {stored}"
        );
        assert_eq!(
            app.order_state(&order_id).await,
            Some(OrderState::Completed)
        );
    }
}
