use payments::gateway::stripe::Stripe;
use payments::gateway::{ChargeRequest, Gateway, GatewayError};
use serde_json::Value;

use crate::helpers::*;

fn request(token: &str) -> ChargeRequest {
    ChargeRequest {
        amount: 1999,
        currency: "usd".into(),
        source: token.into(),
        description: "GitTix order o1".into(),
        order_id: "o1".into(),
        idempotency_key: "charge-o1-1".into(),
    }
}

#[tokio::test]
async fn a_charge_is_a_form_post_with_the_key_amount_currency_and_idempotency_key() {
    let (base, received) = spawn_stripe(Behaviour::Succeed).await;
    let stripe = Stripe::new("sk_test_secret".into(), &base).unwrap();
    let charge = stripe.charge(&request("tok_visa")).await.unwrap();
    assert_eq!(charge.id, "ch_charge-o1-1");

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let call = &received[0];
    assert_eq!(call.path, "/v1/charges");
    assert_eq!(call.authorization.as_deref(), Some("Bearer sk_test_secret"));
    assert_eq!(call.idempotency_key.as_deref(), Some("charge-o1-1"));
    assert_eq!(
        call.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let field = |name: &str| {
        call.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(field("amount"), Some("1999"));
    assert_eq!(field("currency"), Some("usd"));
    assert_eq!(field("source"), Some("tok_visa"));
    assert_eq!(field("metadata[order_id]"), Some("o1"));
}

#[tokio::test]
async fn a_refund_posts_the_charge_with_its_own_idempotency_key() {
    let (base, received) = spawn_stripe(Behaviour::Succeed).await;
    let stripe = Stripe::new("sk_test_secret".into(), &base).unwrap();
    stripe.refund("ch_123", "refund-p1").await.unwrap();
    let call = received.lock().unwrap()[0].clone();
    assert_eq!(call.path, "/v1/refunds");
    assert_eq!(call.form, [("charge".to_owned(), "ch_123".to_owned())]);
    assert_eq!(call.idempotency_key.as_deref(), Some("refund-p1"));
    assert_eq!(call.authorization.as_deref(), Some("Bearer sk_test_secret"));
}

#[tokio::test]
async fn declines_invalid_tokens_and_outages_are_told_apart() {
    let (declining, _) = spawn_stripe(Behaviour::Decline).await;
    let stripe = Stripe::new("sk_test".into(), &declining).unwrap();
    assert_eq!(
        stripe.charge(&request("tok_visa")).await,
        Err(GatewayError::Declined("Your card was declined.".into()))
    );
    assert_eq!(
        stripe.charge(&request("tok_nope")).await,
        Err(GatewayError::Invalid("No such token: 'tok_nope'".into()))
    );
    let (failing, _) = spawn_stripe(Behaviour::Fail).await;
    let stripe = Stripe::new("sk_test".into(), &failing).unwrap();
    assert!(matches!(
        stripe.charge(&request("tok_visa")).await,
        Err(GatewayError::Unavailable(_))
    ));
    let unreachable = format!("http://127.0.0.1:{}", common::testing::free_port());
    let stripe = Stripe::new("sk_test".into(), &unreachable).unwrap();
    assert!(matches!(
        stripe.charge(&request("tok_visa")).await,
        Err(GatewayError::Unavailable(_))
    ));
}

#[tokio::test]
async fn through_the_service_a_decline_is_a_400_and_an_outage_a_502() {
    let (declining, _) = spawn_stripe(Behaviour::Decline).await;
    let app = TestApp::spawn_with(Some(&declining)).await;
    let buyer = app.user();
    let order = app.order(&buyer, 1000).await;
    let response = app.pay(Some(&buyer), &pay_body(&order, "tok_visa")).await;
    assert_eq!(response.status(), 400);
    assert_eq!(errors(response).await, message("Your card was declined."));

    let (failing, received) = spawn_stripe(Behaviour::Fail).await;
    let app = TestApp::spawn_with(Some(&failing)).await;
    let buyer = app.user();
    let order = app.order(&buyer, 1000).await;
    let response = app.pay(Some(&buyer), &pay_body(&order, "tok_visa")).await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    let text = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        !text.contains("oops") && !text.contains("500"),
        "no provider internals: {text}"
    );
    // A retry after an outage uses the same idempotency key: at most one charge.
    let _ = app.pay(Some(&buyer), &pay_body(&order, "tok_visa")).await;
    let keys: Vec<_> = received
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.idempotency_key.clone())
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1]);
}

#[tokio::test]
async fn through_the_service_a_charge_uses_the_order_price_and_a_key_per_order() {
    let (base, received) = spawn_stripe(Behaviour::Succeed).await;
    let app = TestApp::spawn_with(Some(&base)).await;
    let buyer = app.user();
    let order = app.order(&buyer, 4321).await;
    let response = app.pay(Some(&buyer), &pay_body(&order, "tok_visa")).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["stripeId"], format!("ch_charge-{order}-1"));
    let call = received.lock().unwrap()[0].clone();
    assert!(
        call.form
            .contains(&("amount".to_owned(), "4321".to_owned()))
    );
    assert_eq!(call.idempotency_key, Some(format!("charge-{order}-1")));
}
