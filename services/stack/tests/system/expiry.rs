//! Unpaid orders expire, also across a restart of the expiration service.

use common::contract::routes;
use std::time::Duration;

use reqwest::Method;

use crate::helpers::*;

async fn cancelled_for_expiry(system: &System, buyer: &User, order_id: &str) -> serde_json::Value {
    common::testing::eventually("the order to expire", || async {
        let order = system.order(buyer, order_id).await;
        (order["status"] == "cancelled").then_some(order)
    })
    .await
}

async fn for_sale_again(system: &System, ticket_id: &str) {
    common::testing::eventually("the ticket on sale again", || async {
        let listed = system.get(routes::TICKETS, None).await;
        listed
            .as_array()?
            .iter()
            .any(|t| t["id"] == ticket_id)
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unpaid_order_expires_and_the_ticket_is_for_sale_again() {
    let system = System::start(&[("ORDER_EXPIRATION_SECONDS", "2")]).await;
    let (seller, buyer) = (system.user(), system.user());
    let ticket = system.list_ticket(&seller, "Short window", 12.0).await;
    let (status, order) = system.order_when_replicated(&buyer, &id_of(&ticket)).await;
    assert_eq!(status, 201);

    let expired = cancelled_for_expiry(&system, &buyer, &id_of(&order)).await;
    assert_eq!(expired["cancelReason"], "expired");
    assert_eq!(expired["version"], 1);
    for_sale_again(&system, &id_of(&ticket)).await;
    let ticket = system.ticket(&id_of(&ticket)).await;
    assert_eq!(ticket["status"], "available");
    // Locked, then unlocked: nothing else happened to it.
    assert_eq!(ticket["version"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_still_expires_when_the_expiration_service_was_down_at_the_time() {
    let mut system = System::start(&[("ORDER_EXPIRATION_SECONDS", "2")]).await;
    let (seller, buyer) = (system.user(), system.user());
    let ticket = system.list_ticket(&seller, "Restart", 12.0).await;
    let (status, order) = system.order_when_replicated(&buyer, &id_of(&ticket)).await;
    assert_eq!(status, 201);
    // Give the expiration service the order:created, then stop it before the window ends.
    tokio::time::sleep(Duration::from_millis(500)).await;
    system.stack.instances("expiration")[0]
        .stop(Duration::from_secs(10))
        .await;

    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        system.order(&buyer, &id_of(&order)).await["status"],
        "created",
        "nothing expires it while it is down"
    );

    let expiration = &mut system.stack.instances("expiration")[0];
    expiration.start().unwrap();
    expiration
        .wait_ready(Duration::from_secs(60))
        .await
        .unwrap();
    let expired = cancelled_for_expiry(&system, &buyer, &id_of(&order)).await;
    assert_eq!(expired["cancelReason"], "expired");
    for_sale_again(&system, &id_of(&ticket)).await;
    let (status, _) = system
        .send(
            Method::POST,
            routes::ORDERS,
            Some(&system.user()),
            Some(serde_json::json!({"ticketId": id_of(&ticket)})),
        )
        .await;
    assert_eq!(status, 201, "it can be bought again");
}
