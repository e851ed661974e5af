//! The money promise under the faults of everyday production, each staged on purpose
//! against the Stripe stand-in, and checked afterwards against its ledger: a paid order
//! holds exactly one charge, any other order none.

use common::bus::dead_letters;
use common::contract::routes;
use common::events::PaymentCreated;
use common::testing::eventually;
use payments::gateway::Gateway;
use payments::gateway::stripe::Stripe;
use payments::store::{self, Begin, IntentState};
use stripe_standin::StripeStandIn;

use crate::helpers::*;

async fn stripe_app() -> (StripeStandIn, TestApp) {
    let standin = StripeStandIn::start().await;
    let app = TestApp::spawn_with(Some(&standin.url())).await;
    (standin, app)
}

/// Starts paying with `tok_slow` (held by the stand-in), waits until the provider has the
/// charge, then hangs up, as a buyer closing the tab does.
async fn pay_and_hang_up(app: &TestApp, standin: &StripeStandIn, buyer: &User, order: &str) {
    let request = app
        .api
        .http
        .post(app.api.url(routes::PAYMENTS))
        .header(reqwest::header::COOKIE, &buyer.cookie)
        .json(&pay_body(order, "tok_slow"))
        .send();
    let held = standin.held_charges() + 1;
    tokio::select! {
        response = request => panic!("the held charge answered: {response:?}"),
        () = standin.wait_for_held_charges(held) => {}
    }
    // The request future is dropped here: the connection closes.
}

/// Ages the order's attempts by two minutes: older than Stripe's search lag.
async fn made_two_minutes_ago(app: &TestApp, order: &str) {
    app.db
        .query("UPDATE payment_attempt SET created_at = time::now() - 2m WHERE order_id = $order")
        .bind(("order", order.to_owned()))
        .await
        .unwrap()
        .check()
        .unwrap();
}

async fn payment_recorded(app: &TestApp, order: &str) -> store::Payment {
    eventually("the payment recorded", || async {
        store::payment_for(&app.db, order).await.unwrap()
    })
    .await
}

#[tokio::test]
async fn a_buyer_who_hangs_up_mid_charge_still_has_the_charge_recorded_once() {
    let (standin, app) = stripe_app().await;
    standin.hold_slow_charges();
    let buyer = app.user();
    let order = app.order(&buyer, 3000).await;

    pay_and_hang_up(&app, &standin, &buyer, &order).await;
    standin.release_slow_charges();

    let payment = payment_recorded(&app, &order).await;
    let event = eventually("payment:created", || async {
        app.events::<PaymentCreated>()
            .await
            .into_iter()
            .find(|e| e.order_id == order)
    })
    .await;
    assert_eq!(event.stripe_id, payment.stripe_id);
    assert_eq!(
        store::intent(&app.db, &order).await.unwrap(),
        Some((IntentState::Charged, 1))
    );
    assert_eq!(standin.charges().len(), 1);
    assert_money_invariant(&app, &standin).await;
}

#[tokio::test]
async fn a_buyer_who_hangs_up_and_pays_again_is_charged_once() {
    let (standin, app) = stripe_app().await;
    standin.hold_slow_charges();
    let buyer = app.user();
    let order = app.order(&buyer, 3000).await;

    pay_and_hang_up(&app, &standin, &buyer, &order).await;
    // Paying again, with a new card token, while the first charge is still with Stripe:
    // the second request waits for the first attempt instead of starting its own.
    let body = pay_body(&order, "tok_visa");
    let again = app.pay(Some(&buyer), &body);
    let release = async {
        standin.wait_for_held_charges(1).await;
        standin.release_slow_charges();
    };
    let (response, ()) = tokio::join!(again, release);
    assert_eq!(response.status(), 400);
    assert_eq!(errors(response).await, [message("Order is already paid")]);

    payment_recorded(&app, &order).await;
    assert_eq!(standin.wait_for_charges(1).await.len(), 1);
    // Every charge sent to Stripe was the first attempt's.
    for request in standin.requests() {
        if request.path == "/v1/charges" {
            assert_eq!(request.idempotency_key, Some(format!("charge-{order}-1")));
        }
    }
    assert_money_invariant(&app, &standin).await;
}

#[tokio::test]
async fn a_double_click_on_pay_charges_once() {
    let (standin, app) = stripe_app().await;
    standin.hold_slow_charges();
    let buyer = app.user();
    let order = app.order(&buyer, 1200).await;

    let body = pay_body(&order, "tok_slow");
    let first = app.pay(Some(&buyer), &body);
    let second = async {
        // The second click arrives while Stripe holds the first charge; the second request
        // waits for that attempt (or finds the order paid) and starts no charge.
        standin.wait_for_held_charges(1).await;
        let second = app.pay(Some(&buyer), &body);
        let release = async { standin.release_slow_charges() };
        tokio::join!(second, release).0
    };
    let (first, second) = tokio::join!(first, second);
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 400]);
    assert_eq!(standin.charges().len(), 1);
    assert_money_invariant(&app, &standin).await;
}

