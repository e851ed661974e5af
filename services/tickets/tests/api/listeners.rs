use std::collections::BTreeSet;

use common::events::{RejectionReason, TicketReservationRejected, TicketUpdated};
use common::testing::eventually;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn order_created_locks_the_ticket_for_the_order() {
    let app = TestApp::spawn().await;
    let ticket = app.listed(&app.user(), "Concert", 10.0).await;
    let id = id_of(&ticket);
    app.publish(&order_created("order-1", &ticket)).await;
    let locked = app
        .ticket_when(&id, "the lock", |t| t["status"] == "reserved")
        .await;
    assert_eq!(locked["orderId"], "order-1");
    assert_eq!(locked["version"], 1);

    let event = eventually("ticket:updated", || async {
        app.events::<TicketUpdated>()
            .await
            .into_iter()
            .find(|e| e.id == id)
    })
    .await;
    assert_eq!(event.version, 1);
    assert_eq!(event.order_id.as_deref(), Some("order-1"));
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
