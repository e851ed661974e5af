//! docs/spec.md §9, the price race: an owner edits the price at the same instant a buyer
//! reserves the ticket. Exactly one wins, and every service ends up agreeing.

use common::contract::routes;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn an_edit_and_a_purchase_at_the_same_instant_end_in_agreement() {
    race(&System::start(&[]).await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_price_race_ends_in_agreement_across_instances() {
    race(&System::start_scaled(&[("tickets", 2), ("orders", 2)], &[]).await).await;
}

/// Rounds of an edit and a purchase of one ticket at the same instant; then every replica
/// is checked against the tickets service.
async fn race(system: &System) {
    let seller = system.user();
    let buyer = system.user();
    const ROUNDS: usize = 12;
    let mut outcomes = (0, 0);
    for round in 0..ROUNDS {
        let ticket = system
            .list_ticket(&seller, &format!("Race {round}"), 10.0)
            .await;
        let id = id_of(&ticket);
        // Make sure the orders service has the ticket first, then race for real.
        let probe = system.user();
        let (status, order) = system.order_when_replicated(&probe, &id).await;
        assert_eq!(status, 201, "{order}");
        let (status, _) = system
            .send(
                Method::DELETE,
                &format!("/api/orders/{}", id_of(&order)),
                Some(&probe),
                None,
            )
            .await;
        assert_eq!(status, 204);
        let unlocked = common::testing::eventually("the probe's unlock", || async {
            let ticket = system.ticket(&id).await;
            (ticket["status"] == "available" && ticket["version"] == 2).then_some(ticket)
        })
        .await;

        let edit_path = format!("/api/tickets/{id}");
        let edit = system.send(
            Method::PUT,
            &edit_path,
            Some(&seller),
            Some(json!({"title": "Race", "price": 20})),
        );
        let purchase = system.send(
            Method::POST,
            routes::ORDERS,
            Some(&buyer),
            Some(json!({"ticketId": id})),
        );
        let ((edit_status, _), (order_status, order)) = tokio::join!(edit, purchase);
        assert!(
            edit_status == 200 || edit_status == 400,
            "edit: {edit_status}"
        );
        assert!(
            order_status == 201 || order_status == 400,
            "order: {order_status} {order}"
        );

        if order_status != 201 {
            // The orders service had not seen the unlock yet: only the edit ran.
            assert_eq!(edit_status, 200);
            continue;
        }
        let order_id = id_of(&order);
        let settled = common::testing::eventually("the race to settle", || async {
            let order = system.order(&buyer, &order_id).await;
            let ticket = system.ticket(&id).await;
            let settled = match order["status"].as_str() {
                Some("created") => ticket["orderId"] == order_id.as_str(),
                Some("cancelled") => ticket["status"] == "available",
                _ => false,
            };
            settled.then_some((order, ticket))
        })
        .await;
        let (order, ticket) = settled;
        if order["status"] == "created" {
            // The purchase won: the seller's edit was refused and the buyer's price stands.
            assert_eq!(edit_status, 400);
            assert_eq!(ticket["price"], order["ticket"]["price"]);
            assert_eq!(ticket["price"], 10);
            assert_eq!(ticket["status"], "reserved");
            outcomes.0 += 1;
        } else {
            // The edit won: the order was cancelled because the price changed.
            assert_eq!(edit_status, 200);
            assert_eq!(order["cancelReason"], "price_changed");
            assert_eq!(ticket["price"], 20);
            assert!(ticket.get("orderId").is_none());
            outcomes.1 += 1;
        }
        let _ = unlocked;
    }
    assert!(outcomes.0 + outcomes.1 > 0, "no round raced");

    // Every replica agrees with tickets: a fresh purchase of each available ticket is
    // priced at exactly the ticket's price and version.
    let available: Vec<serde_json::Value> = system
        .get(routes::TICKETS, None)
        .await
        .as_array()
        .unwrap()
        .clone();
    let checker = system.user();
    for ticket in available {
        let id = id_of(&ticket);
        let settled = common::testing::eventually("the replica to catch up", || async {
            let (status, order) = system
                .send(
                    Method::POST,
                    routes::ORDERS,
                    Some(&checker),
                    Some(json!({"ticketId": id})),
                )
                .await;
            assert_eq!(status, 201, "{order}");
            let current = system.ticket(&id).await;
            if order["ticket"]["version"] == current["version"] {
                return Some((order, current));
            }
            // Priced on an older replica version: give it back and try again.
            system
                .send(
                    Method::DELETE,
                    &format!("/api/orders/{}", id_of(&order)),
                    Some(&checker),
                    None,
                )
                .await;
            common::testing::eventually("the unlock", || async {
                (system.ticket(&id).await["status"] == "available").then_some(())
            })
            .await;
            None
        })
        .await;
        let (order, current) = settled;
        assert_eq!(order["ticket"]["price"], current["price"]);
    }
}