/// Pays with `tok_visa` while Stripe is down (502: the attempt's outcome is unknown),
/// lets `meanwhile` happen, then pays again with `tok_mastercard` once Stripe is back
/// (201); the order and the ledger then.
async fn pay_again_after_an_outage<F>(
    meanwhile: impl FnOnce(TestApp, String) -> F,
) -> (String, Vec<stripe_standin::LedgerCharge>)
where
    F: Future<Output = TestApp>,
{
    let (standin, app) = stripe_app().await;
    let buyer = app.user();
    let order = app.order(&buyer, 2200).await;
    standin.set_down(true);
    let response = app.pay(Some(&buyer), &pay_body(&order, "tok_visa")).await;
    assert_eq!(response.status(), 502);
    assert_eq!(
        store::intent(&app.db, &order).await.unwrap(),
        Some((IntentState::Unknown, 1))
    );
    let app = meanwhile(app, order.clone()).await;

    standin.set_down(false);
    let response = app
        .pay(Some(&buyer), &pay_body(&order, "tok_mastercard"))
        .await;
    assert_eq!(response.status(), 201);
    assert_money_invariant(&app, &standin).await;
    (order, standin.charges())
}

/// The bug this replaces: after an outage the retry sent the old attempt's key with the new
/// card token, Stripe refused it as an idempotency error, and the order could never be paid.
#[tokio::test]
async fn a_payment_retried_after_an_outage_replays_the_same_request_and_charges_once() {
    let (order, ledger) = pay_again_after_an_outage(|app, _| async { app }).await;
    assert_eq!(ledger.len(), 1);
    // The unknown attempt was replayed as it was first sent: same key, same card.
    assert_eq!(ledger[0].source, "tok_visa");
    assert_eq!(ledger[0].idempotency_key, Some(format!("charge-{order}-1")));
}

/// Stripe keeps the first answer to a key, even an error: replaying such an attempt would
/// fail for ever. Once the search can be trusted (90 s on), an attempt it shows no charge
/// for is given up, and the buyer's new card gets an attempt of its own.
#[tokio::test]
async fn an_old_attempt_with_no_charge_is_given_up_for_a_new_one() {
    let (order, ledger) = pay_again_after_an_outage(|app, order| async move {
        made_two_minutes_ago(&app, &order).await;
        app
    })
    .await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].source, "tok_mastercard");
    assert_eq!(ledger[0].idempotency_key, Some(format!("charge-{order}-2")));
}

#[tokio::test]
async fn a_refund_waits_out_a_provider_outage_longer_than_the_retry_budget() {
    let standin = StripeStandIn::start().await;
    let max_deliveries = 3;
    let app = TestApp::spawn_with_options(Some(&standin.url()), max_deliveries).await;
    let buyer = app.user();
    let order = app.order(&buyer, 1500).await;
    assert_eq!(
        app.pay(Some(&buyer), &pay_body(&order, "tok_visa"))
            .await
            .status(),
        201
    );

    // Stripe goes down, and the order is cancelled (it expired before the payment reached
    // the orders service): its refund fails on every delivery, far past the budget.
    standin.set_down(true);
    app.cancel_order(&order, 1).await;
    standin
        .wait_for_requests("/v1/refunds", 3 * max_deliveries as usize)
        .await;
    assert!(
        !store::payment_for(&app.db, &order)
            .await
            .unwrap()
            .unwrap()
            .refunded
    );

    standin.set_down(false);
    eventually("the refund after the outage", || async {
        let payment = store::payment_for(&app.db, &order).await.unwrap()?;
        payment.refunded.then_some(())
    })
    .await;
    assert_eq!(standin.refunds().len(), 1);
    assert!(dead_letters(&app.bus, "payments").await.unwrap().is_empty());
    assert_money_invariant(&app, &standin).await;
}

/// The state a worker leaves when it dies between the provider charging and the charge
/// being recorded (a crash, a deploy): the attempt stays `charging`, the charge exists
/// only at Stripe.
async fn attempt_charged_then_worker_died(
    app: &TestApp,
    standin: &StripeStandIn,
    order: &str,
    cents: i64,
) -> String {
    let Begin::Started(attempt) =
        store::begin(&app.db, &attempt_for(order, cents, "tok_visa"), 120)
            .await
            .unwrap()
    else {
        panic!("the order has no attempt yet");
    };
    let stripe = Stripe::new("sk_test_standin".into(), &standin.url()).unwrap();
    stripe.charge(&attempt.request()).await.unwrap().id
}

#[tokio::test]
async fn the_sweeper_records_a_charge_whose_worker_died_before_recording_it() {
    let (standin, app) = stripe_app().await;
    let buyer = app.user();
    let order = app.order(&buyer, 2700).await;
    let charge_id = attempt_charged_then_worker_died(&app, &standin, &order, 2700).await;

    assert_eq!(app.sweeper().sweep_once(0).await.unwrap(), 1);
    let payment = payment_recorded(&app, &order).await;
    assert_eq!(payment.stripe_id, charge_id);
    eventually("payment:created", || async {
        app.events::<PaymentCreated>()
            .await
            .into_iter()
            .find(|e| e.order_id == order)
    })
    .await;
    // Nothing more to do: a second sweep takes nothing.
    assert_eq!(app.sweeper().sweep_once(0).await.unwrap(), 0);
    assert_eq!(standin.charges().len(), 1);
    assert_money_invariant(&app, &standin).await;
}

