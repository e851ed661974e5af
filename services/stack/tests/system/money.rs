//! Money under a process crash: the payments service is SIGKILLed while Stripe (the
//! stand-in, in this process) holds two charges. Stripe completes them with nobody left
//! to hear the answers; one buyer then cancels their order. After payments restarts, its
//! sweeper reconciles both attempts with Stripe's charge search: the open order is paid
//! and completes (its ticket sold), the cancelled one is refunded (its ticket for sale).

use std::time::Duration;

use payments::store::{self, IntentState};
use reqwest::Method;
use stripe_standin::StripeStandIn;

use crate::helpers::*;
use common::testing::eventually;

#[tokio::test]
async fn charges_in_flight_when_payments_is_killed_are_settled_after_it_restarts() {
    let standin = StripeStandIn::start().await;
    let stripe_base = standin.url();
    let mut system = System::start_on_server(&[
        ("STRIPE_KEY", "sk_test_standin"),
        ("STRIPE_API_BASE", &stripe_base),
        // Reconcile attempts quiet for a second (the default is two minutes).
        ("PAYMENT_CLAIM_STALE_SECONDS", "1"),
    ])
    .await;
    let seller = system.user();
    let mut orders = Vec::new();
    for title in ["Kept", "Cancelled"] {
        let ticket = id_of(&system.list_ticket(&seller, title, 30.0).await);
        let buyer = system.user();
        let (status, order) = system.order_when_replicated(&buyer, &ticket).await;
        assert_eq!(status, 201, "{order}");
        orders.push((ticket, buyer, id_of(&order)));
    }

    standin.hold_slow_charges();
    let mut requests = Vec::new();
    for (_, buyer, order) in &orders {
        system.until_payments_has_order(order).await;
        requests.push(system.pay_in_background(buyer, order, "tok_slow"));
        // Payments has the order when its charge arrives at Stripe.
        eventually("the charge held at Stripe", || async {
            (standin.held_charges() == requests.len()).then_some(())
        })
        .await;
    }

    let payments = &mut system.stack.instances("payments")[0];
    payments.kill().await;
    standin.release_slow_charges();
    standin.wait_for_charges(2).await;
    for request in requests {
        let answer = request.await.unwrap();
        assert!(
            !answer
                .as_ref()
                .is_ok_and(|(status, _)| (200..300).contains(status)),
            "nobody was left to answer: {answer:?}"
        );
    }
    let (cancelled_ticket, cancelling_buyer, cancelled) = &orders[1];
    let (status, body) = system
        .send(
            Method::DELETE,
            &format!("/api/orders/{cancelled}"),
            Some(cancelling_buyer),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");

    let payments = &mut system.stack.instances("payments")[0];
    payments.start().unwrap();
    payments.wait_ready(Duration::from_secs(60)).await.unwrap();

    let (kept_ticket, kept_buyer, kept) = &orders[0];
    eventually("the kept order completes", || async {
        (system.order(kept_buyer, kept).await["status"] == "complete").then_some(())
    })
    .await;
    eventually("the kept ticket is sold", || async {
        (system.ticket(kept_ticket).await["status"] == "sold").then_some(())
    })
    .await;
    eventually("the cancelled order's charge is refunded", || async {
        standin
            .charges()
            .iter()
            .any(|c| c.metadata.get("order_id") == Some(cancelled) && c.refunded)
            .then_some(())
    })
    .await;
    assert_eq!(system.ticket(cancelled_ticket).await["status"], "available");

    // Against Stripe's ledger: the complete order holds exactly its recorded charge, the
    // cancelled one holds none.
    let db = system.database("payments").await;
    let kept_payment = store::payment_for(&db, kept).await.unwrap().unwrap();
    let ledger = standin.charges();
    let held = |order: &str| -> Vec<String> {
        ledger
            .iter()
            .filter(|c| c.metadata.get("order_id").map(String::as_str) == Some(order))
            .filter(|c| !c.refunded)
            .map(|c| c.id.clone())
            .collect()
    };
    assert_eq!(held(kept), [kept_payment.stripe_id]);
    assert!(held(cancelled).is_empty());
    assert_eq!(ledger.len(), 2, "no charge was made twice");
    assert_eq!(
        store::intent(&db, kept).await.unwrap(),
        Some((IntentState::Charged, 1))
    );
}
