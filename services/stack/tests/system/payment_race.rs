//! docs/spec.md §11: a payment racing the order's expiry. Whatever the timing, no buyer is
//! charged for a ticket they did not get: every charged order is either complete or refunded.

use std::time::Duration;

use common::db::{self, DbConfig};
use surrealdb::types::SurrealValue;

use crate::helpers::*;

#[derive(Debug, SurrealValue)]
struct PaymentRow {
    order_id: String,
    refunded: bool,
}

#[derive(Debug, SurrealValue)]
struct ChargeRow {
    order_id: String,
    refunded: bool,
}

#[tokio::test(flavor = "multi_thread")]
async fn every_charged_order_is_complete_or_refunded() {
    race(&mut System::start(&[("ORDER_EXPIRATION_SECONDS", "2")]).await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_charged_order_is_complete_or_refunded_across_instances() {
    let scale = [("tickets", 2), ("orders", 2), ("payments", 2)];
    race(&mut System::start_scaled(&scale, &[("ORDER_EXPIRATION_SECONDS", "2")]).await).await;
}

/// What the payments service recorded, read from its database: through the SurrealDB
/// server when there is one, else from its files while it is stopped (and started again).
async fn payments_state(system: &mut System) -> (Vec<PaymentRow>, Vec<ChargeRow>) {
    async fn read(db: &common::db::Db) -> (Vec<PaymentRow>, Vec<ChargeRow>) {
        let payments = db
            .query("SELECT order_id, refunded FROM payment")
            .await
            .unwrap()
            .take(0)
            .unwrap();
        let charges = db
            .query("SELECT order_id, refunded FROM sandbox_charge")
            .await
            .unwrap()
            .take(0)
            .unwrap();
        (payments, charges)
    }
    if system.stack.surreal().is_some() {
        return read(&system.database("payments").await).await;
    }
    let payments = &mut system.stack.instances("payments")[0];
    payments.stop(Duration::from_secs(10)).await;
    let state = {
        let db = db::connect(&DbConfig {
            url: format!(
                "surrealkv://{}",
                system.data_dir().join("payments").display()
            ),
            ..DbConfig::memory("payments")
        })
        .await
        .unwrap();
        read(&db).await
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let payments = &mut system.stack.instances("payments")[0];
    payments.start().unwrap();
    payments.wait_ready(Duration::from_secs(60)).await.unwrap();
    state
}

/// Ten orders paid around the moment each one's window closes.
async fn race(system: &mut System) {
    let seller = system.user();
    let mut orders = Vec::new();
    for round in 0..10u64 {
        let buyer = system.user();
        let ticket = system
            .list_ticket(&seller, &format!("Race {round}"), 10.0)
            .await;
        let (status, order) = system.order_when_replicated(&buyer, &id_of(&ticket)).await;
        assert_eq!(status, 201, "{order}");
        let order_id = id_of(&order);
        // Pay around the moment the window closes: before, at, and after it.
        tokio::time::sleep(Duration::from_millis(1_500 + round * 100)).await;
        let paid = system.pay_when_replicated(&buyer, &order_id).await;
        assert!(paid.0 == 201 || paid.0 == 400, "{paid:?}");
        orders.push((buyer, order_id));
    }

    // Every order settles one way or the other.
    let mut final_status = std::collections::HashMap::new();
    for (buyer, order_id) in &orders {
        let order = common::testing::eventually("the order to settle", || async {
            let order = system.order(buyer, order_id).await;
            (order["status"] != "created").then_some(order)
        })
        .await;
        final_status.insert(
            order_id.clone(),
            order["status"].as_str().unwrap().to_owned(),
        );
    }
    assert!(
        final_status
            .values()
            .all(|s| s == "complete" || s == "cancelled")
    );
    let completed = final_status.values().filter(|s| *s == "complete").count();
    eprintln!(
        "{completed} of {} orders completed; the rest expired",
        final_status.len()
    );

    // Look behind the payments service until the refunds it owes have all been made.
    let mut checked = false;
    for _ in 0..30 {
        let (payments, charges) = payments_state(system).await;
        let settled = payments
            .iter()
            .all(|p| (final_status[&p.order_id] == "cancelled") == p.refunded);
        if settled {
            for charge in &charges {
                let payment = payments.iter().find(|p| p.order_id == charge.order_id);
                assert!(payment.is_some(), "a charge without a payment: {charge:?}");
                assert_eq!(charge.refunded, payment.unwrap().refunded, "{charge:?}");
            }
            for (order_id, status) in &final_status {
                let charged = charges.iter().filter(|c| &c.order_id == order_id).count();
                assert!(charged <= 1, "{order_id} charged {charged} times");
                if status == "complete" {
                    assert_eq!(charged, 1, "a complete order was paid");
                }
            }
            checked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(checked, "refunds never caught up");
}
