use common::testing::eventually;
use payments::gateway::sandbox::Sandbox;
use payments::store;

use crate::helpers::*;

#[tokio::test]
async fn a_payment_for_an_order_cancelled_afterwards_is_refunded() {
    let app = TestApp::spawn().await;
    let buyer = app.user();
    let order = app.order(&buyer, 1000).await;
    assert_eq!(
        app.pay(Some(&buyer), &pay_body(&order, "tok_visa"))
            .await
            .status(),
        201
    );
    // The order is cancelled after all (its reservation was refused, say).
    app.cancel_order(&order, 1).await;
    let payment = eventually("the refund", || async {
        let payment = store::payment_for(&app.db, &order).await.unwrap()?;
        payment.refunded.then_some(payment)
    })
    .await;
    let charges = Sandbox::charges(&app.db).await.unwrap();
    assert!(
        charges
            .iter()
            .any(|c| c.charge_id == payment.stripe_id && c.refunded)
    );
    // A duplicate cancellation refunds nothing more.
    app.cancel_order(&order, 1).await;
    assert_eq!(
        Sandbox::charges(&app.db)
            .await
            .unwrap()
            .iter()
            .filter(|c| c.refunded)
            .count(),
        1
    );
}

#[tokio::test]
async fn a_charge_that_lands_on_an_order_cancelled_meanwhile_is_refunded_at_once() {
    let (stripe, received) = spawn_stripe(Behaviour::SlowSucceed(
        std::time::Duration::from_millis(700),
    ))
    .await;
    let app = TestApp::spawn_with(Some(&stripe)).await;
    let buyer = app.user();
    let order = app.order(&buyer, 2500).await;
    let body = pay_body(&order, "tok_visa");
    let pay = app.pay(Some(&buyer), &body);
    let cancel = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        app.cancel_order(&order, 1).await;
    };
    let (response, ()) = tokio::join!(pay, cancel);
    assert_eq!(response.status(), 400);
    assert_eq!(
        errors(response).await,
        message("Cannot pay for a cancelled order")
    );

    let payment = eventually("the refund", || async {
        let payment = store::payment_for(&app.db, &order).await.unwrap()?;
        payment.refunded.then_some(payment)
    })
    .await;
    let received = received.lock().unwrap().clone();
    let refunds: Vec<_> = received
        .iter()
        .filter(|r| r.path == "/v1/refunds")
        .collect();
    assert!(!refunds.is_empty());
    for refund in &refunds {
        assert!(
            refund
                .form
                .contains(&("charge".to_owned(), payment.stripe_id.clone()))
        );
        assert_eq!(
            refund.idempotency_key.as_deref(),
            Some(format!("refund-{}", payment.id).as_str())
        );
    }
}

/// The request that charged crashes before it can refund: the charge and its
/// `payment:created` event were committed together, and the service's own listener of that
/// event makes the refund.
#[tokio::test]
async fn a_charge_whose_request_died_before_refunding_is_still_refunded() {
    use payments::gateway::{ChargeRequest, Gateway};
    use payments::store::{Claim, Payment};

    let app = TestApp::spawn().await;
    let buyer = app.user();
    let order = app.order(&buyer, 1800).await;
    // What the request did before it died: claim, charge, record.
    let Claim::Granted { attempt } = store::claim(&app.db, &order, 120).await.unwrap() else {
        panic!("the claim is free");
    };
    let charge = Sandbox::new(app.db.clone())
        .charge(&ChargeRequest {
            amount: 1800,
            currency: "usd".into(),
            source: "tok_visa".into(),
            description: "late".into(),
            order_id: order.clone(),
            idempotency_key: format!("charge-{order}-{attempt}"),
        })
        .await
        .unwrap();
    // Meanwhile the order expired, and its cancellation found no payment to refund.
    app.cancel_order(&order, 1).await;
    let outbox = common::outbox::Outbox::new(app.db.clone());
    let payment = Payment {
        id: common::db::new_id(),
        order_id: order.clone(),
        stripe_id: charge.id.clone(),
        amount: 1800,
        refunded: false,
    };
    store::record_payment(&outbox, attempt, &payment)
        .await
        .unwrap();

    eventually("the refund", || async {
        let payment = store::payment_for(&app.db, &order).await.unwrap()?;
        payment.refunded.then_some(())
    })
    .await;
    let charges = Sandbox::charges(&app.db).await.unwrap();
    assert!(
        charges
            .iter()
            .any(|c| c.charge_id == charge.id && c.refunded)
    );
}
