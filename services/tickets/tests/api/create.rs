use common::contract::routes;
use common::events::TicketCreated;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn create_returns_401_when_anonymous_even_with_a_bad_body() {
    let app = TestApp::spawn().await;
    for body in [
        json!({"title": "Concert", "price": 10}),
        json!({"title": "", "price": -1}),
    ] {
        let response = app.create(None, &body).await;
        assert_eq!(response.status(), 401);
        assert_eq!(
            errors(response).await,
            [("Not authorized".to_owned(), None)]
        );
    }
}

#[tokio::test]
async fn create_returns_201_with_version_0_and_publishes_ticket_created() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let response = app
        .create(
            Some(&seller),
            &json!({"title": "  Concert ", "price": 10.5}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let ticket: Value = response.json().await.unwrap();
    assert_eq!(ticket["title"], "Concert");
    assert_eq!(ticket["price"], 10.5);
    assert_eq!(ticket["userId"], seller.id.as_str());
    assert_eq!(ticket["version"], 0);
    assert_eq!(ticket["status"], "available");
    assert!(ticket.get("orderId").is_none());

    let id = id_of(&ticket);
    let event = common::testing::eventually("ticket:created", || async {
        app.events::<TicketCreated>()
            .await
            .into_iter()
            .find(|e| e.id == id)
    })
    .await;
    assert_eq!(event.version, 0);
    assert_eq!(event.title, "Concert");
    assert_eq!(event.price.cents(), 1050);
    assert_eq!(event.user_id, seller.id);
}

#[tokio::test]
async fn create_returns_400_when_the_title_is_missing_or_blank() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    for body in [
        json!({"price": 10}),
        json!({"title": "   ", "price": 10}),
        json!({"title": 7, "price": 10}),
    ] {
        let response = app.create(Some(&seller), &body).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(
            errors(response).await,
            [("Title is required".to_owned(), Some("title".to_owned()))]
        );
    }
}

#[tokio::test]
async fn create_returns_400_for_prices_that_are_not_positive_two_decimal_numbers() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let cases: [(Value, &str); 9] = [
        (json!(0), "Price must be greater than 0"),
        (json!(-10), "Price must be greater than 0"),
        (Value::Null, "Price must be greater than 0"),
        (json!(10.123), "Price can have at most two decimal places"),
        (json!("ten"), "Price must be a number"),
        (json!("10.123"), "Price must be a number"),
        (json!("-10"), "Price must be a number"),
        (json!(1e300), "Price must be at most 1000000"),
        (json!(10_000_000_000u64), "Price must be at most 1000000"),
    ];
    for (price, message) in cases {
        let response = app
            .create(Some(&seller), &json!({"title": "Concert", "price": price}))
            .await;
        assert_eq!(response.status(), 400, "{price}");
        assert_eq!(
            errors(response).await,
            [(message.to_owned(), Some("price".to_owned()))],
            "{price}"
        );
    }
    assert!(app.list().await.is_empty(), "nothing was created");
}

/// The original course client sends the price as the form's text (`"20.00"`), which the
/// original API accepted.
#[tokio::test]
async fn a_price_sent_as_a_string_is_read_exactly_as_the_number() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    for (text, written) in [("20.00", json!(20)), ("10.5", json!(10.5)), ("7", json!(7))] {
        let response = app
            .create(Some(&seller), &json!({"title": "Concert", "price": text}))
            .await;
        assert_eq!(response.status(), 201, "{text}");
        let ticket: Value = response.json().await.unwrap();
        assert_eq!(ticket["price"], written, "{text}: written back as a number");
    }
    let ticket = id_of(&app.listed(&seller, "Edited", 5.0).await);
    let response = app
        .update(
            Some(&seller),
            &ticket,
            &json!({"title": "Edited", "price": "12.50"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["price"], json!(12.5));
}

#[tokio::test]
async fn create_reports_both_fields_at_once() {
    let app = TestApp::spawn().await;
    let response = app.create(Some(&app.user()), &json!({})).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        errors(response).await,
        [
            ("Title is required".to_owned(), Some("title".to_owned())),
            (
                "Price must be greater than 0".to_owned(),
                Some("price".to_owned())
            ),
        ]
    );
}

#[tokio::test]
async fn a_nan_price_is_not_json_and_is_refused() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let response = app
        .api
        .http
        .post(app.api.url(routes::TICKETS))
        .header(reqwest::header::COOKIE, &seller.cookie)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(r#"{"title": "Concert", "price": NaN}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(app.list().await.is_empty());
}
