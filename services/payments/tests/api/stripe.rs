//! The Stripe gateway against the stand-in: what goes over the wire, and how Stripe's
//! answers are told apart.

use payments::gateway::stripe::Stripe;
use payments::gateway::{ChargeRequest, Gateway, GatewayError};
use serde_json::Value;
use stripe_standin::StripeStandIn;

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
async fn a_charge_is_a_form_post_with_the_key_amount_currency_metadata_and_idempotency_key() {
    let standin = StripeStandIn::start().await;
    let stripe = Stripe::new("sk_test_secret".into(), &standin.url()).unwrap();
    let charge = stripe.charge(&request("tok_visa")).await.unwrap();

    let ledger = standin.charges();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].id, charge.id);
    let call = &standin.requests()[0];
    assert_eq!(call.path, "/v1/charges");
    assert_eq!(call.authorization.as_deref(), Some("Bearer sk_test_secret"));
    assert_eq!(call.idempotency_key.as_deref(), Some("charge-o1-1"));
    assert_eq!(
        call.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(call.param("amount"), Some("1999"));
    assert_eq!(call.param("currency"), Some("usd"));
    assert_eq!(call.param("source"), Some("tok_visa"));
    assert_eq!(call.param("metadata[order_id]"), Some("o1"));
    assert_eq!(call.param("metadata[attempt]"), Some("charge-o1-1"));
}

#[tokio::test]
async fn a_replayed_charge_gets_the_original_answer_and_charges_once() {
    let standin = StripeStandIn::start().await;
    let stripe = Stripe::new("sk_test_secret".into(), &standin.url()).unwrap();
    let first = stripe.charge(&request("tok_visa")).await.unwrap();
    let again = stripe.charge(&request("tok_visa")).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(standin.charges().len(), 1);
}

#[tokio::test]
async fn a_refund_posts_the_charge_with_its_own_idempotency_key() {
    let standin = StripeStandIn::start().await;
    let stripe = Stripe::new("sk_test_secret".into(), &standin.url()).unwrap();
    let charge = stripe.charge(&request("tok_visa")).await.unwrap();
    let key = format!("refund-{}", charge.id);
    stripe.refund(&charge.id, &key).await.unwrap();
    // A second refund of a refunded charge is not an error.
    stripe.refund(&charge.id, "refund-again").await.unwrap();
    let refunds = standin.refunds();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].charge, charge.id);
    assert_eq!(refunds[0].idempotency_key.as_deref(), Some(key.as_str()));
    assert!(standin.charges()[0].refunded);
}

#[tokio::test]
async fn the_charge_search_finds_an_orders_charges_and_which_attempt_made_them() {
    let standin = StripeStandIn::start().await;
    let stripe = Stripe::new("sk_test_secret".into(), &standin.url()).unwrap();
    let charge = stripe.charge(&request("tok_visa")).await.unwrap();
    let other = ChargeRequest {
        order_id: "o2".into(),
        idempotency_key: "charge-o2-1".into(),
        ..request("tok_visa")
    };
    stripe.charge(&other).await.unwrap();
    // A declined charge is no charge.
    let declined = ChargeRequest {
        idempotency_key: "charge-o1-2".into(),
        ..request("tok_chargeDeclined")
    };
    assert!(stripe.charge(&declined).await.is_err());

    let found = stripe.charges_for_order("o1").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, charge.id);
    assert_eq!(found[0].amount, 1999);
    assert_eq!(found[0].attempt.as_deref(), Some("charge-o1-1"));
    assert!(!found[0].refunded);
    assert!(stripe.charges_for_order("o3").await.unwrap().is_empty());
}

#[tokio::test]
async fn declines_invalid_tokens_and_outages_are_told_apart() {
    let standin = StripeStandIn::start().await;
    let stripe = Stripe::new("sk_test".into(), &standin.url()).unwrap();
    assert_eq!(
        stripe.charge(&request("tok_chargeDeclined")).await,
        Err(GatewayError::Declined("Your card was declined.".into()))
    );
    let unknown = ChargeRequest {
        idempotency_key: "charge-o1-2".into(),
        ..request("tok_nope")
    };
    assert_eq!(
        stripe.charge(&unknown).await,
        Err(GatewayError::Invalid("No such token: 'tok_nope'".into()))
    );
    standin.set_down(true);
    let later = ChargeRequest {
        idempotency_key: "charge-o1-3".into(),
        ..request("tok_visa")
    };
    assert!(matches!(
        stripe.charge(&later).await,
        Err(GatewayError::Unavailable(_))
    ));
    assert!(matches!(
        stripe.charges_for_order("o1").await,
        Err(GatewayError::Unavailable(_))
    ));
    let unreachable = format!("http://127.0.0.1:{}", common::testing::free_port());
    let stripe = Stripe::new("sk_test".into(), &unreachable).unwrap();
    assert!(matches!(
        stripe.charge(&request("tok_visa")).await,
        Err(GatewayError::Unavailable(_))
    ));
}

/// Stripe refuses a key reused with other parameters; that is no decline of the card, so
/// the attempt's outcome stays unknown rather than failed.
#[tokio::test]
async fn a_key_reused_with_other_parameters_is_an_outage_not_a_decline() {
    let standin = StripeStandIn::start().await;
    let stripe = Stripe::new("sk_test".into(), &standin.url()).unwrap();
    stripe.charge(&request("tok_visa")).await.unwrap();
    assert!(matches!(
        stripe.charge(&request("tok_mastercard")).await,
        Err(GatewayError::Unavailable(_))
    ));
}

#[tokio::test]
async fn through_the_service_a_decline_is_a_400_and_an_outage_a_502() {
    let standin = StripeStandIn::start().await;
    let app = TestApp::spawn_with(Some(&standin.url())).await;
    let buyer = app.user();
    let order = app.order(&buyer, 1000).await;
    let response = app
        .pay(Some(&buyer), &pay_body(&order, "tok_chargeDeclined"))
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(errors(response).await, [message("Your card was declined.")]);

    standin.set_down(true);
    let response = app.pay(Some(&buyer), &pay_body(&order, "tok_visa")).await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    let text = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        !text.contains("api_error") && !text.contains("500"),
        "no provider internals: {text}"
    );
    assert!(standin.charges().is_empty());
}

#[tokio::test]
async fn through_the_service_a_charge_uses_the_order_price_and_a_key_per_attempt() {
    let standin = StripeStandIn::start().await;
    let app = TestApp::spawn_with(Some(&standin.url())).await;
    let buyer = app.user();
    let order = app.order(&buyer, 4321).await;
    let response = app.pay(Some(&buyer), &pay_body(&order, "tok_visa")).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let ledger = standin.charges();
    assert_eq!(ledger.len(), 1);
    assert_eq!(body["stripeId"], ledger[0].id.as_str());
    assert_eq!(ledger[0].amount, 4321);
    assert_eq!(ledger[0].idempotency_key, Some(format!("charge-{order}-1")));
    assert_eq!(
        ledger[0].metadata.get("order_id").map(String::as_str),
        Some(order.as_str())
    );
}
