use crate::helpers::{TestStripe, charge_form, read, replayed};

#[tokio::test]
async fn while_down_every_request_is_answered_500_and_nothing_changes() {
    let app = TestStripe::start().await;
    app.charge(None, &charge_form("o1", "tok_visa")).await;
    let before = app.stripe.charges();
    app.stripe.set_down(true);

    let charge = read(app.charge(Some("k1"), &charge_form("o2", "tok_visa")).await).await;
    let refund = read(app.refund(Some("r1"), &[("charge", &before[0].id)]).await).await;
    let search = read(app.search(&[("query", "metadata['order_id']:'o1'")]).await).await;

    for (status, body) in [charge, refund, search] {
        assert_eq!(status, 500);
        assert_eq!(body["error"]["type"], "api_error");
    }
    assert_eq!(app.stripe.charges(), before);
    assert!(app.stripe.refunds().is_empty());
    assert_eq!(app.stripe.requests().len(), 4, "the requests still arrived");

    // Nothing was saved under the key: once up, the retry runs.
    app.stripe.set_down(false);
    let retry = app.charge(Some("k1"), &charge_form("o2", "tok_visa")).await;
    assert!(!replayed(&retry));
    assert_eq!(retry.status(), 200);
    assert_eq!(app.stripe.charges().len(), 2);
}
