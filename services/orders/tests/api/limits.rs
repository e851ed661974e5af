//! Hoarding: one buyer may hold at most `MAX_OPEN_ORDERS` open orders at once.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::*;

const TOO_MANY: &str = "You have too many open orders. Pay for or cancel one first.";

/// `count` tickets of a fresh seller, replicated.
async fn tickets(app: &TestApp, count: u32) -> Vec<String> {
    let seller = app.user();
    let mut ids = Vec::new();
    for _ in 0..count {
        ids.push(app.ticket(&seller, 100).await);
    }
    ids
}

/// `buyer`'s orders that are created or awaiting payment.
async fn open_orders(app: &TestApp, buyer: &User) -> Vec<Value> {
    let response = app.list(Some(buyer)).await;
    assert_eq!(response.status(), 200);
    let orders: Vec<Value> = response.json().await.unwrap();
    orders
        .into_iter()
        .filter(|o| o["status"] == "created" || o["status"] == "awaiting:payment")
        .collect()
}

#[tokio::test]
async fn create_returns_429_with_retry_after_when_the_buyer_has_too_many_open_orders() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    let ids = tickets(&app, MAX_OPEN_ORDERS + 1).await;
    for id in &ids[..MAX_OPEN_ORDERS as usize] {
        app.ordered(&buyer, id).await;
    }

    let response = app
        .create(Some(&buyer), &json!({"ticketId": ids.last().unwrap()}))
        .await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=WINDOW.as_secs()).contains(&retry_after),
        "Retry-After {retry_after} is the time until the first open order expires"
    );
    assert_eq!(errors(response).await, [message(TOO_MANY)]);
    assert_eq!(
        open_orders(&app, &buyer).await.len(),
        MAX_OPEN_ORDERS as usize
    );
}

#[tokio::test]
async fn a_buyer_at_the_limit_still_gets_400_and_404_before_429() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    for id in tickets(&app, MAX_OPEN_ORDERS).await {
        app.ordered(&buyer, &id).await;
    }

    let response = app.create(Some(&buyer), &json!({})).await;
    assert_eq!(response.status(), 400);
    let response = app
        .create(Some(&buyer), &json!({"ticketId": common::db::new_id()}))
        .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn another_buyer_can_still_order_when_one_buyer_is_at_the_limit() {
    let app = TestApp::spawn().await;
    let hoarder = app.user();
    let ids = tickets(&app, MAX_OPEN_ORDERS + 1).await;
    for id in &ids[..MAX_OPEN_ORDERS as usize] {
        app.ordered(&hoarder, id).await;
    }

    let order = app.ordered(&app.user(), ids.last().unwrap()).await;
    assert_eq!(order["status"], "created");
}

#[tokio::test]
async fn cancelling_an_open_order_frees_a_place_for_the_next_one() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    let ids = tickets(&app, MAX_OPEN_ORDERS + 1).await;
    let mut orders = Vec::new();
    for id in &ids[..MAX_OPEN_ORDERS as usize] {
        orders.push(app.ordered(&buyer, id).await);
    }
    let last = json!({"ticketId": ids.last().unwrap()});
    assert_eq!(app.create(Some(&buyer), &last).await.status(), 429);

    let response = app.cancel(Some(&buyer), &id_of(&orders[0])).await;
    assert_eq!(response.status(), 204);

    let response = app.create(Some(&buyer), &last).await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        open_orders(&app, &buyer).await.len(),
        MAX_OPEN_ORDERS as usize
    );
}

#[tokio::test]
async fn parallel_orders_by_one_buyer_never_leave_more_than_the_limit_open() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    let ids = tickets(&app, MAX_OPEN_ORDERS * 2).await;

    let bodies: Vec<Value> = ids.iter().map(|id| json!({"ticketId": id})).collect();
    let responses = join_all(bodies.iter().map(|body| app.create(Some(&buyer), body))).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    let created = statuses.iter().filter(|&&s| s == 201).count();
    assert!(created <= MAX_OPEN_ORDERS as usize, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [201, 409, 429].contains(s)),
        "every refusal says the limit or asks to retry: {statuses:?}"
    );
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(open_orders(&app, &buyer).await.len(), created);
}
