use common::events::{OrderCancelled, PaymentCreated};
use common::testing::eventually;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn the_buyer_cancels_with_204_and_the_ticket_can_be_bought_again() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    let ticket = app.ticket(&app.user(), 100).await;
    let order = app.ordered(&buyer, &ticket).await;
    let id = id_of(&order);

    let response = app.cancel(Some(&buyer), &id).await;
    assert_eq!(response.status(), 204);
    let cancelled = app.order(&buyer, &id).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancelReason"], "buyer");
    assert_eq!(cancelled["version"], 1);

    let event = eventually("order:cancelled", || async {
        app.events::<OrderCancelled>()
            .await
            .into_iter()
            .find(|e| e.id == id)
    })
    .await;
    assert_eq!(event.version, 1);
    assert_eq!(event.ticket.id, ticket);

    app.ordered(&app.user(), &ticket).await;
}

#[tokio::test]
async fn cancelling_a_cancelled_order_changes_nothing_and_publishes_nothing() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    let order = app
        .ordered(&buyer, &app.ticket(&app.user(), 100).await)
        .await;
    let id = id_of(&order);
    assert_eq!(app.cancel(Some(&buyer), &id).await.status(), 204);
    let cancelled = app.order(&buyer, &id).await;
    assert_eq!(app.cancel(Some(&buyer), &id).await.status(), 204);
    assert_eq!(app.order(&buyer, &id).await, cancelled);
    // A later event from the same outbox shows the relay has caught up.
    let other = app
        .ordered(&buyer, &app.ticket(&app.user(), 100).await)
        .await;
    assert_eq!(app.cancel(Some(&buyer), &id_of(&other)).await.status(), 204);
    let events = eventually("both cancellations", || async {
        let events = app.events::<OrderCancelled>().await;
        (events.len() == 2).then_some(events)
    })
    .await;
    assert_eq!(events.iter().filter(|e| e.id == id).count(), 1);
}

#[tokio::test]
async fn cancelling_a_completed_order_returns_400() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    let ticket = app.ticket(&app.user(), 100).await;
    let order = app.ordered(&buyer, &ticket).await;
    let id = id_of(&order);
    app.confirm_lock(&ticket, &id).await;
    app.publish(&PaymentCreated {
        id: "p1".into(),
        order_id: id.clone(),
        stripe_id: "ch_1".into(),
    })
    .await;
    let complete = app
        .order_when(&buyer, &id, "completion", |o| o["status"] == "complete")
        .await;

    let response = app.cancel(Some(&buyer), &id).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        errors(response).await,
        [message("Cannot cancel a completed order")]
    );
    assert_eq!(app.order(&buyer, &id).await, complete);
}

#[tokio::test]
async fn only_the_buyer_can_cancel() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    let order = app
        .ordered(&buyer, &app.ticket(&app.user(), 100).await)
        .await;
    let id = id_of(&order);
    assert_eq!(app.cancel(None, &id).await.status(), 401);
    assert_eq!(app.cancel(Some(&app.user()), &id).await.status(), 401);
    assert_eq!(
        app.cancel(Some(&buyer), &common::db::new_id())
            .await
            .status(),
        404
    );
    assert_eq!(app.order(&buyer, &id).await, order, "unchanged");
    let _ = json!(null);
}
