use common::events::{TicketCreated, TicketUpdated};
use common::money::Price;
use common::testing::eventually;
use serde_json::json;

use crate::helpers::*;

fn updated(id: &str, version: u64, cents: i64, order_id: Option<&str>) -> TicketUpdated {
    TicketUpdated {
        id: id.to_owned(),
        version,
        title: format!("Concert v{version}"),
        price: Price::from_cents(cents).unwrap(),
        user_id: "seller".to_owned(),
        order_id: order_id.map(str::to_owned),
    }
}

#[tokio::test]
async fn updates_in_order_are_applied_and_orders_are_priced_from_the_replica() {
    let app = TestApp::spawn().await;
    let id = app.ticket(&app.user(), 500).await;
    app.publish(&updated(&id, 1, 1000, None)).await;
    app.publish(&updated(&id, 2, 1500, None)).await;
    eventually("version 2", || async {
        (app.replica(&id).await?.version == 2).then_some(())
    })
    .await;

    let order = app.ordered(&app.user(), &id).await;
    assert_eq!(
        order["ticket"],
        json!({"id": id, "title": "Concert v2", "price": 15, "version": 2})
    );
}

#[tokio::test]
async fn an_early_version_waits_for_the_one_before_it() {
    let app = TestApp::spawn().await;
    let id = app.ticket(&app.user(), 500).await;
    app.publish(&updated(&id, 1, 1000, None)).await;
    eventually("version 1", || async {
        (app.replica(&id).await?.version == 1).then_some(())
    })
    .await;

    app.publish(&updated(&id, 3, 3000, None)).await;
    // Version 3 is redelivered until 2 arrives; until then the replica stays at 1.
    for _ in 0..5 {
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        assert_eq!(app.replica(&id).await.unwrap().version, 1);
    }
    app.publish(&updated(&id, 2, 2000, None)).await;
    let replica = eventually("version 3", || async {
        let replica = app.replica(&id).await?;
        (replica.version == 3).then_some(replica)
    })
    .await;
    assert_eq!(replica.price.cents(), 3000);
}

#[tokio::test]
async fn duplicates_and_stale_versions_are_ignored() {
    let app = TestApp::spawn().await;
    let id = app.ticket(&app.user(), 500).await;
    app.publish(&updated(&id, 1, 1000, None)).await;
    app.publish(&updated(&id, 1, 9999, None)).await;
    app.publish(&updated(&id, 2, 2000, None)).await;
    app.publish(&updated(&id, 1, 7777, None)).await;
    // A marker after them all: once it is replicated, the others were handled.
    let marker = app.ticket(&app.user(), 100).await;
    app.publish(&updated(&marker, 1, 200, None)).await;
    eventually("the marker", || async {
        (app.replica(&marker).await?.version == 1).then_some(())
    })
    .await;
    eventually("version 2", || async {
        (app.replica(&id).await?.version == 2).then_some(())
    })
    .await;
    let replica = app.replica(&id).await.unwrap();
    assert_eq!(replica.price.cents(), 2000);
}

#[tokio::test]
async fn an_update_for_an_unknown_ticket_waits_for_its_creation() {
    let app = TestApp::spawn().await;
    let id = common::db::new_id();
    app.publish(&updated(&id, 1, 1000, None)).await;
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert!(app.replica(&id).await.is_none());
    app.publish(&TicketCreated {
        id: id.clone(),
        version: 0,
        title: "Late".into(),
        price: Price::from_cents(500).unwrap(),
        user_id: "seller".into(),
    })
    .await;
    eventually("version 1", || async {
        (app.replica(&id).await?.version == 1).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_lock_and_its_release_reach_the_replica() {
    let app = TestApp::spawn().await;
    let id = app.ticket(&app.user(), 500).await;
    app.publish(&updated(&id, 1, 500, Some("order-1"))).await;
    let locked = eventually("the lock", || async {
        let replica = app.replica(&id).await?;
        (replica.version == 1).then_some(replica)
    })
    .await;
    assert_eq!(locked.order_id.as_deref(), Some("order-1"));

    app.publish(&updated(&id, 2, 500, None)).await;
    let released = eventually("the release", || async {
        let replica = app.replica(&id).await?;
        (replica.version == 2).then_some(replica)
    })
    .await;
    assert_eq!(released.order_id, None, "the replica forgets the order");
}
