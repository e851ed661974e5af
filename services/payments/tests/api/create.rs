use common::events::PaymentCreated;
use common::testing::{EventFlow, eventually};
use payments::gateway::sandbox::Sandbox;
use payments::store;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn paying_returns_401_when_anonymous_before_validating() {
    let app = TestApp::spawn().await;
    for body in [pay_body(&common::db::new_id(), "tok_visa"), json!({})] {
        let response = app.pay(None, &body).await;
        assert_eq!(response.status(), 401);
        assert_eq!(errors(response).await, [message("Not authorized")]);
    }
}

#[tokio::test]
async fn paying_requires_an_order_id_and_a_token() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    let response = app.pay(Some(&buyer), &json!({})).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        errors(response).await,
        [
            (
                "Order id is required".to_owned(),
                Some("orderId".to_owned())
            ),
            ("Token is required".to_owned(), Some("token".to_owned())),
        ]
    );
    let response = app
        .pay(
            Some(&buyer),
            &json!({"orderId": common::db::new_id(), "token": ""}),
        )
        .await;
    assert_eq!(
        errors(response).await,
        [("Token is required".to_owned(), Some("token".to_owned()))]
    );
}

#[tokio::test]
async fn paying_for_an_unknown_order_returns_404() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    for id in [common::db::new_id(), "bogus".to_owned()] {
        let response = app.pay(Some(&buyer), &pay_body(&id, "tok_visa")).await;
        assert_eq!(response.status(), 404);
        assert_eq!(errors(response).await, [message("Not Found")]);
    }
}

#[tokio::test]
async fn paying_for_someone_elses_order_returns_401_and_charges_nothing() {
    let app = TestApp::spawn().await;
    let order = app.order(&app.user(), 1000).await;
    let response = app
        .pay(Some(&app.user()), &pay_body(&order, "tok_visa"))
        .await;
    assert_eq!(response.status(), 401);
    assert!(Sandbox::charges(&app.db).await.unwrap().is_empty());
}

#[tokio::test]
async fn paying_for_a_cancelled_order_returns_400() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    let order = app.order(&buyer, 1000).await;
    app.cancel_order(&order, 1).await;
    let response = app.pay(Some(&buyer), &pay_body(&order, "tok_visa")).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        errors(response).await,
        [message("Cannot pay for a cancelled order")]
    );
    assert!(Sandbox::charges(&app.db).await.unwrap().is_empty());
}

#[tokio::test]
async fn paying_charges_the_price_in_cents_and_publishes_payment_created() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    let flow = EventFlow::start(&app.bus).await;
    let order = new_order(&buyer, 1050);
    flow.publish(&order).await;
    let order = order.id;
    eventually("the order in the replica", || async {
        store::order(&app.db, &order).await.unwrap()
    })
    .await;
    let response = app.pay(Some(&buyer), &pay_body(&order, "tok_visa")).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["orderId"], order.as_str());
    let stripe_id = body["stripeId"].as_str().unwrap().to_owned();
    assert!(stripe_id.starts_with("ch_"));
    let id = body["id"].as_str().unwrap().to_owned();

    let charges = Sandbox::charges(&app.db).await.unwrap();
    assert_eq!(charges.len(), 1);
    assert_eq!(
        (charges[0].amount, charges[0].currency.as_str()),
        (1050, "usd")
    );
    assert_eq!(charges[0].charge_id, stripe_id);

    let event = flow
        .expect("the payment announced", |e: &PaymentCreated| {
            e.order_id == order
        })
        .await;
    assert_eq!((event.id, event.stripe_id), (id, stripe_id));
}

#[tokio::test]
async fn paying_a_paid_order_again_returns_400_and_charges_once() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    let order = app.order(&buyer, 1000).await;
    assert_eq!(
        app.pay(Some(&buyer), &pay_body(&order, "tok_visa"))
            .await
            .status(),
        201
    );
    let response = app
        .pay(Some(&buyer), &pay_body(&order, "tok_mastercard"))
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(errors(response).await, [message("Order is already paid")]);

    app.complete_order(&order).await;
    let response = app.pay(Some(&buyer), &pay_body(&order, "tok_visa")).await;
    assert_eq!(errors(response).await, [message("Order is already paid")]);
    assert_eq!(Sandbox::charges(&app.db).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_declined_card_or_unknown_token_gives_the_providers_message_and_can_be_retried() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    let order = app.order(&buyer, 1000).await;
    let response = app
        .pay(Some(&buyer), &pay_body(&order, "tok_chargeDeclined"))
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(errors(response).await, [message("Your card was declined.")]);
    let response = app.pay(Some(&buyer), &pay_body(&order, "tok_bogus")).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        errors(response).await,
        [message("No such token: 'tok_bogus'")]
    );
    assert!(store::payment_for(&app.db, &order).await.unwrap().is_none());

    assert_eq!(
        app.pay(Some(&buyer), &pay_body(&order, "tok_visa"))
            .await
            .status(),
        201
    );
    assert_eq!(Sandbox::charges(&app.db).await.unwrap().len(), 1);
}
