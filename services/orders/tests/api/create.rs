use common::events::OrderCreated;
use common::testing::eventually;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::helpers::*;

#[tokio::test]
async fn create_returns_401_when_anonymous_before_validating() {
    let app = TestApp::spawn().await;
    for body in [json!({"ticketId": common::db::new_id()}), json!({})] {
        let response = app.create(None, &body).await;
        assert_eq!(response.status(), 401);
        assert_eq!(errors(response).await, [message("Not authorized")]);
    }
}

#[tokio::test]
async fn create_returns_400_when_the_ticket_id_is_missing() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    for body in [
        json!({}),
        json!({"ticketId": ""}),
        json!({"ticketId": "  "}),
        json!({"ticketId": 12}),
    ] {
        let response = app.create(Some(&buyer), &body).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(
            errors(response).await,
            [(
                "TicketId must be provided".to_owned(),
                Some("ticketId".to_owned())
            )]
        );
    }
}

#[tokio::test]
async fn create_returns_404_for_an_unknown_ticket() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    for id in [common::db::new_id(), "nope".to_owned()] {
        let response = app.create(Some(&buyer), &json!({"ticketId": id})).await;
        assert_eq!(response.status(), 404);
        assert_eq!(errors(response).await, [message("Not Found")]);
    }
}

#[tokio::test]
async fn create_returns_400_for_your_own_ticket() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let ticket = app.ticket(&seller, 1000).await;
    let response = app
        .create(Some(&seller), &json!({"ticketId": ticket}))
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        errors(response).await,
        [message("You cannot buy your own ticket")]
    );
}

#[tokio::test]
async fn create_reserves_the_ticket_for_the_window_and_publishes_order_created() {
    let app = TestApp::spawn().await;
    let (seller, buyer) = (app.user(), app.user());
    let ticket = app.ticket(&seller, 1050).await;
    let before = OffsetDateTime::now_utc();
    let response = app.create(Some(&buyer), &json!({"ticketId": ticket})).await;
    let after = OffsetDateTime::now_utc();
    assert_eq!(response.status(), 201);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["status"], "created");
    assert_eq!(order["version"], 0);
    assert_eq!(order["userId"], buyer.id.as_str());
    assert_eq!(
        order["ticket"],
        json!({"id": ticket, "title": "Concert", "price": 10.5, "version": 0})
    );
    assert!(order.get("cancelReason").is_none());
    let expires_at = OffsetDateTime::parse(order["expiresAt"].as_str().unwrap(), &Rfc3339).unwrap();
    assert!(order["expiresAt"].as_str().unwrap().ends_with('Z'), "UTC");
    assert!(expires_at >= before + WINDOW - time::Duration::milliseconds(1));
    assert!(expires_at <= after + WINDOW);

    let id = id_of(&order);
    let event = eventually("order:created", || async {
        app.events::<OrderCreated>()
            .await
            .into_iter()
            .find(|e| e.id == id)
    })
    .await;
    assert_eq!(event.version, 0);
    assert_eq!(event.user_id, buyer.id);
    assert_eq!(event.ticket.id, ticket);
    assert_eq!(event.ticket.price.cents(), 1050);
    assert_eq!(event.ticket.version, 0);
    assert_eq!(event.expires_at, expires_at);
}

#[tokio::test]
async fn a_second_purchase_of_a_reserved_ticket_returns_400() {
    let app = TestApp::spawn().await;
    let ticket = app.ticket(&app.user(), 1000).await;
    app.ordered(&app.user(), &ticket).await;
    let response = app
        .create(Some(&app.user()), &json!({"ticketId": ticket}))
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        errors(response).await,
        [message("Ticket is already reserved")]
    );
}

#[tokio::test]
async fn fifty_simultaneous_purchases_of_one_ticket_make_one_order() {
    let app = TestApp::spawn().await;
    let ticket = app.ticket(&app.user(), 1000).await;
    let buyers: Vec<User> = (0..50).map(|_| app.user()).collect();
    let attempts = buyers.iter().map(|buyer| {
        let (app, ticket) = (&app, &ticket);
        async move { app.create(Some(buyer), &json!({"ticketId": ticket})).await }
    });
    let responses = futures::future::join_all(attempts).await;
    let created = responses.iter().filter(|r| r.status() == 201).count();
    assert_eq!(created, 1);
    for response in responses.into_iter().filter(|r| r.status() != 201) {
        assert_eq!(response.status(), 400);
        assert_eq!(
            errors(response).await,
            [message("Ticket is already reserved")]
        );
    }
}
