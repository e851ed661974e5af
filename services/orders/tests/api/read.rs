use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn list_returns_only_the_callers_orders_oldest_first() {
    let app = TestApp::spawn().await;
    let (seller, buyer, other) = (app.user(), app.user(), app.user());
    let first = app.ordered(&buyer, &app.ticket(&seller, 100).await).await;
    app.ordered(&other, &app.ticket(&seller, 200).await).await;
    let second = app.ordered(&buyer, &app.ticket(&seller, 300).await).await;

    let response = app.list(Some(&buyer)).await;
    assert_eq!(response.status(), 200);
    let orders: Vec<Value> = response.json().await.unwrap();
    assert_eq!(orders, [first, second]);
}

#[tokio::test]
async fn list_requires_a_user() {
    let app = TestApp::spawn().await;
    let response = app.list(None).await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn show_returns_the_order_to_its_buyer_only() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    let order = app
        .ordered(&buyer, &app.ticket(&app.user(), 100).await)
        .await;
    let id = id_of(&order);
    assert_eq!(app.order(&buyer, &id).await, order);

    let response = app.show(Some(&app.user()), &id).await;
    assert_eq!(response.status(), 401);
    assert_eq!(errors(response).await, [message("Not authorized")]);
    assert_eq!(app.show(None, &id).await.status(), 401);
}

#[tokio::test]
async fn show_returns_404_for_unknown_and_malformed_ids() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    for id in [common::db::new_id(), "x".to_owned(), "orders:1".to_owned()] {
        let response = app.show(Some(&buyer), &id).await;
        assert_eq!(response.status(), 404, "{id}");
        assert_eq!(errors(response).await, [message("Not Found")]);
    }
}
