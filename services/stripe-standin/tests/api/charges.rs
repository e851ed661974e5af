use serde_json::json;

use crate::helpers::{TestStripe, charge_form, read};

#[tokio::test]
async fn a_charge_lands_in_the_ledger_and_is_answered_with_the_charge_object() {
    let app = TestStripe::start().await;

    let (status, body) = read(app.charge(Some("k1"), &charge_form("o1", "tok_visa")).await).await;

    assert_eq!(status, 200, "{body}");
    let charges = app.stripe.charges();
    assert_eq!(charges.len(), 1);
    let charge = &charges[0];
    assert!(charge.id.starts_with("ch_"));
    assert_eq!(
        (
            charge.amount,
            charge.currency.as_str(),
            charge.source.as_str()
        ),
        (1000, "usd", "tok_visa")
    );
    assert_eq!(charge.metadata["order_id"], "o1");
    assert_eq!(charge.idempotency_key.as_deref(), Some("k1"));
    assert_eq!(body["id"], charge.id.as_str());
    assert_eq!(body["object"], "charge");
    assert_eq!(body["status"], "succeeded");
    assert_eq!(body["paid"], true);
    assert_eq!(body["refunded"], false);
    assert_eq!(body["amount_refunded"], 0);
    assert_eq!(body["metadata"], json!({"order_id": "o1"}));
    assert_eq!(body["created"], charge.created);
}

#[tokio::test]
async fn every_request_is_recorded_with_its_key_authorization_and_form() {
    let app = TestStripe::start().await;

    app.charge(Some("k1"), &charge_form("o1", "tok_mastercard"))
        .await;

    let received = app.stripe.wait_for_requests("/v1/charges", 1).await;
    assert_eq!(received[0].method, "POST");
    assert_eq!(received[0].idempotency_key.as_deref(), Some("k1"));
    assert_eq!(
        received[0].authorization.as_deref(),
        Some("Bearer sk_test_standin")
    );
    assert_eq!(
        received[0].content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(received[0].param("metadata[order_id]"), Some("o1"));
    assert_eq!(received[0].param("source"), Some("tok_mastercard"));
}

#[tokio::test]
async fn a_charge_without_a_secret_key_is_refused_with_401_and_charges_nothing() {
    let app = TestStripe::start().await;
    let url = format!("{}/v1/charges", app.stripe.url());
    let client = reqwest::Client::new();

    let anonymous = client.post(&url).form(&charge_form("o1", "tok_visa"));
    let (status, body) = read(anonymous.send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("You did not provide an API key.")
    );

    let publishable = client
        .post(&url)
        .bearer_auth("pk_test_123456789")
        .form(&charge_form("o1", "tok_visa"));
    let (status, body) = read(publishable.send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error"]["message"],
        "Invalid API Key provided: pk_test_*****6789"
    );

    assert!(app.stripe.charges().is_empty());
    assert_eq!(app.stripe.requests().len(), 2);
}

#[tokio::test]
async fn a_declined_card_is_answered_402_and_kept_out_of_the_ledger() {
    let app = TestStripe::start().await;

    let (status, body) = read(
        app.charge(Some("k1"), &charge_form("o1", "tok_chargeDeclined"))
            .await,
    )
    .await;

    assert_eq!(status, 402);
    let error = &body["error"];
    assert_eq!(error["type"], "card_error");
    assert_eq!(error["code"], "card_declined");
    assert_eq!(error["decline_code"], "generic_decline");
    assert_eq!(error["message"], "Your card was declined.");
    assert!(app.stripe.charges().is_empty());
    // Stripe keeps the attempt as a failed charge, named in the error.
    let declined = app.stripe.declined_charges();
    assert_eq!(declined.len(), 1);
    assert_eq!(error["charge"], declined[0].id.as_str());
    let (status, failed) = read(
        app.get(&format!("/v1/charges/{}", declined[0].id), &[])
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["paid"], false);
    assert_eq!(failed["failure_code"], "card_declined");
}

#[tokio::test]
async fn an_unknown_token_is_an_invalid_request_naming_the_token() {
    let app = TestStripe::start().await;

    let (status, body) = read(app.charge(None, &charge_form("o1", "tok_nope")).await).await;

    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["code"], "resource_missing");
    assert_eq!(body["error"]["param"], "source");
    assert_eq!(body["error"]["message"], "No such token: 'tok_nope'");
    assert!(app.stripe.charges().is_empty());
    assert!(app.stripe.declined_charges().is_empty());
}

#[tokio::test]
async fn a_charge_missing_its_amount_is_an_invalid_request() {
    let app = TestStripe::start().await;

    let form = [("currency", "usd"), ("source", "tok_visa")];
    let (status, body) = read(app.charge(None, &form).await).await;

    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["message"], "Missing required param: amount.");
    assert_eq!(body["error"]["param"], "amount");
    assert!(app.stripe.charges().is_empty());
}

#[tokio::test]
async fn a_charge_reads_by_its_id_and_an_unknown_id_is_404() {
    let app = TestStripe::start().await;
    let (_, made) = read(app.charge(None, &charge_form("o1", "tok_amex")).await).await;

    let (status, body) = read(
        app.get(
            &format!("/v1/charges/{}", made["id"].as_str().unwrap()),
            &[],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, made);

    let (status, body) = read(app.get("/v1/charges/ch_nope", &[]).await).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["message"], "No such charge: 'ch_nope'");
}

#[tokio::test]
async fn an_unknown_url_is_404_as_on_stripe() {
    let app = TestStripe::start().await;

    let (status, body) = read(app.post("/v1/payment_intents", None, &[]).await).await;

    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Unrecognized request URL (POST: /v1/payment_intents).")
    );
}
