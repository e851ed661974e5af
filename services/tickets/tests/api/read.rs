use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn show_returns_the_ticket_to_anyone() {
    let app = TestApp::spawn().await;
    let ticket = app.listed(&app.user(), "Concert", 20.0).await;
    let shown = app.ticket(&id_of(&ticket)).await;
    assert_eq!(shown, ticket);
}

#[tokio::test]
async fn show_returns_404_for_unknown_and_malformed_ids() {
    let app = TestApp::spawn().await;
    for id in [
        common::db::new_id(),
        "not-an-id".to_owned(),
        "ticket:x".to_owned(),
        "%27%20OR%201%3D1".to_owned(),
    ] {
        let response = app.show(&id).await;
        assert_eq!(response.status(), 404, "{id}");
        assert_eq!(errors(response).await, [("Not Found".to_owned(), None)]);
    }
}

#[tokio::test]
async fn list_returns_only_tickets_available_to_buy_newest_first() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let first = app.listed(&seller, "First", 10.0).await;
    let second = app.listed(&seller, "Second", 10.0).await;
    let third = app.listed(&seller, "Third", 10.0).await;

    app.publish(&order_created("o-reserved", &second)).await;
    app.publish(&order_created("o-sold", &third)).await;
    app.publish(&order_completed("o-sold", &id_of(&third)))
        .await;
    app.ticket_when(&id_of(&third), "sold", |t| t["status"] == "sold")
        .await;
    app.ticket_when(&id_of(&second), "reserved", |t| t["status"] == "reserved")
        .await;

    let listed = app.list().await;
    assert_eq!(listed, [first]);
    let _ = json!(null);
}
