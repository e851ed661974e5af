use common::events::TicketUpdated;
use serde_json::{Value, json};

use crate::helpers::*;

fn edit() -> Value {
    json!({"title": "Edited", "price": 25})
}

#[tokio::test]
async fn update_returns_401_when_anonymous_before_anything_else() {
    let app = TestApp::spawn().await;
    let ticket = app.listed(&app.user(), "Concert", 10.0).await;
    for (id, body) in [
        (id_of(&ticket), edit()),
        (id_of(&ticket), json!({"title": ""})),
        (common::db::new_id(), json!({"price": -1})),
    ] {
        let response = app.update(None, &id, &body).await;
        assert_eq!(response.status(), 401);
        assert_eq!(
            errors(response).await,
            [("Not authorized".to_owned(), None)]
        );
    }
}

#[tokio::test]
async fn update_validates_before_looking_up_the_ticket() {
    let app = TestApp::spawn().await;
    let user = app.user();
    let response = app
        .update(
            Some(&user),
            &common::db::new_id(),
            &json!({"title": "", "price": 0}),
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(errors(response).await.len(), 2);
}

#[tokio::test]
async fn update_returns_404_for_an_unknown_ticket() {
    let app = TestApp::spawn().await;
    let response = app
        .update(Some(&app.user()), &common::db::new_id(), &edit())
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(errors(response).await, [("Not Found".to_owned(), None)]);
}

#[tokio::test]
async fn update_returns_401_for_another_users_ticket_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let ticket = app.listed(&app.user(), "Concert", 10.0).await;
    let response = app
        .update(Some(&app.user()), &id_of(&ticket), &edit())
        .await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        errors(response).await,
        [("Not authorized".to_owned(), None)]
    );
    assert_eq!(app.ticket(&id_of(&ticket)).await, ticket);
}

#[tokio::test]
async fn update_returns_400_for_a_reserved_ticket_before_checking_the_owner() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let ticket = app.listed(&seller, "Concert", 10.0).await;
    app.publish(&order_created("o1", &ticket)).await;
    let reserved = app
        .ticket_when(&id_of(&ticket), "the lock", |t| t["status"] == "reserved")
        .await;

    for user in [&seller, &app.user()] {
        let response = app.update(Some(user), &id_of(&ticket), &edit()).await;
        assert_eq!(response.status(), 400);
        assert_eq!(
            errors(response).await,
            [("Cannot edit a reserved ticket".to_owned(), None)]
        );
    }
    assert_eq!(
        app.ticket(&id_of(&ticket)).await,
        reserved,
        "unchanged in the database"
    );
}

#[tokio::test]
async fn update_returns_400_for_a_sold_ticket() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let ticket = app.listed(&seller, "Concert", 10.0).await;
    app.publish(&order_created("o1", &ticket)).await;
    app.publish(&order_completed("o1", &id_of(&ticket))).await;
    app.ticket_when(&id_of(&ticket), "sold", |t| t["status"] == "sold")
        .await;
    let response = app.update(Some(&seller), &id_of(&ticket), &edit()).await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn update_by_the_owner_returns_the_ticket_with_the_next_version_and_publishes_it() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let ticket = app.listed(&seller, "Concert", 10.0).await;
    let response = app
        .update(
            Some(&seller),
            &id_of(&ticket),
            &json!({"title": " Gala ", "price": 12.34}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["title"], "Gala");
    assert_eq!(updated["price"], 12.34);
    assert_eq!(updated["version"], 1);
    assert_eq!(updated["status"], "available");
    assert_eq!(app.ticket(&id_of(&ticket)).await, updated);

    let id = id_of(&ticket);
    let event = common::testing::eventually("ticket:updated", || async {
        app.events::<TicketUpdated>()
            .await
            .into_iter()
            .find(|e| e.id == id)
    })
    .await;
    assert_eq!(event.version, 1);
    assert_eq!(event.price.cents(), 1234);
    assert_eq!(event.order_id, None);
}
