use common::events::{
    ExpirationComplete, OrderCancelled, OrderCompleted, PaymentCreated, RejectionReason,
    TicketReservationRejected,
};
use common::testing::{EventFlow, eventually};

use crate::helpers::*;

fn rejected(order_id: &str, ticket_id: &str, reason: RejectionReason) -> TicketReservationRejected {
    TicketReservationRejected {
        order_id: order_id.to_owned(),
        ticket_id: ticket_id.to_owned(),
        reason,
    }
}

#[tokio::test]
async fn a_rejected_reservation_cancels_the_order_with_the_reason() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    for (reason, text) in [
        (RejectionReason::PriceChanged, "price_changed"),
        (RejectionReason::TicketUnavailable, "ticket_unavailable"),
    ] {
        let ticket = app.ticket(&app.user(), 100).await;
        let order = app.ordered(&buyer, &ticket).await;
        let id = id_of(&order);
        let flow = EventFlow::start(&app.bus).await;
        flow.publish(&rejected(&id, &ticket, reason)).await;
        let cancelled = flow
            .expect("the order cancelled", |e: &OrderCancelled| e.id == id)
            .await;
        assert_eq!(
            (cancelled.version, cancelled.ticket.id.as_str()),
            (1, ticket.as_str())
        );
        let order = app.order(&buyer, &id).await;
        assert_eq!(order["status"], "cancelled");
        assert_eq!(order["cancelReason"], text);
        // The hold is released with it.
        app.ordered(&app.user(), &ticket).await;
    }
}

#[tokio::test]
async fn expiration_cancels_an_open_order_but_not_a_complete_one() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    let open = app
        .ordered(&buyer, &app.ticket(&app.user(), 100).await)
        .await;
    let ticket = app.ticket(&app.user(), 100).await;
    let paid = app.ordered(&buyer, &ticket).await;
    app.confirm_lock(&ticket, &id_of(&paid)).await;
    app.publish(&PaymentCreated {
        id: "p".into(),
        order_id: id_of(&paid),
        stripe_id: "ch".into(),
    })
    .await;
    let complete = app
        .order_when(&buyer, &id_of(&paid), "completion", |o| {
            o["status"] == "complete"
        })
        .await;

    app.publish(&ExpirationComplete {
        order_id: id_of(&paid),
    })
    .await;
    app.publish(&ExpirationComplete {
        order_id: id_of(&open),
    })
    .await;
    let expired = app
        .order_when(&buyer, &id_of(&open), "the expiry", |o| {
            o["status"] == "cancelled"
        })
        .await;
    assert_eq!(expired["cancelReason"], "expired");
    assert_eq!(app.order(&buyer, &id_of(&paid)).await, complete);
}

#[tokio::test]
async fn payment_completes_an_open_order_once_its_lock_is_confirmed() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    let ticket = app.ticket(&app.user(), 100).await;
    let order = app.ordered(&buyer, &ticket).await;
    let id = id_of(&order);
    app.publish(&PaymentCreated {
        id: "p1".into(),
        order_id: id.clone(),
        stripe_id: "ch_1".into(),
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        app.order(&buyer, &id).await["status"],
        "created",
        "not before the lock is confirmed"
    );

    app.confirm_lock(&ticket, &id).await;
    let complete = app
        .order_when(&buyer, &id, "completion", |o| o["status"] == "complete")
        .await;
    assert_eq!(complete["version"], 1);
    let event = eventually("order:completed", || async {
        app.events::<OrderCompleted>()
            .await
            .into_iter()
            .find(|e| e.id == id)
    })
    .await;
    assert_eq!(event.version, 1);
    assert_eq!(event.ticket.id, ticket);
}

#[tokio::test]
async fn a_payment_for_a_cancelled_order_leaves_it_cancelled() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    let ticket = app.ticket(&app.user(), 100).await;
    let order = app.ordered(&buyer, &ticket).await;
    let id = id_of(&order);
    assert_eq!(app.cancel(Some(&buyer), &id).await.status(), 204);
    app.publish(&PaymentCreated {
        id: "p1".into(),
        order_id: id.clone(),
        stripe_id: "ch_1".into(),
    })
    .await;
    // A completion of another order after it shows the payment was handled.
    let other_ticket = app.ticket(&app.user(), 100).await;
    let other = app.ordered(&buyer, &other_ticket).await;
    app.confirm_lock(&other_ticket, &id_of(&other)).await;
    app.publish(&PaymentCreated {
        id: "p2".into(),
        order_id: id_of(&other),
        stripe_id: "ch_2".into(),
    })
    .await;
    app.order_when(&buyer, &id_of(&other), "the other completion", |o| {
        o["status"] == "complete"
    })
    .await;

    let still = app.order(&buyer, &id).await;
    assert_eq!(still["status"], "cancelled");
    assert_eq!(still["version"], 1);
    assert!(
        app.events::<OrderCompleted>()
            .await
            .iter()
            .all(|e| e.id != id)
    );
}
