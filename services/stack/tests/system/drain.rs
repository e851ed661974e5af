//! Graceful shutdown: a process told to stop (SIGTERM, as Kubernetes and the run command
//! do) takes no new work, finishes the requests and events it holds, and exits cleanly;
//! nothing it held is lost.

use std::time::Duration;

use stripe_standin::StripeStandIn;

use crate::helpers::*;
use crate::reliability::SeedsRun;
use common::testing::eventually;

/// Longer than anything a process holds here; a drained process exits well within it.
const GRACE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_in_flight_when_payments_is_told_to_stop_is_answered_and_recorded() {
    let standin = StripeStandIn::start().await;
    let stripe_base = standin.url();
    let mut system = System::start(&[
        ("STRIPE_KEY", "sk_test_standin"),
        ("STRIPE_API_BASE", &stripe_base),
    ])
    .await;
    let (seller, buyer) = (system.user(), system.user());
    let ticket = id_of(&system.list_ticket(&seller, "Drained", 30.0).await);
    let (status, order) = system.order_when_replicated(&buyer, &ticket).await;
    assert_eq!(status, 201, "{order}");
    let order = id_of(&order);

    standin.hold_slow_charges();
    system.until_payments_has_order(&order).await;
    let payment = system.pay_in_background(&buyer, &order, "tok_slow");
    eventually("the charge held at Stripe", || async {
        (standin.held_charges() == 1).then_some(())
    })
    .await;

    // Told to stop while the charge is out: it closes its port at once…
    let payments = &mut system.stack.instances("payments")[0];
    let port = payments.port().unwrap();
    payments.terminate();
    eventually("payments takes no new connections", || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
            .then_some(())
    })
    .await;
    assert!(
        payments.is_running(),
        "payments waits for the payment in flight"
    );

    // …answers the buyer once Stripe does, and only then exits, cleanly.
    standin.release_slow_charges();
    let (status, body) = payment.await.unwrap().unwrap();
    assert_eq!(status, 201, "the payment in flight is answered: {body}");
    let exit = payments.wait_exit(GRACE).await;
    assert!(
        exit.is_some_and(|status| status.success()),
        "payments exits by itself, cleanly: {exit:?}"
    );

    // What it recorded holds: after a restart the order completes on that one charge.
    payments.start().unwrap();
    payments.wait_ready(GRACE).await.unwrap();
    eventually("the paid order completes", || async {
        (system.order(&buyer, &order).await["status"] == "complete").then_some(())
    })
    .await;
    let charges = standin.charges();
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert!(!charges[0].refunded, "{charges:?}");
}

/// The seeds' scenario with one tickets and one orders instance told to stop mid-run (and
/// started again): each exits cleanly, and every event they held is handled exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn instances_told_to_stop_mid_run_drain_and_lose_no_event() {
    let mut system = System::start_scaled(&[("tickets", 4), ("orders", 4)], &[]).await;
    let seeds = SeedsRun::start(&system).await;

    tokio::time::sleep(Duration::from_millis(500)).await;
    for service in ["tickets", "orders"] {
        let instance = &mut system.stack.instances(service)[1];
        instance.terminate();
        let exit = instance.wait_exit(GRACE).await;
        assert!(
            exit.is_some_and(|status| status.success()),
            "{service} drains and exits cleanly: {exit:?}"
        );
        instance.start().unwrap();
        instance.wait_ready(GRACE).await.unwrap();
    }

    seeds.finish(&system).await;
}