#[tokio::test]
async fn the_sweeper_refunds_a_lost_charge_of_an_order_cancelled_meanwhile() {
    let (standin, app) = stripe_app().await;
    let buyer = app.user();
    let order = app.order(&buyer, 2700).await;
    let charge_id = attempt_charged_then_worker_died(&app, &standin, &order, 2700).await;
    app.cancel_order(&order, 1).await;

    assert_eq!(app.sweeper().sweep_once(0).await.unwrap(), 1);
    eventually("the refund", || async {
        standin
            .charges()
            .iter()
            .any(|c| c.id == charge_id && c.refunded)
            .then_some(())
    })
    .await;
    assert_money_invariant(&app, &standin).await;
}

#[tokio::test]
async fn the_sweeper_finishes_an_attempt_that_never_reached_the_provider() {
    let (standin, app) = stripe_app().await;
    let buyer = app.user();
    let open = app.order(&buyer, 1000).await;
    let over = app.order(&buyer, 1000).await;
    for order in [&open, &over] {
        // The worker stored the attempt and died before sending it.
        store::begin(&app.db, &attempt_for(order, 1000, "tok_visa"), 120)
            .await
            .unwrap();
    }
    app.cancel_order(&over, 1).await;

    assert_eq!(app.sweeper().sweep_once(0).await.unwrap(), 2);
    // The open order's attempt is sent as it was stored.
    let payment = payment_recorded(&app, &open).await;
    assert_eq!(standin.charges().len(), 1);
    assert_eq!(standin.charges()[0].id, payment.stripe_id);
    // The cancelled order's attempt is too recent for Stripe's search to rule a charge
    // out: it waits for a later sweep.
    assert_eq!(
        store::intent(&app.db, &over).await.unwrap(),
        Some((IntentState::Unknown, 1))
    );
    // Two minutes on, it is closed without charging the card.
    made_two_minutes_ago(&app, &over).await;
    assert_eq!(app.sweeper().sweep_once(0).await.unwrap(), 1);
    assert_eq!(
        store::intent(&app.db, &over).await.unwrap(),
        Some((IntentState::Failed, 1))
    );
    assert_eq!(standin.charges().len(), 1);
    assert_money_invariant(&app, &standin).await;
}

/// A worker's charge lands after its attempt was settled without it (its lease lapsed, the
/// sweeper found nothing yet) and another attempt paid the order: the late charge is not
/// kept, it is refunded.
#[tokio::test]
async fn a_charge_that_lands_after_its_attempt_was_settled_otherwise_is_refunded() {
    let (standin, app) = stripe_app().await;
    standin.hold_slow_charges();
    let buyer = app.user();
    let order = app.order(&buyer, 1300).await;
    let body = pay_body(&order, "tok_slow");
    let late = app.pay(Some(&buyer), &body);
    let meanwhile = async {
        standin.wait_for_held_charges(1).await;
        // What a sweeper does when the lease has lapsed and the search shows nothing yet.
        store::end_without_charge(&app.db, &order, 1, store::NoCharge::None, "no charge")
            .await
            .unwrap();
        let paid = app.pay(Some(&buyer), &pay_body(&order, "tok_visa")).await;
        assert_eq!(paid.status(), 201);
        standin.release_slow_charges();
    };
    let (late, ()) = tokio::join!(late, meanwhile);
    assert_eq!(late.status(), 400);
    assert_eq!(errors(late).await, [message("Order is already paid")]);

    eventually("the late charge refunded", || async {
        (standin.refunds().len() == 1).then_some(())
    })
    .await;
    let kept = store::payment_for(&app.db, &order).await.unwrap().unwrap();
    assert_ne!(standin.refunds()[0].charge, kept.stripe_id);
    assert_eq!(standin.charges().len(), 2);
    assert_money_invariant(&app, &standin).await;
}

#[tokio::test]
async fn the_sweeper_leaves_an_attempt_for_later_while_the_provider_is_down() {
    let (standin, app) = stripe_app().await;
    let buyer = app.user();
    let order = app.order(&buyer, 1000).await;
    attempt_charged_then_worker_died(&app, &standin, &order, 1000).await;
    standin.set_down(true);
    assert_eq!(app.sweeper().sweep_once(0).await.unwrap(), 1);
    assert_eq!(
        store::intent(&app.db, &order).await.unwrap(),
        Some((IntentState::Unknown, 1))
    );
    assert!(store::payment_for(&app.db, &order).await.unwrap().is_none());

    standin.set_down(false);
    assert_eq!(app.sweeper().sweep_once(0).await.unwrap(), 1);
    payment_recorded(&app, &order).await;
    assert_money_invariant(&app, &standin).await;
}
