use common::testing::eventually;
use payments::gateway::sandbox::Sandbox;
use payments::store;
use stripe_standin::StripeStandIn;

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
    let standin = StripeStandIn::start().await;
    standin.hold_slow_charges();
    let app = TestApp::spawn_with(Some(&standin.url())).await;
    let buyer = app.user();
    let order = app.order(&buyer, 2500).await;
    let body = pay_body(&order, "tok_slow");
    let pay = app.pay(Some(&buyer), &body);
    let cancel = async {
        // The provider has the charge; the order expires before it answers.
        standin.wait_for_held_charges(1).await;
        app.cancel_order(&order, 1).await;
        standin.release_slow_charges();
    };
    let (response, ()) = tokio::join!(pay, cancel);
    assert_eq!(response.status(), 400);
    assert_eq!(
        errors(response).await,
        [message("Cannot pay for a cancelled order")]
    );

    let payment = eventually("the refund", || async {
        let payment = store::payment_for(&app.db, &order).await.unwrap()?;
        payment.refunded.then_some(payment)
    })
    .await;
    let refunds = standin.refunds();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].charge, payment.stripe_id);
    assert_eq!(
        refunds[0].idempotency_key.as_deref(),
        Some(format!("refund-{}", payment.stripe_id).as_str())
    );
    assert_money_invariant(&app, &standin).await;
}

/// The worker that charged dies before it can refund: the charge and its `payment:created`
/// event were committed together, and the service's own listener of that event makes the
/// refund.
#[tokio::test]
async fn a_charge_whose_request_died_before_refunding_is_still_refunded() {
    use payments::gateway::Gateway;
    use payments::store::{Begin, Payment};

    let app = TestApp::spawn().await;
    let buyer = app.user();
    let order = app.order(&buyer, 1800).await;
    // What the worker did before it died: begin, charge, record.
    let Begin::Started(attempt) =
        store::begin(&app.db, &attempt_for(&order, 1800, "tok_visa"), 120)
            .await
            .unwrap()
    else {
        panic!("the order has no attempt yet");
    };
    let charge = Sandbox::new(app.db.clone())
        .charge(&attempt.request())
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
    store::record_payment(&outbox, attempt.number, &payment)
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
