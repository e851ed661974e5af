use crate::helpers::{TestStripe, charge_form, read, replayed};

/// A charge of 1000 cents for order `o1`; its id.
async fn charged(app: &TestStripe) -> String {
    let (status, body) = read(app.charge(None, &charge_form("o1", "tok_visa")).await).await;
    assert_eq!(status, 200, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_refund_refunds_the_whole_charge_and_a_second_one_is_refused() {
    let app = TestStripe::start().await;
    let charge = charged(&app).await;

    let (status, refund) = read(app.refund(Some("r1"), &[("charge", &charge)]).await).await;

    assert_eq!(status, 200, "{refund}");
    assert!(refund["id"].as_str().unwrap().starts_with("re_"));
    assert_eq!(refund["object"], "refund");
    assert_eq!(refund["charge"], charge.as_str());
    assert_eq!(refund["amount"], 1000);
    assert_eq!(refund["status"], "succeeded");
    let ledger = app.stripe.charges();
    assert!(ledger[0].refunded);
    assert_eq!(ledger[0].amount_refunded, 1000);
    let refunds = app.stripe.refunds();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].idempotency_key.as_deref(), Some("r1"));

    let (status, again) = read(app.refund(Some("r2"), &[("charge", &charge)]).await).await;

    assert_eq!(status, 400);
    assert_eq!(again["error"]["type"], "invalid_request_error");
    assert_eq!(again["error"]["code"], "charge_already_refunded");
    assert_eq!(
        again["error"]["message"],
        format!("Charge {charge} has already been refunded.")
    );
    assert_eq!(app.stripe.refunds().len(), 1);
}

#[tokio::test]
async fn a_refund_retried_with_its_key_is_replayed_not_refused() {
    let app = TestStripe::start().await;
    let charge = charged(&app).await;
    let (_, first) = read(app.refund(Some("r1"), &[("charge", &charge)]).await).await;

    let again = app.refund(Some("r1"), &[("charge", &charge)]).await;

    assert!(replayed(&again));
    let (status, again) = read(again).await;
    assert_eq!(status, 200);
    assert_eq!(again, first);
    assert_eq!(app.stripe.refunds().len(), 1);
}

#[tokio::test]
async fn a_partial_refund_leaves_the_rest_refundable_and_no_more() {
    let app = TestStripe::start().await;
    let charge = charged(&app).await;

    let (status, _) = read(
        app.refund(None, &[("charge", &charge), ("amount", "400")])
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert!(!app.stripe.charges()[0].refunded);

    let (status, body) = read(
        app.refund(None, &[("charge", &charge), ("amount", "700")])
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["message"],
        "Refund amount ($7.00) is greater than unrefunded amount on charge ($6.00)"
    );

    let (status, rest) = read(app.refund(None, &[("charge", &charge)]).await).await;
    assert_eq!(status, 200);
    assert_eq!(rest["amount"], 600);
    let ledger = app.stripe.charges();
    assert!(ledger[0].refunded);
    assert_eq!(ledger[0].amount_refunded, 1000);
}

#[tokio::test]
async fn refunding_an_unknown_charge_is_an_invalid_request() {
    let app = TestStripe::start().await;

    let (status, body) = read(app.refund(None, &[("charge", "ch_nope")]).await).await;

    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["message"], "No such charge: 'ch_nope'");
    assert!(app.stripe.refunds().is_empty());
}
