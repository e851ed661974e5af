use crate::helpers::{TestStripe, charge_form, read, replayed};

#[tokio::test]
async fn the_same_key_with_the_same_parameters_replays_the_answer_without_a_second_charge() {
    let app = TestStripe::start().await;
    let first = app.charge(Some("k1"), &charge_form("o1", "tok_visa")).await;
    assert!(!replayed(&first));
    let (_, first) = read(first).await;

    let again = app.charge(Some("k1"), &charge_form("o1", "tok_visa")).await;

    assert!(replayed(&again));
    assert_eq!(
        again.headers()["idempotency-key"],
        "k1",
        "the key is echoed"
    );
    let (status, again) = read(again).await;
    assert_eq!(status, 200);
    assert_eq!(again, first);
    assert_eq!(app.stripe.charges().len(), 1);
}

#[tokio::test]
async fn the_same_key_with_other_parameters_is_an_idempotency_error() {
    let app = TestStripe::start().await;
    app.charge(Some("k1"), &charge_form("o1", "tok_visa")).await;

    let (status, body) = read(app.charge(Some("k1"), &charge_form("o2", "tok_visa")).await).await;

    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "idempotency_error");
    assert_eq!(
        body["error"]["message"],
        "Keys for idempotent requests can only be used with the same parameters they were \
         first used with. Try using a key other than 'k1' if you meant to execute a \
         different request."
    );
    assert_eq!(app.stripe.charges().len(), 1);
}

#[tokio::test]
async fn the_same_key_on_another_endpoint_is_an_idempotency_error() {
    let app = TestStripe::start().await;
    app.charge(Some("k1"), &charge_form("o1", "tok_visa")).await;
    let charge = app.stripe.charges().remove(0);

    let (status, body) = read(app.refund(Some("k1"), &[("charge", &charge.id)]).await).await;

    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "idempotency_error");
    assert!(app.stripe.refunds().is_empty());
}

#[tokio::test]
async fn a_decline_is_replayed_too_and_the_card_is_not_charged_again() {
    let app = TestStripe::start().await;
    let (_, first) = read(
        app.charge(Some("k1"), &charge_form("o1", "tok_chargeDeclined"))
            .await,
    )
    .await;

    let again = app
        .charge(Some("k1"), &charge_form("o1", "tok_chargeDeclined"))
        .await;

    assert!(replayed(&again));
    let (status, again) = read(again).await;
    assert_eq!(status, 402);
    assert_eq!(again, first);
    assert_eq!(app.stripe.declined_charges().len(), 1);
}

#[tokio::test]
async fn a_request_that_fails_validation_saves_nothing_under_its_key() {
    let app = TestStripe::start().await;
    let (status, _) = read(
        app.charge(Some("k1"), &[("currency", "usd"), ("source", "tok_visa")])
            .await,
    )
    .await;
    assert_eq!(status, 400);

    let fixed = app.charge(Some("k1"), &charge_form("o1", "tok_visa")).await;

    assert!(!replayed(&fixed));
    assert_eq!(fixed.status(), 200);
    assert_eq!(app.stripe.charges().len(), 1);
}

#[tokio::test]
async fn a_key_whose_first_request_is_still_running_is_a_409_conflict() {
    let app = TestStripe::start().await;
    app.stripe.hold_slow_charges();
    let first = tokio::spawn({
        let app = app.clone();
        async move { read(app.charge(Some("k1"), &charge_form("o1", "tok_slow")).await).await }
    });
    app.stripe.wait_for_held_charges(1).await;

    let (status, body) = read(app.charge(Some("k1"), &charge_form("o1", "tok_slow")).await).await;

    assert_eq!(status, 409);
    assert_eq!(body["error"]["type"], "idempotency_error");
    assert_eq!(body["error"]["code"], "idempotency_key_in_use");
    assert!(app.stripe.charges().is_empty());
    app.stripe.release_slow_charges();
    let (status, first) = first.await.unwrap();
    assert_eq!(status, 200);
    let (_, third) = read(app.charge(Some("k1"), &charge_form("o1", "tok_slow")).await).await;
    assert_eq!(third, first);
    assert_eq!(app.stripe.charges().len(), 1);
}

#[tokio::test]
async fn a_held_slow_charge_completes_after_the_client_hung_up_and_a_retry_gets_its_answer() {
    let app = TestStripe::start().await;
    app.stripe.hold_slow_charges();
    let client = tokio::spawn({
        let app = app.clone();
        async move { app.charge(Some("k1"), &charge_form("o1", "tok_slow")).await }
    });
    app.stripe.wait_for_held_charges(1).await;

    // The client hangs up while Stripe holds the charge.
    client.abort();
    assert!(client.await.unwrap_err().is_cancelled());
    assert!(app.stripe.charges().is_empty());
    app.stripe.release_slow_charges();

    let charges = app.stripe.wait_for_charges(1).await;
    assert_eq!(charges[0].metadata["order_id"], "o1");
    let retry = app.charge(Some("k1"), &charge_form("o1", "tok_slow")).await;
    assert!(replayed(&retry));
    let (status, body) = read(retry).await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], charges[0].id.as_str());
    assert_eq!(app.stripe.charges().len(), 1);
}

#[tokio::test]
async fn a_slow_charge_that_is_not_held_is_an_ordinary_charge() {
    let app = TestStripe::start().await;

    let (status, body) = read(app.charge(None, &charge_form("o1", "tok_slow")).await).await;

    assert_eq!(status, 200);
    assert_eq!(body["status"], "succeeded");
    assert_eq!(app.stripe.held_charges(), 0);
}
